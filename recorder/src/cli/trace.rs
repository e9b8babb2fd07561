//! `recorder trace`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args};

use super::print_error;
use crate::bpf::AttachKind;
use crate::capture::SyscallSet;
use crate::container::Engine;
use crate::container::base::{BaseChoice, BaseProfile};
use crate::errno::parse_errno;
use crate::profile::output::Output;
use crate::profile::{Profile, oci};
use crate::record::stderr_is_terminal;
use crate::trace::{Target, TraceEnd, TraceError, TraceOptions, trace};

/// Record a container (or a process's or a cgroup's processes) and write the
/// seccomp profile it needs.
///
/// The profile holds what the container's workload did from its first exec
/// inside the container, plus what its OCI runtime (runc or crun) itself does
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
    /// podman, containerd, CRI-O, and runc or crun run by hand.
    #[arg(long, value_name = "X")]
    container: Option<String>,

    /// Record the cgroup process PID is in, until PID exits.
    #[arg(long, value_name = "PID", conflicts_with = "wait")]
    pid: Option<i32>,

    /// Record every process of a cgroup, given relative to the cgroup2 mount
    /// (/docker/<id>) or as a path below it; no runtime boundary applies.
    #[arg(long, value_name = "PATH")]
    cgroup: Option<PathBuf>,

    /// Write the profile to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Stop recording after this long (e.g. 30s, 5m, 1h30m).
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    duration: Option<Duration>,

    /// Wait for a container that has not started (or does not exist) yet and
    /// record it from its first syscall. Prints `waiting for container X`
    /// once it is safe to start it.
    #[arg(long)]
    wait: bool,

    /// Create PATH once recording is in place (with --wait: once waiting),
    /// for scripts that start the container then.
    #[arg(long, value_name = "PATH")]
    ready_file: Option<PathBuf>,

    /// The runtime base profile to add: that of the runtime running the
    /// container (auto), runc's, crun's, none, or the allowed names of an
    /// OCI profile FILE.
    #[arg(long, value_name = "auto|runc|crun|none|FILE", default_value = "auto")]
    base: BaseChoice,

    /// errno returned for syscalls outside the profile. ENOSYS by default:
    /// libc falls back from syscalls it sees as missing (e.g. clone3 -> clone).
    #[arg(long, value_name = "N|NAME", default_value = "ENOSYS", value_parser = parse_errno)]
    errno: u32,

    /// No status line and no summary on stderr.
    #[arg(short, long)]
    quiet: bool,

    /// Hook to attach to (default: the best the kernel supports).
    #[arg(long, value_name = "KIND", hide = true)]
    attach: Option<AttachKind>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}: give a duration such as 30s, 5m or 1h30m"))
}

pub fn run(args: TraceArgs) -> i32 {
    let output = match Output::prepare(args.output.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            print_error(e);
            return 1;
        }
    };
    // A bad base file should fail before a long recording, not after it.
    if let BaseChoice::File(path) = &args.base
        && let Err(e) = BaseProfile::from_file(path)
    {
        print_error(e);
        return 1;
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
        duration: args.duration,
        ready_file: args.ready_file,
        attach: args.attach,
        status_line: !args.quiet && stderr_is_terminal(),
        layout: None,
    };
    let outcome = match trace(&options) {
        Ok(o) => o,
        Err(e) => {
            print_error(&e);
            return match e {
                TraceError::InterruptedWaiting(_) => 130,
                _ => 1,
            };
        }
    };
    let runtime = outcome.container.as_ref().and_then(|c| c.runtime);
    let base = match BaseProfile::choose(&args.base, runtime) {
        Ok(b) => b,
        Err(e) => {
            print_error(e);
            return 1;
        }
    };
    if args.base == BaseChoice::Auto && base.is_none() && outcome.container.is_some() {
        print_error(format_args!(
            "warning: cannot tell which runtime runs {what}: no base profile added (give --base runc or --base crun)"
        ));
    }
    if outcome.seen.out_of_range > 0 {
        print_error(format_args!(
            "warning: {} syscalls had numbers beyond the recorder's table and are not in the profile",
            outcome.seen.out_of_range
        ));
    }
    if outcome.seen.is_empty() {
        print_error(format_args!(
            "warning: recorded no syscall of {what}{}",
            if outcome.from_start {
                ""
            } else {
                " (was it idle?)"
            }
        ));
    }
    if args.errno != libc::EPERM as u32
        && outcome
            .container
            .as_ref()
            .is_some_and(|c| c.engine == Engine::Docker)
    {
        print_error(
            "note: Docker before 23.0 hands profiles to runc without defaultErrnoRet (moby/moby#42604): there, calls outside the profile fail with EPERM, not the --errno chosen",
        );
    }
    let set = SyscallSet::from_seen(&outcome.seen);
    let (recorded, unnamed) = set.to_profile(args.errno);
    for u in &unnamed {
        print_error(format_args!(
            "warning: syscall {} on {} has no name libseccomp knows; it cannot be listed and will be denied",
            u.number, u.arch
        ));
    }
    let profile = with_base(&recorded, base.as_ref(), args.errno);
    if outcome.end == TraceEnd::Interrupted {
        print_error("interrupted: writing the profile of what was recorded so far");
    }
    if let Err(e) = output.write(&oci::to_json(&profile)) {
        print_error(e);
        return 1;
    }
    if !args.quiet {
        let total = profile.allowed_names().len();
        let own = recorded.allowed_names().len();
        let from_base = match &base {
            Some(b) => format!(", {} more from {}", total - own, b.origin),
            None => String::new(),
        };
        let dest = output
            .path()
            .map_or_else(|| "profile".to_string(), |p| p.display().to_string());
        eprintln!("recorder: wrote {dest} ({total} syscalls: {own} recorded{from_base})");
    }
    0
}

/// The recorded profile with the base profile's names added.
fn with_base(recorded: &Profile, base: Option<&BaseProfile>, errno: u32) -> Profile {
    let Some(base) = base else {
        return recorded.clone();
    };
    let mut names: Vec<String> = recorded
        .allowed_names()
        .into_iter()
        .map(String::from)
        .collect();
    names.extend(base.names.iter().cloned());
    Profile::allow_list(recorded.architectures.iter().copied(), names, errno)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::container::OciRuntime;
    use crate::container::base::BaseOrigin;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").unwrap_err().contains("30s"));
    }

    #[test]
    fn base_names_are_added() {
        let recorded = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        let base = BaseProfile {
            origin: BaseOrigin::Builtin(OciRuntime::Runc),
            names: ["capset".to_string(), "read".to_string()].into(),
        };
        let merged = with_base(&recorded, Some(&base), 38);
        assert_eq!(
            merged.allowed_names().into_iter().collect::<Vec<_>>(),
            ["capset", "read"]
        );
        assert_eq!(merged.architectures, [Arch::X86_64]);
        assert_eq!(with_base(&recorded, None, 38), recorded);
    }
}
