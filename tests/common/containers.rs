//! Real containers for the end-to-end tests: a static busybox root
//! filesystem, runc bundles, podman and Docker (whose daemon a test starts
//! when none runs and stops again), and `recorder trace` running beside them.
//!
//! Needs the Debian packages runc, busybox-static, podman, docker.io (see
//! `cargo xtask setup`). A missing one fails the test with what to install.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{allowed_names, recorder, run};

/// The workload of the acceptance tests.
pub const WORKLOAD: &str =
    "mkdir /tmp/a && echo hi > /tmp/a/f && cat /tmp/a/f && ls -l / && sleep 1";

pub use recorder::container::base::RUNTIME_SETUP_SYSCALLS as RUNTIME_SETUP;

/// Fails the test with an install hint when `program` is missing.
pub fn require_program(program: &str, package: &str) {
    assert!(
        which(program),
        "{program} is not installed: `apt-get install -y {package}` (or `cargo xtask setup`)"
    );
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// A root filesystem of static busybox: /bin/busybox and one link per
/// applet, plus the mount points runtimes expect.
pub fn busybox_rootfs(dir: &Path) -> PathBuf {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.is_file(),
        "/bin/busybox is missing: `apt-get install -y busybox-static`"
    );
    let rootfs = dir.join("rootfs");
    let bin = rootfs.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in ["proc", "dev", "sys", "tmp", "etc", "root"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(busybox, bin.join("busybox")).unwrap();
    let list = run(Command::new(busybox).arg("--list"));
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
        }
    }
    rootfs
}

/// The annotations containerd's CRI plugin gives a pod's container, as the
/// kubelet asks for it.
pub fn cri_annotations<'a>(
    namespace: &'a str,
    pod: &'a str,
    container: &'a str,
) -> [(&'a str, &'a str); 5] {
    [
        ("io.kubernetes.cri.container-type", "container"),
        ("io.kubernetes.cri.container-name", container),
        ("io.kubernetes.cri.sandbox-name", pod),
        ("io.kubernetes.cri.sandbox-namespace", namespace),
        ("io.kubernetes.cri.sandbox-id", "0f5b0f5b0f5b"),
    ]
}

/// A unique container name for this test process.
pub fn unique(name: &str) -> String {
    format!("rectest-{}-{name}", std::process::id())
}

/// A runc bundle sharing `rootfs` (read-only, with a tmpfs on /tmp).
pub struct RuncBundle {
    pub dir: PathBuf,
}

impl RuncBundle {
    pub fn new(
        parent: &Path,
        rootfs: &Path,
        id: &str,
        args: &[&str],
        no_new_privileges: bool,
        seccomp: Option<Value>,
    ) -> RuncBundle {
        let dir = parent.join(format!("bundle-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        let out = run(Command::new("runc").arg("spec").current_dir(&dir));
        assert!(out.status.success(), "runc spec failed");
        let path = dir.join("config.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config["root"] = json!({ "path": rootfs, "readonly": true });
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        config["process"]["noNewPrivileges"] = json!(no_new_privileges);
        config["linux"]["cgroupsPath"] = json!(format!("/recorder-tests/{id}"));
        config["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                         "options": ["nosuid", "nodev", "mode=1777"]}),
        );
        if let Some(seccomp) = seccomp {
            config["linux"]["seccomp"] = seccomp;
        }
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        RuncBundle { dir }
    }

    /// Leaves the container in the host's pid namespace, as Kubernetes'
    /// `hostPID: true` and `docker run --pid=host` do.
    pub fn share_host_pid(&self) {
        let path = self.dir.join("config.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|ns| ns["type"] != "pid");
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    }

    /// Adds annotations to the spec, e.g. the CRI ones that make a
    /// container look as if the kubelet started it through containerd.
    pub fn annotate(&self, annotations: &[(&str, &str)]) {
        let path = self.dir.join("config.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (key, value) in annotations {
            config["annotations"][*key] = json!(value);
        }
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    }

    /// `runc run` in the foreground; the container is gone afterwards.
    pub fn run(&self, id: &str) -> Output {
        self.run_with("runc", id)
    }

    /// `<runtime> run` (runc or crun) in the foreground.
    pub fn run_with(&self, runtime: &str, id: &str) -> Output {
        let out = run(Command::new(runtime)
            .args(["run", "--bundle"])
            .arg(&self.dir)
            .arg(id)
            .stdin(Stdio::null()));
        // A failed run can leave its state behind.
        let _ = Command::new(runtime).args(["delete", "-f", id]).output();
        out
    }
}

/// `recorder trace ...` running in the background, killed if the test ends
/// before it does.
pub struct Tracing {
    child: Option<Child>,
    pub profile: PathBuf,
}

impl Tracing {
    /// Starts `recorder trace <args> -o <dir>/<name>.json --ready-file ...`
    /// and returns once it waits (or, without --wait, has attached).
    pub fn start(dir: &Path, name: &str, args: &[&str]) -> Tracing {
        let profile = dir.join(format!("{name}.json"));
        let ready = dir.join(format!("{name}.ready"));
        let child = recorder()
            .arg("trace")
            .args(args)
            .arg("-o")
            .arg(&profile)
            .arg("--ready-file")
            .arg(&ready)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting recorder trace");
        let mut tracing = Tracing {
            child: Some(child),
            profile,
        };
        let started = Instant::now();
        while !ready.exists() {
            if let Some(status) = tracing.child.as_mut().unwrap().try_wait().unwrap() {
                let (_, stderr) = tracing.output();
                panic!("recorder trace {args:?} exited ({status}) before waiting:\n{stderr}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "recorder trace {args:?} did not get ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing
    }

    /// Waits for the recorder to finish (the container exited); returns its
    /// exit status, stderr and the profile's allowed names.
    pub fn finish(mut self) -> (std::process::ExitStatus, String, BTreeSet<String>) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = self.child.as_mut().unwrap().kill();
                let (_, stderr) = self.output();
                panic!("recorder trace did not end after the container exited:\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let (_, stderr) = self.output();
        self.child = None;
        assert!(
            status.success(),
            "recorder trace failed ({status}):\n{stderr}"
        );
        let text = std::fs::read_to_string(&self.profile)
            .unwrap_or_else(|e| panic!("no profile {} ({e}):\n{stderr}", self.profile.display()));
        (status, stderr, allowed_names(&text))
    }

    /// Sends SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let pid = self.child.as_ref().unwrap().id() as i32;
        // SAFETY: plain kill(2) of our own child.
        unsafe { libc::kill(pid, libc::SIGINT) };
    }

    fn output(&mut self) -> (String, String) {
        let child = self.child.as_mut().unwrap();
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut s) = child.stdout.take() {
            let _ = s.read_to_string(&mut stdout);
        }
        if let Some(mut s) = child.stderr.take() {
            let _ = s.read_to_string(&mut stderr);
        }
        (stdout, stderr)
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Asserts a profile holds none of the runtime's setup calls.
pub fn assert_no_runtime_setup(names: &BTreeSet<String>, what: &str) {
    let leaked: Vec<&str> = RUNTIME_SETUP
        .iter()
        .copied()
        .filter(|n| names.contains(*n))
        .collect();
    assert!(
        leaked.is_empty(),
        "{what}: runtime setup calls in the profile: {leaked:?}\n{names:?}"
    );
}

/// The workload's output with what differs from run to run masked: `ls -l`
/// prints link counts (that of /proc follows the number of processes) and
/// modification times, which a fresh container's mounts change.
pub fn normalise(output: &[u8]) -> String {
    String::from_utf8_lossy(output)
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() >= 9 && fields[0].len() == 10 {
                format!("{} {}", fields[0], fields[8..].join(" "))
            } else {
                line.to_string()
            }
        })
        .filter(|l| !l.starts_with("total "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An OCI `linux.seccomp` value from a profile file.
pub fn seccomp_of(profile: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap()
}

/// Asserts a command made in a container failed with ENOSYS, the default
/// errno of the recorder's profiles.
pub fn assert_enosys(out: &Output, what: &str) {
    assert_errno(out, what, "Function not implemented");
}

/// Asserts a command made in a container failed with the errno whose
/// message is `message`.
pub fn assert_errno(out: &Output, what: &str, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains(message),
        "{what} should fail with \"{message}\" under the profile; status {}, stderr: {stderr}",
        out.status
    );
}

/// crun refuses a hybrid cgroup layout unless the hugetlb controller has a
/// v1 hierarchy; the test mounts one when needed and unmounts it after.
pub struct HugetlbMount {
    mounted: bool,
}

impl HugetlbMount {
    pub fn ensure() -> HugetlbMount {
        let hybrid = Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists();
        let has_hugetlb = std::fs::read_to_string("/proc/self/cgroup")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split(':').nth(1) == Some("hugetlb"));
        if !hybrid || has_hugetlb {
            return HugetlbMount { mounted: false };
        }
        std::fs::create_dir_all("/sys/fs/cgroup/hugetlb").unwrap();
        let out = run(Command::new("mount").args([
            "-t",
            "cgroup",
            "-o",
            "hugetlb",
            "none",
            "/sys/fs/cgroup/hugetlb",
        ]));
        assert!(
            out.status.success(),
            "mounting the hugetlb v1 hierarchy for crun"
        );
        HugetlbMount { mounted: true }
    }
}

impl Drop for HugetlbMount {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount")
                .arg("/sys/fs/cgroup/hugetlb")
                .output();
        }
    }
}

/// The Docker daemon: the one running, or one this guard starts and stops.
pub struct Dockerd {
    child: Option<Child>,
}

impl Dockerd {
    pub fn ensure() -> Dockerd {
        require_program("docker", "docker.io");
        require_program("dockerd", "docker.io");
        if docker_answers() {
            return Dockerd { child: None };
        }
        remove_stale_containerd_socket();
        remove_stale_docker_pid_file();
        let log =
            std::fs::File::create(std::env::temp_dir().join("recorder-tests-dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .args(["--log-level", "warn"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting dockerd");
        wait_for_daemon(
            "dockerd",
            &std::env::temp_dir().join("recorder-tests-dockerd.log"),
            docker_answers,
        );
        Dockerd { child: Some(child) }
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // SAFETY: plain kill(2) of our own child; SIGTERM lets dockerd
            // stop its containerd too.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }
}

/// dockerd uses the system's containerd whenever its socket exists, even
/// when nothing listens there any more (a containerd that was killed), and
/// then gives up after a minute; with the socket gone it starts its own.
fn remove_stale_containerd_socket() {
    let socket = Path::new("/run/containerd/containerd.sock");
    let refused = std::os::unix::net::UnixStream::connect(socket)
        .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused);
    if refused {
        eprintln!(
            "note: removing {}, where no containerd listens, so that dockerd starts its own",
            socket.display()
        );
        let _ = std::fs::remove_file(socket);
    }
}

/// dockerd refuses to start while its pid file names a live process; a
/// dockerd that was killed leaves the file, and its pid may be reused.
fn remove_stale_docker_pid_file() {
    let pid_file = Path::new("/var/run/docker.pid");
    let Ok(pid) = std::fs::read_to_string(pid_file) else {
        return;
    };
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", pid.trim())).unwrap_or_default();
    if comm.trim() != "dockerd" {
        eprintln!(
            "note: removing {}, left by a dockerd that no longer runs",
            pid_file.display()
        );
        let _ = std::fs::remove_file(pid_file);
    }
}

/// Waits up to 30 s for a daemon the test started to answer `answers`.
pub fn wait_for_daemon(daemon: &str, log: &Path, answers: impl Fn() -> bool) {
    let started = Instant::now();
    while !answers() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{daemon} did not answer within 30 s (log: {})",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn docker_answers() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// An image a test imported, removed when the test ends, failed or not.
pub struct ImportedImage {
    engine: &'static str,
    pub name: String,
}

impl Drop for ImportedImage {
    fn drop(&mut self) {
        let _ = Command::new(self.engine)
            .args(["rmi", "-f", &self.name])
            .output();
    }
}

/// Imports `rootfs` as image `name` with `engine import` (docker or podman).
pub fn import_image(engine: &'static str, rootfs: &Path, name: &str) -> ImportedImage {
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(rootfs)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .expect("running tar");
    let out = run(Command::new(engine)
        .args(["import", "-", name])
        .stdin(tar.stdout.take().unwrap()));
    assert!(tar.wait().unwrap().success(), "tar of {}", rootfs.display());
    assert!(
        out.status.success(),
        "{engine} import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ImportedImage {
        engine,
        name: name.to_string(),
    }
}

/// A detached runc container, deleted when the test ends.
pub struct Detached {
    pub id: String,
}

impl Detached {
    pub fn run(bundle: &RuncBundle, id: &str) -> Detached {
        Detached::launch("run", bundle, id)
    }

    pub fn create(bundle: &RuncBundle, id: &str) -> Detached {
        Detached::launch("create", bundle, id)
    }

    /// `runc run -d` or `runc create`. The container inherits runc's stdio,
    /// so a pipe would stay open as long as it runs: its output goes to a
    /// file in the bundle instead.
    pub fn launch(how: &str, bundle: &RuncBundle, id: &str) -> Detached {
        let log = bundle.dir.join("output");
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new("runc");
        if how == "run" {
            cmd.args(["run", "-d"]);
        } else {
            cmd.arg("create");
        }
        let status = cmd
            .arg("--bundle")
            .arg(&bundle.dir)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .status()
            .expect("running runc");
        assert!(
            status.success(),
            "runc {how} {id}: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Detached { id: id.to_string() }
    }

    pub fn start(&self) {
        let out = run(Command::new("runc").args(["start", &self.id]));
        assert!(out.status.success(), "runc start {}", self.id);
    }

    pub fn pid(&self) -> i32 {
        let out = run(Command::new("runc").args(["state", &self.id]));
        let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        state["pid"].as_i64().unwrap() as i32
    }

    /// Waits until runc says the container stopped.
    pub fn wait_stopped(&self) {
        let started = Instant::now();
        loop {
            let out = run(Command::new("runc").args(["state", &self.id]));
            let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            if state["status"] == "stopped" {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{} did not stop",
                self.id
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .args(["delete", "-f", &self.id])
            .output();
    }
}

/// A containerd of the test's own: its own socket, root and state, so that a
/// dockerd started by another test never adopts it (dockerd uses a containerd
/// it finds at the default socket). Its runc shim still keeps runc's state in
/// /run/containerd/runc/<namespace>, where the recorder reads it.
pub struct Containerd {
    child: std::process::Child,
    address: std::path::PathBuf,
}

impl Containerd {
    pub fn start(dir: &Path) -> Containerd {
        require_program("containerd", "containerd");
        require_program("ctr", "containerd");
        let address = dir.join("containerd.sock");
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--address")
            .arg(&address)
            .arg("--root")
            .arg(dir.join("containerd-root"))
            .arg("--state")
            .arg(dir.join("containerd-state"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting containerd");
        let containerd = Containerd { child, address };
        wait_for_daemon("containerd", &dir.join("containerd.log"), || {
            containerd
                .ctr()
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
        containerd
    }

    /// `ctr` in the namespace the kubelet's containers live in.
    pub fn ctr(&self) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(&self.address)
            .args(["--namespace", "k8s.io"]);
        c
    }

    /// Runs a container the way the kubelet's CRI calls leave it annotated
    /// (container `box` of pod `pod` in namespace `default`), in the
    /// foreground, and removes it.
    pub fn run(
        &self,
        rootfs: &Path,
        id: &str,
        pod: &str,
        profile: Option<&Path>,
        args: &[&str],
    ) -> Output {
        self.run_named(rootfs, id, ("default", pod, "box"), profile, args)
    }

    /// [`Containerd::run`] as container `container` of pod `pod` in
    /// `namespace`.
    pub fn run_named(
        &self,
        rootfs: &Path,
        id: &str,
        (namespace, pod, container): (&str, &str, &str),
        profile: Option<&Path>,
        args: &[&str],
    ) -> Output {
        let mut cmd = self.ctr();
        cmd.args(["run", "--env", "PATH=/bin"]);
        for (key, value) in cri_annotations(namespace, pod, container) {
            cmd.arg("--annotation").arg(format!("{key}={value}"));
        }
        if let Some(profile) = profile {
            cmd.arg("--seccomp").arg("--seccomp-profile").arg(profile);
        }
        cmd.arg("--rootfs").arg(rootfs).arg(id).args(args);
        let out = run(cmd.stdin(Stdio::null()));
        let _ = self.ctr().args(["containers", "rm", id]).output();
        out
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
