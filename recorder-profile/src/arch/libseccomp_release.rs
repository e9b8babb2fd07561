//! Which libseccomp release knows which syscall name: release data from
//! libseccomp's tables, no call into libseccomp (those are all in
//! [`crate::seccomp`]), hence the name.
//!
//! Runtimes resolve profile names with the libseccomp they were built with,
//! and silently drop the names it does not know: the syscall is then denied.
//! Debian 12 ships libseccomp 2.5.4, which lacks e.g. `mseal` and `statmount`
//! (added in 2.5.6) and `listns` (2.6.1). The data comes from libseccomp's own
//! table at every release tag (see `generated.rs`), per ABI, since a name may
//! reach one ABI's table later than another's.

use std::fmt;
use std::str::FromStr;

use super::generated::RELEASES;

/// A libseccomp version, e.g. 2.5.4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LibseccompVersion {
    pub major: u16,
    pub minor: u16,
    pub patch: u16,
}

impl LibseccompVersion {
    /// The oldest release the data covers: names it knows are "2.5.0 or
    /// older".
    pub const OLDEST: LibseccompVersion = LibseccompVersion::from_tuple(RELEASES[0]);
    /// The newest release the tables follow.
    pub const NEWEST: LibseccompVersion =
        LibseccompVersion::from_tuple(RELEASES[RELEASES.len() - 1]);

    const fn from_tuple((major, minor, patch): (u16, u16, u16)) -> LibseccompVersion {
        LibseccompVersion {
            major,
            minor,
            patch,
        }
    }

    /// The release at `index` in the generated release list.
    pub(super) fn release(index: u8) -> LibseccompVersion {
        let last = RELEASES.len() - 1;
        LibseccompVersion::from_tuple(RELEASES[usize::from(index).min(last)])
    }
}

impl fmt::Display for LibseccompVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A `--libseccomp` value that is not a version the data covers.
#[derive(Debug, thiserror::Error)]
pub enum BadVersion {
    #[error("libseccomp version {0:?} is not of the form 2.5 or 2.5.4")]
    Syntax(String),
    #[error(
        "libseccomp {0} is older than {oldest}, the oldest release whose tables recorder knows",
        oldest = LibseccompVersion::OLDEST
    )]
    TooOld(LibseccompVersion),
}

impl FromStr for LibseccompVersion {
    type Err = BadVersion;

    /// `2.5` means 2.5.0: a profile for it works with every 2.5 release.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadVersion::Syntax(s.to_string());
        let text = s.trim().trim_start_matches('v');
        let parts: Vec<u16> = text
            .split('.')
            .map(|p| p.parse::<u16>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let version = match parts[..] {
            [major, minor] => LibseccompVersion {
                major,
                minor,
                patch: 0,
            },
            [major, minor, patch] => LibseccompVersion {
                major,
                minor,
                patch,
            },
            _ => return Err(bad()),
        };
        if version < LibseccompVersion::OLDEST {
            return Err(BadVersion::TooOld(version));
        }
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_versions() {
        let v = |s: &str| s.parse::<LibseccompVersion>().unwrap();
        assert_eq!(v("2.5").to_string(), "2.5.0");
        assert_eq!(v("2.5.4").to_string(), "2.5.4");
        assert_eq!(v("v2.6.1"), LibseccompVersion::NEWEST);
        assert!(v("2.5.6") < v("2.6.0"));
        assert!(v("2.10") > v("2.6.1"));
        assert_eq!(LibseccompVersion::OLDEST, v("2.5.0"));
    }

    #[test]
    fn rejects_bad_and_old_versions() {
        for bad in ["", "2", "2.x", "2.5.4.1", "latest"] {
            let err = bad.parse::<LibseccompVersion>().unwrap_err();
            assert!(matches!(err, BadVersion::Syntax(_)), "{bad}: {err}");
        }
        let err = "2.4.4".parse::<LibseccompVersion>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "libseccomp 2.4.4 is older than 2.5.0, the oldest release whose tables recorder knows"
        );
    }
}
