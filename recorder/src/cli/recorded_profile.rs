//! Flags and reporting shared by the commands that turn observed syscalls
//! into a profile (`record`, `trace`, `logs`): where the profile goes, its
//! errno, format and architectures, and the warnings that come with it.

use std::path::PathBuf;

use clap::Args;

use super::choice;
use super::profile_args::FormatArgs;
use crate::arch::{ArchPolicy, LibseccompVersion};
use crate::bpf::Seen;
use crate::capture::{BuiltProfile, ProfileOptions, SyscallSet};
use crate::errno::parse_errno;
use crate::messages;
use crate::profile::output::{Output, OutputError};

#[derive(Debug, Clone, Args)]
pub struct RecordedProfileArgs {
    /// Write the profile to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// errno returned for syscalls outside the profile. ENOSYS by default:
    /// libc falls back from syscalls it sees as missing (e.g. clone3 -> clone).
    #[arg(long, value_name = "N|NAME", default_value = "ENOSYS", value_parser = parse_errno)]
    pub errno: u32,

    #[command(flatten)]
    pub format: FormatArgs,

    /// Which architectures (syscall ABIs) the profile lists; an ABI not
    /// listed is refused outright, so `observed` keeps the 32-bit and x32
    /// entry points closed unless the workload used them.
    #[arg(
        long,
        value_name = "POLICY",
        value_parser = choice::parser::<ArchPolicy>(),
        default_value_t = ArchPolicy::Observed
    )]
    pub arch_policy: ArchPolicy,

    /// The oldest libseccomp the profile must load with (e.g. 2.5.4, Debian
    /// 12's; 2.5 means 2.5.0). Names it does not know are left out, and
    /// stderr says which; runtimes built with it would drop them anyway.
    /// Without this flag every name is kept and stderr names those that
    /// older releases lack.
    #[arg(long, value_name = "VERSION")]
    pub libseccomp: Option<LibseccompVersion>,
}

impl RecordedProfileArgs {
    /// Checks the output path before anything is recorded.
    pub fn prepare_output(&self) -> Result<Output, OutputError> {
        Output::prepare(self.output.as_deref())
    }

    /// The profile of `set` under these flags.
    pub fn build(&self, set: &SyscallSet) -> BuiltProfile {
        set.build_profile(&ProfileOptions {
            errno: self.errno,
            arch_policy: self.arch_policy,
            libseccomp: self.libseccomp,
        })
    }

    /// Says on stderr which names older libseccomp releases lack, or which
    /// were left out for `--libseccomp`.
    pub fn report_versions(&self, built: &BuiltProfile) {
        if let Some(warning) = built.newer_names_warning() {
            messages::about_profile(warning);
        }
        if let Some(note) = self.libseccomp.and_then(|v| built.left_out_note(v)) {
            messages::about_profile(note);
        }
    }

    /// Says on stderr what the argument conditions could not cover, and
    /// that clone3 fails with ENOSYS.
    pub fn report_args(&self, built: &BuiltProfile) {
        for note in &built.arg_notes {
            messages::about_profile(note);
        }
    }

    /// Writes the profile in the chosen format.
    pub fn write(&self, built: &BuiltProfile, output: &Output) -> Result<(), OutputError> {
        self.format.write(&built.profile, output, None)
    }
}

/// Warns about syscall numbers that cannot be in the profile: beyond the
/// kernel side's table, or without a name libseccomp knows.
pub fn warn_unlisted(seen: &Seen, built: &BuiltProfile) {
    if seen.out_of_range > 0 {
        messages::about_profile(format_args!(
            "warning: {} syscalls had numbers beyond the recorder's table and are not in the profile",
            seen.out_of_range
        ));
    }
    for u in &built.unnamed {
        messages::about_profile(format_args!(
            "warning: syscall {} on {} has no name libseccomp knows; it cannot be listed and will be denied",
            u.number, u.arch
        ));
    }
}

/// `57 syscalls` or `57 syscalls, 6 of them only with the argument values
/// recorded`, for the line that says where the profile went.
pub fn count_syscalls(profile: &crate::profile::Profile) -> String {
    let always = profile.allowed_names().len();
    let conditional = profile.conditionally_allowed_names().len();
    if conditional == 0 {
        format!("{always} syscalls")
    } else {
        format!(
            "{} syscalls, {conditional} of them only with the argument values recorded",
            always + conditional
        )
    }
}
