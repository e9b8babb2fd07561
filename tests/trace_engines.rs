//! End-to-end tests of `recorder trace` with podman (on runc), Docker (whose
//! daemon the test starts when none runs) and containerd (a daemon of the
//! test's own): a busybox container recorded from its start by name with
//! --wait, then run again under its profile; with podman and Docker also with
//! no_new_privileges on, podman also in the host's pid namespace, and names,
//! id prefixes and unknown names.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::containers::*;
use common::*;

/// How to drive one engine.
struct Engine {
    /// Names the test's containers.
    label: &'static str,
    /// The command and the global flags it always needs.
    command: &'static str,
    global: &'static [&'static str],
    /// `run` flags it always needs.
    run: &'static [&'static str],
    /// The errno message its containers see for a denied call.
    denied: &'static str,
    /// `--errno` for the recorder.
    errno: &'static str,
}

/// podman on runc (it prefers crun when both are installed), with rlimits it
/// may set: root here cannot raise them to podman's defaults.
const PODMAN: Engine = Engine {
    label: "podman",
    command: "podman",
    global: &["--runtime", "runc"],
    run: &[
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
    ],
    denied: "Function not implemented",
    errno: "ENOSYS",
};

/// podman's containers in the host's pid namespace (as Kubernetes'
/// `hostPID: true`), recorded from their start through their mount
/// namespace.
const PODMAN_HOST_PID: Engine = Engine {
    label: "podman-hostpid",
    run: &[
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "--pid=host",
    ],
    ..PODMAN
};

/// Docker 20.10 drops a profile's `defaultErrnoRet` when it hands the
/// profile to runc (copied from 23.0 on, moby/moby#42604), so its containers
/// see EPERM whatever the profile says: record with EPERM so that the
/// profile says what they see.
const DOCKER: Engine = Engine {
    label: "docker",
    command: "docker",
    global: &[],
    run: &[],
    denied: "Operation not permitted",
    errno: "EPERM",
};

impl Engine {
    fn cmd(&self) -> Command {
        let mut c = Command::new(self.command);
        c.args(self.global);
        c
    }

    /// `run --rm` in the foreground.
    fn run(&self, image: &str, name: Option<&str>, security: &[String], args: &[&str]) -> Output {
        let mut c = self.cmd();
        c.args(["run", "--rm"]).args(self.run);
        if let Some(name) = name {
            c.args(["--name", name]);
        }
        for opt in security {
            c.args(["--security-opt", opt]);
        }
        run(c.arg(image).args(args).stdin(Stdio::null()))
    }
}

fn security(no_new_privileges: bool, seccomp: &str) -> Vec<String> {
    let mut opts = vec![format!("seccomp={seccomp}")];
    if no_new_privileges {
        opts.push("no-new-privileges".to_string());
    }
    opts
}

/// The acceptance scenario for one engine and no_new_privileges setting.
fn from_start(engine: &Engine, image: &str, dir: &Path, no_new_privileges: bool) {
    let tag = if no_new_privileges { "nnp" } else { "privs" };
    let name = unique(&format!("{}-{tag}", engine.label));
    let tracing = Tracing::start(
        dir,
        &name,
        &["--container", &name, "--wait", "--errno", engine.errno],
    );
    let profile = tracing.profile.clone();
    let first = engine.run(
        image,
        Some(&name),
        &security(no_new_privileges, "unconfined"),
        &["sh", "-c", WORKLOAD],
    );
    assert!(
        first.status.success(),
        "{} unconfined run failed: {}",
        engine.command,
        String::from_utf8_lossy(&first.stderr)
    );
    let (_, stderr, names) = tracing.finish();
    assert!(
        stderr.contains(&format!("waiting for container {name}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("more from the runc base profile"),
        "{stderr}"
    );
    assert!(!stderr.contains("seccomp filter"), "{stderr}");
    assert!(!stderr.contains("shares the host's"), "{stderr}");
    assert_no_runtime_setup(&names, &name);
    for call in ["mkdir", "execve", "exit_group", "write"] {
        assert!(names.contains(call), "{call} missing: {names:?}");
    }

    let profile = profile.display().to_string();
    let second = engine.run(
        image,
        None,
        &security(no_new_privileges, &profile),
        &["sh", "-c", WORKLOAD],
    );
    assert!(
        second.status.success(),
        "{} run under the profile failed: {}\nprofile: {names:?}",
        engine.command,
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(normalise(&second.stdout), normalise(&first.stdout));
    for args in [
        ["mknod", "/tmp/p", "p"].as_slice(),
        ["chroot", "/", "true"].as_slice(),
    ] {
        let out = engine.run(image, None, &security(no_new_privileges, &profile), args);
        assert_errno(&out, args[0], engine.denied);
    }
}

/// Names, id prefixes and unknown names of a running container; warns that
/// the engine's default seccomp profile confines it.
fn resolution(engine: &Engine, image: &str) {
    let name = unique(&format!("{}-named", engine.label));
    let out = run(engine
        .cmd()
        .args(["run", "-d", "--rm"])
        .args(engine.run)
        .args(["--name", &name, image, "sleep", "30"]));
    assert!(
        out.status.success(),
        "{} run -d: {}",
        engine.command,
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    for query in [name.as_str(), &id[..10]] {
        let out = run(recorder().args(["trace", "--container", query, "--duration", "1s"]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{query}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{name} ({} {}) is already running",
                engine.command,
                &id[..12]
            )),
            "{query}: {stderr}"
        );
        // Not started unconfined: the engine's default profile applies.
        assert!(stderr.contains("runs under a seccomp filter"), "{stderr}");
    }
    let missing = unique(&format!("{}-missing", engine.label));
    let out = run(recorder().args(["trace", "--container", &missing]));
    // One line of error; a warning may precede it (another engine's daemon
    // that does not answer, say).
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("recorder: warning: "))
        .collect();
    assert_eq!(
        errors,
        [format!("recorder: no container matches {missing}")],
        "{stderr}"
    );
    let _ = engine.cmd().args(["rm", "-f", &name]).output();
}

/// A container that exits at once, 20 times: each profile has its
/// runtime's base profile and starts its container (issue 15, item 1: the
/// runtime is read when the container's cgroup appears).
fn quick_containers(engine: &Engine, image: &str, dir: &Path) {
    for round in 0..20 {
        let name = unique(&format!("{}-quick{round}", engine.label));
        let tracing = Tracing::start(
            dir,
            &name,
            &[
                "--container",
                &name,
                "--wait",
                "--timeout",
                "60s",
                "--errno",
                engine.errno,
            ],
        );
        let first = engine.run(
            image,
            Some(&name),
            &security(false, "unconfined"),
            &["sh", "-c", "echo hi"],
        );
        assert!(
            first.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&first.stderr)
        );
        let (_, stderr, names) = tracing.finish();
        assert!(
            stderr.contains("more from the runc base profile"),
            "round {round}: {stderr}"
        );
        assert!(names.contains("capset"), "round {round}: {names:?}");
        let profile = tracing_profile(dir, &name);
        let again = engine.run(
            image,
            None,
            &security(false, &profile),
            &["sh", "-c", "echo hi"],
        );
        assert!(
            again.status.success(),
            "round {round}: the profile does not start the container: {}\n{names:?}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&again.stdout), "hi\n");
    }
}

/// Where [`Tracing`] wrote a trace's profile.
fn tracing_profile(dir: &Path, name: &str) -> String {
    dir.join(format!("{name}.json")).display().to_string()
}

#[test]
fn podman_from_start_and_by_name() {
    require_root();
    require_program("podman", "podman");
    require_program("runc", "runc");
    let dir = temp_dir();
    let rootfs = busybox_rootfs(dir.path());
    let image = import_image("podman", &rootfs, &format!("localhost/{}", unique("bb")));
    from_start(&PODMAN, &image.name, dir.path(), false);
    from_start(&PODMAN, &image.name, dir.path(), true);
    from_start(&PODMAN_HOST_PID, &image.name, dir.path(), false);
    resolution(&PODMAN, &image.name);
    quick_containers(&PODMAN, &image.name, dir.path());
}

#[test]
fn docker_from_start_and_by_name() {
    require_root();
    let _daemon = Dockerd::ensure();
    let dir = temp_dir();
    let rootfs = busybox_rootfs(dir.path());
    // Declared after the daemon, so removed while it still runs.
    let image = import_image("docker", &rootfs, &unique("bb"));
    from_start(&DOCKER, &image.name, dir.path(), false);
    from_start(&DOCKER, &image.name, dir.path(), true);
    resolution(&DOCKER, &image.name);
    quick_containers(&DOCKER, &image.name, dir.path());
}

/// A container the kubelet would start through containerd, found by its
/// Kubernetes name (`namespace/pod/container`, from the CRI annotations
/// runc keeps in its state) and recorded from its start; the same workload
/// then runs under the profile, loaded by containerd's own seccomp loader.
#[test]
fn containerd_kubernetes_names_from_start() {
    require_root();
    require_program("runc", "runc");
    let dir = temp_dir();
    let rootfs = busybox_rootfs(dir.path());
    let containerd = Containerd::start(dir.path());
    let pod = unique("pod");
    let name = format!("default/{pod}/box");
    let tracing = Tracing::start(dir.path(), "containerd", &["--container", &name, "--wait"]);
    let profile = tracing.profile.clone();
    let first = containerd.run(
        &rootfs,
        &unique("ctr-1"),
        &pod,
        None,
        &["sh", "-c", WORKLOAD],
    );
    assert!(
        first.status.success(),
        "ctr run failed: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let (_, stderr, names) = tracing.finish();
    assert!(
        stderr.contains(&format!("waiting for container {name}")),
        "{stderr}"
    );
    assert_no_runtime_setup(&names, &name);
    for call in ["mkdir", "execve", "exit_group", "write"] {
        assert!(names.contains(call), "{call} missing: {names:?}");
    }

    std::fs::remove_dir_all(rootfs.join("tmp/a")).unwrap();
    let second = containerd.run(
        &rootfs,
        &unique("ctr-2"),
        &pod,
        Some(&profile),
        &["sh", "-c", WORKLOAD],
    );
    assert!(
        second.status.success(),
        "ctr run under the profile failed: {}\nprofile: {names:?}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(normalise(&second.stdout), normalise(&first.stdout));
    let denied = containerd.run(
        &rootfs,
        &unique("ctr-3"),
        &pod,
        Some(&profile),
        &["mknod", "/tmp/p", "p"],
    );
    // containerd passes the profile's defaultErrnoRet (ENOSYS) on to runc.
    assert_errno(&denied, "mknod", "Function not implemented");
}
