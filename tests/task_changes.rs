//! The hot path remembers, per CPU, the last task it saw and that task's
//! cgroup (`recorder_common::CpuCache::task_key`); these tests change what
//! it remembers under it, against the real kernel, on every hook: a task
//! that moves itself to a recorded cgroup, one moved from another CPU while
//! it loops, and new tasks that take dead tasks' kernel stacks while
//! alternating between a recorded cgroup and another. Each asserts what was
//! recorded on each side of the change.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::kernel::{seen_names, start_in_cgroup, test_cgroup};
use common::*;
use recorder::bpf::{AttachKind, Seen, Start, SyscallRecorder};
use recorder::cgroup::{Cgroup2Mount, OwnedCgroup};

/// The set of CPU `cpu` alone.
fn cpu_set(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain bits; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE on any machine this runs on.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

/// Keeps the calling thread on `cpu`, so that the CPUs the tests' tasks
/// run on see no syscall of the test's own between the tasks' syscalls
/// (which would make them forget the task, and the test pass by chance).
fn pin_this_thread(cpu: usize) {
    let set = cpu_set(cpu);
    // SAFETY: sched_setaffinity on the calling thread with a valid set.
    let result = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    assert_eq!(result, 0, "pinning the test to CPU {cpu}");
}

/// The last CPU, where the test runs; its tasks run on CPU 0.
fn test_cpu() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) - 1
}

fn assert_moved(seen: &Seen, kind: AttachKind, what: &str) {
    let seen = seen_names(seen);
    assert!(
        seen.contains("umask"),
        "{kind}, {what}: the syscall made after the move was missed: {seen:?}"
    );
    assert!(
        !seen.contains("getsid"),
        "{kind}, {what}: the syscall made before the move was recorded: {seen:?}"
    );
}

/// On every hook: `migrating MODE ...` started on CPU 0 in a cgroup of its
/// own, then `drive`n, with a recording of `NAME-moved-to` where it moves;
/// what was recorded on each side of the move is checked.
fn check_a_move(
    name: &str,
    mode: &str,
    drive: impl Fn(&mut Command, &OwnedCgroup) -> std::process::ExitStatus,
) {
    require_root();
    let dir = temp_dir();
    let program = build_program(dir.path(), "migrating", &["-O1", "-static"]);
    let mount = Cgroup2Mount::find().unwrap();
    pin_this_thread(test_cpu());
    for kind in AttachKind::ALL {
        let mut recorder = SyscallRecorder::load_with(Some(kind)).unwrap();
        let outside = test_cgroup(&mount, &format!("{name}-outside"));
        let recorded = test_cgroup(&mount, &format!("{name}-moved-to"));
        let id = recorder.start(recorded.id(), Start::Now).unwrap();
        let mut cmd = Command::new(&program);
        cmd.arg(mode);
        start_in_cgroup(&mut cmd, outside.path(), Some(0));
        let status = drive(&mut cmd, &recorded);
        assert!(status.success(), "{kind}: migrating {mode}: {status}");
        assert_moved(&recorder.stop(id).unwrap(), kind, mode);
    }
}

/// A task pinned to one CPU, busy there in an unrecorded cgroup, writes
/// itself into a recorded one and makes one more syscall at once, with no
/// other task run on its CPU in between.
#[test]
fn a_task_that_moves_itself_is_recorded_from_its_move() {
    check_a_move("self", "self", |cmd, recorded| {
        cmd.arg(recorded.procs_file()).status().unwrap()
    });
}

/// A task looping on one CPU is moved into a recorded cgroup from another,
/// then told so by a signal: its syscalls from then on are recorded.
#[test]
fn a_task_moved_while_it_runs_is_recorded_from_its_move() {
    check_a_move("wait", "wait", |cmd, recorded| {
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready, "ready\n");
        std::fs::write(recorded.procs_file(), child.id().to_string()).unwrap();
        // SAFETY: kill(2) on our own child, which has not been waited for.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) }, 0);
        child.wait().unwrap()
    });
}

/// Short-lived tasks alternate between two recorded cgroups, each making
/// one syscall the other side does not: a new task may get the kernel
/// stack (and so the registers' address) of one that just died in the
/// other cgroup, and must not be taken for it. Whether a stack is reused
/// is the kernel's choice, so the test also checks that every task created
/// and every move was counted (what makes each CPU forget).
#[test]
fn new_tasks_on_dead_tasks_stacks_keep_their_own_cgroup() {
    require_root();
    let dir = temp_dir();
    let program = build_program(dir.path(), "syscaller", &["-O1", "-static"]);
    let mount = Cgroup2Mount::find().unwrap();
    pin_this_thread(test_cpu());
    for kind in AttachKind::ALL {
        let mut recorder = SyscallRecorder::load_with(Some(kind)).unwrap();
        let left = test_cgroup(&mount, "left");
        let right = test_cgroup(&mount, "right");
        let left_id = recorder.start(left.id(), Start::Now).unwrap();
        let right_id = recorder.start(right.id(), Start::Now).unwrap();
        let changes_before = recorder.task_changes().unwrap();
        const ROUNDS: u64 = 100;
        for _ in 0..ROUNDS {
            for (group, call) in [(&left, "getsid"), (&right, "umask")] {
                let mut cmd = Command::new(&program);
                cmd.arg(call).stdout(Stdio::null());
                start_in_cgroup(&mut cmd, group.path(), Some(0));
                let status = cmd.status().unwrap();
                assert!(status.success(), "{kind}: syscaller {call}: {status}");
            }
        }
        // Each task was created (one change) and moved itself (another).
        let changes = recorder.task_changes().unwrap() - changes_before;
        assert!(
            changes >= 2 * 2 * ROUNDS,
            "{kind}: {changes} task changes counted for {} tasks created and moved",
            2 * ROUNDS
        );
        let left_seen = seen_names(&recorder.stop(left_id).unwrap());
        let right_seen = seen_names(&recorder.stop(right_id).unwrap());
        assert!(
            left_seen.contains("getsid") && !left_seen.contains("umask"),
            "{kind}: left: {left_seen:?}"
        );
        assert!(
            right_seen.contains("umask") && !right_seen.contains("getsid"),
            "{kind}: right: {right_seen:?}"
        );
    }
}
