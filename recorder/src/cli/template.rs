//! `recorder template`.

use std::path::PathBuf;

use clap::Args;

use super::choice;
use super::profile_args::FormatArgs;
use super::report_error;
use crate::arch::Arch;
use crate::profile::output::Output;
use crate::profile::templates::Template;
use recorder_profile::choice::Choice as _;

/// Print a starting profile for recording from the kernel's audit log.
///
/// log: allow and log every syscall. audit-high-risk: allow everything, log
/// the high-risk syscalls (mount, ptrace, bpf, module loading, ...).
/// block-high-risk: log everything, deny the high-risk syscalls with EPERM.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  recorder template log -o log.json\n  recorder template block-high-risk --format crd"
)]
pub struct TemplateArgs {
    /// Which template.
    #[arg(value_parser = choice::parser::<Template>(), value_name = "TEMPLATE")]
    template: Template,

    /// Write the profile to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// The host architecture the profile is for (its 32-bit ABIs are listed
    /// too; default: this host's).
    #[arg(long, value_name = "ARCH")]
    arch: Option<Arch>,

    #[command(flatten)]
    format: FormatArgs,
}

pub fn run(args: TemplateArgs) -> i32 {
    let output = match Output::prepare(args.output.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    let profile = args.template.profile(args.arch.unwrap_or_else(Arch::host));
    let name = PathBuf::from(args.template.name());
    match args.format.write(&profile, &output, Some(&name)) {
        Ok(()) => 0,
        Err(e) => {
            report_error(&e);
            1
        }
    }
}
