//! Reading profiles in every format people have them in, into the one
//! [`Profile`] model.
//!
//! - OCI runtime-spec `linux.seccomp` JSON (what runc, crun and the kubelet load),
//! - Docker's JSON (`archMap`, `includes`/`excludes` by architecture,
//!   capability and kernel version, `comment`, the old one-`name` rules),
//!   resolved for a [`Target`] as Docker does when it loads a profile,
//! - Kubernetes `SeccompProfile` objects of the Security Profiles Operator
//!   (YAML, several documents per file),
//! - systemd units and drop-ins (`SystemCallFilter=` and its companions,
//!   groups expanded as the unit's systemd does; what [`super::format`]
//!   writes).
//!
//! Errors name the file, line and column and what was expected; unknown
//! syscall names are warnings with the closest valid spelling, since
//! runtimes skip them.
//!
//! ```no_run
//! use recorder_profile::profile::read::{read_path, Target};
//! let read = read_path("app.json", &Target::host()).unwrap();
//! for w in &read.warnings {
//!     eprintln!("recorder: warning: {w}");
//! }
//! let profile = read.single().unwrap().profile;
//! ```

mod crd;
mod docker;
mod location;
mod systemd;

use std::fmt;
use std::io::Read as _;
use std::path::Path;

pub use crd::{API_GROUP as CRD_API_GROUP, DEFAULT_ERRNO_ANNOTATION};
pub use docker::{ALL_CAPABILITIES, DEFAULT_CAPABILITIES, KernelVersion, Target, TargetError};
pub use location::Location;
pub use systemd::{systemd_arch_name, systemd_local_arches};

use super::{Profile, syscall_names};

/// The format a profile was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Oci,
    /// Docker's format with `archMap` or conditional rules.
    Docker,
    Crd,
    Systemd,
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputFormat::Oci => "OCI JSON",
            InputFormat::Docker => "Docker JSON",
            InputFormat::Crd => "SeccompProfile YAML",
            InputFormat::Systemd => "systemd drop-in",
        })
    }
}

/// One profile of a file (a file of SeccompProfile objects holds several).
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub profile: Profile,
    pub format: InputFormat,
    /// `metadata.name` of a SeccompProfile.
    pub name: Option<String>,
    /// `metadata.namespace` of a SeccompProfile.
    pub namespace: Option<String>,
}

/// Something in a file that runtimes accept but that is probably a mistake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadWarning {
    pub path: String,
    pub location: Option<Location>,
    pub message: String,
}

impl fmt::Display for ReadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some(at) => write!(f, "{}:{at}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Everything read from one file.
#[derive(Clone, Debug)]
pub struct ReadFile {
    pub path: String,
    pub documents: Vec<Document>,
    pub warnings: Vec<ReadWarning>,
}

/// Why a file could not be read as a profile.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}:1:1: the file is empty: expected a seccomp profile (OCI or Docker JSON, SeccompProfile YAML, or systemd SystemCallFilter= lines)"
    )]
    Empty { path: String },
    #[error("{path}:{location}: {message}")]
    At {
        path: String,
        location: Location,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path} holds {count} profiles ({names}): choose one with {path}#NAME")]
    Several {
        path: String,
        count: usize,
        names: String,
    },
    #[error("{path}: no profile named {name:?} in the file (it has: {names})")]
    NoSuchName {
        path: String,
        name: String,
        names: String,
    },
}

impl ReadFile {
    /// The one profile of the file; an error when it holds several.
    pub fn single(self) -> Result<Document, ReadError> {
        let count = self.documents.len();
        let names = names_of(&self.documents);
        let mut documents = self.documents;
        match documents.pop() {
            Some(doc) if count == 1 => Ok(doc),
            _ => Err(ReadError::Several {
                names,
                path: self.path,
                count,
            }),
        }
    }

    /// The profile named `name` (a SeccompProfile's `metadata.name`).
    pub fn named(self, name: &str) -> Result<Document, ReadError> {
        let names = names_of(&self.documents);
        self.documents
            .into_iter()
            .find(|d| d.name.as_deref() == Some(name))
            .ok_or_else(|| ReadError::NoSuchName {
                path: self.path,
                name: name.to_string(),
                names,
            })
    }
}

fn names_of(documents: &[Document]) -> String {
    documents
        .iter()
        .map(|d| d.name.as_deref().unwrap_or("unnamed"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads every profile in the file at `path` (`-` is standard input).
pub fn read_path(path: impl AsRef<Path>, target: &Target) -> Result<ReadFile, ReadError> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let text = if shown == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| ReadError::Io {
                path: shown.clone(),
                source,
            })?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|source| ReadError::Io {
            path: shown.clone(),
            source,
        })?
    };
    read_str(&text, &shown, target)
}

/// Reads one profile named by `spec`: a path, or `path#NAME` to pick one
/// SeccompProfile of a file that holds several.
pub fn read_one(spec: &str, target: &Target) -> Result<(Document, Vec<ReadWarning>), ReadError> {
    let (path, name) = match spec.rsplit_once('#') {
        Some((path, name)) if !Path::new(spec).exists() => (path, Some(name)),
        _ => (spec, None),
    };
    let file = read_path(path, target)?;
    let warnings = file.warnings.clone();
    let doc = match name {
        Some(name) => file.named(name)?,
        None => file.single()?,
    };
    Ok((doc, warnings))
}

/// Reads every profile in `text`; `path` is used in messages.
pub fn read_str(text: &str, path: &str, target: &Target) -> Result<ReadFile, ReadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(ReadError::Empty {
            path: path.to_string(),
        });
    }
    let mut warnings = Vec::new();
    let documents = if trimmed.starts_with('{') {
        vec![docker::read(text, path, target, &mut warnings)?]
    } else if systemd::looks_like(text) {
        use super::systemd_groups::{SyscallGroups, SystemdChoice};
        let groups = SyscallGroups::chosen(target.systemd);
        let fell_back =
            target.systemd == SystemdChoice::Installed && SyscallGroups::installed().is_none();
        vec![systemd::read(
            text,
            path,
            target.arch,
            groups,
            fell_back,
            &mut warnings,
        )?]
    } else {
        crd::read(text, path, &mut warnings)?
    };
    check_names(text, path, &documents, &mut warnings);
    check_loading(text, path, &documents, &mut warnings);
    Ok(ReadFile {
        path: path.to_string(),
        documents,
        warnings,
    })
}

/// Warns about syscall names no table and no libseccomp knows: runtimes skip
/// them, so the syscall the author meant stays denied.
fn check_names(text: &str, path: &str, documents: &[Document], warnings: &mut Vec<ReadWarning>) {
    let mut seen = std::collections::BTreeSet::new();
    for name in documents
        .iter()
        .flat_map(|d| &d.profile.syscalls)
        .flat_map(|r| &r.names)
    {
        if !seen.insert(name.as_str()) || syscall_names::is_known(name) {
            continue;
        }
        let hint = match syscall_names::closest(name) {
            Some(close) => format!(" (did you mean {close:?}?)"),
            None => String::new(),
        };
        warnings.push(ReadWarning {
            path: path.to_string(),
            location: Location::of_token(text, name),
            message: format!(
                "unknown syscall {name:?}{hint}: runtimes skip names they do not know"
            ),
        });
    }
}

/// Warns about what makes runc (and crun) refuse to start a container:
/// rules libseccomp refuses, flags runc does not know, and
/// `SCMP_ACT_NOTIFY` where runc cannot hand the filter to an agent.
/// Anything libseccomp accepts (two rules for one name with different
/// actions, for one) is not warned about: [`super::loading`] says what it
/// keeps.
fn check_loading(text: &str, path: &str, documents: &[Document], warnings: &mut Vec<ReadWarning>) {
    let warn = |warnings: &mut Vec<ReadWarning>, token: &str, message: String| {
        warnings.push(ReadWarning {
            path: path.to_string(),
            location: Location::of_token(text, token),
            message,
        });
    };
    for doc in documents {
        let p = &doc.profile;
        match super::loading::refusals(p) {
            Ok(refused) => {
                for r in refused {
                    warn(
                        warnings,
                        &r.name,
                        format!(
                            "libseccomp refuses the rule {} for {:?} ({}): runc and crun will not start the container",
                            r.verdict, r.name, r.reason
                        ),
                    );
                }
            }
            Err(e) => warn(
                warnings,
                "defaultAction",
                format!("{e}: runc and crun will not start the container"),
            ),
        }
        for flag in p
            .flags
            .iter()
            .flatten()
            .filter(|f| !RUNC_FLAGS.contains(&f.as_str()))
        {
            warn(
                warnings,
                flag,
                format!(
                    "runc does not know seccomp flag {flag:?} and will not start the container: use {}",
                    RUNC_FLAGS.join(", ")
                ),
            );
        }
        let notified: Vec<&str> = p
            .syscalls
            .iter()
            .filter(|r| r.action == super::Action::Notify)
            .flat_map(|r| r.names.iter().map(String::as_str))
            .collect();
        if p.default_action == super::Action::Notify {
            warn(
                warnings,
                "SCMP_ACT_NOTIFY",
                "runc refuses SCMP_ACT_NOTIFY as the default action (the agent could never be told the filter): use it in rules".into(),
            );
        }
        if notified.contains(&"write") {
            warn(
                warnings,
                "write",
                "runc refuses SCMP_ACT_NOTIFY for write (it needs write to hand the filter over): give write another action".into(),
            );
        }
        if !notified.is_empty() && p.listener_path.is_none() {
            warn(
                warnings,
                "SCMP_ACT_NOTIFY",
                format!(
                    "SCMP_ACT_NOTIFY ({}) needs a seccomp agent at listenerPath, which is not set: runc will not start the container",
                    notified.join(", ")
                ),
            );
        }
    }
}

/// The flags runc knows (libcontainer/seccomp/config.go).
const RUNC_FLAGS: [&str; 4] = [
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// A serde error as a located [`ReadError`].
fn located(path: &str, location: Location, message: &str) -> ReadError {
    ReadError::At {
        path: path.to_string(),
        location,
        message: location::strip_location_suffix(message).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::profile::Action;

    fn read(text: &str) -> Result<ReadFile, ReadError> {
        read_str(text, "p.json", &Target::for_arch(Arch::X86_64))
    }

    #[test]
    fn empty_files_are_errors() {
        for text in ["", "  \n\n", "\u{feff}"] {
            let err = read(text).unwrap_err().to_string();
            assert!(err.starts_with("p.json:1:1: the file is empty"), "{err}");
        }
    }

    #[test]
    fn unknown_names_warn_with_suggestion_and_place() {
        let text = "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [{\"names\": [\"read\", \"opneat\"], \"action\": \"SCMP_ACT_ALLOW\"}]\n}";
        let file = read(text).unwrap();
        assert_eq!(file.warnings.len(), 1);
        assert_eq!(
            file.warnings[0].to_string(),
            "p.json:3:36: unknown syscall \"opneat\" (did you mean \"openat\"?): runtimes skip names they do not know"
        );
        assert_eq!(file.documents[0].profile.default_action, Action::Errno);
    }

    #[test]
    fn several_documents_need_a_name() {
        let text = "kind: SeccompProfile\napiVersion: security-profiles-operator.x-k8s.io/v1beta1\nmetadata: {name: a}\nspec: {defaultAction: SCMP_ACT_LOG}\n---\nkind: SeccompProfile\napiVersion: security-profiles-operator.x-k8s.io/v1beta1\nmetadata: {name: b}\nspec: {defaultAction: SCMP_ACT_ALLOW}\n";
        let err = read(text).unwrap().single().unwrap_err().to_string();
        assert_eq!(
            err,
            "p.json holds 2 profiles (a, b): choose one with p.json#NAME"
        );
        let b = read(text).unwrap().named("b").unwrap();
        assert_eq!(b.profile.default_action, Action::Allow);
        let err = read(text).unwrap().named("c").unwrap_err().to_string();
        assert!(err.contains("no profile named \"c\""), "{err}");
    }
}
