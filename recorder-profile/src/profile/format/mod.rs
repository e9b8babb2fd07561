//! Output formats: every one a function of [`Profile`], and every one read
//! back by [`super::read`].
//!
//! - `oci`: runtime-spec JSON ([`super::oci`]), which runc, crun, the kubelet,
//!   Docker and podman load;
//! - `crd`: a Kubernetes `SeccompProfile` object of the Security Profiles
//!   Operator ([`crd`]);
//! - `systemd`: `SystemCallFilter=` lines for a unit drop-in ([`systemd`]).

pub mod crd;
pub mod systemd;

use std::path::Path;

use super::{Profile, oci};
use crate::choice::{Choice, by_name};

/// A profile output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// OCI runtime-spec JSON (runc, crun, kubelet, Docker, podman).
    #[default]
    Oci,
    /// Kubernetes SeccompProfile object (Security Profiles Operator).
    Crd,
    /// systemd unit drop-in (SystemCallFilter=, SystemCallArchitectures=).
    Systemd,
}

impl Choice for Format {
    const ALL: &'static [Format] = &[Format::Oci, Format::Crd, Format::Systemd];

    fn name(self) -> &'static str {
        match self {
            Format::Oci => "oci",
            Format::Crd => "crd",
            Format::Systemd => "systemd",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Format::Oci => "OCI runtime-spec JSON (runc, crun, kubelet, Docker, podman)",
            Format::Crd => "Kubernetes SeccompProfile object (Security Profiles Operator)",
            Format::Systemd => "systemd unit drop-in (SystemCallFilter=, SystemCallArchitectures=)",
        }
    }
}

by_name!(Format);

/// How to write a profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatOptions {
    pub format: Format,
    /// `metadata.name` of a SeccompProfile.
    pub name: Option<String>,
    /// `metadata.namespace` of a SeccompProfile.
    pub namespace: Option<String>,
}

/// A written profile, and what the format could not express.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub warnings: Vec<String>,
}

/// Writes `profile` in the chosen format. `name_from` names a file whose stem
/// becomes the SeccompProfile's name when `options.name` is not given.
pub fn render(profile: &Profile, options: &FormatOptions, name_from: Option<&Path>) -> Rendered {
    match options.format {
        Format::Oci => Rendered {
            text: oci::to_json(profile),
            warnings: Vec::new(),
        },
        Format::Crd => {
            let name = options
                .name
                .clone()
                .unwrap_or_else(|| crd::name_from_path(name_from));
            crd::to_yaml(profile, &name, options.namespace.as_deref())
        }
        Format::Systemd => systemd::to_dropin(profile),
    }
}
