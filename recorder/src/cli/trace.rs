//! `recorder trace`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgGroup, Args};

use super::logs::parse_duration;
use super::recorded_profile::{RecordedProfileArgs, warn_unlisted};
use super::self_confine_args::SelfConfineArgs;
use super::{print_error, report_error};
use crate::arch::Arch;
use crate::bpf::AttachKind;
use crate::capture::SyscallSet;
use crate::container::base::{BaseChoice, BaseProfile};
use crate::container::default_runtime::default_runtime;
use crate::container::{Engine, HostLayout};
use crate::daemon::client::{DEFAULT_SOCKET, DaemonClient};
use crate::messages;
use crate::profile::output::Output;
use crate::record::stderr_is_terminal;
use crate::self_confine::Write;
use crate::trace::{Target, TraceEnd, TraceError, TraceOptions, trace, trace_via_daemon};

/// Record a container (or a process's or a cgroup's processes) and write the
/// seccomp profile it needs.
///
/// The profile holds what the container's workload did from its first exec
/// inside the container (in its pid or mount namespace, so `hostPID` and
/// `--pid=host` containers too), plus what its OCI runtime (runc or crun) itself does
/// after it installs the filter (the runtime's base profile, --base). The
/// runtime's setup before that (mount, pivot_root, sethostname, ...) is left
/// out. Record containers unconfined (e.g. `--security-opt
/// seccomp=unconfined`): syscalls a filter denies never reach the recorder.
///
/// A running container is recorded from now on; with --wait, a container
/// that has not started yet is recorded from its first syscall. Recording
/// ends when the container exits, on Ctrl-C, or after --duration.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("target").required(true).args(["container", "pid", "cgroup"])),
    after_help = "Examples:\n  recorder trace --container web --wait -o web.json &\n  docker run --name web --security-opt seccomp=unconfined nginx\n\n  recorder trace --container 8dbd5b --duration 5m -o web.json\n  recorder trace --pid 4242 -o app.json"
)]
pub struct TraceArgs {
    /// The container: a full id, a unique id prefix, or a name. Docker,
    /// podman, containerd (nerdctl's names), CRI-O, and runc or crun run by
    /// hand; containers
    /// the kubelet started also by NAMESPACE/POD/CONTAINER, POD/CONTAINER
    /// or CONTAINER.
    #[arg(long, value_name = "X")]
    container: Option<String>,

    /// Record the cgroup process PID is in, until PID exits.
    #[arg(long, value_name = "PID", conflicts_with = "wait")]
    pid: Option<i32>,

    /// Record every process of a cgroup, given relative to the cgroup2 mount
    /// (/docker/<id>) or as a path below it; no runtime boundary applies.
    #[arg(long, value_name = "PATH")]
    cgroup: Option<PathBuf>,

    /// Stop recording this long after it began (30s, 5m, 1h30m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,

    /// Wait for a container that has not started (or does not exist) yet and
    /// record it from its first syscall. Prints `waiting for container X`
    /// once it is safe to start it.
    #[arg(long)]
    wait: bool,

    /// With --wait: give up (exit 1) when the container has not started
    /// this long after waiting began (30s, 5m). Default: wait forever.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "wait")]
    timeout: Option<Duration>,

    /// Create PATH once recording is in place (with --wait: once waiting),
    /// for scripts that start the container then.
    #[arg(long, value_name = "PATH")]
    ready_file: Option<PathBuf>,

    /// The runtime base profile to add: that of the runtime running the
    /// container (auto), runc's, crun's, none, or the allowed names of an
    /// OCI profile FILE.
    #[arg(long, value_name = "auto|runc|crun|none|FILE", default_value = "auto")]
    base: BaseChoice,

    #[command(flatten)]
    profile: RecordedProfileArgs,

    /// Also capture the argument values that matter and allow only those
    /// (see `recorder record --help`). The runtime's base profile stays
    /// without conditions. Through a daemon, only one started with --args
    /// is asked; otherwise the container is recorded here.
    #[arg(long)]
    args: bool,

    /// Only errors on stderr, and what the profile written lacks or does
    /// otherwise than recorded (no status line, notes, summary or other
    /// warnings).
    #[arg(short, long)]
    quiet: bool,

    /// Record the container here even when a `recorder daemon` runs
    /// (otherwise the daemon, which records every container, is asked for
    /// the container's recording, and no second program is loaded).
    #[arg(long)]
    no_daemon: bool,

    /// The recorder daemon's API socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    daemon_socket: PathBuf,

    /// Hook to attach to (default: the best the kernel supports).
    #[arg(long, value_name = "KIND", hide = true)]
    attach: Option<AttachKind>,

    #[command(flatten)]
    confinement: SelfConfineArgs,
}

pub fn run(args: TraceArgs) -> i32 {
    messages::set_quiet(args.quiet);
    let output = match args.profile.prepare_output() {
        Ok(o) => o,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    // A bad base file should fail before a long recording, not after it.
    if let BaseChoice::File(path) = &args.base {
        // A word that is no file was most likely meant as a choice.
        if !path.exists() {
            print_error(format_args!(
                "--base {}: no such file; give auto, runc, crun, none or an OCI profile file",
                path.display()
            ));
            return 1;
        }
        if let Err(e) = BaseProfile::from_file(path) {
            report_error(&e);
            return 1;
        }
    }
    let target = match (args.container, args.pid, args.cgroup) {
        (Some(c), _, _) => Target::Container(c),
        (_, Some(p), _) => Target::Pid(p),
        (_, _, Some(c)) => Target::Cgroup(c),
        (None, None, None) => unreachable!("clap requires one target"),
    };
    let what = match &target {
        Target::Container(c) => format!("container {c}"),
        Target::Pid(p) => format!("process {p}"),
        Target::Cgroup(c) => format!("cgroup {}", c.display()),
    };
    let options = TraceOptions {
        target,
        wait: args.wait,
        timeout: args.timeout,
        duration: args.duration,
        ready_file: args.ready_file.clone(),
        attach: args.attach,
        args: args.args,
        status_line: !args.quiet && stderr_is_terminal(),
        quiet: args.quiet,
        layout: None,
        confinement: args.confinement.confinement(),
        writes: writes(&output, args.ready_file.as_deref()),
    };
    let through_daemon = match &options.target {
        Target::Container(_) if !args.no_daemon => DaemonClient::answering(&args.daemon_socket)
            .filter(|client| {
                // A daemon without --args has only the names.
                let usable = !options.args || client.info().is_ok_and(|i| i.args);
                if !usable {
                    log::info!(
                        "the recorder daemon at {} captures no arguments: recording here",
                        args.daemon_socket.display()
                    );
                }
                usable
            })
            .map(|client| {
                log::info!(
                    "asking the recorder daemon at {}",
                    args.daemon_socket.display()
                );
                trace_via_daemon(&client, &options)
            }),
        _ => None,
    };
    let result = match through_daemon {
        Some(Ok(Some(outcome))) => Ok(outcome),
        Some(Err(e)) => Err(e),
        Some(Ok(None)) | None => trace(&options),
    };
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            report_error(&e);
            return match e {
                TraceError::InterruptedWaiting(_) => 130,
                _ => 1,
            };
        }
    };
    log::info!("recorded cgroup {}", outcome.cgroup.display());
    let runtime = match &outcome.container {
        Some(c) if c.runtime.is_none() && args.base == BaseChoice::Auto => {
            let layout = HostLayout::host(Path::new("/sys/fs/cgroup"));
            let assumed = default_runtime(&layout, &c.engine);
            match assumed {
                Some(r) if !args.quiet => messages::notice(format_args!(
                    "note: the runtime of {what} could not be read while it ran: {r}, {}'s default, is assumed (give --base to choose)",
                    c.engine
                )),
                Some(_) => {}
                None => {
                    print_error(format_args!(
                        "cannot tell which runtime ran {what}: its profile would lack the runtime's base profile and not start the container; record again with --base runc, --base crun or --base none"
                    ));
                    return 1;
                }
            }
            assumed
        }
        Some(c) => c.runtime,
        None => None,
    };
    let base = match BaseProfile::choose(&args.base, runtime) {
        Ok(b) => b,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    if outcome.seen.is_empty() {
        messages::about_profile(format_args!(
            "warning: recorded no syscall of {what}{}",
            if outcome.from_start {
                ""
            } else {
                " (was it idle?)"
            }
        ));
    }
    if !args.quiet
        && args.profile.errno != libc::EPERM as u32
        && outcome
            .container
            .as_ref()
            .is_some_and(|c| c.engine == Engine::Docker)
    {
        messages::notice(
            "note: Docker before 23.0 hands profiles to runc without defaultErrnoRet (moby/moby#42604): there, calls outside the profile fail with EPERM, not the --errno chosen",
        );
    }
    let mut set = SyscallSet::from_seen(&outcome.seen);
    let recorded = set.names().0.len();
    if let Some(base) = &base {
        add_base(&mut set, base);
    }
    let built = args.profile.build(&set);
    let profile = &built.profile;
    args.profile.report_versions(&built);
    if !args.quiet {
        args.profile.report_args(&built);
    }
    warn_unlisted(&outcome.seen, &built);
    if outcome.end == TraceEnd::Interrupted {
        messages::about_profile("interrupted: writing the profile of what was recorded so far");
    }
    if let Err(e) = args.profile.write(&built, &output) {
        report_error(&e);
        return e.exit_code(0, 1);
    }
    if !args.quiet {
        let total = profile.allowed_names().len() + profile.conditionally_allowed_names().len();
        let from_base = match &base {
            Some(b) => format!(
                ", {} more from {}",
                total.saturating_sub(recorded),
                b.origin
            ),
            None => String::new(),
        };
        let dest = output
            .path()
            .map_or_else(|| "profile".to_string(), |p| p.display().to_string());
        let conditional = match profile.conditionally_allowed_names().len() {
            0 => String::new(),
            n => format!("; {n} only with the argument values recorded"),
        };
        crate::notice!(
            "wrote {dest} ({total} syscalls: {recorded} recorded{from_base}{conditional})"
        );
    }
    0
}

/// Where `trace` writes once it has lowered itself: the profile, and the
/// ready file's directory.
fn writes(output: &Output, ready_file: Option<&Path>) -> Vec<Write> {
    let mut writes = output.writes();
    if let Some(file) = ready_file {
        let dir = file.parent().unwrap_or(Path::new("."));
        writes.push(Write::InDirectory(dir.to_path_buf()));
    }
    writes
}

/// Adds the base profile's names as calls of the host's own ABI: the
/// runtime that makes them runs natively. They stay without argument
/// conditions: the runtime makes them with whatever values it needs.
/// Names the host does not have (a base derived elsewhere) are skipped.
fn add_base(set: &mut SyscallSet, base: &BaseProfile) {
    let host = Arch::host();
    let table = host.table();
    for name in &base.names {
        match table.number(name) {
            Some(nr) => set.insert_unconditional(host, nr),
            None => log::info!("{} lists {name}, which {host} does not have", base.origin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::OciRuntime;
    use crate::container::base::BaseOrigin;

    #[test]
    fn base_names_are_added_on_the_host_abi() {
        let table = Arch::host().table();
        let mut set = SyscallSet::default();
        set.insert(Arch::host(), table.number("read").unwrap());
        let base = BaseProfile {
            origin: BaseOrigin::Builtin(OciRuntime::Runc),
            names: ["capset", "read", "no_such_call"].map(String::from).into(),
        };
        add_base(&mut set, &base);
        let (names, unnamed) = set.names();
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["capset", "read"]);
        assert!(unnamed.is_empty());
        assert_eq!(set.architectures().collect::<Vec<_>>(), [Arch::host()]);
    }
}
