//! The recorder's own seccomp profiles (`profiles/self/`) hold everything
//! each long-running command does once it has lowered itself, for the
//! binary cargo built and for the release binary `cargo xtask dist` made.
//!
//! Each command runs its scenarios with the hidden `--self-profile-cgroup
//! DIR`: where it would load its filter it moves into cgroup DIR instead,
//! which a `recorder trace --cgroup DIR` records from then on. What a
//! command's recording holds must be inside its shipped profile (a subset,
//! not equality: error paths and timing vary from run to run).
//!
//! `RECORDER_BLESS_SELF_PROFILES=1 cargo test --test self_profiles
//! the_shipped_self_profiles_cover_what_the_commands_do` writes
//! `profiles/self/` anew: what was recorded plus [`RUNTIME_BASELINE`].

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::containers::*;
use common::*;

/// The commands with a profile of their own.
const COMMANDS: [&str; 5] = ["record", "trace", "logs", "run", "daemon"];

/// Syscalls glibc and Rust's runtime make on paths a run seldom takes, kept
/// in every profile so that a rare path cannot fail with ENOSYS: memory
/// (a large allocation maps, a free may unmap or advise), threads and their
/// exit, signal delivery and a panic's abort, sleeping and the clock (and
/// the kernel's restart of a sleep or poll a stop and SIGCONT interrupted),
/// writing a message.
const RUNTIME_BASELINE: &[&str] = &[
    "brk",
    "clock_gettime",
    "clock_nanosleep",
    "close",
    "exit",
    "exit_group",
    "futex",
    "getpid",
    "getrandom",
    "gettid",
    "madvise",
    "mmap",
    "mprotect",
    "mremap",
    "munmap",
    "nanosleep",
    "restart_syscall",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "sigaltstack",
    "tgkill",
    "write",
    "writev",
];

/// Calls of paths the scenarios cannot force, by command: `trace --wait`
/// finds a new cgroup's path from its id (`open_by_handle_at`, then
/// `readlink` of /proc/self/fd) when the cgroup's first process has moved
/// on or gone before it was sighted (the daemon, which shares this step,
/// takes it at every flush).
const UNFORCED: &[(&str, &[&str])] = &[("trace", &["open_by_handle_at", "readlink"])];

/// A recorder binary under test, and the $TMPDIR it runs with (where the
/// scenarios' failed writes leave their profiles), if not the test's own.
#[derive(Clone)]
struct Binary(PathBuf, Option<PathBuf>);

impl Binary {
    fn new(path: PathBuf) -> Binary {
        Binary(path, None)
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.0);
        if let Some(tmpdir) = &self.1 {
            cmd.env("TMPDIR", tmpdir);
        }
        cmd
    }

    /// The same binary with $TMPDIR at `dir`.
    fn with_tmpdir(&self, dir: &Path) -> Binary {
        Binary(self.0.clone(), Some(dir.to_path_buf()))
    }
}

/// A `recorder trace --cgroup DIR` recording what the commands that move
/// into DIR do. A sleeping process keeps DIR populated between them (the
/// trace would end when DIR empties); it makes no syscall there, as it is
/// moved in while it sleeps and ends by SIGKILL.
struct SelfRecording {
    command: &'static str,
    cgroup: PathBuf,
    profile: PathBuf,
    tracing: Option<Child>,
    keeper: Option<Child>,
    log: PathBuf,
}

impl SelfRecording {
    fn start(command: &'static str, work: &Path) -> SelfRecording {
        let mount = recorder::cgroup::Cgroup2Mount::find().expect("a cgroup2 mount");
        let relative = format!("/recorder-self-{}-{command}", std::process::id());
        let cgroup = mount.path_of(Path::new(&relative));
        let _ = std::fs::remove_dir(&cgroup);
        std::fs::create_dir(&cgroup).expect("creating the self-profile cgroup");
        let keeper = Command::new("sleep")
            .arg("100000")
            .spawn()
            .expect("starting sleep");
        let asleep = || {
            std::fs::read_to_string(format!("/proc/{}/wchan", keeper.id()))
                .is_ok_and(|w| w.contains("nanosleep"))
        };
        wait_until("the keeper asleep", asleep);
        std::fs::write(cgroup.join("cgroup.procs"), keeper.id().to_string())
            .expect("moving the keeper in");
        let profile = work.join(format!("self-{command}.json"));
        let ready = work.join(format!("self-{command}.ready"));
        let log = work.join(format!("self-{command}.log"));
        let tracing = recorder()
            .args(["trace", "--no-self-confine", "--base", "none", "-q"])
            .args(["--cgroup", &relative, "-o"])
            .arg(&profile)
            .arg("--ready-file")
            .arg(&ready)
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting recorder trace");
        let recording = SelfRecording {
            command,
            cgroup,
            profile,
            tracing: Some(tracing),
            keeper: Some(keeper),
            log,
        };
        wait_until(&format!("trace of {command} ready"), || ready.exists());
        recording
    }

    /// The flag that makes a command move in.
    fn flag(&self) -> [OsString; 2] {
        [
            "--self-profile-cgroup".into(),
            self.cgroup.clone().into_os_string(),
        ]
    }

    /// Ends the recording once nothing runs in it, and returns its names.
    fn finish(mut self) -> BTreeSet<String> {
        let mut keeper = self.keeper.take().unwrap();
        let _ = keeper.kill();
        let _ = keeper.wait();
        wait_until(&format!("{} processes gone", self.command), || {
            std::fs::read_to_string(self.cgroup.join("cgroup.procs"))
                .is_ok_and(|p| p.trim().is_empty())
        });
        std::fs::remove_dir(&self.cgroup).expect("removing the self-profile cgroup");
        let mut child = self.tracing.take().unwrap();
        let status = child.wait().unwrap();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(status.success(), "recording {}: {log}", self.command);
        allowed_names(&std::fs::read_to_string(&self.profile).unwrap())
    }
}

impl Drop for SelfRecording {
    fn drop(&mut self) {
        if let Some(mut child) = self.keeper.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(mut child) = self.tracing.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir(&self.cgroup);
    }
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a command and returns its output whatever its status.
fn output(cmd: &mut Command) -> Output {
    run(cmd.stdin(Stdio::null()))
}

fn assert_status(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `cmd`, waits until `marker` exists (the workload runs, or the
/// recorder is ready), sends `signal` (`times` times, 300 ms apart), and
/// returns the output.
fn signalled(cmd: &mut Command, marker: &Path, signal: i32, times: usize) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the recorder");
    let mut child = KillOnDrop(Some(child));
    wait_until(&format!("{} to appear", marker.display()), || {
        marker.exists()
    });
    let pid = child.0.as_ref().unwrap().id() as i32;
    for _ in 0..times {
        // SAFETY: plain kill(2) of our own child.
        unsafe { libc::kill(pid, signal) };
        std::thread::sleep(Duration::from_millis(300));
    }
    child.0.take().unwrap().wait_with_output().unwrap()
}

/// A shell command that creates `marker`, then runs `rest`.
fn touching(marker: &Path, rest: &str) -> String {
    format!("touch {}; {rest}", marker.display())
}

/// A cgroup of the test's own with a process in it, removed when dropped.
struct BusyCgroup {
    dir: PathBuf,
    relative: String,
    child: Child,
}

impl BusyCgroup {
    fn start(name: &str, seconds: &str) -> BusyCgroup {
        let mount = recorder::cgroup::Cgroup2Mount::find().unwrap();
        let relative = format!("/recorder-self-{}-{name}", std::process::id());
        let dir = mount.path_of(Path::new(&relative));
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir).unwrap();
        let script = format!(
            "echo $$ > {}/cgroup.procs && exec sleep {seconds}",
            dir.display()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .spawn()
            .expect("starting sh");
        wait_until("the busy cgroup populated", || {
            std::fs::read_to_string(dir.join("cgroup.procs")).is_ok_and(|p| !p.trim().is_empty())
        });
        BusyCgroup {
            dir,
            relative,
            child,
        }
    }
}

impl Drop for BusyCgroup {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `recorder record` after its command started: passing signals on,
/// leaving processes behind, every kind of output (a file, stdout, a
/// device, one it cannot write), the status line, the kernel's counters.
fn record_scenarios(bin: &Binary, rec: &SelfRecording, work: &Path) {
    let flag = rec.flag();
    let record = || {
        let mut cmd = bin.cmd();
        cmd.arg("record").args(&flag);
        cmd
    };
    let out = output(
        record()
            .arg("-q")
            .arg("-o")
            .arg(work.join("r1.json"))
            .args(["--", "true"]),
    );
    assert_status(&out, 0, "record -- true");
    let out = output(record().arg("-o").arg(work.join("r2.json")).args([
        "--wait-all",
        "--",
        "sh",
        "-c",
        "sleep 0.2 & exit 0",
    ]));
    assert_status(&out, 0, "record --wait-all");
    let out = output(
        record()
            .arg("-q")
            .arg("-o")
            .arg(work.join("r3.json"))
            .args(["--", "sh", "-c", "sleep 1 & exit 3"]),
    );
    assert_status(&out, 3, "record, a child left running");
    let out = output(record().args(["-q", "-o", "-", "--", "echo", "hi"]));
    assert_status(&out, 0, "record -o -");
    let out = output(record().args(["-q", "-o", "/dev/null", "--bpf-stats", "--", "true"]));
    assert_status(&out, 0, "record --bpf-stats");
    let marker = work.join("r6.started");
    let out = signalled(
        record()
            .arg("-q")
            .arg("-o")
            .arg(work.join("r6.json"))
            .args(["--", "sh", "-c", &touching(&marker, "exec sleep 30")]),
        &marker,
        libc::SIGTERM,
        1,
    );
    assert_status(&out, 143, "record, SIGTERM passed on");
    let marker = work.join("r7.started");
    let out = signalled(
        record()
            .arg("-q")
            .arg("-o")
            .arg(work.join("r7.json"))
            .args([
                "--wait-all",
                "--",
                "sh",
                "-c",
                &touching(&marker, "trap '' TERM; sleep 30 & sleep 30"),
            ]),
        &marker,
        libc::SIGTERM,
        2,
    );
    assert!(
        out.status.code().is_some(),
        "record --wait-all, two SIGTERMs"
    );
    let out = output(record().args(["-q", "-o", "/dev/full", "--", "true"]));
    assert_status(&out, 74, "record -o /dev/full");
    let full = FullTmpfs::mount(&work.join("full-record"));
    let out = output(
        record()
            .arg("-q")
            .arg("-o")
            .arg(full.0.join("p.json"))
            .args(["--", "sh", "-c", "exit 5"]),
    );
    assert_status(&out, 5, "record onto a full filesystem");
    drop(full);
    let inner = format!(
        "{} -vv record {} {} -o /dev/null -- sleep 0.4",
        bin.0.display(),
        flag[0].to_string_lossy(),
        flag[1].to_string_lossy()
    );
    let out = output(
        Command::new("script")
            .args(["-qc", &inner])
            .arg(work.join("typescript")),
    );
    assert_status(&out, 0, "record on a terminal");
    let theirs = work.join("theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let out = output(record().arg("-o").arg(theirs.join("p.json")).args([
        "--",
        "sh",
        "-c",
        "kill -TERM $$",
    ]));
    assert_status(&out, 143, "record into another user's directory");
}

/// `recorder trace` after its program is attached: a cgroup, a process, a
/// runc container waited for and one running, Ctrl-C while waiting and
/// while recording, a timeout, a base profile file, every kind of output.
fn trace_scenarios(bin: &Binary, rec: &SelfRecording, work: &Path, rootfs: &Path) {
    let flag = rec.flag();
    let trace = || {
        let mut cmd = bin.cmd();
        cmd.arg("trace").args(&flag);
        cmd
    };
    let busy = BusyCgroup::start("trace-cgroup", "4");
    let out = output(
        trace()
            .args(["--cgroup", &busy.relative, "-o"])
            .arg(work.join("t1.json")),
    );
    assert_status(&out, 0, "trace --cgroup");
    drop(busy);
    let busy = BusyCgroup::start("trace-pid", "4");
    let pid = busy.child.id().to_string();
    let base = work.join("base.json");
    std::fs::write(
        &base,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["capset"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let out = output(
        trace()
            .args(["--pid", &pid, "--base"])
            .arg(&base)
            .arg("-o")
            .arg(work.join("t2.json")),
    );
    assert_status(&out, 0, "trace --pid");
    drop(busy);
    let out = output(trace().args([
        "--container",
        "no-such-container",
        "--wait",
        "--timeout",
        "1s",
        "-o",
        "/dev/null",
    ]));
    assert_status(&out, 1, "trace --wait --timeout");
    let ready = work.join("t4.ready");
    let out = signalled(
        trace()
            .args([
                "--container",
                "no-such-container",
                "--wait",
                "-o",
                "/dev/null",
            ])
            .arg("--ready-file")
            .arg(&ready),
        &ready,
        libc::SIGINT,
        1,
    );
    assert_status(&out, 130, "trace interrupted while waiting");
    let busy = BusyCgroup::start("trace-interrupted", "30");
    let ready = work.join("t5.ready");
    let out = signalled(
        trace()
            .args(["-vv", "--cgroup", &busy.relative, "-o"])
            .arg(work.join("t5.json"))
            .arg("--ready-file")
            .arg(&ready),
        &ready,
        libc::SIGINT,
        1,
    );
    assert_status(&out, 0, "trace interrupted while recording");
    let out = output(trace().args([
        "--cgroup",
        &busy.relative,
        "--duration",
        "1s",
        "-o",
        "/dev/full",
    ]));
    assert_status(&out, 74, "trace -o /dev/full");
    drop(busy);

    // A runc container waited for, with the kubelet's annotations.
    let id = unique("self-waited");
    let bundle = RuncBundle::new(work, rootfs, &id, &["/bin/sh", "-c", WORKLOAD], false, None);
    bundle.annotate(&cri_annotations("default", "self-5d8f7c9b4-x7k2p", "app"));
    let mut cmd = trace();
    cmd.args(["--container", &id, "--wait"]);
    let tracing = BackgroundTrace::start(cmd, work, "t6");
    assert!(bundle.run(&id).status.success(), "runc run {id}");
    tracing.finish();
    // One that exits at once, started from its bundle's directory (no
    // --bundle: its runtime's working directory says where it is).
    let id = unique("self-quick");
    let bundle = RuncBundle::new(work, rootfs, &id, &["/bin/true"], false, None);
    let mut cmd = trace();
    cmd.args(["--container", &id, "--wait"]);
    let tracing = BackgroundTrace::start(cmd, work, "t8");
    let out = output(
        Command::new("runc")
            .args(["run", &id])
            .current_dir(&bundle.dir),
    );
    assert!(out.status.success(), "runc run {id}");
    let _ = Command::new("runc").args(["delete", "-f", &id]).output();
    tracing.finish();
    // A running one, from now on.
    let id = unique("self-running");
    let bundle = RuncBundle::new(work, rootfs, &id, &["/bin/sleep", "2"], false, None);
    let detached = Detached::run(&bundle, &id);
    let out = output(
        trace()
            .args(["--container", &id, "-o"])
            .arg(work.join("t7.json")),
    );
    assert_status(&out, 0, "trace --container (running)");
    drop(detached);
}

/// A child killed when the test ends early.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `recorder trace ...` in the background until it is ready.
struct BackgroundTrace {
    child: KillOnDrop,
}

impl BackgroundTrace {
    fn start(mut cmd: Command, work: &Path, name: &str) -> BackgroundTrace {
        let ready = work.join(format!("{name}.ready"));
        let child = cmd
            .arg("-o")
            .arg(work.join(format!("{name}.json")))
            .arg("--ready-file")
            .arg(&ready)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting recorder trace");
        let child = KillOnDrop(Some(child));
        wait_until(&format!("trace {name} ready"), || ready.exists());
        BackgroundTrace { child }
    }

    fn finish(mut self) {
        let out = self.child.0.take().unwrap().wait_with_output().unwrap();
        assert_status(&out, 0, "background trace");
    }
}

/// A profile that allows everything and logs `getppid`.
fn logging_profile(work: &Path) -> PathBuf {
    let path = work.join("log-getppid.json");
    std::fs::write(
        &path,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_LOG"}]}"#,
    )
    .unwrap();
    path
}

/// Makes `count` getppid calls under a profile that logs them (the test's
/// own recorder runs it).
fn log_getppid(work: &Path, program: &Path, count: usize) {
    let out = output(
        recorder()
            .args(["run", "--no-self-confine", "--profile"])
            .arg(logging_profile(work))
            .arg("--")
            .arg(program)
            .arg(count.to_string()),
    );
    assert_status(&out, 0, "a program whose getppid calls are logged");
}

/// A static program that calls getppid as often as its argument says.
fn getppid_program(work: &Path) -> PathBuf {
    compile_c(
        work,
        "getppid_loop",
        "#include <stdlib.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n\
         int main(int argc, char **argv) { int n = argc > 1 ? atoi(argv[1]) : 1;\n\
         for (int i = 0; i < n; i++) syscall(SYS_getppid); return 0; }\n",
        &["-static", "-O1"],
    )
}

/// `recorder logs --source` after it joined the audit group or opened
/// /dev/kmsg: records read, a container followed, an overflowing socket,
/// Ctrl-C, nothing read, an output it cannot write.
fn logs_scenarios(bin: &Binary, rec: &SelfRecording, work: &Path, rootfs: &Path) {
    let _host = HostLock::take();
    let flag = rec.flag();
    let program = getppid_program(work);
    let logs = |source: &str, extra: &[&str]| {
        let mut cmd = bin.cmd();
        cmd.arg("logs")
            .args(&flag)
            .args(["--source", source])
            .args(extra);
        cmd
    };
    let mut n = 0;
    // Started, and once it reads (its first line says so) its child.
    let mut reading = |mut cmd: Command| {
        n += 1;
        let log = work.join(format!("logs-{n}.err"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting recorder logs");
        let child = KillOnDrop(Some(child));
        wait_until("recorder logs reading", || {
            std::fs::read_to_string(&log).is_ok_and(|t| t.contains("recorder: reading"))
        });
        child
    };
    let ended = |mut child: KillOnDrop| child.0.take().unwrap().wait().unwrap();
    for (source, file) in [("audit", "l1.json"), ("kmsg", "l2.json")] {
        let path = work.join(file);
        let child = reading(logs(
            source,
            &[
                "--duration",
                "3s",
                "--comm",
                "getppid_loop",
                "-o",
                path.to_str().unwrap(),
            ],
        ));
        log_getppid(work, &program, 3);
        assert!(ended(child).code().is_some(), "logs --source {source}");
    }
    let child = reading(logs("audit", &["--duration", "2s", "-o", "/dev/full"]));
    log_getppid(work, &program, 1);
    assert!(ended(child).code().is_some(), "logs -o /dev/full");
    let child = reading(logs(
        "audit",
        &["--comm", "no-such-comm", "-o", "/dev/null"],
    ));
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.0.as_ref().unwrap().id() as i32, libc::SIGINT) };
    assert_eq!(
        ended(child).code(),
        Some(1),
        "logs, Ctrl-C with nothing read"
    );
    let child = reading(logs(
        "audit",
        &[
            "--audit-queue",
            "4096",
            "--duration",
            "4s",
            "-o",
            "/dev/null",
        ],
    ));
    let pid = child.0.as_ref().unwrap().id() as i32;
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    log_getppid(work, &program, 300);
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert!(
        ended(child).code().is_some(),
        "logs with an overflowing socket"
    );
    let id = unique("self-logs");
    let bundle = RuncBundle::new(work, rootfs, &id, &["/bin/sleep", "3"], false, None);
    let detached = Detached::run(&bundle, &id);
    let child = reading(logs(
        "audit",
        &["--container", &id, "--duration", "2s", "-o", "/dev/null"],
    ));
    assert!(ended(child).code().is_some(), "logs --container");
    drop(detached);
}

/// `recorder run` after its command started, plain and in complain mode:
/// the marker process, a fixed profile, signals passed on.
fn run_scenarios(bin: &Binary, rec: &SelfRecording, work: &Path) {
    let flag = rec.flag();
    let run_cmd = || {
        let mut cmd = bin.cmd();
        cmd.arg("run").args(&flag);
        cmd
    };
    let narrow = work.join("narrow.json");
    let out = output(
        recorder()
            .args(["record", "--no-self-confine", "-q", "-o"])
            .arg(&narrow)
            .args(["--", "true"]),
    );
    assert_status(&out, 0, "recording true");
    let allow_all = work.join("allow.json");
    std::fs::write(&allow_all, r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
    let out = output(
        run_cmd()
            .arg("--profile")
            .arg(&allow_all)
            .args(["--", "true"]),
    );
    assert_status(&out, 0, "run");
    let out = output(
        run_cmd()
            .arg("--profile")
            .arg(&allow_all)
            .args(["--", "sh", "-c", "exit 4"]),
    );
    assert_status(&out, 4, "run, exit 4");
    let out = output(
        run_cmd()
            .arg("--profile")
            .arg(&narrow)
            .args(["--complain", "--fix", "-o"])
            .arg(work.join("fixed.json"))
            .args(["--", "sh", "-c", "ls / > /dev/null"]),
    );
    assert_status(&out, 0, "run --complain --fix");
    let out = output(run_cmd().arg("--profile").arg(&narrow).args([
        "--complain",
        "--fix",
        "-o",
        "/dev/full",
        "--",
        "true",
    ]));
    assert_status(&out, 74, "run --complain --fix -o /dev/full");
    let marker = work.join("run6.started");
    let out = signalled(
        run_cmd().arg("--profile").arg(&allow_all).args([
            "--",
            "sh",
            "-c",
            &touching(&marker, "exec sleep 30"),
        ]),
        &marker,
        libc::SIGTERM,
        1,
    );
    assert_status(&out, 143, "run, SIGTERM passed on");
    let marker = work.join("run7.started");
    let out = signalled(
        run_cmd().arg("--profile").arg(&allow_all).args([
            "--complain",
            "--",
            "sh",
            "-c",
            &touching(&marker, "exec sleep 30"),
        ]),
        &marker,
        libc::SIGTERM,
        1,
    );
    assert_status(&out, 143, "run --complain, SIGTERM passed on");
    let killing = work.join("kill.json");
    std::fs::write(&killing, r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":[{"names":["execve","brk","arch_prctl","set_tid_address","set_robust_list","rseq","prlimit64","readlink","getrandom","mprotect","newfstatat","fstat"],"action":"SCMP_ACT_ALLOW"}]}"#).unwrap();
    let out = output(
        run_cmd()
            .arg("--profile")
            .arg(&killing)
            .args(["--", "true"]),
    );
    assert!(out.status.code().is_some(), "run, killed by its profile");
}

/// One HTTP/1.0 request on a Unix socket; the status code.
fn http(socket: &Path, method: &str, path: &str) -> u16 {
    let mut stream = UnixStream::connect(socket).expect("connecting to the daemon");
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `recorder daemon` once set up: containers that come and go, the API
/// and its refusals, metrics, `trace` through it (recorded into `trace`'s
/// profile), a temporary file a killed writer left, an output directory
/// it cannot write for a while, SIGTERM.
fn daemon_scenarios(
    bin: &Binary,
    daemon_rec: &SelfRecording,
    trace_rec: &SelfRecording,
    work: &Path,
    rootfs: &Path,
) {
    let out_dir = work.join("daemon-profiles");
    let socket = work.join("daemon/api.sock");
    let ready = work.join("daemon.ready");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = work.join("daemon.log");
    let mut daemon = KillOnDrop(Some(
        bin.cmd()
            .arg("-v")
            .arg("daemon")
            .args(daemon_rec.flag())
            .arg("--output")
            .arg(&out_dir)
            .arg("--socket")
            .arg(&socket)
            .arg("--ready-file")
            .arg(&ready)
            .args(["--flush", "1s", "--metrics", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting recorder daemon"),
    ));
    wait_until("the daemon ready", || ready.exists());
    let id = unique("self-daemon");
    std::fs::create_dir_all(out_dir.join("runc")).unwrap();
    std::fs::write(
        out_dir.join(format!("runc/.{id}.json.99999999.tmp")),
        "left by a killed writer",
    )
    .unwrap();
    let bundle = RuncBundle::new(work, rootfs, &id, &["/bin/sh", "-c", WORKLOAD], false, None);
    assert!(bundle.run(&id).status.success(), "runc run {id}");
    // trace through the daemon: one waited for, one running.
    let traced = unique("self-traced");
    let mut cmd = bin.cmd();
    cmd.arg("trace")
        .args(trace_rec.flag())
        .args(["--container", &traced, "--wait", "--daemon-socket"])
        .arg(&socket);
    let tracing = BackgroundTrace::start(cmd, work, "td1");
    let bundle = RuncBundle::new(
        work,
        rootfs,
        &traced,
        &["/bin/sh", "-c", WORKLOAD],
        false,
        None,
    );
    assert!(bundle.run(&traced).status.success(), "runc run {traced}");
    tracing.finish();
    let running = unique("self-daemon-running");
    let bundle = RuncBundle::new(work, rootfs, &running, &["/bin/sleep", "3"], false, None);
    let detached = Detached::run(&bundle, &running);
    std::thread::sleep(Duration::from_millis(500));
    let out = output(
        bin.cmd()
            .arg("trace")
            .args(trace_rec.flag())
            .args(["--container", &running, "--daemon-socket"])
            .arg(&socket)
            .arg("-o")
            .arg(work.join("td2.json")),
    );
    assert_status(&out, 0, "trace through the daemon (running)");
    drop(detached);
    for path in ["/v1/recordings", "/v1/recordings/1", "/v1/recordings/999"] {
        http(&socket, "GET", path);
    }
    http(&socket, "GET", &format!("/v1/profiles/runc/{id}.json"));
    http(&socket, "POST", "/v1/flush");
    http(&socket, "GET", "/no-such-path");
    let out = output(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin.0)
            .args(["status", "--socket"])
            .arg(&socket),
    );
    assert!(out.status.code().is_some());
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(
        socket.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let out = output(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin.0)
            .args(["status", "--socket"])
            .arg(&socket),
    );
    assert_status(&out, 1, "status as nobody");
    let mut metrics = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(metrics, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut reply = String::new();
    metrics.read_to_string(&mut reply).unwrap();
    assert!(reply.contains("recorder_"), "{reply}");
    // An output directory it cannot write for a while (root owns it, and
    // the daemon keeps no CAP_DAC_OVERRIDE).
    std::fs::set_permissions(&out_dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    let blocked = unique("self-blocked");
    let bundle = RuncBundle::new(work, rootfs, &blocked, &["/bin/true"], false, None);
    assert!(bundle.run(&blocked).status.success(), "runc run {blocked}");
    std::thread::sleep(Duration::from_millis(2500));
    std::fs::set_permissions(&out_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let mut daemon = daemon.0.take().unwrap();
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let status = daemon.wait().unwrap();
    assert!(
        status.success(),
        "daemon: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// What each command did after lowering itself, over every scenario.
fn record_the_commands(bin: &Binary) -> BTreeMap<&'static str, BTreeSet<String>> {
    require_root();
    require_program("runc", "runc");
    require_program("script", "bsdutils");
    let dir = temp_dir();
    let work = dir.path();
    // The profiles of the scenarios' failed writes stay in the test's
    // directory.
    let tmpdir = work.join("tmp");
    std::fs::create_dir_all(&tmpdir).unwrap();
    let bin = &bin.with_tmpdir(&tmpdir);
    let rootfs = busybox_rootfs(work);
    let recordings: BTreeMap<&'static str, SelfRecording> = COMMANDS
        .iter()
        .map(|c| (*c, SelfRecording::start(c, work)))
        .collect();
    record_scenarios(bin, &recordings["record"], work);
    trace_scenarios(bin, &recordings["trace"], work, &rootfs);
    logs_scenarios(bin, &recordings["logs"], work, &rootfs);
    run_scenarios(bin, &recordings["run"], work);
    daemon_scenarios(
        bin,
        &recordings["daemon"],
        &recordings["trace"],
        work,
        &rootfs,
    );
    recordings
        .into_iter()
        .map(|(command, recording)| (command, recording.finish()))
        .collect()
}

fn shipped_path(command: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../profiles/self")
        .join(format!("{command}.json"))
}

/// Fails when a command did something its shipped profile does not allow.
fn check(recorded: &BTreeMap<&'static str, BTreeSet<String>>, what: &str) {
    let mut missing = Vec::new();
    for (command, names) in recorded {
        let shipped = allowed_names(&std::fs::read_to_string(shipped_path(command)).unwrap());
        let outside: Vec<&String> = names.difference(&shipped).collect();
        if !outside.is_empty() {
            missing.push(format!("{command}: {outside:?}"));
        }
        assert!(
            !names.contains("execve"),
            "{command} execs once confined: {names:?}"
        );
    }
    assert!(
        missing.is_empty(),
        "{what} made syscalls outside profiles/self/ (re-record them, see this file's doc):\n{}",
        missing.join("\n")
    );
}

/// One recording at a time: the scenarios' containers have the same names.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The release binary `cargo xtask dist` made.
fn release_binary() -> Binary {
    let dir = std::env::var_os("RECORDER_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dist"));
    let binary = dir.join(format!(
        "recorder-{}-{}-linux",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    ));
    assert!(
        binary.exists(),
        "no release binary {}: run `cargo xtask dist` first (`cargo xtask test` does)",
        binary.display()
    );
    Binary::new(binary)
}

fn blessing() -> bool {
    std::env::var_os("RECORDER_BLESS_SELF_PROFILES").is_some()
}

/// Writes profiles/self/ anew from both binaries' recordings (and the
/// runtime baseline).
fn bless() {
    let mut recorded =
        record_the_commands(&Binary::new(PathBuf::from(env!("CARGO_BIN_EXE_recorder"))));
    let dist = std::env::var_os("RECORDER_DIST_DIR").is_some()
        || Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/dist/SHA256SUMS")
            .exists();
    if dist {
        for (command, names) in record_the_commands(&release_binary()) {
            recorded.entry(command).or_default().extend(names);
        }
    } else {
        eprintln!(
            "note: no release binary: profiles/self/ made from the debug binary's runs alone"
        );
    }
    for (command, names) in recorded {
        let mut names = names;
        names.extend(RUNTIME_BASELINE.iter().map(|s| s.to_string()));
        for (_, unforced) in UNFORCED.iter().filter(|(c, _)| *c == command) {
            names.extend(unforced.iter().map(|s| s.to_string()));
        }
        let profile =
            recorder::profile::Profile::allow_list([recorder::arch::Arch::X86_64], names, 38);
        let text = recorder::profile::oci::to_json(&profile);
        std::fs::write(shipped_path(command), text).unwrap();
    }
}

#[test]
fn the_shipped_self_profiles_cover_what_the_commands_do() {
    let _serial = serial();
    if blessing() {
        bless();
        return;
    }
    let bin = Binary::new(PathBuf::from(env!("CARGO_BIN_EXE_recorder")));
    check(&record_the_commands(&bin), "the recorder cargo built");
}

/// The release binary (static glibc) makes its own syscalls: checked too.
#[test]
fn the_release_binary_stays_inside_them_too() {
    let _serial = serial();
    if blessing() {
        return;
    }
    check(
        &record_the_commands(&release_binary()),
        "the release binary",
    );
}
