//! End-to-end tests of `recorder daemon` on the real kernel with real
//! containers: replicas of a Deployment folded into one profile (runc with
//! the kubelet's CRI annotations, and containerd), Docker's and podman's
//! containers by name, plain runc by id, host processes and other cgroups
//! left out, many containers at once, `--max-recordings`, SIGKILL and
//! restart, SIGTERM, a full output directory, `trace` through the daemon,
//! and the API socket's permissions.
//!
//! The daemon records every container of the host, so its tests run one at
//! a time (a lock), each with a daemon of its own (its own socket and
//! output directory).

mod common;

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::containers::*;
use common::*;
use serde_json::Value;

/// One daemon test at a time: each daemon records every container.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A `recorder daemon` the test started, stopped (SIGTERM) when dropped.
struct Daemon {
    child: Option<Child>,
    socket: PathBuf,
    log: PathBuf,
}

impl Daemon {
    /// Starts a daemon writing into `out`, with its socket and log in
    /// `dir`, and waits until it is ready.
    fn start(dir: &Path, out: &Path, extra: &[&str]) -> Daemon {
        Daemon::start_with(dir, out, extra, &[])
    }

    /// [`Daemon::start`] with environment variables.
    fn start_with(dir: &Path, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let socket = dir.join("api/recorder.sock");
        let log = dir.join("daemon.log");
        let ready = dir.join("daemon.ready");
        let _ = std::fs::remove_file(&ready);
        let child = recorder()
            .args(["-vv", "daemon", "--output"])
            .arg(out)
            .arg("--socket")
            .arg(&socket)
            .arg("--ready-file")
            .arg(&ready)
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting recorder daemon");
        let mut daemon = Daemon {
            child: Some(child),
            socket,
            log,
        };
        let started = Instant::now();
        while !ready.exists() {
            if let Some(status) = daemon.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("recorder daemon exited ({status}):\n{}", daemon.log_text());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "recorder daemon did not get ready:\n{}",
                daemon.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path` on the API.
    fn get(&self, path: &str) -> String {
        http(&self.socket, "GET", path).1
    }

    /// `recorder status --json`.
    fn recordings(&self) -> Vec<Value> {
        let out = run(recorder()
            .args(["status", "--json", "--socket"])
            .arg(&self.socket));
        assert!(
            out.status.success(),
            "recorder status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status --json is JSON")
    }

    /// The recordings of containers whose id starts with `prefix`.
    fn recordings_of(&self, prefix: &str) -> Vec<Value> {
        self.recordings()
            .into_iter()
            .filter(|r| r["id"].as_str().is_some_and(|id| id.starts_with(prefix)))
            .collect()
    }

    /// Waits up to 30 s for `done` to hold of the recordings of containers
    /// whose id starts with `prefix`.
    fn wait_for(&self, prefix: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let recordings = self.recordings_of(prefix);
            if done(&recordings) {
                return recordings;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{what}: {recordings:#?}\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The value of a metric line (`name{labels}`).
    fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
    }

    fn signal(&mut self, signal: i32) {
        if let Some(child) = self.child.as_mut() {
            // SAFETY: plain kill(2) of our own child.
            unsafe { libc::kill(child.id() as i32, signal) };
            let started = Instant::now();
            while child.try_wait().unwrap().is_none() {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "the daemon did not stop on signal {signal}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.child = None;
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.signal(libc::SIGTERM);
    }
}

/// One HTTP/1.0 request on a Unix socket: the status code and the body.
fn http(socket: &Path, method: &str, path: &str) -> (u16, String) {
    let mut stream = UnixStream::connect(socket).expect("connecting to the daemon");
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// A root filesystem with the static syscaller (tests/programs) in /bin.
fn setup() -> (tempfile::TempDir, PathBuf) {
    require_root();
    require_program("runc", "runc");
    remove_dead_tests_cgroups();
    let dir = temp_dir();
    let rootfs = busybox_rootfs(dir.path());
    let syscaller = build_program(dir.path(), "syscaller", &["-static", "-O1"]);
    std::fs::copy(&syscaller, rootfs.join("bin/syscaller")).unwrap();
    (dir, rootfs)
}

/// Pod names of a Deployment `web`'s replicas: `web-<hash>-<5>`.
const WEB_PODS: [&str; 4] = [
    "web-5d8f7c9b4-x7k2p",
    "web-5d8f7c9b4-b9d4f",
    "web-5d8f7c9b4-q2w5z",
    "web-5d8f7c9b4-m6n8r",
];
/// The syscall each replica makes that the others do not.
const MARKERS: [&str; 4] = ["getpgrp", "umask", "sched_yield", "getsid"];

/// Runs replica `i` of Deployment `web` (container `app`) with runc, as
/// the kubelet's containerd would have annotated it; returns its output.
fn run_replica(dir: &Path, rootfs: &Path, i: usize) -> String {
    let id = unique(&format!("web{i}"));
    let bundle = RuncBundle::new(
        dir,
        rootfs,
        &id,
        &["/bin/syscaller", MARKERS[i]],
        false,
        None,
    );
    bundle.annotate(&cri_annotations("default", WEB_PODS[i], "app"));
    let out = bundle.run(&id);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // syscaller's exit status is its last call's errno: getsid(022) finds
    // no such process in the container's pid namespace.
    assert!(
        stdout.contains(&format!("{}=", MARKERS[i])),
        "replica {i} ({}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The allowed names of a profile file.
fn profile_names(path: &Path) -> BTreeSet<String> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    allowed_names(&text)
}

fn meta_of(profile: &Path) -> Value {
    let path = profile.with_extension("meta.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every profile file below `dir`.
fn profiles_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(profiles_below(&path));
        } else if path.to_string_lossy().ends_with(".json")
            && !path.to_string_lossy().ends_with(".meta.json")
        {
            found.push(path);
        }
    }
    found
}

/// The acceptance scenario: three replicas of Deployment `web`, each making
/// a marker syscall the others do not and exiting at once, give one profile
/// `default/web/app.json` with all three markers and a meta file saying 3
/// runs with each marker in 1; each replica's workload runs under that
/// profile with the same output, and a call none of them made fails with
/// the profile's errno. A host process's marker is in no profile, and a
/// long-lived cgroup that is no container holds no slot after triage.
#[test]
fn replicas_of_a_deployment_fold_into_one_profile() {
    let _serial = serial();
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let out = dir.join("profiles");
    let daemon = Daemon::start(dir, &out, &[]);

    // A host process (no container) making the fourth marker.
    let host = run(Command::new(dir.join("syscaller")).arg(MARKERS[3]));
    assert!(host.status.success());
    // A cgroup of the host's that is no container, busy all along.
    let mount = recorder::cgroup::Cgroup2Mount::find().unwrap();
    let noise = mount
        .root
        .join(format!("recorder-tests-noise-{}", std::process::id()));
    std::fs::create_dir_all(&noise).unwrap();
    let busy = Command::new("sh")
        .args(["-c", "while true; do /bin/true; sleep 0.05; done"])
        .spawn()
        .unwrap();
    std::fs::write(noise.join("cgroup.procs"), busy.id().to_string()).unwrap();
    let _noise = TestCgroup {
        dir: noise.clone(),
        load: Some(busy),
    };

    let mut outputs = Vec::new();
    for i in 0..3 {
        outputs.push(run_replica(dir, &rootfs, i));
    }
    let prefix = unique("web");
    daemon.wait_for(&prefix, "three replicas written", |r| {
        r.len() == 3 && r.iter().all(|r| r["state"] == "written")
    });
    let profile = out.join("default/web/app.json");
    let files: Vec<PathBuf> = std::fs::read_dir(out.join("default/web"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into())
        .collect();
    assert_eq!(
        files
            .iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["app.json".to_string(), "app.meta.json".to_string()]),
        "exactly one profile for the workload"
    );
    let names = profile_names(&profile);
    for marker in &MARKERS[..3] {
        assert!(names.contains(*marker), "{marker} not in {names:?}");
    }
    assert_no_runtime_setup(&names, "the workload profile");
    let meta = meta_of(&profile);
    assert_eq!(meta["runs"], 3, "{meta:#}");
    assert_eq!(meta["partial_runs"], 0, "{meta:#}");
    for marker in &MARKERS[..3] {
        assert_eq!(meta["syscalls"][marker], 1, "{marker}: {meta:#}");
    }
    assert!(meta["nodes"].as_array().is_some_and(|n| n.len() == 1));

    // Each replica's workload under the profile (filed elsewhere: these
    // runs carry no annotations), and a call none of them made.
    let seccomp = seccomp_of(&profile);
    for (i, expected) in outputs.iter().enumerate() {
        let id = unique(&format!("verify{i}"));
        let bundle = RuncBundle::new(
            dir,
            &rootfs,
            &id,
            &["/bin/syscaller", MARKERS[i]],
            false,
            Some(seccomp.clone()),
        );
        let out = bundle.run(&id);
        assert_eq!(
            &String::from_utf8_lossy(&out.stdout),
            expected,
            "replica {i} under its profile"
        );
    }
    let id = unique("verify-denied");
    let bundle = RuncBundle::new(
        dir,
        &rootfs,
        &id,
        &["/bin/syscaller", "getpgid"],
        false,
        Some(seccomp),
    );
    let denied = bundle.run(&id);
    assert!(
        String::from_utf8_lossy(&denied.stdout).contains("getpgid=failed errno=38"),
        "a call none made: {}",
        String::from_utf8_lossy(&denied.stdout)
    );

    // The host's marker is in no profile.
    for path in profiles_below(&out) {
        assert!(
            !profile_names(&path).contains(MARKERS[3]),
            "the host process's {} is in {}",
            MARKERS[3],
            path.display()
        );
    }
    // The busy cgroup was told and let go: no slot held, marked ignored,
    // never listed.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(daemon.metric("recorder_slots{state=\"triage\"}"), 0.0);
    assert!(daemon.metric("recorder_cgroups_ignored") >= 1.0);
    assert_eq!(daemon.metric("recorder_slots{state=\"used\"}"), 0.0);
}

/// The same through containerd (`ctr run` with the CRI annotations).
#[test]
fn replicas_through_containerd() {
    let _serial = serial();
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let out = dir.join("profiles");
    let containerd = Containerd::start(dir);
    let daemon = Daemon::start(dir, &out, &[]);
    for i in 0..3 {
        let id = unique(&format!("ctrweb{i}"));
        let run = containerd.run_named(
            &rootfs,
            &id,
            ("default", WEB_PODS[i], "app"),
            None,
            &["/bin/syscaller", MARKERS[i]],
        );
        assert!(
            run.status.success(),
            "ctr run: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    daemon.wait_for(&unique("ctrweb"), "three replicas written", |r| {
        r.len() == 3
            && r.iter()
                .all(|r| r["state"] == "written" && r["engine"] == "containerd")
    });
    let profile = out.join("default/web/app.json");
    let names = profile_names(&profile);
    for marker in &MARKERS[..3] {
        assert!(names.contains(*marker), "{marker} not in {names:?}");
    }
    let meta = meta_of(&profile);
    assert_eq!(meta["runs"], 3, "{meta:#}");
    for marker in &MARKERS[..3] {
        assert_eq!(meta["syscalls"][marker], 1, "{marker}: {meta:#}");
    }
    // The workload runs under the profile through containerd's own loader.
    let again = containerd.run_named(
        &rootfs,
        &unique("ctrverify"),
        ("verify", "verify-1", "app"),
        Some(&profile),
        &["/bin/syscaller", MARKERS[1]],
    );
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("umask=ok"));
}

/// Docker's and podman's containers named `api` go to docker/api.json and
/// podman/api.json; a plain `runc run` container to runc/<id>.json.
#[test]
fn engines_file_by_name_and_id() {
    let _serial = serial();
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let out = dir.join("profiles");
    let _dockerd = Dockerd::ensure();
    require_program("podman", "podman");
    let image = unique("daemon-bb").to_lowercase();
    let _docker_image = import_image("docker", &rootfs, &image);
    let _podman_image = import_image("podman", &rootfs, &image);
    for engine in ["docker", "podman"] {
        let _ = Command::new(engine).args(["rm", "-f", "api"]).output();
    }
    let daemon = Daemon::start(dir, &out, &[]);
    let docker = run(Command::new("docker")
        .args([
            "run",
            "--rm",
            "--name",
            "api",
            "--security-opt",
            "seccomp=unconfined",
        ])
        .arg(&image)
        .args(["/bin/syscaller", "umask"]));
    assert!(
        docker.status.success(),
        "{}",
        String::from_utf8_lossy(&docker.stderr)
    );
    let podman = run(Command::new("podman")
        .args(["--runtime", "runc", "run", "--rm", "--name", "api"])
        .args([
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ])
        .args(["--security-opt", "seccomp=unconfined"])
        .arg(&image)
        .args(["/bin/syscaller", "getpgrp"]));
    assert!(
        podman.status.success(),
        "{}",
        String::from_utf8_lossy(&podman.stderr)
    );
    let id = unique("plain");
    let bundle = RuncBundle::new(
        dir,
        &rootfs,
        &id,
        &["/bin/syscaller", "sched_yield"],
        false,
        None,
    );
    assert!(bundle.run(&id).status.success());

    let started = Instant::now();
    let expected = [
        (out.join("docker/api.json"), "umask"),
        (out.join("podman/api.json"), "getpgrp"),
        (out.join(format!("runc/{id}.json")), "sched_yield"),
    ];
    for (path, marker) in &expected {
        while !path.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} was not written:\n{:#?}\n{}",
                path.display(),
                daemon.recordings(),
                daemon.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let names = profile_names(path);
        assert!(
            names.contains(*marker),
            "{marker} not in {}: {names:?}",
            path.display()
        );
        assert_no_runtime_setup(&names, &path.display().to_string());
    }
}

/// `recorder trace` takes a container's recording from the daemon (no
/// second program), and finds by its Kubernetes name a container that
/// exits at once.
#[test]
fn trace_through_the_daemon() {
    let _serial = serial();
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let out = dir.join("profiles");
    let daemon = Daemon::start(dir, &out, &[]);
    let id = unique("traced");
    let pod = format!("traced-{}-b9d4f", std::process::id());
    let bundle = RuncBundle::new(dir, &rootfs, &id, &["/bin/syscaller", "umask"], false, None);
    bundle.annotate(&cri_annotations("default", &pod, "app"));
    let socket = daemon.socket.to_string_lossy().into_owned();
    let query = format!("default/{pod}/app");
    let tracing = Tracing::start(
        dir,
        "traced",
        &[
            "--container",
            &query,
            "--wait",
            "--timeout",
            "60s",
            "--daemon-socket",
            &socket,
        ],
    );
    assert!(bundle.run(&id).status.success());
    let (_, stderr, names) = tracing.finish();
    assert!(stderr.contains("through the recorder daemon"), "{stderr}");
    assert!(names.contains("umask"), "{names:?}");
    assert!(names.contains("capset"), "runc's base: {names:?}");
    assert_no_runtime_setup(&names, "a trace through the daemon");
}

/// `daemon --args`: the workload profiles it files carry argument
/// conditions (the runtime's base without), and `trace --args` takes its
/// recording; a daemon without --args is not asked by `trace --args`.
#[test]
fn arguments_through_the_daemon() {
    let _serial = serial();
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let out = dir.join("profiles");
    let daemon = Daemon::start(dir, &out, &["--args"]);
    assert_eq!(
        serde_json::from_str::<Value>(&daemon.get("/v1/daemon")).unwrap()["args"],
        true
    );
    let id = unique("argsd");
    let pod = format!("argsd-{}-b9d4f", std::process::id());
    let bundle = RuncBundle::new(dir, &rootfs, &id, &["sh", "-c", WORKLOAD], false, None);
    bundle.annotate(&cri_annotations("default", &pod, "app"));
    let socket = daemon.socket.to_string_lossy().into_owned();
    let query = format!("default/{pod}/app");
    let tracing = Tracing::start(
        dir,
        "argsd",
        &[
            "--container",
            &query,
            "--wait",
            "--args",
            "--timeout",
            "60s",
            "--daemon-socket",
            &socket,
        ],
    );
    let traced_profile = tracing.profile.clone();
    assert!(bundle.run(&id).status.success());
    let (_, stderr, names) = tracing.finish();
    assert!(stderr.contains("through the recorder daemon"), "{stderr}");
    assert!(names.contains("prctl"), "runc's base, outright: {names:?}");
    let ioctl_rules = |profile: &Path| -> Vec<Value> {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
        v["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["names"][0] == "ioctl" && r.get("args").is_some())
            .map(|r| r["args"].clone())
            .collect()
    };
    let tiocgwinsz = serde_json::json!([{"index": 1, "value": 0x5413, "op": "SCMP_CMP_EQ"}]);
    assert_eq!(
        ioctl_rules(&traced_profile),
        std::slice::from_ref(&tiocgwinsz)
    );
    let recordings = daemon.wait_for(&id, "the run filed", |r| {
        r.len() == 1 && r[0]["state"] == "written"
    });
    let filed = PathBuf::from(recordings[0]["profile"].as_str().unwrap());
    assert_eq!(ioctl_rules(&filed), [tiocgwinsz]);
    assert!(profile_names(&filed).contains("prctl"));
    drop(daemon);

    // A daemon that captures no arguments has only names: trace records
    // the container itself.
    let plain = Daemon::start(dir, &dir.join("plain"), &[]);
    let id = unique("argsp");
    let bundle = RuncBundle::new(dir, &rootfs, &id, &["sh", "-c", WORKLOAD], false, None);
    let socket = plain.socket.to_string_lossy().into_owned();
    let tracing = Tracing::start(
        dir,
        "argsp",
        &[
            "--container",
            &id,
            "--wait",
            "--args",
            "--daemon-socket",
            &socket,
        ],
    );
    let traced_profile = tracing.profile.clone();
    assert!(bundle.run(&id).status.success());
    let (_, stderr, _) = tracing.finish();
    assert!(!stderr.contains("through the recorder daemon"), "{stderr}");
    assert_eq!(ioctl_rules(&traced_profile).len(), 1, "{stderr}");
}

/// 100 containers started 10 at a time are all recorded, each with its
/// whole workload; with --max-recordings 4, of 8 containers at once 4 are
/// recorded and 4 reported not recorded.
#[test]
fn many_containers_and_a_bound() {
    let _serial = serial();
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let out = dir.join("profiles");
    {
        // Only this test's containers, so that the counts below hold with
        // other containers started on the host meanwhile.
        let many_glob = format!("{}*", unique("many"));
        let daemon = Daemon::start(dir, &out, &["--name", &many_glob]);
        let bundles: Vec<(String, RuncBundle)> = (0..100)
            .map(|i| {
                let id = unique(&format!("many{i:03}"));
                let bundle = RuncBundle::new(
                    dir,
                    &rootfs,
                    &id,
                    &["/bin/syscaller", "umask", "getpgrp"],
                    false,
                    None,
                );
                (id, bundle)
            })
            .collect();
        for batch in bundles.chunks(10) {
            std::thread::scope(|s| {
                for (id, bundle) in batch {
                    s.spawn(move || assert!(bundle.run(id).status.success(), "{id}"));
                }
            });
        }
        let recordings = daemon.wait_for(&unique("many"), "100 recordings written", |r| {
            r.len() == 100 && r.iter().all(|r| r["state"] == "written")
        });
        for r in &recordings {
            let path = PathBuf::from(r["profile"].as_str().unwrap());
            let names = profile_names(&path);
            for call in ["execve", "umask", "getpgrp", "write", "exit_group"] {
                assert!(
                    names.contains(call),
                    "{call} not in {}: {names:?}",
                    path.display()
                );
            }
        }
        assert_eq!(
            daemon.metric("recorder_recordings_total{engine=\"runc\"}"),
            100.0
        );
        for reason in ["no-slot", "triage-full"] {
            assert_eq!(
                daemon.metric(&format!(
                    "recorder_containers_unrecorded_total{{reason=\"{reason}\"}}"
                )),
                0.0
            );
        }
    }
    // Only this test's containers: others started meanwhile on this host
    // (tests run side by side) would take slots of the four.
    let bound_glob = format!("{}*", unique("bound"));
    let daemon = Daemon::start(
        dir,
        &dir.join("bounded"),
        &["--max-recordings", "4", "--name", &bound_glob],
    );
    let sleepers: Vec<Detached> = (0..8)
        .map(|i| {
            let id = unique(&format!("bound{i}"));
            let bundle = RuncBundle::new(dir, &rootfs, &id, &["sh", "-c", "sleep 3"], false, None);
            (id, bundle)
        })
        .collect::<Vec<_>>()
        .iter()
        .map(|(id, bundle)| Detached::run(bundle, id))
        .collect();
    let recordings = daemon.wait_for(&unique("bound"), "8 containers told", |r| r.len() == 8);
    let recording = recordings
        .iter()
        .filter(|r| r["state"] == "recording")
        .count();
    let unrecorded: Vec<&Value> = recordings
        .iter()
        .filter(|r| r["state"] == "unrecorded")
        .collect();
    assert_eq!((recording, unrecorded.len()), (4, 4), "{recordings:#?}");
    assert!(unrecorded.iter().all(|r| r["reason"] == "no-slot"));
    assert_eq!(
        daemon.metric("recorder_containers_unrecorded_total{reason=\"no-slot\"}"),
        4.0
    );
    assert!(
        daemon
            .log_text()
            .contains("is not recorded: all 4 recording slots are in use")
    );
    drop(sleepers);
}

/// SIGKILL leaves every profile written whole; a restarted daemon adds a
/// fourth replica's marker to it, and records a container that started
/// while it was down from when it saw it, marked partial. SIGTERM writes
/// the recordings under way.
#[test]
fn killed_restarted_and_terminated() {
    let _serial = serial();
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let out = dir.join("profiles");
    let mut first = Daemon::start(dir, &out, &["--flush", "1s"]);
    for i in 0..3 {
        run_replica(dir, &rootfs, i);
    }
    first.wait_for(&unique("web"), "three replicas written", |r| {
        r.len() == 3 && r.iter().all(|r| r["state"] == "written")
    });
    first.signal(libc::SIGKILL);
    let profile = out.join("default/web/app.json");
    let names = profile_names(&profile);
    for marker in &MARKERS[..3] {
        assert!(
            names.contains(*marker),
            "after SIGKILL: {marker} not in {names:?}"
        );
    }
    assert_eq!(meta_of(&profile)["runs"], 3);

    // Started while no daemon runs; makes its marker after the restart.
    let late = unique("late");
    let bundle = RuncBundle::new(
        dir,
        &rootfs,
        &late,
        &["sh", "-c", "sleep 3; /bin/syscaller getsid; sleep 1"],
        false,
        None,
    );
    let _late = Detached::run(&bundle, &late);
    let second = Daemon::start(dir, &out, &["--flush", "1s"]);
    run_replica(dir, &rootfs, 3);
    second.wait_for(&unique("web3"), "the fourth replica written", |r| {
        r.len() == 1 && r[0]["state"] == "written"
    });
    let names = profile_names(&profile);
    for marker in MARKERS {
        assert!(
            names.contains(marker),
            "after the restart: {marker} not in {names:?}"
        );
    }
    let meta = meta_of(&profile);
    assert_eq!(meta["runs"], 4, "{meta:#}");
    assert_eq!(meta["syscalls"][MARKERS[3]], 1, "{meta:#}");
    let late_recording = second.wait_for(&late, "the late container written", |r| {
        r.len() == 1 && r[0]["state"] == "written"
    });
    assert_eq!(late_recording[0]["partial"], true);
    let late_profile = out.join(format!("runc/{late}.json"));
    assert!(profile_names(&late_profile).contains("getsid"));
    assert_eq!(meta_of(&late_profile)["partial_runs"], 1);
    drop(second);

    // SIGTERM with a container under way: its recording is written.
    let mut third = Daemon::start(dir, &out, &[]);
    let long = unique("long");
    let bundle = RuncBundle::new(
        dir,
        &rootfs,
        &long,
        &["sh", "-c", "/bin/syscaller getpgrp; sleep 30"],
        false,
        None,
    );
    let _long = Detached::run(&bundle, &long);
    third.wait_for(&long, "the long container recorded", |r| {
        r.len() == 1 && r[0]["syscalls"].as_u64().unwrap_or(0) > 0
    });
    std::thread::sleep(Duration::from_millis(500));
    third.signal(libc::SIGTERM);
    let long_profile = out.join(format!("runc/{long}.json"));
    assert!(profile_names(&long_profile).contains("getpgrp"));
    let meta = meta_of(&long_profile);
    assert!(meta["running"][&long].is_object(), "{meta:#}");
}

/// A full output directory (a small tmpfs) stops no recording and loses
/// nothing once space returns.
#[test]
fn a_full_output_directory_loses_nothing() {
    let _serial = serial();
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let out = dir.join("small");
    std::fs::create_dir_all(&out).unwrap();
    let mounted = run(Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&out));
    assert!(mounted.status.success(), "mounting a small tmpfs");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).output();
        }
    }
    let _unmount = Unmount(out.clone());
    let filler = out.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    drop(file);

    let daemon = Daemon::start(dir, &out, &["--flush", "1s"]);
    for i in 0..3 {
        run_replica(dir, &rootfs, i);
    }
    daemon.wait_for(&unique("web"), "three replicas pending", |r| {
        r.len() == 3 && r.iter().all(|r| r["state"] == "pending")
    });
    assert!(daemon.metric("recorder_profile_write_errors_total") >= 1.0);
    assert!(daemon.metric("recorder_profiles_pending") >= 1.0);
    assert!(!out.join("default/web/app.json").exists());
    assert!(
        daemon.log_text().contains("the profile stays in memory"),
        "{}",
        daemon.log_text()
    );
    std::fs::remove_file(&filler).unwrap();
    daemon.wait_for(&unique("web"), "three replicas written", |r| {
        r.len() == 3 && r.iter().all(|r| r["state"] == "written")
    });
    let profile = out.join("default/web/app.json");
    let names = profile_names(&profile);
    for marker in &MARKERS[..3] {
        assert!(names.contains(*marker), "{marker} not in {names:?}");
    }
    assert_eq!(meta_of(&profile)["runs"], 3);
    assert_eq!(daemon.metric("recorder_profiles_pending"), 0.0);
}

/// The socket is mode 0600 in a 0700 directory, and refuses a user that is
/// not root even when the file modes would let it in.
#[test]
fn the_socket_is_root_only() {
    let _serial = serial();
    let (dir, _rootfs) = setup();
    let dir = dir.path();
    let daemon = Daemon::start(dir, &dir.join("profiles"), &[]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&daemon.socket), 0o600);
    assert_eq!(mode(daemon.socket.parent().unwrap()), 0o700);
    let as_nobody = |socket: &Path| {
        run(Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_recorder"))
            .args(["status", "--socket"])
            .arg(socket))
    };
    let refused = as_nobody(&daemon.socket);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no recorder daemon answers"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // Opened up by hand: the daemon itself still refuses.
    std::fs::set_permissions(
        daemon.socket.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&daemon.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let forbidden = as_nobody(&daemon.socket);
    assert_eq!(forbidden.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&forbidden.stderr).contains("HTTP 403"),
        "{}",
        String::from_utf8_lossy(&forbidden.stderr)
    );
    // And root is answered.
    let table = run(recorder().args(["status", "--socket"]).arg(&daemon.socket));
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).starts_with("CONTAINER"));
    // A second daemon on the same socket is refused with one line.
    let second = run(recorder()
        .args(["daemon", "--output"])
        .arg(dir.join("other"))
        .arg("--socket")
        .arg(&daemon.socket));
    assert_one_line_error(&second, 1, "another recorder daemon answers at");
}

/// A container whose processes are all gone before the daemon reads its
/// cgroup's announcement (the reader made late on purpose) is still told,
/// from what the kernel read of its first task: runc's init's state
/// directory, crun's command line.
#[test]
fn a_container_gone_before_it_is_read_is_still_told() {
    let _serial = serial();
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let _hugetlb = HugetlbMount::ensure();
    let daemon = Daemon::start_with(
        dir,
        &dir.join("profiles"),
        &[],
        &[("RECORDER_TEST_SIGHTING_DELAY_MS", "1500")],
    );
    let mut ids = Vec::new();
    for runtime in ["runc", "crun"] {
        let id = unique(&format!("gone-{runtime}"));
        let bundle = RuncBundle::new(dir, &rootfs, &id, &["/bin/syscaller", "umask"], false, None);
        let out = bundle.run_with(runtime, &id);
        assert!(
            out.status.success(),
            "{runtime}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ids.push((runtime, id));
    }
    for (runtime, id) in &ids {
        let recordings = daemon.wait_for(id, "told and written", |r| {
            r.len() == 1 && r[0]["state"] == "written"
        });
        assert_eq!(recordings[0]["engine"], *runtime, "{recordings:#?}");
        assert_eq!(recordings[0]["runtime"], *runtime, "{recordings:#?}");
        let profile = PathBuf::from(recordings[0]["profile"].as_str().unwrap());
        assert!(
            profile_names(&profile).contains("umask"),
            "{}",
            profile.display()
        );
    }
}

/// 20,000 cgroups, each with a process making a syscall
/// (`many_cgroups.c`: every second), appear while the daemon runs and four `record`s run
/// at once: each recording stays exact (evictions from the per-CPU cache
/// cost a walk, never a syscall), the daemon marks the cgroups ignored
/// without holding a slot for them, and a container started afterwards is
/// recorded as usual; no slot is left in use once it is written.
#[test]
fn twenty_thousand_cgroups_leave_recordings_exact_and_no_slot_used() {
    let _serial = serial();
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let daemon = Daemon::start(dir, &dir.join("profiles"), &[]);
    let many = build_program(dir, "many_cgroups", &["-static", "-O1"]);
    let rare = build_program(dir, "rare_syscalls", &["-static", "-O1"]);
    let expected = allowed_names(&record_to_file(dir, "alone", &rare));

    let parent = cgroup2_mount().join(format!("recorder-test-many-{}", std::process::id()));
    std::fs::create_dir(&parent).unwrap();
    let load = Command::new(&many)
        .arg(&parent)
        .arg("20000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting many_cgroups");
    let mut many_cgroups = TestCgroup {
        dir: parent,
        load: Some(load),
    };
    let load = many_cgroups.load.as_mut().unwrap();
    let mut ready = [0u8; 6];
    load.stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut ready)
        .unwrap();
    assert_eq!(&ready, b"ready\n");

    let recorded: Vec<BTreeSet<String>> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..4)
            .map(|i| {
                let rare = &rare;
                s.spawn(move || allowed_names(&record_to_file(dir, &format!("r{i}"), rare)))
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for (i, names) in recorded.iter().enumerate() {
        assert_eq!(names, &expected, "recording {i} among 20,000 cgroups");
    }
    // The daemon has told them apart: ignored, none holding a slot.
    let started = Instant::now();
    while daemon.metric("recorder_cgroups_ignored") < 20_000.0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "20,000 cgroups not marked ignored: {}\n{}",
            daemon.metric("recorder_cgroups_ignored"),
            daemon.get("/metrics")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(daemon.metric("recorder_slots{state=\"used\"}"), 0.0);

    let id = unique("after-many");
    let bundle = RuncBundle::new(dir, &rootfs, &id, &["/bin/syscaller", "umask"], false, None);
    assert!(bundle.run(&id).status.success());
    let recordings = daemon.wait_for(&id, "the container after 20,000 cgroups written", |r| {
        r.len() == 1 && r[0]["state"] == "written"
    });
    let names = profile_names(Path::new(recordings[0]["profile"].as_str().unwrap()));
    assert!(names.contains("umask"), "{names:?}");
    assert_eq!(daemon.metric("recorder_slots{state=\"used\"}"), 0.0);
    assert_eq!(daemon.metric("recorder_slots{state=\"triage\"}"), 0.0);
    drop(many_cgroups);
}

/// A cgroup tree a test made on the host, with the process that loads it:
/// the process is stopped (its stdin closed, or killed) and the tree
/// removed when dropped, also when the test fails. Twenty thousand
/// cgroups left behind slow down everything that reads the cgroup tree
/// later (a `trace --wait` then hears of a short-lived container too late).
struct TestCgroup {
    dir: PathBuf,
    load: Option<std::process::Child>,
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        if let Some(mut load) = self.load.take() {
            // A load reading its stdin ends when it closes; others are
            // killed.
            if load.stdin.take().is_none() {
                let _ = load.kill();
            }
            let _ = load.wait();
        }
        remove_cgroup_tree(&self.dir);
    }
}

/// Removes the cgroup trees tests of this file made that a killed run
/// left (`recorder-test-many-PID`, `recorder-tests-noise-PID` with PID
/// gone), so that one killed run does not slow every later one down.
fn remove_dead_tests_cgroups() {
    let root = cgroup2_mount();
    let Ok(entries) = std::fs::read_dir(&root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = ["recorder-test-many-", "recorder-tests-noise-"]
            .iter()
            .find_map(|prefix| name.strip_prefix(prefix))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!(
                "note: removing {}, left by a test run that was killed",
                entry.path().display()
            );
            remove_cgroup_tree(&entry.path());
        }
    }
}

/// `recorder record -o DIR/NAME.json -- PROGRAM`, the profile's text.
fn record_to_file(dir: &Path, name: &str, program: &Path) -> String {
    let path = dir.join(format!("{name}.json"));
    let out = run(recorder()
        .args(["record", "-q", "-o"])
        .arg(&path)
        .arg("--")
        .arg(program));
    assert!(
        out.status.success(),
        "recording {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&path).unwrap()
}

/// Removes `parent` and its child cgroups once their processes are gone.
fn remove_cgroup_tree(parent: &Path) {
    let started = Instant::now();
    loop {
        let children: Vec<PathBuf> = std::fs::read_dir(parent)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        for child in &children {
            let _ = std::fs::remove_dir(child);
        }
        if std::fs::remove_dir(parent).is_ok() || !parent.exists() {
            return;
        }
        if started.elapsed() > Duration::from_secs(60) {
            eprintln!("warning: {} not removed within 60 s", parent.display());
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
