//! End-to-end tests of `recorder trace` with real runc containers: recording
//! from the first syscall (--wait), the runtime boundary with
//! no_new_privileges off and on, profiles that run the container and deny the
//! rest, resolution by id and prefix, --pid and --cgroup.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::containers::*;
use common::*;
use recorder::cgroup::Cgroup2Mount;

/// A running container's workload: makes a directory in /tmp every 100 ms,
/// for a while.
const BUSY: [&str; 3] = [
    "sh",
    "-c",
    "i=0; while [ $i -lt 100 ]; do mkdir /tmp/d$i; i=$((i+1)); sleep 0.1; done",
];

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    require_root();
    require_program("runc", "runc");
    let dir = temp_dir();
    let rootfs = busybox_rootfs(dir.path());
    (dir, rootfs)
}

/// The namespaces of a test's containers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Namespaces {
    /// runc's defaults, a pid namespace among them.
    Own,
    /// The host's pid namespace.
    HostPid,
}

/// The acceptance scenario: record from the start with --wait, run a new
/// container under the profile with the same output, and check that other
/// calls are denied with the profile's errno. `runtime` is runc or crun.
fn from_start(runtime: &str, no_new_privileges: bool) {
    from_start_with(runtime, no_new_privileges, Namespaces::Own);
}

fn from_start_with(runtime: &str, no_new_privileges: bool, namespaces: Namespaces) {
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let tag = format!(
        "{runtime}-{}{}",
        if no_new_privileges { "nnp" } else { "privs" },
        if namespaces == Namespaces::HostPid {
            "-hostpid"
        } else {
            ""
        }
    );
    let bundle = |id: &str, args: &[&str], seccomp: Option<serde_json::Value>| {
        let bundle = RuncBundle::new(dir, &rootfs, id, args, no_new_privileges, seccomp);
        if namespaces == Namespaces::HostPid {
            bundle.share_host_pid();
        }
        bundle
    };
    let id = unique(&format!("start-{tag}"));
    let recording = bundle(&id, &["sh", "-c", WORKLOAD], None);
    let tracing = Tracing::start(dir, "rec", &["--container", &id, "--wait"]);
    let profile = tracing.profile.clone();
    let first = recording.run_with(runtime, &id);
    assert!(first.status.success(), "unconfined run failed: {first:?}");
    assert!(String::from_utf8_lossy(&first.stdout).starts_with("hi\n"));
    let (_, stderr, names) = tracing.finish();
    assert!(
        stderr.contains(&format!("waiting for container {id}")),
        "{stderr}"
    );
    assert!(!stderr.contains("already running"), "{stderr}");
    assert!(!stderr.contains("shares the host's pid"), "{stderr}");
    assert!(
        stderr.contains(&format!("more from the {runtime} base profile")),
        "{stderr}"
    );
    assert_no_runtime_setup(&names, &id);
    let base = base_names(runtime);
    assert!(
        base.is_subset(&names),
        "base missing: {:?}",
        base.difference(&names)
    );
    for call in ["mkdir", "execve", "exit_group", "write"] {
        assert!(names.contains(call), "{call} missing: {names:?}");
    }

    let seccomp = seccomp_of(&profile);
    let enforced_id = unique(&format!("enforced-{tag}"));
    let enforced = bundle(&enforced_id, &["sh", "-c", WORKLOAD], Some(seccomp.clone()));
    let second = enforced.run_with(runtime, &enforced_id);
    assert!(
        second.status.success(),
        "the workload failed under its profile: {}\nprofile: {names:?}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(normalise(&second.stdout), normalise(&first.stdout));

    for (args, what) in [
        (["mknod", "/tmp/p", "p"].as_slice(), "mknod"),
        (["chroot", "/", "true"].as_slice(), "chroot"),
    ] {
        let other_id = unique(&format!("{what}-{tag}"));
        let other = bundle(&other_id, args, Some(seccomp.clone()));
        assert_enosys(&other.run_with(runtime, &other_id), what);
    }
}

#[test]
fn runc_from_start_without_no_new_privileges() {
    from_start("runc", false);
}

#[test]
fn runc_from_start_with_no_new_privileges() {
    from_start("runc", true);
}

/// A container in the host's pid namespace (Kubernetes `hostPID`) is
/// recorded from its start all the same, through the mount namespace its
/// runtime made.
#[test]
fn runc_from_start_in_the_host_pid_namespace() {
    from_start_with("runc", false, Namespaces::HostPid);
}

/// A running container in the host's pid namespace is recorded from now on
/// in the container scope too (its mount namespace differs from its
/// runtime's): a host process that joins its cgroup (as a runtime's helper
/// does) stays out, while the workload is in.
#[test]
fn running_container_in_the_host_pid_namespace() {
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let id = unique("running-hostpid");
    let bundle = RuncBundle::new(dir, &rootfs, &id, &BUSY, false, None);
    bundle.share_host_pid();
    let _container = Detached::run(&bundle, &id);
    let tracing = Tracing::start(
        dir,
        "running-hostpid",
        &["--container", &id, "--duration", "2s", "--base", "none"],
    );
    let procs = Cgroup2Mount::find()
        .unwrap()
        .root
        .join(format!("recorder-tests/{id}/cgroup.procs"));
    let joined = run(Command::new("sh").arg("-c").arg(format!(
        "echo $$ > {}; rmdir /nonexistent-hostpid-test 2>/dev/null; true",
        procs.display()
    )));
    assert!(joined.status.success(), "{joined:?}");
    let (_, stderr, names) = tracing.finish();
    assert!(stderr.contains("is already running"), "{stderr}");
    assert!(names.contains("mkdir"), "{names:?}");
    assert!(
        !names.contains("rmdir"),
        "the host process in the container's cgroup was recorded: {names:?}"
    );
}

#[test]
fn crun_from_start_with_and_without_no_new_privileges_and_in_the_host_pid_namespace() {
    require_program("crun", "crun");
    let _hugetlb = HugetlbMount::ensure();
    from_start("crun", false);
    from_start("crun", true);
    from_start_with("crun", false, Namespaces::HostPid);
}

fn base_names(runtime: &str) -> std::collections::BTreeSet<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../profiles/base/{runtime}.json"));
    allowed_names(&std::fs::read_to_string(path).unwrap())
}

/// A container created but not started is recorded from its start without
/// --wait: its init waits on runc's exec fifo.
#[test]
fn created_container_is_recorded_from_its_start() {
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let id = unique("created");
    let bundle = RuncBundle::new(
        dir,
        &rootfs,
        &id,
        &["sh", "-c", "mkdir /tmp/b && rmdir /tmp/b"],
        false,
        None,
    );
    let container = Detached::create(&bundle, &id);
    let tracing = Tracing::start(dir, "created", &["--container", &id, "--base", "none"]);
    container.start();
    let (_, stderr, names) = tracing.finish();
    assert!(
        stderr.contains(&format!("waiting for container {id}")),
        "{stderr}"
    );
    for call in ["execve", "mkdir", "rmdir", "exit_group"] {
        assert!(names.contains(call), "{call} missing: {names:?}");
    }
    assert_no_runtime_setup(&names, &id);
    // --base none: nothing of the runtime's own calls after the filter.
    for runtime_only in ["capset", "capget", "setgroups", "fstatfs"] {
        assert!(!names.contains(runtime_only), "{runtime_only} in {names:?}");
    }
}

/// Ids, unique prefixes, ambiguity, unknown and exited containers.
#[test]
fn resolution_errors_and_prefixes() {
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let a1 = unique("resolve-a1");
    let a2 = unique("resolve-a2x");
    let sleeper = ["sh", "-c", "sleep 30"];
    let _c1 = Detached::run(
        &RuncBundle::new(dir, &rootfs, &a1, &sleeper, false, None),
        &a1,
    );
    let _c2 = Detached::run(
        &RuncBundle::new(dir, &rootfs, &a2, &sleeper, false, None),
        &a2,
    );
    let prefix = unique("resolve-a");
    let out = run(recorder().args(["trace", "--container", &prefix]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        // Cut where they differ: a2x loses its last character.
        format!(
            "recorder: {prefix} is ambiguous: it matches {a1}, {}… (use more characters)\n",
            &a2[..a1.len()]
        )
    );
    let missing = unique("nosuch");
    let out = run(recorder().args(["trace", "--container", &missing]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("recorder: no container matches {missing}\n")
    );
    let done = unique("resolve-done");
    let exited = Detached::run(
        &RuncBundle::new(dir, &rootfs, &done, &["true"], false, None),
        &done,
    );
    exited.wait_stopped();
    let out = run(recorder().args(["trace", "--container", &done]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("recorder: runtime state says {done} exited\n")
    );
    // A unique prefix of a running container: recorded from now on.
    let out = run(recorder().args([
        "trace",
        "--container",
        &unique("resolve-a2"),
        "--duration",
        "1s",
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{a2} (runc) is already running: recording from now on"
        )),
        "{stderr}"
    );
}

/// A running container: attached from now on; --duration, Ctrl-C, --pid and
/// --cgroup; the seccomp warning.
#[test]
fn running_container_by_pid_cgroup_and_signal() {
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let id = unique("running");
    let container = Detached::run(&RuncBundle::new(dir, &rootfs, &id, &BUSY, false, None), &id);

    let pid = container.pid().to_string();
    let started = Instant::now();
    let out = run(recorder().args(["trace", "--pid", &pid, "--duration", "1s", "--base", "none"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(stderr.contains(&format!("(process {pid}")), "{stderr}");
    let names = allowed_names(&String::from_utf8_lossy(&out.stdout));
    assert!(names.contains("mkdir"), "--pid: {names:?}");
    assert_no_runtime_setup(&names, "--pid");

    let cgroup = format!("/recorder-tests/{id}");
    let out = run(recorder().args([
        "trace",
        "--cgroup",
        &cgroup,
        "--duration",
        "1s",
        "--base",
        "none",
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let names = allowed_names(&String::from_utf8_lossy(&out.stdout));
    assert!(names.contains("mkdir"), "--cgroup: {names:?}");

    // Ctrl-C: the profile of what was recorded so far.
    let tracing = Tracing::start(dir, "interrupted", &["--container", &id, "--base", "none"]);
    std::thread::sleep(Duration::from_millis(500));
    let profile = tracing.profile.clone();
    tracing.interrupt();
    let (_, stderr, names) = tracing.finish();
    assert!(
        stderr.contains("interrupted: writing the profile"),
        "{stderr}"
    );
    assert!(
        names.contains("mkdir"),
        "{names:?} in {}",
        profile.display()
    );
}

/// A container the kubelet would start (containerd's CRI annotations), run
/// with `runc run`, that exits at once, is found by its Kubernetes name:
/// runc deletes its state within milliseconds, so the name is read when its
/// cgroup appears, not when it is looked for. Three times, since the race
/// it guards against is one of timing.
#[test]
fn waits_for_a_short_lived_container_by_its_kubernetes_name() {
    let (dir, rootfs) = setup();
    let dir = dir.path();
    for round in 0..3 {
        let id = unique(&format!("quick{round}"));
        let pod = format!("quick-{}-{round}x7k2", std::process::id());
        let bundle = RuncBundle::new(
            dir,
            &rootfs,
            &id,
            &["sh", "-c", "mkdir /tmp/q"],
            false,
            None,
        );
        bundle.annotate(&cri_annotations("default", &pod, "app"));
        let query = format!("default/{pod}/app");
        let tracing = Tracing::start(
            dir,
            &format!("quick{round}"),
            &["--container", &query, "--wait", "--timeout", "60s"],
        );
        let out = bundle.run(&id);
        assert!(
            out.status.success(),
            "runc run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (_, stderr, names) = tracing.finish();
        assert!(
            names.contains("mkdir"),
            "round {round}: {names:?}\n{stderr}"
        );
        assert_no_runtime_setup(&names, "a short-lived container");
        assert!(
            !stderr.contains("cannot tell which runtime"),
            "the runtime is known from the start: {stderr}"
        );
        // runc's base profile is in.
        assert!(names.contains("capset"), "round {round}: {names:?}");
    }
}

/// `--timeout` ends a wait for a container that never comes, with one line.
#[test]
fn gives_up_waiting_after_the_timeout() {
    require_root();
    let missing = unique("never");
    let started = Instant::now();
    let out = run(recorder().args([
        "trace",
        "-q",
        "--container",
        &missing,
        "--wait",
        "--timeout",
        "1s",
    ]));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_one_line_error(
        &out,
        1,
        &format!("gave up waiting for container {missing} after 1s (--timeout)"),
    );
    let out = run(recorder().args(["trace", "--container", &missing, "--timeout", "1s"]));
    assert_eq!(out.status.code(), Some(2), "--timeout needs --wait");
}

/// The root cgroup cannot be recorded: said before recording, pointing at
/// `record`.
#[test]
fn refuses_the_root_cgroup() {
    require_root();
    let pid1 = std::fs::read_to_string("/proc/1/cgroup").unwrap();
    if pid1.lines().any(|l| l == "0::/") {
        let out = run(recorder().args(["trace", "--pid", "1", "--duration", "1s"]));
        assert_one_line_error(
            &out,
            1,
            "process 1 is in the root cgroup, which cannot be recorded",
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("recorder record"));
    } else {
        eprintln!("note: pid 1 is not in the root cgroup here; --pid 1 not checked");
    }
    let out = run(recorder().args(["trace", "--cgroup", "/", "--duration", "1s"]));
    assert_one_line_error(&out, 1, "/ is the root cgroup, which cannot be recorded");
}

/// Waiting for a cgroup that does not exist yet.
#[test]
fn waits_for_a_cgroup() {
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let id = unique("cgroup-wait");
    let bundle = RuncBundle::new(
        dir,
        &rootfs,
        &id,
        &["sh", "-c", "mkdir /tmp/e"],
        false,
        None,
    );
    let cgroup = format!("/recorder-tests/{id}");
    let tracing = Tracing::start(
        dir,
        "cgroup-wait",
        &["--cgroup", &cgroup, "--wait", "--base", "none"],
    );
    assert!(bundle.run(&id).status.success());
    let (_, stderr, names) = tracing.finish();
    assert!(
        stderr.contains(&format!("waiting for cgroup {cgroup}")),
        "{stderr}"
    );
    // --cgroup records everything in it: the runtime's setup too.
    for call in ["mkdir", "execve", "pivot_root"] {
        assert!(names.contains(call), "{call} missing: {names:?}");
    }
}

/// A container under a seccomp filter loses what the filter denies: warn.
#[test]
fn warns_about_a_confined_container() {
    let (dir, rootfs) = setup();
    let dir = dir.path();
    let id = unique("confined");
    let allow_all_but_chroot = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["chroot"], "action": "SCMP_ACT_ERRNO"}]
    });
    let bundle = RuncBundle::new(
        dir,
        &rootfs,
        &id,
        &["sh", "-c", "sleep 1"],
        false,
        Some(allow_all_but_chroot),
    );
    let tracing = Tracing::start(dir, "confined", &["--container", &id, "--wait"]);
    assert!(bundle.run(&id).status.success());
    let (_, stderr, _) = tracing.finish();
    assert!(
        stderr.contains("runs under a seccomp filter (mode 2)"),
        "{stderr}"
    );
}

/// A --base that is neither a choice nor a file names the choices.
#[test]
fn unknown_base_names_the_choices() {
    let out = run(recorder().args([
        "trace",
        "--container",
        "x",
        "--base",
        "bogus",
        "-o",
        "/dev/null",
    ]));
    assert_one_line_error(
        &out,
        1,
        "recorder: --base bogus: no such file; give auto, runc, crun, none or an OCI profile file",
    );
}

/// -q silences the notes (here the one about Docker's errno) and keeps the
/// warnings. The container is one only its cgroup's name tells of (Docker's
/// systemd scope), so no engine needs to run.
#[test]
fn quiet_silences_notes_but_not_warnings() {
    require_root();
    let id = format!("5e7d9a1b{:08x}{}", std::process::id(), "0".repeat(48));
    let group = Cgroup2Mount::find()
        .expect("no cgroup2 mount: this test needs cgroup v2")
        .root
        .join(format!("docker-{id}.scope"));
    std::fs::create_dir(&group).expect("creating a test cgroup");
    let mut sleeper = Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("starting sleep");
    std::fs::write(group.join("cgroup.procs"), sleeper.id().to_string()).expect("moving sleep");
    let trace = |quiet: bool| {
        let mut cmd = recorder();
        cmd.args(["trace", "--container", &id[..12], "--duration", "1s"]);
        cmd.args(["-o", "/dev/null"]);
        if quiet {
            cmd.arg("-q");
        }
        run(&mut cmd)
    };
    let loud = trace(false);
    let quiet = trace(true);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let _ = std::fs::remove_dir(&group);
    let loud = String::from_utf8_lossy(&loud.stderr);
    let quiet = String::from_utf8_lossy(&quiet.stderr);
    assert!(
        loud.contains("recorder: note: Docker before 23.0"),
        "{loud}"
    );
    assert!(
        loud.contains("runc, docker's default, is assumed"),
        "{loud}"
    );
    assert!(!quiet.contains("note:"), "{quiet}");
    // The sleeper makes no syscall while it is recorded.
    assert!(
        quiet.contains("recorder: warning: recorded no syscall of container"),
        "{quiet}"
    );
}
