//! Faults the recorder must survive without losing a profile, each as a
//! user meets it: a recorder killed with SIGKILL (what it leaves: a
//! temporary file, an attached program, a recording cgroup), an output on a
//! full filesystem, and a recorded container whose cgroup disappears.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::containers::*;
use common::*;

/// One at a time: they count the programs attached to the host.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(20), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The ids of the recorder's programs loaded on the host (any process's).
fn recorder_programs() -> BTreeSet<u32> {
    let out = run(Command::new("bpftool").args(["prog", "show", "--json"]));
    assert!(out.status.success(), "bpftool prog show failed");
    let progs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool's JSON");
    progs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("sys_enter_") && !n.contains("noop"))
        })
        .filter_map(|p| p["id"].as_u64().map(|id| id as u32))
        .collect()
}

/// SIGKILL while recording: no program of ours stays loaded; the temporary
/// file a killed writer leaves beside the target is removed by the next
/// write there; the recording cgroup it left (its command still running
/// in it) is removed by the next `record` once its processes are gone.
#[test]
fn a_killed_record_leaves_nothing_behind() {
    let _serial = serial();
    require_root();
    require_program("bpftool", "bpftool");
    let dir = temp_dir();
    let before = recorder_programs();
    let target = dir.path().join("p.json");
    let marker = dir.path().join("started");
    let mut recording = recorder()
        .args(["record", "-q", "-o"])
        .arg(&target)
        .arg("--")
        .args(["sh", "-c"])
        .arg(format!("touch {}; exec sleep 600", marker.display()))
        .stdin(Stdio::null())
        .spawn()
        .expect("starting recorder record");
    wait_until("the recorded command started", || marker.exists());
    let during = recorder_programs();
    assert!(
        !during.is_subset(&before),
        "the recording's program is not loaded: before {before:?}, during {during:?}"
    );
    let pid = recording.id();
    recording.kill().unwrap();
    recording.wait().unwrap();
    // Only those that appeared with it: other recorders may come and go.
    let its: BTreeSet<u32> = during.difference(&before).copied().collect();
    wait_until("the killed recorder's program to go", || {
        recorder_programs().is_disjoint(&its)
    });

    // The recording cgroup, its command still in it.
    let cgroup = cgroup2_mount().join(format!("recorder/rec-{pid}"));
    let cgroup = if cgroup.exists() {
        cgroup
    } else {
        cgroup2_mount().join(format!("rec-{pid}"))
    };
    assert!(
        cgroup.exists(),
        "the killed recorder's cgroup {} is not where the test looks",
        cgroup.display()
    );
    // A killed writer's temporary file (pid_max is below 4194304, so no
    // process has this pid).
    let stale = dir.path().join(".p.json.4194304.tmp");
    std::fs::write(&stale, "half a profi").unwrap();
    let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap();
    for pid in procs.lines().filter_map(|p| p.parse::<i32>().ok()) {
        // SAFETY: plain kill(2).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    wait_until("the left command to end", || {
        std::fs::read_to_string(cgroup.join("cgroup.procs")).is_ok_and(|p| p.trim().is_empty())
    });
    let out = run(recorder()
        .args(["record", "-q", "-o"])
        .arg(&target)
        .args(["--", "true"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !cgroup.exists(),
        "{} left by the killed recorder is still there",
        cgroup.display()
    );
    assert!(!stale.exists(), "{} is still there", stale.display());
    assert!(allowed_names(&std::fs::read_to_string(&target).unwrap()).contains("execve"));
}

/// The output on a full filesystem: one line naming the file in $TMPDIR
/// that holds the profile; the exit status is the command's own when that
/// is not 0, else 74 (EX_IOERR).
#[test]
fn a_full_filesystem_leaves_the_profile_in_tmpdir() {
    let _serial = serial();
    require_root();
    let dir = temp_dir();
    let full = FullTmpfs::mount(&dir.path().join("full"));
    let tmpdir = dir.path().join("tmp");
    std::fs::create_dir(&tmpdir).unwrap();
    for (script, status) in [("true", 74), ("exit 5", 5)] {
        let out = run(recorder()
            .args(["record", "-q", "-o"])
            .arg(full.0.join("p.json"))
            .args(["--", "sh", "-c", script])
            .env("TMPDIR", &tmpdir));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{script}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        let fallback = std::fs::read_dir(&tmpdir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| lines[0].contains(&*p.to_string_lossy()))
            .unwrap_or_else(|| panic!("the error names no file in $TMPDIR: {stderr}"));
        let names = allowed_names(&std::fs::read_to_string(&fallback).unwrap());
        assert!(
            names.contains("execve"),
            "{}: {names:?}",
            fallback.display()
        );
        std::fs::remove_file(fallback).unwrap();
    }
}

/// A recorded container killed and deleted (`runc kill`, `runc delete`):
/// its cgroup disappears, and the trace still writes what it recorded.
#[test]
fn a_container_whose_cgroup_disappears_still_gets_its_profile() {
    let _serial = serial();
    require_root();
    require_program("runc", "runc");
    let dir = temp_dir();
    let dir = dir.path();
    let rootfs = busybox_rootfs(dir);
    let id = unique("vanishing");
    let bundle = RuncBundle::new(
        dir,
        &rootfs,
        &id,
        &[
            "sh",
            "-c",
            "while true; do mkdir -p /tmp/d; sleep 0.1; done",
        ],
        false,
        None,
    );
    let _container = Detached::run(&bundle, &id);
    let tracing = Tracing::start(dir, "vanishing", &["--container", &id, "--base", "none"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        run(Command::new("runc").args(["kill", &id, "KILL"]))
            .status
            .success()
    );
    let deleted = run(Command::new("runc").args(["delete", "--force", &id]));
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    let (_, stderr, names) = tracing.finish();
    assert!(names.contains("mkdir"), "{names:?}\n{stderr}");
}
