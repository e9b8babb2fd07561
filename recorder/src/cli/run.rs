//! `recorder run`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

use super::print_error;
use super::profile_args::{FormatArgs, TargetArgs, read_profile, spec_path};
use crate::confine::run_confined;
use crate::profile::output::Output;

/// Run a command under a profile, as runc would load it.
///
/// The filter is built with libseccomp like runc builds it and loaded with
/// no_new_privs set, right before the command's execve. The exit status is
/// the command's. With --complain nothing is denied: every denial is logged
/// instead, and on exit the syscalls the profile would have denied are listed
/// (from the kernel's audit records; needs root). --fix -o FILE then writes
/// the profile plus those syscalls.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  recorder run --profile app.json -- ./app --serve\n  recorder run --profile app.json --complain --fix -o app-fixed.json -- ./run-tests.sh"
)]
pub struct RunArgs {
    /// The profile (FILE or FILE#NAME).
    #[arg(long, value_name = "PROFILE")]
    profile: String,

    /// Log instead of denying, and report what the profile would have
    /// denied.
    #[arg(long)]
    complain: bool,

    /// With --complain: write the profile plus the syscalls it would have
    /// denied to the -o file.
    #[arg(long, requires_all = ["complain", "output"])]
    fix: bool,

    /// Where --fix writes the fixed profile (atomically).
    #[arg(short, long, value_name = "FILE", requires = "fix")]
    output: Option<PathBuf>,

    #[command(flatten)]
    format: FormatArgs,

    #[command(flatten)]
    target: TargetArgs,

    /// The command to run, and its arguments.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    command: Vec<OsString>,
}

pub fn run(args: RunArgs) -> i32 {
    let output = match args
        .output
        .as_deref()
        .map(|p| Output::prepare(Some(p)))
        .transpose()
    {
        Ok(o) => o,
        Err(e) => {
            print_error(e);
            return 1;
        }
    };
    let document = match read_profile(&args.profile, &args.target.target()) {
        Ok(d) => d,
        Err(e) => {
            print_error(e);
            return 1;
        }
    };
    for note in crate::confine::filter::unenforced(&document.profile) {
        print_error(format_args!("warning: {note}"));
    }
    let outcome = match run_confined(&document.profile, &args.command, args.complain) {
        Ok(o) => o,
        Err(e) => {
            print_error(&e);
            return e.exit_code();
        }
    };
    if !outcome.skipped_names.is_empty() {
        print_error(format_args!(
            "warning: libseccomp does not know {}: skipped, as runc skips them",
            outcome.skipped_names.join(", ")
        ));
    }
    let Some(complaint) = outcome.complaint else {
        return outcome.exit_code;
    };
    if outcome.incomplete {
        print_error(
            "warning: the kernel's audit records may be incomplete (events were lost or the end marker did not arrive)",
        );
    }
    if complaint.denied.is_empty() {
        print_error(format_args!(
            "{} would have denied no syscall",
            args.profile
        ));
    } else {
        print_error(format_args!(
            "{} would have denied {} syscall{}:",
            args.profile,
            complaint.denied.len(),
            if complaint.denied.len() == 1 { "" } else { "s" }
        ));
        let width = complaint
            .denied
            .keys()
            .map(|(_, n)| n.len())
            .max()
            .unwrap_or(0);
        for ((arch, name), reason) in &complaint.denied {
            eprintln!("  {:<7} {name:<width$}  {reason}", arch.short_name());
        }
    }
    for (audit_arch, number) in &complaint.unknown {
        print_error(format_args!(
            "warning: syscall {number} of audit arch {audit_arch:#x} has no known name"
        ));
    }
    if let Some(output) = output {
        let (fixed, kept) = complaint.fix(&document.profile);
        if !kept.is_empty() {
            print_error(format_args!(
                "warning: not widened, a rule of the profile decides them: {}",
                kept.join(", ")
            ));
        }
        if let Err(e) = args
            .format
            .write(&fixed, &output, Some(spec_path(&args.profile)))
        {
            print_error(e);
            return 1;
        }
    }
    outcome.exit_code
}
