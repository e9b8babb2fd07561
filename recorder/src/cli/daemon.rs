//! `recorder daemon`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::choice;
use super::logs::parse_duration;
use super::report_error;
use super::self_confine_args::SelfConfineArgs;
use crate::arch::ArchPolicy;
use crate::bpf::AttachKind;
use crate::daemon::client::DEFAULT_SOCKET;
use crate::daemon::{DaemonOptions, Filter, run as run_daemon};
use crate::errno::parse_errno;

/// Record every container of this node, from its first syscall, and file
/// one profile per workload where the kubelet loads Localhost profiles.
///
/// Every container that starts while the daemon runs is recorded from its
/// first syscall (its runtime's setup left out, its runtime's base profile
/// in); containers running when it starts are recorded from then on and
/// marked partial. A container the kubelet started is filed as
/// DIR/<namespace>/<workload>/<container>.json, the workload being the
/// pod's owner as the pod's name shows it (Deployment web: web-5d8f7c9b4-x7k2p
/// -> web), so replicas, restarts and later runs add to one profile; pods
/// reference it as `localhostProfile: recorder/<namespace>/<workload>/
/// <container>.json`. Other containers go to DIR/<engine>/<name>.json.
/// Beside each profile, <container>.meta.json counts runs and, per
/// syscall, the runs that made it.
///
/// Profiles are written atomically when a container's last process exits,
/// every --flush interval for running containers, and on SIGTERM/SIGINT;
/// a restarted daemon adds to what is on disk. An unwritable or full
/// directory does not stop recording: profiles wait in memory.
///
/// `recorder status` lists the recordings; the API is JSON over HTTP on
/// --socket (root only): GET /v1/recordings, GET /v1/recordings/<id>,
/// GET /v1/profiles/<path>, POST /v1/flush, GET /metrics.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  recorder daemon\n  recorder daemon --output /srv/profiles --flush 30s --metrics 127.0.0.1:9464\n  recorder daemon --namespace shop --exclude-namespace kube-system --crd"
)]
pub struct DaemonArgs {
    /// Where profiles are filed.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/var/lib/kubelet/seccomp/recorder"
    )]
    output: PathBuf,

    /// The API's Unix socket (mode 0600, root only).
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,

    /// How often running containers' profiles are written (30s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    flush: Duration,

    /// Serve Prometheus metrics at ADDR (e.g. 127.0.0.1:9464). Off by
    /// default.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,

    /// Containers recorded at once (about 3 KiB of kernel memory each,
    /// 9 KiB with --args).
    /// Slots to tell new cgroups apart are kept besides these. A container
    /// that finds none free is reported not recorded, and stays so.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65536))]
    max_recordings: u32,

    /// Create PATH once every container started from then on is recorded.
    #[arg(long, value_name = "PATH")]
    ready_file: Option<PathBuf>,

    /// Record only containers of this engine: docker, podman, containerd,
    /// crio, runc or crun (repeatable).
    #[arg(long = "engine", value_name = "E", value_parser = ["docker", "podman", "containerd", "crio", "runc", "crun"])]
    engines: Vec<String>,

    /// Record only containers of this Kubernetes namespace (repeatable);
    /// containers the kubelet did not start are then left out.
    #[arg(long = "namespace", value_name = "NS")]
    namespaces: Vec<String>,

    /// Leave out containers of this Kubernetes namespace (repeatable).
    #[arg(long = "exclude-namespace", value_name = "NS")]
    exclude_namespaces: Vec<String>,

    /// Record only containers with a name (or id) matching GLOB; Kubernetes
    /// containers are also named NAMESPACE/POD/CONTAINER and POD/CONTAINER.
    #[arg(long, value_name = "GLOB", value_parser = parse_glob)]
    name: Option<glob::Pattern>,

    /// errno returned for syscalls outside the profiles.
    #[arg(long, value_name = "N|NAME", default_value = "ENOSYS", value_parser = parse_errno)]
    errno: u32,

    /// Which architectures (syscall ABIs) the profiles list.
    #[arg(
        long,
        value_name = "POLICY",
        value_parser = choice::parser::<ArchPolicy>(),
        default_value_t = ArchPolicy::Observed
    )]
    arch_policy: ArchPolicy,

    /// Also write each profile as a SeccompProfile object,
    /// <container>.yaml beside it.
    #[arg(long)]
    crd: bool,

    /// Capture the argument values that matter (socket families, clone
    /// namespace flags, ioctl requests, ...) and allow only those: see
    /// `recorder record --help`. About 6 KiB more kernel memory per
    /// recording.
    #[arg(long)]
    args: bool,

    /// Hook to attach to (default: the best the kernel supports).
    #[arg(long, value_name = "KIND", hide = true)]
    attach: Option<AttachKind>,

    #[command(flatten)]
    confinement: SelfConfineArgs,
}

fn parse_glob(text: &str) -> Result<glob::Pattern, String> {
    glob::Pattern::new(text).map_err(|e| format!("{text:?} is not a glob: {e}"))
}

pub fn run(args: DaemonArgs) -> i32 {
    let options = DaemonOptions {
        output: args.output,
        socket: args.socket,
        flush: args.flush,
        metrics: args.metrics,
        max_recordings: args.max_recordings,
        ready_file: args.ready_file,
        filter: Filter {
            engines: args.engines,
            namespaces: args.namespaces,
            exclude_namespaces: args.exclude_namespaces,
            name: args.name,
        },
        errno: args.errno,
        arch_policy: args.arch_policy,
        crd: args.crd,
        args: args.args,
        attach: args.attach,
        layout: None,
        confinement: args.confinement.confinement(),
    };
    match run_daemon(options) {
        Ok(()) => 0,
        Err(e) => {
            report_error(&e);
            1
        }
    }
}
