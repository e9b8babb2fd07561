//! Flags shared by the commands that read or write profiles: the output
//! format (`--format`, `--name`, `--namespace`) and the target Docker
//! profiles are resolved for (`--arch`, `--caps`, `--kernel`).

use std::collections::BTreeSet;
use std::path::Path;

use clap::Args;

use super::choice;
use crate::arch::Arch;
use crate::messages;
use crate::profile::Profile;
use crate::profile::format::{Format, FormatOptions, crd, render};
use crate::profile::output::{Output, OutputError};
use crate::profile::read::{Document, KernelVersion, ReadError, Target, read_one};
use crate::profile::systemd_groups::SystemdChoice;

/// How a command writes its profile.
#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// Output format: oci (runtime-spec JSON for runc, crun, the kubelet,
    /// Docker and podman), crd (a Kubernetes SeccompProfile object of the
    /// Security Profiles Operator), systemd (lines for a unit drop-in).
    #[arg(long, value_parser = choice::parser::<Format>(), default_value_t, value_name = "FORMAT")]
    pub format: Format,

    /// metadata.name of the SeccompProfile (crd). Default: the output file's
    /// name, else the input's.
    #[arg(long, value_name = "NAME", value_parser = parse_object_name)]
    pub name: Option<String>,

    /// metadata.namespace of the SeccompProfile (crd).
    #[arg(long, value_name = "NAMESPACE", value_parser = parse_object_name)]
    pub namespace: Option<String>,
}

fn parse_object_name(text: &str) -> Result<String, String> {
    if crd::is_valid_name(text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a Kubernetes name: use lower-case letters, digits, '-' and '.'"
        ))
    }
}

impl FormatArgs {
    /// Renders `profile` and writes it to `output`; what the format cannot
    /// express is reported on stderr. `input` names the profile when neither
    /// `--name` nor an output file does.
    pub fn write(
        &self,
        profile: &Profile,
        output: &Output,
        input: Option<&Path>,
    ) -> Result<(), OutputError> {
        let options = FormatOptions {
            format: self.format,
            name: self.name.clone(),
            namespace: self.namespace.clone(),
        };
        let rendered = render(profile, &options, output.path().or(input));
        for warning in &rendered.warnings {
            messages::about_profile(format_args!("warning: {warning}"));
        }
        output.write(&rendered.text)
    }
}

/// What Docker profiles' conditional rules are resolved for.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Resolve Docker profiles for this architecture (x86_64, aarch64, ...;
    /// default: this host's).
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<Arch>,

    /// Resolve Docker profiles for these capabilities: comma-separated
    /// (CAP_SYS_ADMIN,net_admin), ALL, or "" for none. Default: Docker's
    /// default set.
    #[arg(long, value_name = "CAPS", value_parser = parse_caps)]
    pub caps: Option<BTreeSet<String>>,

    /// Resolve Docker profiles for this kernel version (MAJOR.MINOR; default:
    /// the running kernel's).
    #[arg(long, value_name = "X.Y")]
    pub kernel: Option<KernelVersion>,

    /// Expand the syscall groups (@system-service, ...) of systemd units as
    /// this systemd release defines them: installed (systemd-analyze; the
    /// newest known release where there is none) or 252, 254, 257.
    #[arg(long, value_name = "VERSION", default_value = "installed")]
    pub systemd: SystemdChoice,
}

fn parse_caps(text: &str) -> Result<BTreeSet<String>, String> {
    Target::parse_caps(text).map_err(|e| e.to_string())
}

impl TargetArgs {
    pub fn target(&self) -> Target {
        let host = Target::host();
        Target {
            arch: self.arch.unwrap_or(host.arch),
            caps: self.caps.clone().unwrap_or(host.caps),
            kernel: self.kernel.unwrap_or(host.kernel),
            systemd: self.systemd,
        }
    }
}

/// Reads the one profile `spec` names (`FILE` or `FILE#NAME`), printing the
/// reader's warnings.
pub fn read_profile(spec: &str, target: &Target) -> Result<Document, ReadError> {
    let (document, warnings) = read_one(spec, target)?;
    for warning in warnings {
        messages::warning(warning);
    }
    log::info!("{spec}: read as {}", document.format);
    Ok(document)
}

/// The file part of a `FILE#NAME` spec.
pub fn spec_path(spec: &str) -> &Path {
    match spec.rsplit_once('#') {
        Some((path, _)) if !Path::new(spec).exists() => Path::new(path),
        _ => Path::new(spec),
    }
}
