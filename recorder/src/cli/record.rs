//! `recorder record`.

use std::ffi::OsString;

use clap::Args;

use super::recorded_profile::{RecordedProfileArgs, count_syscalls, warn_unlisted};
use super::self_confine_args::SelfConfineArgs;
use super::{print_error, report_error};
use crate::bpf::AttachKind;
use crate::capture::SyscallSet;
use crate::messages;
use crate::record::{RecordOptions, record, stderr_is_terminal};

/// Run a command in a fresh cgroup and write the seccomp profile of every
/// syscall it (and its threads and children) made.
///
/// Recording starts at the command's exec, so nothing the recorder does to
/// set it up is in the profile. The exit status is the command's own. The
/// profile goes to the -o file: stdout is the command's, as with strace -o.
#[derive(Debug, Args)]
#[command(
    override_usage = "recorder record -o FILE [OPTIONS] -- CMD...",
    mut_arg("output", |a| a
        .help("Write the profile to FILE (atomically); required, as stdout is the command's")
        .long_help(OUTPUT_HELP)),
    after_help = "Examples:\n  recorder record -o ls.json -- ls -l /\n  recorder record -o app.json --wait-all -- ./run-tests.sh"
)]
pub struct RecordArgs {
    #[command(flatten)]
    profile: RecordedProfileArgs,

    /// Wait until every process the command started has exited, not only the
    /// command itself (for daemonising children).
    #[arg(long)]
    wait_all: bool,

    /// Also capture the argument values that matter and allow only those:
    /// socket (domain, type, protocol), socketpair, clone and unshare
    /// namespace flags, setns, clone3 (denied with ENOSYS when it asked for
    /// no namespace, so that libc falls back to clone, whose flags the
    /// filter can check), personality, prctl, ioctl, ptrace, bpf and keyctl
    /// sub-commands, and PROT_EXEC for mprotect and pkey_mprotect. Each is
    /// captured in the kernel; a syscall that used more values than its
    /// table holds (64 for ioctl and prctl, 16 for the others) is allowed
    /// without a condition, and stderr says so.
    #[arg(long)]
    args: bool,

    /// Only errors on stderr, and what the profile written lacks or does
    /// otherwise than recorded (no status line, notes, summary or other
    /// warnings).
    #[arg(short, long)]
    quiet: bool,

    /// Hook to attach to (default: the best the kernel supports).
    #[arg(long, value_name = "KIND", hide = true)]
    attach: Option<AttachKind>,

    /// Print the kernel's run time and count of the eBPF program on stderr
    /// (needs `sysctl kernel.bpf_stats_enabled=1`; used by `cargo xtask bench`).
    #[arg(long, hide = true)]
    bpf_stats: bool,

    #[command(flatten)]
    confinement: SelfConfineArgs,

    /// The command to record, and its arguments.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// `-o`'s help for `record`, whose stdout belongs to the command.
const OUTPUT_HELP: &str = "Write the profile to FILE (atomically). Required: stdout is the \
command's own, and the profile must not mix with its output. `-o -` writes the profile to \
stdout after everything the command wrote there.";

pub fn run(args: RecordArgs) -> i32 {
    messages::set_quiet(args.quiet);
    if args.profile.output.is_none() {
        print_error(
            "record needs -o FILE for the profile: the command's own output goes to stdout (-o - writes the profile there after it)",
        );
        return 2;
    }
    let output = match args.profile.prepare_output() {
        Ok(o) => o,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    let options = RecordOptions {
        command: args.command,
        wait_all: args.wait_all,
        attach: args.attach,
        args: args.args,
        status_line: !args.quiet && stderr_is_terminal(),
        confinement: args.confinement.confinement(),
        writes: output.writes(),
    };
    let outcome = match record(&options) {
        Ok(o) => o,
        Err(e) => {
            report_error(&e);
            return e.exit_code();
        }
    };
    if args.bpf_stats {
        match outcome.program_stats {
            Some(s) => messages::requested(format_args!(
                "bpf-stats: run_time_ns={} run_count={}",
                s.run_time_ns, s.run_count
            )),
            None => print_error("bpf stats unavailable"),
        }
    }
    if outcome.left_running > 0 {
        messages::about_profile(format_args!(
            "warning: {}: add --wait-all to wait for them",
            left_running(outcome.left_running)
        ));
    }
    let built = args.profile.build(&SyscallSet::from_seen(&outcome.seen));
    args.profile.report_versions(&built);
    args.profile.report_args(&built);
    warn_unlisted(&outcome.seen, &built);
    if outcome.interrupted {
        messages::about_profile("interrupted: writing the profile of what was recorded so far");
    }
    if let Err(e) = args.profile.write(&built, &output) {
        report_error(&e);
        return e.exit_code(outcome.exit_code, 1);
    }
    if let Some(path) = output.path()
        && !args.quiet
    {
        crate::notice!(
            "wrote {} ({})",
            path.display(),
            count_syscalls(&built.profile)
        );
    }
    outcome.exit_code
}

/// What happens to processes still running when the command exits.
fn left_running(count: usize) -> String {
    if count == 1 {
        "1 process the command started was still running when it exited and is not in the profile from then on".to_string()
    } else {
        format!(
            "{count} processes the command started were still running when it exited and are not in the profile from then on"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_left_running_in_the_singular_and_plural() {
        assert_eq!(
            left_running(1),
            "1 process the command started was still running when it exited and is not in the profile from then on"
        );
        assert!(left_running(3).starts_with("3 processes the command started were still"));
    }
}
