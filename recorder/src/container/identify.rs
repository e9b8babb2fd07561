//! What a new cgroup is, told while its first process runs.
//!
//! A container's runtime state can be gone within milliseconds of its
//! start: `runc run` of a container that exits at once deletes its state
//! before anyone could look it up by name. So the recorder learns a
//! container's identity when its cgroup appears, from what exists then:
//!
//! - the OCI runtime that made the cgroup's first process (runc's `runc
//!   init` is its child; crun's container process too): its command line
//!   names the container's id, its state root and its bundle;
//! - the bundle's config.json (the OCI spec): the CRI annotations of a
//!   container the kubelet started (and whether it is a pod's sandbox),
//!   podman's `io.container.manager`, no_new_privileges;
//! - the state root and bundle's place: Docker's, containerd's (with its
//!   namespace), containers/storage's (podman, CRI-O);
//! - the engines' own stores for names (Docker's config.v2.json,
//!   containers/storage, nerdctl's names), all written before the start.
//!
//! A cgroup whose first process no runtime started is a container only when
//! its name says so (a runtime this module does not know); anything else
//! (a systemd service, a session, podman's conmon) is not.

use std::fs;
use std::path::{Path, PathBuf};

pub use recorder_runtime::runtime_call::{RuntimeCall, parse_runtime_call};

use super::oci_state::BundleConfig;
use super::storage::StorageEngine;
use super::{
    Container, Engine, HostLayout, KubernetesRole, OciRuntime, Status, add_names, cgroup_names,
    docker, nerdctl, storage,
};
use crate::bpf::FirstTask;

/// What a new cgroup turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identified {
    /// A container's (its workload's) cgroup.
    Container(Box<Container>),
    /// A pod's sandbox (pause) container: no workload of its own.
    Sandbox(Box<Container>),
    /// Anything else, with why it is not taken for a container.
    NotContainer(String),
}

/// A process's command line, split at its NULs.
fn cmdline(proc: &Path, pid: i32) -> Option<Vec<String>> {
    let raw = fs::read(proc.join(pid.to_string()).join("cmdline")).ok()?;
    let argv: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    (!argv.is_empty()).then_some(argv)
}

/// What is read of a new cgroup the moment it is announced, while its
/// first process and its runtime still run: what tells a container is gone
/// within milliseconds of a short one's end, so it is read first and told
/// later ([`identify`]), when nothing depends on timing any more.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Relative to the cgroup2 mount.
    pub cgroup: Option<PathBuf>,
    /// The runtime call that made the cgroup's first process.
    pub call: Option<RuntimeCall>,
    /// The bundle's spec, when it could be read.
    pub config: Option<BundleConfig>,
    /// Where the bundle is (the call's `--bundle`, or the runtime's working
    /// directory).
    pub bundle: Option<PathBuf>,
    /// The name of the first process's parent, for messages.
    pub starter: Option<String>,
}

impl Snapshot {
    /// Reads what tells the cgroup at `cgroup` (when known) whose first
    /// syscall `pid` made, `parent` being its parent; `first` is what the
    /// kernel read of that task, which is all there is when the processes
    /// are gone already.
    pub fn take(
        layout: &HostLayout,
        cgroup: Option<PathBuf>,
        pid: i32,
        parent: Option<i32>,
        first: Option<&FirstTask>,
    ) -> Snapshot {
        let parent = parent.or_else(|| super::parent_of(&layout.proc, pid));
        // runc's init is the runtime's child; crun's container process is a
        // fork of crun itself, with crun's command line.
        let call = [parent, Some(pid)].into_iter().flatten().find_map(|p| {
            let call = parse_runtime_call(&cmdline(&layout.proc, p)?)?;
            Some((p, call))
        });
        let call = call.map(|(runtime_pid, call)| {
            let bundle = call.bundle.clone().or_else(|| {
                fs::read_link(layout.proc.join(runtime_pid.to_string()).join("cwd")).ok()
            });
            (call, bundle)
        });
        // runc's init knows its state directory (`<root>/<id>`) from its
        // environment, which outlives its parent's command line.
        let call = call
            .or_else(|| state_dir_call(layout, pid).map(|c| (c, None)))
            .or_else(|| {
                let call = first.and_then(call_of_first_task)?;
                let bundle = call.bundle.clone();
                Some((call, bundle))
            });
        let (call, bundle) = match call {
            Some((call, bundle)) => (Some(call), bundle),
            None => (None, None),
        };
        let config = bundle.as_deref().and_then(BundleConfig::read);
        let starter = parent.and_then(|p| {
            fs::read_to_string(layout.proc.join(p.to_string()).join("comm"))
                .ok()
                .map(|c| c.trim().to_string())
        });
        Snapshot {
            cgroup,
            call,
            config,
            bundle,
            starter,
        }
    }
}

/// runc's init process (`runc init`) from its environment's
/// `_LIBCONTAINER_STATEDIR=<root>/<id>`.
fn state_dir_call(layout: &HostLayout, pid: i32) -> Option<RuntimeCall> {
    let argv = cmdline(&layout.proc, pid)?;
    if argv.get(1).map(String::as_str) != Some("init") || !argv[0].contains("runc") {
        return None;
    }
    let environ = fs::read(layout.proc.join(pid.to_string()).join("environ")).ok()?;
    let env: Vec<String> = environ
        .split(|&b| b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    state_dir_of(&env)
}

/// The runtime call `_LIBCONTAINER_STATEDIR=<root>/<id>` in runc's init's
/// environment stands for.
fn state_dir_of(env: &[String]) -> Option<RuntimeCall> {
    let dir = env
        .iter()
        .find_map(|v| v.strip_prefix("_LIBCONTAINER_STATEDIR="))?;
    let dir = PathBuf::from(dir);
    Some(RuntimeCall {
        runtime: OciRuntime::Runc,
        root: dir.parent().map(Path::to_path_buf),
        bundle: None,
        id: dir.file_name()?.to_string_lossy().into_owned(),
    })
}

/// The runtime call a new cgroup's first task stands for, from what the
/// kernel read of it: runc's init names its state directory in its
/// environment; crun's container process is a fork of crun, with crun's
/// command line (of which the kernel keeps the end, where the id is).
pub fn call_of_first_task(task: &FirstTask) -> Option<RuntimeCall> {
    if let Some(call) = state_dir_of(&task.env) {
        return Some(call);
    }
    if !task.comm.contains("crun") {
        return None;
    }
    let mut argv = task.argv.clone();
    if !task.argv_whole {
        // The first argument kept may be cut; the program's name is gone.
        argv[0] = "crun".to_string();
    }
    if let Some(call) = parse_runtime_call(&argv) {
        return Some(call);
    }
    // The subcommand was cut off too: the id is the last argument.
    let value_of = |names: &[&str]| {
        argv.windows(2)
            .find(|w| names.contains(&w[0].as_str()))
            .map(|w| PathBuf::from(&w[1]))
    };
    let id = argv.last().filter(|id| !id.starts_with('-'))?.clone();
    Some(RuntimeCall {
        runtime: OciRuntime::Crun,
        root: value_of(&["--root"]),
        bundle: value_of(&["--bundle", "-b"]),
        id,
    })
}

/// Tells what a new cgroup is from its [`Snapshot`] and the engines'
/// stores (which outlive the container).
pub fn identify(layout: &HostLayout, snapshot: &Snapshot) -> Identified {
    match &snapshot.call {
        Some(call) => from_runtime_call(layout, snapshot, call),
        None => from_cgroup_name(layout, snapshot),
    }
}

fn from_runtime_call(layout: &HostLayout, snapshot: &Snapshot, call: &RuntimeCall) -> Identified {
    let config = snapshot.config.as_ref();
    let mut engine = engine_of(layout, call, snapshot.bundle.as_deref(), config);
    // A runtime driven by an engine this module reads no state of: the
    // cgroup's name may still say whose container it is.
    if let Engine::Plain(_) = engine
        && let Some(named) = snapshot
            .cgroup
            .as_deref()
            .and_then(cgroup_names::container_of)
        && named.id == call.id
        && named.engine != cgroup_names::CgroupEngine::Unknown
    {
        engine = super::engine_of_cgroup(named.engine);
    }
    let mut container = Container::new(call.id.clone(), engine);
    container.runtime = Some(call.runtime);
    container.status = Status::Created;
    container.cgroup = snapshot.cgroup.clone();
    container.no_new_privileges = config.and_then(BundleConfig::no_new_privileges);
    let names = engine_names(layout, &container);
    add_names(&mut container, names);
    let role = config.map_or(KubernetesRole::None, BundleConfig::kubernetes);
    match role {
        KubernetesRole::Sandbox => {
            container.sandbox = true;
            Identified::Sandbox(Box::new(container))
        }
        KubernetesRole::Container(name) => {
            add_names(&mut container, name.names());
            container.kubernetes = Some(name);
            Identified::Container(Box::new(container))
        }
        KubernetesRole::None => Identified::Container(Box::new(container)),
    }
}

/// The engine behind a runtime call: by the state root it was given
/// (Docker's and containerd's have their own), else by what the spec and
/// the bundle's place say (podman's and CRI-O's share runc's default root).
fn engine_of(
    layout: &HostLayout,
    call: &RuntimeCall,
    bundle: Option<&Path>,
    config: Option<&BundleConfig>,
) -> Engine {
    if let Some(root) = call.root.as_deref().map(|r| on_host(layout, r)) {
        let leaf = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if root.starts_with(layout.run.join("docker")) && leaf == "moby" {
            return Engine::Docker;
        }
        if root.starts_with(layout.run.join("containerd")) {
            return Engine::Containerd { namespace: leaf };
        }
    }
    let annotation = |key: &str| config.and_then(|c| c.annotation(key));
    if annotation("io.container.manager") == Some("libpod") {
        return Engine::Podman;
    }
    if config.is_some_and(|c| c.has_annotation_prefix("io.kubernetes.cri-o.")) {
        return Engine::CriO;
    }
    let stores = [
        layout.var_lib.join("containers/storage"),
        layout.run.join("containers/storage"),
    ];
    let bundle = bundle.map(|b| on_host(layout, b));
    if bundle.is_some_and(|b| stores.iter().any(|s| b.starts_with(s))) {
        let stored = storage::list(&stores[0])
            .into_iter()
            .find(|s| s.id == call.id);
        return match stored.map(|s| s.engine) {
            Some(StorageEngine::CriO) => Engine::CriO,
            _ => Engine::Podman,
        };
    }
    Engine::Plain(call.runtime)
}

/// A path as the engines' own paths are laid out: `/var/run` is a link to
/// `/run`, and Docker hands runc its state root as
/// `/var/run/docker/runtime-runc/moby`.
fn on_host(layout: &HostLayout, path: &Path) -> PathBuf {
    match path.strip_prefix("/var/run") {
        Ok(rest) => layout.run.join(rest),
        Err(_) => path.to_path_buf(),
    }
}

/// The names the container's engine gave it, from the engine's store.
fn engine_names(layout: &HostLayout, c: &Container) -> Vec<String> {
    match &c.engine {
        Engine::Docker => docker::name_from_store(&layout.var_lib.join("docker/containers"), &c.id)
            .into_iter()
            .collect(),
        Engine::Podman | Engine::CriO => storage::list(&layout.var_lib.join("containers/storage"))
            .into_iter()
            .find(|s| s.id == c.id)
            .map(|s| s.names)
            .unwrap_or_default(),
        Engine::Containerd { .. } => nerdctl::list(&layout.var_lib.join("nerdctl"))
            .into_iter()
            .filter(|n| n.id == c.id)
            .map(|n| n.name)
            .collect(),
        Engine::Plain(_) | Engine::Unknown => Vec::new(),
    }
}

/// A cgroup no known runtime started: a container only when its name
/// holds a container id (a runtime this module does not read), then known
/// as the engines know it.
fn from_cgroup_name(layout: &HostLayout, snapshot: &Snapshot) -> Identified {
    let Some(named) = snapshot
        .cgroup
        .as_deref()
        .and_then(cgroup_names::container_of)
    else {
        return Identified::NotContainer(format!(
            "its first process was started by {}, not by an OCI runtime, and its name holds no container id",
            snapshot
                .starter
                .as_deref()
                .unwrap_or("a process gone since")
        ));
    };
    let known = super::list(layout).into_iter().find(|c| c.id == named.id);
    let mut container = known
        .unwrap_or_else(|| Container::new(named.id.clone(), super::engine_of_cgroup(named.engine)));
    container.cgroup = snapshot.cgroup.clone();
    Identified::Container(Box::new(container))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake host: a runtime process (pid 10) that started the cgroup's
    /// first process (pid 11), with a bundle.
    struct Host {
        dir: tempfile::TempDir,
    }

    impl Host {
        fn new(runtime_argv: &str, bundle_config: &str) -> Host {
            let host = Host {
                dir: tempfile::tempdir().unwrap(),
            };
            let bundle = host.dir.path().join("bundle");
            fs::create_dir_all(&bundle).unwrap();
            fs::write(bundle.join("config.json"), bundle_config).unwrap();
            let argv = runtime_argv.replace("BUNDLE", &bundle.to_string_lossy());
            let argv = argv.replace("RUN", &host.layout().run.to_string_lossy());
            host.process(10, 1, &argv, "runc");
            host.process(11, 10, "runc init", "runc:[2:INIT]");
            host
        }

        fn layout(&self) -> HostLayout {
            HostLayout::under(self.dir.path())
        }

        fn process(&self, pid: i32, parent: i32, argv: &str, comm: &str) {
            let dir = self.layout().proc.join(pid.to_string());
            fs::create_dir_all(&dir).unwrap();
            let cmdline: Vec<u8> = argv
                .split_whitespace()
                .flat_map(|a| a.bytes().chain([0]))
                .collect();
            fs::write(dir.join("cmdline"), cmdline).unwrap();
            fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
            fs::write(
                dir.join("stat"),
                format!("{pid} ({comm}) S {parent} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0"),
            )
            .unwrap();
        }

        fn write(&self, path: &str, text: &str) {
            let p = self.dir.path().join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }

        fn identify(&self, cgroup: &str) -> Identified {
            identify_at(&self.layout(), cgroup, 11, 10)
        }
    }

    fn identify_at(layout: &HostLayout, cgroup: &str, pid: i32, parent: i32) -> Identified {
        let snapshot = Snapshot::take(layout, Some(PathBuf::from(cgroup)), pid, Some(parent), None);
        identify(layout, &snapshot)
    }

    fn container(identified: Identified) -> Container {
        match identified {
            Identified::Container(c) => *c,
            other => panic!("not a container: {other:?}"),
        }
    }

    const CRI_ANNOTATIONS: &str = r#"{"annotations":{
        "io.kubernetes.cri.container-type":"container",
        "io.kubernetes.cri.container-name":"app",
        "io.kubernetes.cri.sandbox-name":"web-5d8f7c9b4-x7k2p",
        "io.kubernetes.cri.sandbox-namespace":"default"},
        "process":{"noNewPrivileges":true}}"#;

    #[test]
    fn a_container_the_kubelet_started_through_containerd() {
        let host = Host::new(
            "runc --root RUN/containerd/runc/k8s.io create --bundle BUNDLE --pid-file x 3f2a",
            CRI_ANNOTATIONS,
        );
        let c = container(host.identify("/kubepods/besteffort/pod1/3f2a"));
        assert_eq!(c.id, "3f2a");
        assert_eq!(
            c.engine,
            Engine::Containerd {
                namespace: "k8s.io".into()
            }
        );
        assert_eq!(c.runtime, Some(OciRuntime::Runc));
        assert_eq!(c.no_new_privileges, Some(true));
        let k = c.kubernetes.clone().unwrap();
        assert_eq!(
            (k.namespace.as_str(), k.pod.as_str(), k.container.as_str()),
            ("default", "web-5d8f7c9b4-x7k2p", "app")
        );
        assert!(
            c.names
                .contains(&"default/web-5d8f7c9b4-x7k2p/app".to_string())
        );
        assert_eq!(
            c.cgroup.as_deref(),
            Some(Path::new("/kubepods/besteffort/pod1/3f2a"))
        );
    }

    /// CRI-O (not packaged here): its annotations in the bundle, runc's
    /// default root, the bundle in containers/storage.
    #[test]
    fn a_container_the_kubelet_started_through_crio() {
        let host = Host::new(
            "/usr/sbin/runc --root /run/runc create --bundle BUNDLE --pid-file /p c7f0",
            r#"{"annotations":{
                "io.kubernetes.cri-o.ContainerType":"container",
                "io.kubernetes.container.name":"web",
                "io.kubernetes.pod.name":"shop-7f9c6d5b8-q2w5z",
                "io.kubernetes.pod.namespace":"shop"}}"#,
        );
        let c = container(host.identify("/kubepods/burstable/pod5e1a/crio-c7f0"));
        assert_eq!(c.engine, Engine::CriO);
        let k = c.kubernetes.unwrap();
        assert_eq!(
            (k.namespace.as_str(), k.pod.as_str(), k.container.as_str()),
            ("shop", "shop-7f9c6d5b8-q2w5z", "web")
        );
        let infra = Host::new(
            "/usr/sbin/runc --root /run/runc create --bundle BUNDLE 5e1a",
            r#"{"annotations":{"io.kubernetes.cri-o.ContainerType":"sandbox",
                "io.kubernetes.container.name":"POD"}}"#,
        );
        assert!(matches!(
            infra.identify("/kubepods/pod5e1a/crio-5e1a"),
            Identified::Sandbox(_)
        ));
    }

    #[test]
    fn a_pods_sandbox_is_no_workload() {
        let host = Host::new(
            "runc --root RUN/containerd/runc/k8s.io create --bundle BUNDLE 5e1a",
            r#"{"annotations":{"io.kubernetes.cri.container-type":"sandbox",
                "io.kubernetes.cri.sandbox-name":"web-5d8f7c9b4-x7k2p"}}"#,
        );
        assert!(matches!(
            host.identify("/kubepods/pod1/5e1a"),
            Identified::Sandbox(_)
        ));
    }

    #[test]
    fn docker_podman_and_plain_runc() {
        let id = "8dbd5bd7637fbc7e3981244782948bf2695be9233ed256cf23c02cf60e7ac3fd";
        // Docker hands runc its root through the /var/run link.
        let docker = Host::new(
            &format!("runc --root /var/run/docker/runtime-runc/moby create --bundle BUNDLE {id}"),
            "{}",
        );
        docker.write(
            &format!("var/lib/docker/containers/{id}/config.v2.json"),
            &format!(r#"{{"ID":"{id}","Name":"/api","State":{{"Running":false}}}}"#),
        );
        let c = container(docker.identify(&format!("/docker/{id}")));
        assert_eq!(
            (c.engine.clone(), c.names.clone()),
            (Engine::Docker, vec!["api".to_string()])
        );

        let podman = Host::new(
            &format!("/usr/sbin/runc --root /run/runc create --bundle BUNDLE {id}"),
            r#"{"annotations":{"io.container.manager":"libpod"}}"#,
        );
        podman.write(
            "var/lib/containers/storage/overlay-containers/containers.json",
            &format!(r#"[{{"id":"{id}","names":["api"],"metadata":"{{}}"}}]"#),
        );
        let c = container(podman.identify(&format!("/libpod_parent/libpod-{id}")));
        assert_eq!(
            (c.engine.clone(), c.names.clone()),
            (Engine::Podman, vec!["api".to_string()])
        );

        let plain = Host::new("runc run --bundle BUNDLE quick1", "{}");
        let c = container(plain.identify("/rectest/quick1"));
        assert_eq!(c.engine, Engine::Plain(OciRuntime::Runc));
        assert!(c.names.is_empty());
        assert_eq!(c.id, "quick1");
    }

    #[test]
    fn runc_init_tells_its_container_when_its_parent_is_gone() {
        let host = Host::new("runc run --bundle BUNDLE x", "{}");
        host.process(40, 1, "runc init", "runc:[2:INIT]");
        let dir = host.layout().proc.join("40");
        fs::write(
            dir.join("environ"),
            b"GOMAXPROCS=\0_LIBCONTAINER_INITPIPE=3\0_LIBCONTAINER_STATEDIR=/run/runc/gone1\0",
        )
        .unwrap();
        let c = container(identify_at(&host.layout(), "/rectest/gone1", 40, 39));
        assert_eq!(
            (c.id.as_str(), c.runtime),
            ("gone1", Some(OciRuntime::Runc))
        );
        assert_eq!(c.engine, Engine::Plain(OciRuntime::Runc));
    }

    /// Every process gone: what the kernel read of the first task tells.
    #[test]
    fn the_kernels_reading_of_the_first_task_tells_when_all_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let layout = HostLayout::under(dir.path());
        let task = |comm: &str, argv: &[&str], whole: bool, env: &[&str]| FirstTask {
            comm: comm.into(),
            argv: argv.iter().map(|a| a.to_string()).collect(),
            argv_whole: whole,
            env: env.iter().map(|a| a.to_string()).collect(),
        };
        let identify_task = |t: FirstTask| {
            let snapshot =
                Snapshot::take(&layout, Some(PathBuf::from("/x/y")), 77, Some(76), Some(&t));
            container(identify(&layout, &snapshot))
        };
        let runc = identify_task(task(
            "runc:[2:INIT]",
            &["runc", "init"],
            true,
            &["GOMAXPROCS=", "_LIBCONTAINER_STATEDIR=/run/runc/gone2"],
        ));
        assert_eq!(
            (runc.id.as_str(), runc.runtime),
            ("gone2", Some(OciRuntime::Runc))
        );
        let crun = identify_task(task(
            "crun",
            &["/usr/bin/crun", "run", "-b", "/b", "gone3"],
            true,
            &[],
        ));
        assert_eq!(
            (crun.id.as_str(), crun.runtime),
            ("gone3", Some(OciRuntime::Crun))
        );
        // Only the end of crun's command line was kept.
        let cut = identify_task(task(
            "crun",
            &["otpath/x", "--pid-file", "/p", "gone4"],
            false,
            &[],
        ));
        assert_eq!(
            (cut.id.as_str(), cut.runtime),
            ("gone4", Some(OciRuntime::Crun))
        );
        assert!(matches!(
            identify(
                &layout,
                &Snapshot::take(
                    &layout,
                    None,
                    77,
                    Some(76),
                    Some(&task("sh", &["sh"], true, &[]))
                )
            ),
            Identified::NotContainer(_)
        ));
    }

    #[test]
    fn other_cgroups_are_not_containers() {
        let host = Host::new("runc run --bundle BUNDLE x", "{}");
        host.process(20, 1, "/lib/systemd/systemd --system", "systemd");
        host.process(21, 20, "/usr/sbin/cron -f", "cron");
        let found = identify_at(&host.layout(), "/system.slice/cron.service", 21, 20);
        assert!(
            matches!(&found, Identified::NotContainer(why) if why.contains("systemd")),
            "{found:?}"
        );
        // podman's conmon monitor has a scope named after the container.
        host.process(22, 20, "/usr/bin/conmon --api-version 1", "conmon");
        let id = "a30988644c5fa42b458d6755dda9add4249e82db185fa166e5a2f0eb257bd5dd";
        let conmon = identify_at(
            &host.layout(),
            &format!("/machine.slice/libpod-conmon-{id}.scope"),
            22,
            20,
        );
        assert!(matches!(conmon, Identified::NotContainer(_)), "{conmon:?}");
    }

    #[test]
    fn an_unknown_runtime_is_known_by_its_cgroup_name() {
        let host = Host::new("runc run --bundle BUNDLE x", "{}");
        host.process(30, 1, "/usr/bin/youki create y", "youki");
        host.process(31, 30, "youki init", "youki");
        let id = "8dbd5bd7637fbc7e3981244782948bf2695be9233ed256cf23c02cf60e7ac3fd";
        let c = container(identify_at(
            &host.layout(),
            &format!("/system.slice/docker-{id}.scope"),
            31,
            30,
        ));
        assert_eq!((c.id.as_str(), c.engine.clone()), (id, Engine::Docker));
    }
}
