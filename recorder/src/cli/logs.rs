//! `recorder logs`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use super::recorded_profile::RecordedProfileArgs;
use super::self_confine_args::SelfConfineArgs;
use super::{print_error, report_error};
use crate::audit_netlink::AuditSocket;
use crate::cgroup::Cgroup2Mount;
use crate::container::{self, HostLayout, ResolveError};
use crate::logs::FollowedProcesses;
use crate::logs::filter::{ContainerSelector, PidExitedError};
use crate::logs::source::{self, Stop};
use crate::logs::time::{parse_duration_secs, parse_time_arg};
use crate::logs::{ActionFilter, Collector, FilterOptions};
use crate::messages::{self, Chain};
use crate::profile::output::Output;
use crate::self_confine::{self, Role};

/// Write a seccomp profile from the kernel's seccomp audit records: run the
/// workload under a profile whose defaultAction is SCMP_ACT_LOG, then turn
/// its records into a profile of the syscalls it made. Records carry no
/// arguments, so the profile has no argument conditions (stderr says so).
///
/// Reads every log shape, mixed in one input and compressed or not (gzip,
/// zstd): dmesg (also -T), /dev/kmsg, syslog (RFC 3164/5424), auditd's
/// audit.log (raw or enriched), `ausearch` and `ausearch -i` output, and
/// journald (`journalctl -k`, `-o short*`, `-o json`, `audit[PID]: SECCOMP`).
/// With no FILE and no live source, reads standard input (when it is not a
/// terminal).
///
/// Every record counts by default, whatever its action (LOG, ERRNO, KILL,
/// TRAP, ...): each is a syscall the workload attempted. A summary on stderr
/// says what was read, used and left out, and warns when the log shows that
/// the kernel dropped records (printk rate limiting, audit backlog).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  recorder logs /var/log/audit/audit.log -o app.json --comm app
  journalctl -k -o json | recorder logs --since 10m
  recorder logs --source audit --duration 5m -o app.json
  recorder logs --follow /var/log/syslog --exclude-comm 'runc:[2:INIT]'")]
pub struct LogsArgs {
    /// Log files to read (`-` is standard input).
    #[arg(value_name = "FILE", conflicts_with_all = ["follow", "source"])]
    files: Vec<PathBuf>,

    #[command(flatten)]
    profile: RecordedProfileArgs,

    /// Only records of this pid (host pid; repeatable).
    #[arg(long, value_name = "PID")]
    pid: Vec<u32>,

    /// Only records whose comm is NAME (repeatable).
    #[arg(long, value_name = "NAME")]
    comm: Vec<String>,

    /// Leave out records whose comm is NAME (repeatable), e.g. the runtime's
    /// own init after it loaded the filter: 'runc:[2:INIT]'.
    #[arg(long, value_name = "NAME")]
    exclude_comm: Vec<String>,

    /// Only records whose exe is PATH (repeatable).
    #[arg(long, value_name = "PATH")]
    exe: Vec<String>,

    /// Only records at or after TIME: a duration back from now (10m, 2h, 1d),
    /// a date (2026-11-23, '2026-11-23 13:40'), RFC 3339, or @UNIXSECONDS.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,

    /// Only records at or before TIME (same forms as --since).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,

    /// Only records of processes in this container: an id, id prefix or
    /// name, as `trace --container` takes them (Kubernetes names too). A
    /// record holds only the host pid, so its process is looked up while it
    /// lives: use it with a live source or while the container runs. With a
    /// live source the container's processes are followed from the start, so
    /// one that exits before its records are read still counts.
    #[arg(long, value_name = "X")]
    container: Option<String>,

    /// Only records of these actions (repeatable or comma-separated): log,
    /// errno, kill, kill_process, kill_thread, trap, trace, user_notif.
    #[arg(long, value_name = "ACTION", value_delimiter = ',')]
    action: Vec<ActionFilter>,

    /// Follow FILE: read records appended from now on, surviving rotation.
    #[arg(long, value_name = "FILE", conflicts_with = "source")]
    follow: Option<PathBuf>,

    /// Read records live from the kernel: `audit` (the audit netlink
    /// multicast group: no daemon needed, no printk rate limit; needs root)
    /// or `kmsg` (/dev/kmsg; rate-limited by printk, empty while auditd runs).
    #[arg(long, value_name = "SOURCE")]
    source: Option<LiveSource>,

    /// Stop a live source (--follow, --source) after this long (30s, 10m,
    /// 1h) instead of at Ctrl-C.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,

    /// Threads that parse FILEs and standard input (default: one per CPU,
    /// at most 4). With 1 the reading thread parses too, which takes the
    /// least CPU time in all; more finish sooner on an idle multi-core
    /// machine. Live sources always read on one thread.
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u16).range(1..=256),
        conflicts_with_all = ["follow", "source"]
    )]
    threads: Option<u16>,

    /// The audit socket's receive queue in bytes, for --source audit
    /// (default 8 MiB; a small one makes it overflow, for tests).
    #[arg(long, value_name = "BYTES", hide = true, requires = "source")]
    audit_queue: Option<usize>,

    #[command(flatten)]
    confinement: SelfConfineArgs,
}

/// A live source of kernel records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LiveSource {
    Audit,
    Kmsg,
}

/// A live source of kernel records, open.
enum KernelSource {
    Audit(AuditSocket),
    Kmsg(std::fs::File),
}

/// Opens the live source (the only step that needs privileges: joining the
/// audit group, opening /dev/kmsg), then lowers the recorder, which only
/// reads it and writes the profile from then on.
fn open_kernel_source(
    kind: LiveSource,
    audit_queue: Option<usize>,
    confinement: &SelfConfineArgs,
    output: &Output,
) -> Result<KernelSource, String> {
    let plan = self_confine::prepare(Role::Logs, &confinement.confinement())
        .map_err(|e| Chain(&e).to_string())?;
    let source = match kind {
        LiveSource::Audit => KernelSource::Audit(
            source::open_audit_netlink(audit_queue).map_err(|e| Chain(&e).to_string())?,
        ),
        LiveSource::Kmsg => {
            KernelSource::Kmsg(source::open_kmsg().map_err(|e| Chain(&e).to_string())?)
        }
    };
    plan.apply(&output.writes());
    Ok(source)
}

/// `--container`'s container, resolved as `trace` resolves it, with its
/// cgroup directory when it has one now. A query no container known now
/// matches is kept as an id prefix: the container may have been removed
/// since its log was written.
fn resolve_container(query: &str) -> Result<(ContainerSelector, Option<PathBuf>), String> {
    let Ok(mount) = Cgroup2Mount::find() else {
        return Ok((ContainerSelector::id_prefix(query), None));
    };
    let layout = HostLayout::host(&mount.root);
    let containers = container::list(&layout);
    match container::find(&containers, query) {
        Ok(c) => {
            log::info!("--container {query}: {}", c.describe());
            let dir = c.cgroup.as_deref().map(|cg| layout.cgroup_dir(cg));
            Ok((
                ContainerSelector {
                    query: query.to_string(),
                    id: c.id.clone(),
                    cgroup: c.cgroup.clone(),
                },
                dir,
            ))
        }
        Err(ResolveError::NotFound(_)) => {
            if !query.bytes().all(|b| b.is_ascii_hexdigit()) {
                messages::warning(format_args!(
                    "--container {query}: no container known now has this name or id; \
                     matching it against the container ids in each process's cgroup"
                ));
            }
            Ok((ContainerSelector::id_prefix(query), None))
        }
        Err(e) => Err(format!("--container {e}")),
    }
}

pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    match parse_duration_secs(text.trim()) {
        Some(secs) if secs > 0 => Ok(Duration::from_secs(secs as u64)),
        _ => Err(format!(
            "{text:?} is not a duration: use a number with s, m, h or d (30s, 10m, 1h30m)"
        )),
    }
}

/// Why a profile from logs has no argument conditions.
const NAMES_ONLY: &str = "the profile allows each syscall whatever its arguments: audit records carry none (`recorder record --args` and `trace --args` write argument conditions)";

pub fn run(args: LogsArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(message) => {
            print_error(message);
            1
        }
    }
}

fn run_inner(args: LogsArgs) -> Result<i32, String> {
    let live = args.follow.is_some() || args.source.is_some();
    if args.duration.is_some() && !live {
        return Err(
            "--duration applies to live sources: add --follow FILE or --source audit|kmsg".into(),
        );
    }
    let output = args
        .profile
        .prepare_output()
        .map_err(|e| Chain(&e).to_string())?;
    let now = jiff::Zoned::now();
    let since = args
        .since
        .as_deref()
        .map(|t| parse_time_arg(t, &now).map_err(|e| format!("--since {e}")))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|t| parse_time_arg(t, &now).map_err(|e| format!("--until {e}")))
        .transpose()?;
    let container = match args.container.as_deref() {
        Some("") => return Err("--container needs a container name, id or id prefix".into()),
        Some(query) => Some(resolve_container(query)?),
        None => None,
    };
    let options = FilterOptions {
        pids: args.pid,
        comms: args.comm,
        exclude_comms: args.exclude_comm,
        exes: args.exe,
        since,
        until,
        container: container.as_ref().map(|(selector, _)| selector.clone()),
        actions: args.action,
    };
    let mut collector = Collector::new(options);
    // Subscribed now, read from a thread of its own once the recorder has
    // lowered itself (threads keep their creator's capabilities).
    let mut followed = None;
    if live && let Some((selector, Some(dir))) = &container {
        match FollowedProcesses::start(dir) {
            Ok(processes) => followed = Some(processes),
            Err(e) => messages::warning(format_args!(
                "--container {}: {e}; records of its processes that exit before their records are read will be left out",
                selector.query
            )),
        }
    }
    let threads = args
        .threads
        .map_or_else(source::default_workers, usize::from);

    if live {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(signal, Arc::clone(&flag))
                .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
        }
        let stop = Stop::new(flag, args.duration.map(|d| Instant::now() + d));
        let until_what = match args.duration {
            Some(d) => format!("for {}s", d.as_secs()),
            None => "until Ctrl-C".to_string(),
        };
        let kernel = match (&args.follow, args.source) {
            (Some(_), _) | (None, None) => None,
            (None, Some(kind)) => Some(open_kernel_source(
                kind,
                args.audit_queue,
                &args.confinement,
                &output,
            )?),
        };
        if let Some(processes) = followed {
            processes.read_in_background();
            collector.follow(processes);
        }
        let result = match (&args.follow, kernel) {
            (Some(path), _) => source::follow(path, &mut collector, &stop, || {
                crate::notice!("following {} {until_what}", path.display());
            }),
            (None, Some(KernelSource::Audit(socket))) => {
                crate::notice!(
                    "reading seccomp records from the kernel's audit netlink group {until_what}"
                );
                source::read_audit_netlink(socket, &mut collector, &stop)
            }
            (None, Some(KernelSource::Kmsg(kmsg))) => {
                crate::notice!("reading seccomp records from /dev/kmsg {until_what}");
                source::read_kmsg(kmsg, &mut collector, &stop)
            }
            (None, None) => unreachable!("live implies --follow or --source"),
        };
        result.map_err(|e| Chain(&e).to_string())?;
    } else if args.files.is_empty() {
        if std::io::stdin().is_terminal() {
            return Err(
                "no input: give log files, `-` for standard input, --follow FILE, or --source audit|kmsg"
                    .into(),
            );
        }
        source::read_file(None, &mut collector, threads).map_err(|e| Chain(&e).to_string())?;
    } else {
        for file in &args.files {
            source::read_file(Some(file), &mut collector, threads)
                .map_err(|e| Chain(&e).to_string())?;
        }
    }

    let built = args.profile.build(collector.set());
    collector.summary_mut().unknown_numbers = built.unnamed.clone();
    messages::plain(collector.summary());

    if let Some(e) = PidExitedError::check(collector.filter_options(), collector.summary()) {
        return Err(Chain(&e).to_string());
    }
    if collector.set().is_empty() {
        return Err(
            "no seccomp record was used, so there is no profile to write: check the input and the filters (see the summary above)"
                .into(),
        );
    }
    args.profile.report_versions(&built);
    messages::notice(NAMES_ONLY);
    if let Err(e) = args.profile.write(&built, &output) {
        report_error(&e);
        return Ok(e.exit_code(0, 1));
    }
    if let Some(path) = output.path() {
        crate::notice!(
            "wrote {} ({} syscalls)",
            path.display(),
            built.profile.allowed_names().len()
        );
    }
    Ok(0)
}
