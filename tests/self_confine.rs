//! The acceptance of the recorder lowering itself: every thread of a
//! running `trace --wait`, daemon, `record`, `run --complain` and `logs
//! --source` shows `Seccomp: 2`, `NoNewPrivs: 1` and the capabilities the
//! README's Security section documents for the command; the workloads of
//! `record` and `run` carry none of it; `--no-self-confine` keeps
//! everything.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::containers::*;
use common::*;

/// What /proc/PID/task/TID/status says of one thread.
#[derive(Debug, PartialEq, Eq)]
struct ThreadState {
    seccomp: u32,
    filters: u32,
    no_new_privs: u32,
    cap_eff: u64,
}

fn field<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in {status}"))
        .trim()
}

fn state_of(status: &str) -> ThreadState {
    ThreadState {
        seccomp: field(status, "Seccomp").parse().unwrap(),
        filters: field(status, "Seccomp_filters").parse().unwrap(),
        no_new_privs: field(status, "NoNewPrivs").parse().unwrap(),
        cap_eff: u64::from_str_radix(field(status, "CapEff"), 16).unwrap(),
    }
}

/// Every thread of process `pid`.
fn threads_of(pid: u32) -> Vec<ThreadState> {
    let mut states = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = entry.unwrap().path().join("status");
        if let Ok(status) = std::fs::read_to_string(path) {
            states.push(state_of(&status));
        }
    }
    states
}

/// The capabilities the README's Security section documents for a
/// command (its row of the table, e.g. `` | `trace` | ``), as CapEff's
/// mask.
fn documented(row: &str) -> u64 {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with(&format!("| {row} |")))
        .unwrap_or_else(|| panic!("no row {row} in the README's Security table"));
    let kept = line.split('|').nth(2).unwrap();
    kept.split(',')
        .map(|c| c.trim().trim_matches('`'))
        .filter(|c| *c != "none")
        .map(|c| match c {
            "CAP_DAC_OVERRIDE" => 1u64 << 1,
            "CAP_DAC_READ_SEARCH" => 1 << 2,
            "CAP_KILL" => 1 << 5,
            "CAP_SYS_PTRACE" => 1 << 19,
            other => panic!("the test does not know {other}"),
        })
        .fold(0, |mask, bit| mask | bit)
}

/// Asserts every thread of `pid` runs under one filter of its own, with
/// no_new_privs and exactly `caps`; returns the number of threads.
fn assert_lowered(pid: u32, caps: u64, what: &str) -> usize {
    let threads = threads_of(pid);
    assert!(!threads.is_empty(), "{what}: no threads");
    for t in &threads {
        assert_eq!(
            (t.seccomp, t.no_new_privs, t.cap_eff),
            (2, 1, caps),
            "{what}: a thread is not lowered: {threads:?}"
        );
    }
    threads.len()
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child killed when the test ends early.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn trace_wait_runs_lowered_on_every_thread() {
    require_root();
    require_program("runc", "runc");
    let dir = temp_dir();
    let rootfs = busybox_rootfs(dir.path());
    let id = unique("lowered");
    let ready = dir.path().join("ready");
    let profile = dir.path().join("p.json");
    let trace = Running(
        recorder()
            .args(["trace", "--container", &id, "--wait", "--no-daemon", "-o"])
            .arg(&profile)
            .arg("--ready-file")
            .arg(&ready)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("trace --wait ready", || ready.exists());
    let threads = assert_lowered(trace.0.id(), documented("`trace`"), "trace --wait");
    assert_eq!(threads, 2, "the main thread and the one passing signals on");
    let bundle = RuncBundle::new(dir.path(), &rootfs, &id, &["/bin/true"], false, None);
    assert!(bundle.run(&id).status.success());
    let mut trace = trace;
    assert!(trace.0.wait().unwrap().success());
    assert!(allowed_names(&std::fs::read_to_string(&profile).unwrap()).contains("execve"));
}

#[test]
fn the_daemon_runs_lowered_on_every_thread() {
    require_root();
    let dir = temp_dir();
    let ready = dir.path().join("ready");
    let daemon = Running(
        recorder()
            .arg("daemon")
            .arg("--output")
            .arg(dir.path().join("profiles"))
            .arg("--socket")
            .arg(dir.path().join("api/sock"))
            .arg("--ready-file")
            .arg(&ready)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the daemon ready", || ready.exists());
    let threads = assert_lowered(daemon.0.id(), documented("`daemon`"), "daemon");
    assert_eq!(threads, 2, "the event loop and the new-cgroup reader");
    let out = run(recorder()
        .args(["status", "--socket"])
        .arg(dir.path().join("api/sock")));
    assert!(out.status.success(), "the API answers once lowered");
}

/// `record`'s workload starts before the recorder lowers itself and keeps
/// all of it: no filter, no no_new_privs, every capability; the recorder
/// meanwhile runs lowered.
#[test]
fn record_lowers_itself_and_not_its_workload() {
    require_root();
    let dir = temp_dir();
    let seen = dir.path().join("status");
    let script = format!(
        "sleep 1; sh -c 'cat /proc/self/status' > {}; sleep 1",
        seen.display()
    );
    let record = Running(
        recorder()
            .args(["record", "-q", "-o"])
            .arg(dir.path().join("p.json"))
            .args(["--", "sh", "-c", &script])
            .spawn()
            .unwrap(),
    );
    wait_for("the workload's status", || {
        std::fs::read_to_string(&seen).is_ok_and(|s| s.contains("Seccomp_filters"))
    });
    assert_lowered(record.0.id(), documented("`record`"), "record");
    let mut record = record;
    assert!(record.0.wait().unwrap().success());
    let workload = state_of(&std::fs::read_to_string(&seen).unwrap());
    let own = state_of(&std::fs::read_to_string("/proc/self/status").unwrap());
    assert_eq!(
        workload,
        ThreadState {
            seccomp: 0,
            filters: 0,
            no_new_privs: 0,
            cap_eff: own.cap_eff
        },
        "a grandchild of the workload, started after the recorder lowered itself"
    );
}

/// `run --complain`'s workload runs under its own logging filter alone:
/// the recorder's is not stacked on it, so it masks none of its records.
#[test]
fn run_complain_lowers_itself_and_not_its_workload() {
    require_root();
    let dir = temp_dir();
    let seen = dir.path().join("status");
    let allow = dir.path().join("allow.json");
    std::fs::write(&allow, r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
    let script = format!(
        "sleep 1; cat /proc/self/status > {}; sleep 1",
        seen.display()
    );
    let complain = Running(
        recorder()
            .args(["run", "--complain", "--profile"])
            .arg(&allow)
            .args(["--", "sh", "-c", &script])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the workload's status", || {
        std::fs::read_to_string(&seen).is_ok_and(|s| s.contains("Seccomp_filters"))
    });
    assert_lowered(complain.0.id(), documented("`run`"), "run --complain");
    let mut complain = complain;
    assert!(complain.0.wait().unwrap().success());
    let workload = state_of(&std::fs::read_to_string(&seen).unwrap());
    assert_eq!(
        (workload.seccomp, workload.filters),
        (2, 1),
        "the profile's own filter, and only it"
    );
}

#[test]
fn logs_source_runs_lowered() {
    require_root();
    let dir = temp_dir();
    let err = dir.path().join("err");
    let logs = Running(
        recorder()
            .args(["logs", "--source", "audit", "-o", "/dev/null"])
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for("logs reading", || {
        std::fs::read_to_string(&err).is_ok_and(|t| t.contains("reading seccomp records"))
    });
    assert_lowered(logs.0.id(), documented("`logs --source`"), "logs --source");
}

/// With --no-self-confine nothing is lowered.
#[test]
fn no_self_confine_keeps_every_privilege() {
    require_root();
    let dir = temp_dir();
    let ready = dir.path().join("ready");
    let trace = Running(
        recorder()
            .args([
                "trace",
                "--container",
                &unique("kept"),
                "--wait",
                "--no-daemon",
            ])
            .args(["--no-self-confine", "-o", "/dev/null", "--ready-file"])
            .arg(&ready)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("trace --wait ready", || ready.exists());
    let own = state_of(&std::fs::read_to_string("/proc/self/status").unwrap());
    for t in threads_of(trace.0.id()) {
        assert_eq!((t.seccomp, t.no_new_privs, t.cap_eff), (0, 0, own.cap_eff));
    }
}

/// An output directory root does not own keeps CAP_DAC_OVERRIDE, which
/// writing there takes, and the profile is written.
#[test]
fn a_directory_root_does_not_own_keeps_dac_override() {
    require_root();
    let dir = temp_dir();
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let marker = dir.path().join("started");
    let script = format!("touch {}; sleep 1", marker.display());
    let profile = theirs.join("p.json");
    let record = Running(
        recorder()
            .args(["record", "-q", "-o"])
            .arg(&profile)
            .args(["--", "sh", "-c", &script])
            .spawn()
            .unwrap(),
    );
    wait_for("the workload started", || marker.exists());
    std::thread::sleep(Duration::from_millis(300));
    assert_lowered(
        record.0.id(),
        documented("`record`") | 1 << 1,
        "record into another user's directory",
    );
    let mut record = record;
    assert!(record.0.wait().unwrap().success());
    assert!(allowed_names(&std::fs::read_to_string(&profile).unwrap()).contains("execve"));
}
