//! End-to-end tests of `recorder record` against the real kernel: the exact
//! recorded set, agreement with strace, sufficiency and minimality under
//! libseccomp, exit status, signals and atomic output.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::seccomp::run_under_profile;
use common::*;

/// What a static glibc 2.36 binary does at start and exit on x86_64,
/// whatever its main does: execve, TLS and brk set-up, the robust list,
/// rseq registration, the stack limit, AT_SECURE-free readlink of
/// /proc/self/exe (static-pie self-relocation), getrandom for malloc's
/// tcache randomisation, mprotect of RELRO, and exit_group.
const STATIC_RUNTIME: &[&str] = &[
    "arch_prctl",
    "brk",
    "execve",
    "exit_group",
    "getrandom",
    "mprotect",
    "prlimit64",
    "readlink",
    "rseq",
    "set_robust_list",
    "set_tid_address",
];

/// The syscalls tests/programs/rare_syscalls.c makes itself.
const RARE: &[&str] = &[
    "getcpu",
    "getpriority",
    "mlock",
    "munlock",
    "personality",
    "sched_getaffinity",
];

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn record_stdout(args: &[&str]) -> String {
    let out = run(recorder().args(["record", "-o", "-"]).args(args));
    assert!(
        out.status.success(),
        "recorder record {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("profile is UTF-8")
}

fn record_to_file(dir: &Path, command: &[&str]) -> String {
    let path = dir.join("profile.json");
    let out = run(recorder()
        .args(["record", "-q", "-o"])
        .arg(&path)
        .arg("--")
        .args(command));
    assert!(
        out.status.success(),
        "recording {command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&path).expect("profile written")
}

#[test]
fn exact_set_of_a_known_program_while_another_cgroup_is_busy() {
    require_root();
    let dir = temp_dir();
    let rare = build_program(dir.path(), "rare_syscalls", &["-static", "-O1"]);
    let busy = build_program(dir.path(), "busy_threads", &["-static", "-O1", "-pthread"]);
    let mut other = Command::new(&busy).spawn().expect("starting busy process");
    let profile = record_stdout(&["--", rare.to_str().unwrap()]);
    other.kill().expect("stopping busy process");
    let _ = other.wait();

    let expected: BTreeSet<String> = set(STATIC_RUNTIME).union(&set(RARE)).cloned().collect();
    assert_eq!(allowed_names(&profile), expected);
    assert_eq!(architectures(&profile), ["SCMP_ARCH_X86_64"]);
}

#[test]
fn exact_json_shape() {
    require_root();
    let dir = temp_dir();
    let rare = build_program(dir.path(), "rare_syscalls", &["-static", "-O1"]);
    let profile = record_stdout(&["--", rare.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&profile).unwrap();
    assert_eq!(v["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(v["defaultErrnoRet"], 38);
    assert_eq!(v["syscalls"].as_array().unwrap().len(), 1);
    let names: Vec<&str> = v["syscalls"][0]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "names are sorted");
    assert!(profile.ends_with("}\n"), "trailing newline");
    assert!(profile.contains("\n  \"defaultAction\""), "2-space indent");
    // Deterministic: a second recording gives the same bytes.
    assert_eq!(record_stdout(&["--", rare.to_str().unwrap()]), profile);
}

#[test]
fn errno_flag_sets_default_errno() {
    require_root();
    let profile = record_stdout(&["--errno", "EPERM", "--", "true"]);
    let v: serde_json::Value = serde_json::from_str(&profile).unwrap();
    assert_eq!(v["defaultErrnoRet"], 1);
}

/// A cgroup created below the recorded one (as systemd-run or a nested
/// runtime would) is recorded too.
#[test]
fn nested_cgroup_is_recorded() {
    require_root();
    let dir = temp_dir();
    let rare = build_program(dir.path(), "rare_syscalls", &["-static", "-O1"]);
    let script = format!(
        "cg=$(sed -n 's/^0:://p' /proc/self/cgroup); \
         root=$(awk '$9 == \"cgroup2\" {{print $5; exit}}' /proc/self/mountinfo); \
         mkdir \"$root$cg/nested\" && echo $$ > \"$root$cg/nested/cgroup.procs\" && exec {}",
        rare.display()
    );
    let profile = record_stdout(&["--", "sh", "-c", &script]);
    let names = allowed_names(&profile);
    for rare in RARE {
        assert!(
            names.contains(*rare),
            "{rare} from the nested cgroup missing: {names:?}"
        );
    }
}

/// The recorded set equals what `strace -f` sees for the same workload.
fn assert_same_as_strace(command: &[&str], allowed_difference: &[&str]) {
    let dir = temp_dir();
    let traced = strace_names(dir.path(), command);
    let recorded = allowed_names(&record_to_file(dir.path(), command));
    let allowed = set(allowed_difference);
    let only_recorded: BTreeSet<_> = recorded.difference(&traced).cloned().collect();
    let only_traced: BTreeSet<_> = traced.difference(&recorded).cloned().collect();
    assert!(
        only_recorded.is_subset(&allowed) && only_traced.is_subset(&allowed),
        "recorded and strace differ for {command:?}:\nonly recorded: {only_recorded:?}\nonly strace: {only_traced:?}"
    );
}

#[test]
fn ls_matches_strace() {
    require_root();
    assert_same_as_strace(&["ls", "-l", "/"], &[]);
}

#[test]
fn shell_pipeline_with_subshells_matches_strace() {
    require_root();
    // rt_sigreturn runs only when a SIGCHLD handler interrupts the shell, and
    // strace's slowdown changes whether that happens during a given wait.
    assert_same_as_strace(
        &[
            "sh",
            "-c",
            "(echo b; echo a) | sort | (cat; ls / | wc -l) > /dev/null; x=$(echo sub); test $x = sub",
        ],
        &["rt_sigreturn"],
    );
}

#[test]
fn threads_match_strace() {
    require_root();
    let dir = temp_dir();
    let threads = build_program(dir.path(), "threads", &["-O1", "-pthread"]);
    assert_same_as_strace(&[threads.to_str().unwrap()], &[]);
}

/// The profile is sufficient (the workload runs under it) and minimal (a
/// syscall outside it fails with the profile's errno, ENOSYS).
#[test]
fn profile_is_sufficient_and_minimal() {
    require_root();
    let dir = temp_dir();
    let rare = build_program(dir.path(), "rare_syscalls", &["-static", "-O1"]);
    let profile = record_stdout(&["--", rare.to_str().unwrap()]);

    let ok = run_under_profile(&profile, &mut Command::new(&rare));
    assert!(
        ok.status.success(),
        "workload fails under its own profile: {ok:?}"
    );

    let extra = run_under_profile(&profile, Command::new(&rare).arg("extra"));
    assert_eq!(
        extra.status.code(),
        Some(38),
        "sysinfo is outside the profile and must fail with ENOSYS (the program exits with its errno)"
    );

    let ls_profile = record_to_file(dir.path(), &["ls", "-l", "/"]);
    let ls = run_under_profile(&ls_profile, Command::new("ls").args(["-l", "/"]));
    assert!(ls.status.success(), "ls fails under its profile: {ls:?}");
}

#[test]
fn exit_status_is_passed_through() {
    require_root();
    let exit_code_of = |script: &str| {
        run(recorder().args(["record", "-q", "-o", "/dev/null", "--", "sh", "-c", script]))
            .status
            .code()
    };
    assert_eq!(exit_code_of("exit 7"), Some(7));
    assert_eq!(exit_code_of("kill -TERM $$"), Some(128 + 15));
    let out = run(recorder().args(["record", "-o", "-", "--", "no-such-command-here"]));
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "recorder: no-such-command-here: command not found"
    );
    let dir = temp_dir();
    let not_executable = dir.path().join("data.txt");
    std::fs::write(&not_executable, "not a program\n").unwrap();
    let out = run(recorder()
        .args(["record", "-o", "-", "--"])
        .arg(&not_executable));
    assert_eq!(out.status.code(), Some(126));
}

/// Polls until `path` exists.
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_is_forwarded_and_the_profile_still_written() {
    require_root();
    let dir = temp_dir();
    let path = dir.path().join("p.json");
    let marker = dir.path().join("started");
    let script = format!("touch {}; sleep 30", marker.display());
    let mut child = recorder()
        .args(["record", "-q", "-o"])
        .arg(&path)
        .args(["--", "sh", "-c", &script])
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting recorder");
    wait_for(&marker);
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().expect("waiting for recorder");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "exit status of the interrupted shell: {stderr}"
    );
    let names = allowed_names(&std::fs::read_to_string(&path).expect("profile written"));
    // dash starts `touch` and `sleep` with vfork.
    for name in ["execve", "vfork", "wait4", "utimensat", "clock_nanosleep"] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
}

#[test]
fn output_file_is_replaced_atomically() {
    require_root();
    let dir = temp_dir();
    let path = dir.path().join("p.json");
    let marker = dir.path().join("started");
    std::fs::write(&path, "old profile\n").unwrap();
    let script = format!("touch {}; sleep 1", marker.display());
    let mut child = recorder()
        .args(["record", "-q", "-o"])
        .arg(&path)
        .args(["--", "sh", "-c", &script])
        .spawn()
        .expect("starting recorder");
    wait_for(&marker);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old profile\n");
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(allowed_names(&text).contains("execve"));
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut entries = entries;
    entries.sort();
    assert_eq!(
        entries,
        ["p.json", "started"],
        "no temp file is left behind"
    );
}

#[test]
fn special_files_are_written_directly() {
    require_root();
    let dir = temp_dir();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read_to_string(reader_path).unwrap());
    let out = run(recorder()
        .args(["record", "-q", "-o"])
        .arg(&fifo)
        .args(["--", "true"]));
    assert!(out.status.success());
    assert!(allowed_names(&reader.join().unwrap()).contains("execve"));
    assert!(fifo.exists(), "the FIFO is not replaced");

    let out = run(recorder().args(["record", "-q", "-o", "/dev/stdout", "--", "true"]));
    assert!(allowed_names(&String::from_utf8_lossy(&out.stdout)).contains("execve"));
}

#[test]
fn unwritable_output_fails_before_running_the_command() {
    require_root();
    let dir = temp_dir();
    let marker = dir.path().join("ran");
    let out = run(recorder()
        .args(["record", "-o", "/nonexistent-dir/p.json", "--", "touch"])
        .arg(&marker));
    assert_one_line_error(
        &out,
        1,
        "cannot write /nonexistent-dir/p.json: directory /nonexistent-dir does not exist",
    );
    assert!(!marker.exists(), "the command must not run");
}

#[test]
fn wait_all_waits_for_daemonised_children() {
    require_root();
    let dir = temp_dir();
    let rare = build_program(dir.path(), "rare_syscalls", &["-static", "-O1"]);
    let script = format!("(sleep 0.3; {}) & exit 0", rare.display());
    let without = allowed_names(&record_stdout(&["-q", "--", "sh", "-c", &script]));
    assert!(
        !without.contains("getcpu"),
        "without --wait-all the recording ends with sh"
    );
    let with = allowed_names(&record_stdout(&[
        "-q",
        "--wait-all",
        "--",
        "sh",
        "-c",
        &script,
    ]));
    for rare in RARE {
        assert!(
            with.contains(*rare),
            "{rare} missing with --wait-all: {with:?}"
        );
    }
}

#[test]
fn warns_when_already_under_seccomp() {
    require_root();
    // Everything but sysinfo: the recorder runs fine, yet is under a filter.
    let names: Vec<String> = (0..512u32)
        .filter_map(syscall_name)
        .filter(|n| n != "sysinfo")
        .collect();
    let v = serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}],
    });
    let out = run_under_profile(
        &v.to_string(),
        recorder().args(["record", "-o", "/dev/null", "--", "true"]),
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("seccomp filter"), "{stderr}");
}

fn syscall_name(nr: u32) -> Option<String> {
    recorder::arch::Arch::X86_64
        .table()
        .name(nr)
        .map(String::from)
}

/// Runs the recorder as `nobody` with no capabilities.
#[test]
fn unprivileged_user_gets_one_line_error() {
    require_root();
    let out = run(Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_recorder"))
        .args(["record", "-o", "-", "--", "true"]));
    assert_one_line_error(
        &out,
        1,
        "permission denied loading the eBPF program: run as root",
    );
}

/// Runs `prepare` (e.g. unmounting something) in a new mount namespace, then
/// `recorder record <args>` there: the host's mounts stay as they are.
fn record_in_mount_namespace(prepare: &str, args: &str) -> std::process::Output {
    let script = format!(
        "{prepare} && exec {} record {args}",
        env!("CARGO_BIN_EXE_recorder")
    );
    run(Command::new("unshare").args(["-m", "sh", "-c", &script]))
}

/// In a mount namespace without a cgroup2 mount the error names the fix.
#[test]
fn missing_cgroup2_mount_is_reported() {
    require_root();
    let cgroup2 = recorder::cgroup::Cgroup2Mount::find()
        .expect("the host has a cgroup2 mount")
        .root;
    let out = record_in_mount_namespace(&format!("umount {}", cgroup2.display()), "-o - -- true");
    assert_one_line_error(&out, 1, "no cgroup2 filesystem is mounted");
}

/// Every hook kind records the same workload identically, and a hook that
/// cannot be used (the classic tracepoint without tracefs) is reported.
#[test]
fn every_hook_kind_records_the_same() {
    require_root();
    let dir = temp_dir();
    let rare = build_program(dir.path(), "rare_syscalls", &["-static", "-O1"]);
    let rare = rare.to_str().unwrap();
    let reference = allowed_names(&record_stdout(&["--", rare]));
    for kind in ["tp-btf", "raw-tp", "tracepoint"] {
        let names = allowed_names(&record_stdout(&["--attach", kind, "--", rare]));
        assert_eq!(names, reference, "hook {kind}");
    }
    let out = record_in_mount_namespace(
        "umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; true",
        "-o - --attach tracepoint -- true",
    );
    assert_one_line_error(&out, 1, "no usable sys_enter hook");
}

/// A hook the kernel refuses is reported on one line with the errno the
/// kernel returned: here tracefs is replaced by an empty tmpfs (in a mount
/// namespace of its own), so that opening a tracepoint's id fails with
/// ENOENT (the first the classic hook attaches: `task_newtask`, which tells
/// the hot path of new tasks, before `sys_enter`).
#[test]
fn failed_attach_names_the_errno() {
    require_root();
    let out = record_in_mount_namespace(
        "umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; \
         mount -t tmpfs none /sys/kernel/tracing && touch /sys/kernel/tracing/not-tracefs",
        "-o - --attach tracepoint -- true",
    );
    assert_one_line_error(&out, 1, "no usable sys_enter hook via tracepoint");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.ends_with(
            ": attach to task_newtask: `/sys/kernel/tracing/events/task/task_newtask/id`: \
             No such file or directory (os error 2)\n"
        ),
        "{stderr}"
    );
}

/// The live status line is drawn on a terminal only (here one made by
/// script(1)), never when stderr is a pipe or with --quiet.
#[test]
fn status_line_only_on_a_terminal() {
    require_root();
    let dir = temp_dir();
    let typescript = dir.path().join("typescript");
    let inner = format!(
        "{} record -o /dev/null -- sleep 0.3",
        env!("CARGO_BIN_EXE_recorder")
    );
    let out = run(Command::new("script")
        .args(["-qc", &inner])
        .arg(&typescript)
        .stdin(Stdio::null()));
    assert!(out.status.success(), "{out:?}");
    let screen = std::fs::read_to_string(&typescript).unwrap();
    assert!(screen.contains("\r\x1b[2Krecording 0."), "{screen:?}");
    assert!(screen.contains("distinct syscalls"), "{screen:?}");

    let piped = run(recorder().args(["record", "-o", "/dev/null", "--", "sleep", "0.3"]));
    assert!(!String::from_utf8_lossy(&piped.stderr).contains('\r'));
    let quiet = run(Command::new("script")
        .args(["-qc", &inner.replace("record ", "record --quiet ")])
        .arg(dir.path().join("quiet"))
        .stdin(Stdio::null()));
    assert!(quiet.status.success());
    let screen = std::fs::read_to_string(dir.path().join("quiet")).unwrap();
    assert!(!screen.contains("recording "), "{screen:?}");
}

/// Syscall numbers beyond the bitmap (here 5000 and -1) are counted and
/// reported, never written out of bounds or silently lost.
#[test]
fn out_of_range_numbers_are_reported() {
    require_root();
    let dir = temp_dir();
    let prog = compile_c(
        dir.path(),
        "out_of_range",
        "#include <unistd.h>\n#include <sys/syscall.h>\n\
         int main(void) { syscall(5000); syscall(-1); return 0; }\n",
        &["-static", "-O1"],
    );
    let out = run(recorder()
        .args(["record", "-q", "-o", "-", "--"])
        .arg(&prog));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: 2 syscalls had numbers beyond the recorder's table"),
        "{stderr}"
    );
    let names = allowed_names(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        names,
        set(STATIC_RUNTIME),
        "only the runtime's own syscalls have names"
    );
}

/// The command's stdout is its own: without -o the recorder refuses before
/// running anything (the profile would mix with the command's output), and
/// `-o -` puts the profile on stdout after everything the command wrote.
#[test]
fn profile_never_mixes_with_the_commands_stdout() {
    require_root();
    let dir = temp_dir();
    let marker = dir.path().join("ran");
    let out = run(recorder()
        .args(["record", "-q", "--", "touch"])
        .arg(&marker));
    assert_one_line_error(
        &out,
        2,
        "recorder: record needs -o FILE for the profile: the command's own output goes to stdout (-o - writes the profile there after it)",
    );
    assert!(out.stdout.is_empty());
    assert!(!marker.exists(), "the command must not run");

    let out = run(recorder().args(["record", "-q", "-o", "-", "--", "echo", "HELLO"]));
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let profile = stdout
        .strip_prefix("HELLO\n")
        .unwrap_or_else(|| panic!("the command's output comes first: {stdout}"));
    assert!(allowed_names(profile).contains("write"), "{profile}");

    let help = run(recorder().args(["record", "--help"]));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("Usage: recorder record -o FILE [OPTIONS] -- CMD..."),
        "{help}"
    );
}

/// Processes the command left running when it exited are named, with the
/// flag that waits for them.
#[test]
fn background_children_left_running_are_reported() {
    require_root();
    let out = run(recorder().args([
        "record",
        "-q",
        "-o",
        "/dev/null",
        "--",
        "sh",
        "-c",
        "sleep 2 & sleep 2 & exit 0",
    ]));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "recorder: warning: 2 processes the command started were still running when it exited and are not in the profile from then on: add --wait-all to wait for them\n"
    );
    let out = run(recorder().args([
        "record",
        "-q",
        "-o",
        "/dev/null",
        "--",
        "sh",
        "-c",
        "exit 0",
    ]));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// A target the recorder can check but not create (root passes access(2)
/// on /proc) is refused before the command runs, like any other.
#[test]
fn uncreatable_output_fails_before_running_the_command() {
    require_root();
    let dir = temp_dir();
    let marker = dir.path().join("ran");
    let out = run(recorder()
        .args(["record", "-o", "/proc/x.json", "--", "touch"])
        .arg(&marker));
    assert_one_line_error(&out, 1, "cannot write /proc/x.json: ");
    assert!(!marker.exists(), "the command must not run");
}

/// -vv shows the recorder's own debug lines, not the eBPF loader's
/// relocation dump (-vvv adds those).
#[test]
fn debug_output_is_the_recorders_own() {
    require_root();
    let out = run(recorder().args(["-vv", "record", "-o", "/dev/null", "--", "true"]));
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("recorder: debug: hook: "), "{stderr}");
    assert!(!stderr.contains("relocating"), "{stderr}");
    assert!(
        stderr.lines().all(|l| l.starts_with("recorder: ")),
        "{stderr}"
    );
}
