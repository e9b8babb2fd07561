//! Base profiles: what an OCI runtime itself does after it installs a
//! container's seccomp filter and before the workload's exec.
//!
//! The recorder records a container's workload from its first exec inside
//! the container (see `trace`), so the runtime's own calls between loading
//! the filter and that exec are not in the recording, yet the filter applies
//! to them: without them the container would not start. They depend on the
//! runtime, not on the workload, so they ship as one profile per runtime in
//! `profiles/base/`, derived by `recorder derive-base` from real runs
//! (`derive`), and are added to every profile `recorder trace` writes.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::OciRuntime;
use crate::profile::Profile;
use crate::profile::read::{ReadError, Target, read_one};

/// runc's base profile, as `recorder derive-base runc` wrote it.
const RUNC: &str = include_str!("../../../profiles/base/runc.json");
/// crun's base profile, as `recorder derive-base crun` wrote it.
const CRUN: &str = include_str!("../../../profiles/base/crun.json");

/// `--base`: which base profile to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaseChoice {
    /// The one of the runtime that runs the container.
    Auto,
    /// A shipped one.
    Builtin(OciRuntime),
    None,
    /// Any profile `recorder convert` reads: its unconditionally allowed
    /// names.
    File(PathBuf),
}

impl FromStr for BaseChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "auto" => BaseChoice::Auto,
            "runc" => BaseChoice::Builtin(OciRuntime::Runc),
            "crun" => BaseChoice::Builtin(OciRuntime::Crun),
            "none" => BaseChoice::None,
            "" => return Err("give auto, runc, crun, none or a profile file".into()),
            path => BaseChoice::File(PathBuf::from(path)),
        })
    }
}

/// Reading a base profile file failed.
#[derive(Debug, thiserror::Error)]
#[error("base profile {0}")]
pub struct BaseError(#[source] ReadError);

/// Syscalls a runtime makes to set a container up, before it loads the
/// filter; a profile of a plain workload holds none of them.
pub const RUNTIME_SETUP_SYSCALLS: [&str; 7] = [
    "mount",
    "umount2",
    "pivot_root",
    "unshare",
    "setns",
    "sethostname",
    "keyctl",
];

/// A base profile's names and where they come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseProfile {
    pub origin: BaseOrigin,
    pub names: BTreeSet<String>,
}

/// Where a base profile comes from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaseOrigin {
    Builtin(OciRuntime),
    File(PathBuf),
}

impl fmt::Display for BaseOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaseOrigin::Builtin(r) => write!(f, "the {r} base profile"),
            BaseOrigin::File(p) => write!(f, "base profile {}", p.display()),
        }
    }
}

impl BaseProfile {
    /// The shipped base profile of `runtime`.
    pub fn builtin(runtime: OciRuntime) -> BaseProfile {
        let text = match runtime {
            OciRuntime::Runc => RUNC,
            OciRuntime::Crun => CRUN,
        };
        let profile: Profile = serde_json::from_str(text)
            .expect("the shipped base profiles are OCI profiles (tested)");
        BaseProfile {
            origin: BaseOrigin::Builtin(runtime),
            names: names_of(&profile),
        }
    }

    /// The allowed names of the profile at `path` (any format `recorder
    /// convert` reads; `FILE#NAME` picks one of several).
    pub fn from_file(path: &Path) -> Result<BaseProfile, BaseError> {
        let (doc, _) = read_one(&path.to_string_lossy(), &Target::host()).map_err(BaseError)?;
        Ok(BaseProfile {
            origin: BaseOrigin::File(path.to_path_buf()),
            names: names_of(&doc.profile),
        })
    }

    /// The base profile `choice` asks for; `detected` is the runtime that
    /// runs the container, for [`BaseChoice::Auto`] (`None`: unknown, no
    /// base).
    pub fn choose(
        choice: &BaseChoice,
        detected: Option<OciRuntime>,
    ) -> Result<Option<BaseProfile>, BaseError> {
        Ok(match choice {
            BaseChoice::Auto => detected.map(BaseProfile::builtin),
            BaseChoice::Builtin(r) => Some(BaseProfile::builtin(*r)),
            BaseChoice::None => None,
            BaseChoice::File(p) => Some(BaseProfile::from_file(p)?),
        })
    }
}

fn names_of(profile: &Profile) -> BTreeSet<String> {
    profile
        .allowed_names()
        .into_iter()
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profiles_parse_and_hold_no_setup_calls() {
        for runtime in [OciRuntime::Runc, OciRuntime::Crun] {
            let base = BaseProfile::builtin(runtime);
            assert!(base.names.contains("execve"), "{runtime}: {:?}", base.names);
            for setup in RUNTIME_SETUP_SYSCALLS {
                assert!(!base.names.contains(setup), "{runtime} base has {setup}");
            }
        }
    }

    #[test]
    fn choices() {
        assert_eq!("auto".parse(), Ok(BaseChoice::Auto));
        assert_eq!("none".parse(), Ok(BaseChoice::None));
        assert_eq!("crun".parse(), Ok(BaseChoice::Builtin(OciRuntime::Crun)));
        assert_eq!(
            "./my.json".parse(),
            Ok(BaseChoice::File(PathBuf::from("./my.json")))
        );
        assert!("".parse::<BaseChoice>().is_err());
        assert_eq!(BaseProfile::choose(&BaseChoice::Auto, None).unwrap(), None);
        assert_eq!(
            BaseProfile::choose(&BaseChoice::Auto, Some(OciRuntime::Runc))
                .unwrap()
                .map(|b| b.origin),
            Some(BaseOrigin::Builtin(OciRuntime::Runc))
        );
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{").unwrap();
        let err = BaseProfile::from_file(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("base profile {}:1:", bad.display())),
            "{err}"
        );
        let missing = dir.path().join("none.json");
        let err = BaseProfile::from_file(&missing).unwrap_err().to_string();
        assert!(err.contains("none.json"), "{err}");
    }
}
