//! The kernel side's container scope and its recordings of new cgroups,
//! driven through the library against the real kernel (see
//! `recorder_common::SLOT_IN_CONTAINER` and `recorder_common::control`).

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use common::kernel::{seen_names, start_in_cgroup, test_cgroup};
use common::*;
use recorder::bpf::{AttachKind, Scope, Seen, Start, SyscallRecorder};
use recorder::cgroup::{Cgroup2Mount, OwnedCgroup};

/// The container scope with the pid namespace alone as its boundary.
const PID_NS_ONLY: Scope = Scope::Container {
    runtime_mount_ns: None,
};

/// Runs `args` with its first syscall after exec already in `cgroup`.
fn run_in(cgroup: &Path, args: &[&str]) {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]);
    start_in_cgroup(&mut cmd, cgroup, None);
    let status = cmd.status().expect("running the test command");
    assert!(status.success(), "{args:?}: {status}");
}

/// Tasks in the host's pid namespace do not count; tasks in a pid namespace
/// of their own do, from their first syscall (`Start::Now`).
#[test]
fn container_scope_counts_only_tasks_outside_the_host_pid_namespace() {
    require_root();
    let mount = Cgroup2Mount::find().unwrap();
    let mut recorder = SyscallRecorder::load().unwrap();
    let group = test_cgroup(&mount, "scope");
    let id = recorder
        .start_scoped(group.id(), Start::Now, PID_NS_ONLY)
        .unwrap();
    run_in(group.path(), &["true"]);
    assert_eq!(
        recorder.seen(id).unwrap(),
        Seen::default(),
        "a host-namespace process was recorded"
    );
    // unshare(1) itself stays in the host's namespace; the child it forks
    // is pid 1 of a new one and execs true there.
    run_in(group.path(), &["unshare", "--pid", "--fork", "true"]);
    assert_only_the_inside(&recorder.stop(id).unwrap(), "pid");
}

/// What `unshare` ran inside its new namespace was recorded, from its exec
/// to its exit, and the host-side unshare call was not.
fn assert_only_the_inside(seen: &Seen, what: &str) {
    let seen = seen_names(seen);
    assert!(
        seen.contains("execve") && seen.contains("exit_group"),
        "{what}: {seen:?}"
    );
    assert!(
        !seen.contains("unshare"),
        "{what}: the host-side unshare was recorded: {seen:?}"
    );
}

/// With `Start::AtFirstExec`, only an exec outside the host's pid namespace
/// arms the recording.
#[test]
fn container_scope_arms_at_an_exec_inside() {
    require_root();
    let mount = Cgroup2Mount::find().unwrap();
    let mut recorder = SyscallRecorder::load().unwrap();
    let group = test_cgroup(&mount, "arm");
    let id = recorder
        .start_scoped(group.id(), Start::AtFirstExec, PID_NS_ONLY)
        .unwrap();
    // Execs in the host's namespace: nothing.
    run_in(group.path(), &["sh", "-c", "true; true"]);
    assert_eq!(recorder.seen(id).unwrap(), Seen::default());
    run_in(group.path(), &["unshare", "--pid", "--fork", "true"]);
    let seen = seen_names(&recorder.stop(id).unwrap());
    assert!(
        seen.contains("execve") && seen.contains("exit_group"),
        "{seen:?}"
    );
}

/// A task that shares the host's pid namespace but is in a mount namespace
/// other than the runtime's (here the test's own) counts too, from the
/// exec that arms the recording; the host-side `unshare` before it does
/// not. With every way of attaching, since each reads the task's namespace
/// itself.
#[test]
fn container_scope_counts_tasks_in_a_mount_namespace_other_than_the_runtime_s() {
    require_root();
    let mount = Cgroup2Mount::find().unwrap();
    let ours = std::fs::metadata("/proc/self/ns/mnt").unwrap().ino();
    for kind in AttachKind::ALL {
        let mut recorder = SyscallRecorder::load_with(Some(kind)).unwrap();
        assert!(recorder.reads_mount_ns(), "{kind:?}");
        let group = test_cgroup(&mount, &format!("mntns-{}", kind.name()));
        let scope = Scope::Container {
            runtime_mount_ns: Some(ours),
        };
        let id = recorder
            .start_scoped(group.id(), Start::AtFirstExec, scope)
            .unwrap();
        run_in(group.path(), &["sh", "-c", "true; true"]);
        assert_eq!(recorder.seen(id).unwrap(), Seen::default(), "{kind:?}");
        // unshare(1) makes the namespace and execs true in it, in the host's
        // pid namespace.
        run_in(group.path(), &["unshare", "--mount", "true"]);
        assert_only_the_inside(&recorder.stop(id).unwrap(), kind.name());
    }
}

/// The kernel side starts a recording for a cgroup created after the chosen
/// moment, at its first syscall; older cgroups get none; kept recordings
/// survive the end of watching, the others end.
#[test]
fn recordings_of_new_cgroups() {
    require_root();
    let mount = Cgroup2Mount::find().unwrap();
    let mut recorder = SyscallRecorder::load().unwrap();
    let old = test_cgroup(&mount, "old");
    let moment = test_cgroup(&mount, "moment");
    recorder
        .record_new_cgroups(moment.id(), Start::Now, Scope::All, 0)
        .unwrap();
    let kept = test_cgroup(&mount, "kept");
    let dropped = test_cgroup(&mount, "dropped");
    run_in(old.path(), &["true"]);
    run_in(
        kept.path(),
        &["sh", "-c", "mkdir /dev/null/x 2>/dev/null; true"],
    );
    run_in(dropped.path(), &["true"]);
    let started: BTreeSet<u64> = recorder
        .new_cgroup_recordings()
        .unwrap()
        .iter()
        .map(|r| r.root().0)
        .filter(|id| [old.id().0, kept.id().0, dropped.id().0].contains(id))
        .collect();
    assert_eq!(started, BTreeSet::from([kept.id().0, dropped.id().0]));
    assert_eq!(recorder.new_cgroups_missed().unwrap(), 0);
    let keep = recorder
        .new_cgroup_recordings()
        .unwrap()
        .into_iter()
        .find(|r| r.root() == kept.id())
        .unwrap();
    recorder.keep(keep);
    recorder.stop_new_cgroups().unwrap();
    assert!(recorder.new_cgroup_recordings().unwrap().is_empty());
    // The kept recording still records.
    run_in(
        kept.path(),
        &["sh", "-c", "rmdir /nonexistent-dir 2>/dev/null; true"],
    );
    let seen = seen_names(&recorder.stop(keep).unwrap());
    assert!(seen.contains("mkdir") && seen.contains("rmdir"), "{seen:?}");
    // A cgroup created after the end of watching gets no recording.
    let late = test_cgroup(&mount, "late");
    run_in(late.path(), &["true"]);
    assert!(recorder.new_cgroup_recordings().unwrap().is_empty());
}

/// A recording the kernel side starts for a new cgroup in the container
/// scope takes the mount namespace of the parent of the cgroup's first task
/// (a runtime's, here the test's own) as the runtime's: a task in the host's
/// pid namespace counts once in another mount namespace (a `hostPID`
/// container's), not before, also when the first task is already in it
/// (as crun's container process is when it enters its cgroup).
#[test]
fn new_cgroup_recordings_take_the_mount_namespace_of_the_first_task_s_parent() {
    require_root();
    let mount = Cgroup2Mount::find().unwrap();
    let mut recorder = SyscallRecorder::load().unwrap();
    let moment = test_cgroup(&mount, "ns-moment");
    recorder
        .record_new_cgroups(moment.id(), Start::AtFirstExec, PID_NS_ONLY, 0)
        .unwrap();
    let runc_like = test_cgroup(&mount, "ns-runc");
    run_in(runc_like.path(), &["sh", "-c", "true; true"]);
    run_in(runc_like.path(), &["unshare", "--mount", "true"]);
    // Its first task enters the cgroup after it made its namespace.
    let crun_like = test_cgroup(&mount, "ns-crun");
    let procs = crun_like.path().join("cgroup.procs");
    let script = format!("echo $$ > {}; exec true", procs.display());
    let out = run(Command::new("unshare").args(["--mount", "sh", "-c", &script]));
    assert!(out.status.success(), "{out:?}");
    let recordings = recorder.new_cgroup_recordings().unwrap();
    let of = |group: &OwnedCgroup| {
        *recordings
            .iter()
            .find(|r| r.root() == group.id())
            .expect("a recording of the new cgroup")
    };
    let (runc_recording, crun_recording) = (of(&runc_like), of(&crun_like));
    recorder.keep(runc_recording);
    recorder.keep(crun_recording);
    recorder.stop_new_cgroups().unwrap();
    assert_only_the_inside(&recorder.stop(runc_recording).unwrap(), "runc-like");
    let seen = seen_names(&recorder.stop(crun_recording).unwrap());
    assert!(
        seen.contains("execve") && seen.contains("exit_group"),
        "crun-like: {seen:?}"
    );
}
