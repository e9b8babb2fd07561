//! `recorder record`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

use super::print_error;
use super::profile_args::FormatArgs;
use crate::arch::{ArchPolicy, LibseccompVersion};
use crate::bpf::AttachKind;
use crate::capture::{ProfileOptions, SyscallSet};
use crate::errno::parse_errno;
use crate::profile::output::Output;
use crate::record::{RecordOptions, record, stderr_is_terminal};

/// Run a command in a fresh cgroup and write the seccomp profile of every
/// syscall it (and its threads and children) made.
///
/// Recording starts at the command's exec, so nothing the recorder does to
/// set it up is in the profile. The exit status is the command's own.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  recorder record -- ls -l /\n  recorder record -o app.json --wait-all -- ./run-tests.sh"
)]
pub struct RecordArgs {
    /// Write the profile to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Wait until every process the command started has exited, not only the
    /// command itself (for daemonising children).
    #[arg(long)]
    wait_all: bool,

    /// errno returned for syscalls outside the profile. ENOSYS by default:
    /// libc falls back from syscalls it sees as missing (e.g. clone3 -> clone).
    #[arg(long, value_name = "N|NAME", default_value = "ENOSYS", value_parser = parse_errno)]
    errno: u32,

    #[command(flatten)]
    format: FormatArgs,

    /// Which architectures (syscall ABIs) the profile lists; an ABI not
    /// listed is refused outright, so `observed` keeps the 32-bit and x32
    /// entry points closed unless the command used them.
    #[arg(long, value_name = "POLICY", value_enum, default_value_t = ArchPolicy::Observed)]
    arch_policy: ArchPolicy,

    /// The oldest libseccomp the profile must load with (e.g. 2.5.4, Debian
    /// 12's; 2.5 means 2.5.0). Names it does not know are left out, and
    /// stderr says which; runtimes built with it would drop them anyway.
    /// Without this flag every name is kept and stderr names those that
    /// older releases lack.
    #[arg(long, value_name = "VERSION")]
    libseccomp: Option<LibseccompVersion>,

    /// No status line on stderr.
    #[arg(short, long)]
    quiet: bool,

    /// Hook to attach to (default: the best the kernel supports).
    #[arg(long, value_name = "KIND", hide = true)]
    attach: Option<AttachKind>,

    /// Print the kernel's run time and count of the eBPF program on stderr
    /// (needs `sysctl kernel.bpf_stats_enabled=1`; used by `cargo xtask bench`).
    #[arg(long, hide = true)]
    bpf_stats: bool,

    /// The command to record, and its arguments.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    command: Vec<OsString>,
}

pub fn run(args: RecordArgs) -> i32 {
    let output = match Output::prepare(args.output.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            print_error(e);
            return 1;
        }
    };
    let options = RecordOptions {
        command: args.command,
        wait_all: args.wait_all,
        attach: args.attach,
        status_line: !args.quiet && stderr_is_terminal(),
    };
    let outcome = match record(&options) {
        Ok(o) => o,
        Err(e) => {
            print_error(&e);
            return e.exit_code();
        }
    };
    if args.bpf_stats {
        match outcome.program_stats {
            Some(s) => eprintln!(
                "bpf-stats: run_time_ns={} run_count={}",
                s.run_time_ns, s.run_count
            ),
            None => print_error("bpf stats unavailable"),
        }
    }
    if outcome.seen.out_of_range > 0 {
        print_error(format_args!(
            "warning: {} syscalls had numbers beyond the recorder's table and are not in the profile",
            outcome.seen.out_of_range
        ));
    }
    let set = SyscallSet::from_seen(&outcome.seen);
    let built = set.build_profile(&ProfileOptions {
        errno: args.errno,
        arch_policy: args.arch_policy,
        libseccomp: args.libseccomp,
    });
    let profile = &built.profile;
    if let Some(warning) = built.newer_names_warning() {
        print_error(warning);
    }
    if let Some(note) = args.libseccomp.and_then(|v| built.left_out_note(v)) {
        print_error(note);
    }
    for u in &built.unnamed {
        print_error(format_args!(
            "warning: syscall {} on {} has no name libseccomp knows; it cannot be listed and will be denied",
            u.number, u.arch
        ));
    }
    if outcome.interrupted {
        print_error("interrupted: writing the profile of what was recorded so far");
    }
    if let Err(e) = args.format.write(profile, &output, None) {
        print_error(e);
        return if outcome.exit_code == 0 {
            1
        } else {
            outcome.exit_code
        };
    }
    if let Some(path) = output.path()
        && !args.quiet
    {
        eprintln!(
            "recorder: wrote {} ({} syscalls)",
            path.display(),
            profile.allowed_names().len()
        );
    }
    outcome.exit_code
}
