//! `recorder run`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

use super::profile_args::{FormatArgs, TargetArgs, read_profile, spec_path};
use super::self_confine_args::SelfConfineArgs;
use super::{print_error, report_error};
use crate::confine::{RUN_FAILED, RunOptions, run_confined};
use crate::errno::errno_name;
use crate::messages;
use crate::profile::output::Output;
use crate::profile::{Action, Profile};

/// Run a command under a profile, as runc would load it.
///
/// The filter is built with libseccomp like runc builds it and loaded with
/// no_new_privs set, right before the command's execve. The exit status is
/// the command's. With --complain nothing is denied: every denial is logged
/// instead, and on exit the syscalls the profile would have denied are listed
/// (from the kernel's audit records; needs root). --fix -o FILE then writes
/// the profile plus those syscalls.
///
/// Exit status: the command's; 125 when the recorder itself fails (a bad
/// profile, say), 126 when the command cannot run, 127 when it is not
/// found, as with `docker run` and `env`.
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

    #[command(flatten)]
    confinement: SelfConfineArgs,

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
            report_error(&e);
            return RUN_FAILED;
        }
    };
    let document = match read_profile(&args.profile, &args.target.target()) {
        Ok(d) => d,
        Err(e) => {
            report_error(&e);
            return RUN_FAILED;
        }
    };
    for note in crate::confine::filter::unenforced(&document.profile) {
        messages::warning(note);
    }
    let options = RunOptions {
        complain: args.complain,
        confinement: args.confinement.confinement(),
        writes: output.as_ref().map(Output::writes).unwrap_or_default(),
    };
    let outcome = match run_confined(&document.profile, &args.command, &options) {
        Ok(o) => o,
        Err(e) => {
            report_error(&e);
            return e.exit_code();
        }
    };
    if !outcome.skipped_names.is_empty() {
        messages::warning(format_args!(
            "libseccomp does not know {}: skipped, as runc skips them",
            outcome.skipped_names.join(", ")
        ));
    }
    let Some(complaint) = outcome.complaint else {
        if let Some(signal) = outcome.signal
            && let Some(why) = why_killed(
                &args.command[0].to_string_lossy(),
                &args.profile,
                &document.profile,
                signal,
            )
        {
            print_error(why);
        }
        return outcome.exit_code;
    };
    if outcome.incomplete {
        messages::warning(
            "the kernel's audit records may be incomplete (events were lost or the end marker did not arrive)",
        );
    }
    if complaint.denied.is_empty() {
        messages::notice(format_args!(
            "{} would have denied no syscall",
            args.profile
        ));
    } else {
        messages::notice(format_args!(
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
            messages::plain(format_args!(
                "  {:<7} {name:<width$}  {reason}",
                arch.short_name()
            ));
        }
    }
    for (audit_arch, number) in &complaint.unknown {
        crate::warning!("syscall {number} of audit arch {audit_arch:#x} has no known name");
    }
    if let Some(output) = output {
        let (fixed, kept) = complaint.fix(&document.profile);
        if !kept.is_empty() {
            messages::warning(format_args!(
                "not widened, a rule of the profile decides them: {}",
                kept.join(", ")
            ));
        }
        if let Err(e) = args
            .format
            .write(&fixed, &output, Some(spec_path(&args.profile)))
        {
            report_error(&e);
            return e.exit_code(outcome.exit_code, RUN_FAILED);
        }
        if let Some(path) = output.path() {
            crate::notice!(
                "wrote {} ({} syscalls)",
                path.display(),
                fixed.allowed_names().len()
            );
        }
    }
    outcome.exit_code
}

/// What a command killed by `signal` under `profile` (named `shown`) may
/// have met: the filter itself (SIGSYS, from a kill or trap action), or a
/// syscall failed with the profile's errno that the program did not expect
/// (a crash). `None` for other signals, or a crash under a profile that
/// fails no syscall.
fn why_killed(command: &str, shown: &str, profile: &Profile, signal: i32) -> Option<String> {
    if signal == libc::SIGSYS {
        return Some(format!(
            "{command} was killed by SIGSYS: {shown} does not allow a syscall it made; `recorder run --complain` lists them"
        ));
    }
    let name = match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGFPE => "SIGFPE",
        _ => return None,
    };
    if profile.default_action != Action::Errno {
        return None;
    }
    // OCI: SCMP_ACT_ERRNO without defaultErrnoRet is EPERM.
    let errno = profile.default_errno_ret.unwrap_or(libc::EPERM as u32);
    let errno = errno_name(errno).map_or_else(|| errno.to_string(), str::to_string);
    Some(format!(
        "{command} was killed by {name} under {shown}, which fails the syscalls it does not list with {errno}: if one of them made it crash, `recorder run --complain` lists them"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;

    #[test]
    fn killed_or_crashed_commands_are_explained() {
        let enosys = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        assert_eq!(
            why_killed("./app", "p.json", &enosys, libc::SIGSEGV).as_deref(),
            Some(
                "./app was killed by SIGSEGV under p.json, which fails the syscalls it does not list with ENOSYS: if one of them made it crash, `recorder run --complain` lists them"
            )
        );
        assert_eq!(
            why_killed("./app", "p.json", &enosys, libc::SIGSYS).as_deref(),
            Some(
                "./app was killed by SIGSYS: p.json does not allow a syscall it made; `recorder run --complain` lists them"
            )
        );
        assert_eq!(why_killed("./app", "p.json", &enosys, libc::SIGTERM), None);
        let mut allow = enosys.clone();
        allow.default_action = Action::Allow;
        assert_eq!(why_killed("./app", "p.json", &allow, libc::SIGSEGV), None);
    }
}
