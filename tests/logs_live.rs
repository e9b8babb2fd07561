//! End-to-end tests of `recorder logs` with live kernel sources: a child
//! process runs under a real SCMP_ACT_LOG filter (built with libseccomp),
//! makes a known set of syscalls, and the recorder turns the kernel's audit
//! records into a profile.
//!
//! These tests change host state (printk's rate limit) and read global
//! kernel logs, so they take a host-wide lock and restore what they change.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::*;
use libseccomp::{ScmpAction, ScmpArch, ScmpFilterContext};

/// Lifts printk's rate limit (which drops audit lines in the kernel log)
/// and restores it on drop.
struct PrintkUnlimited {
    old: String,
}

const PRINTK_RATELIMIT: &str = "/proc/sys/kernel/printk_ratelimit";

impl PrintkUnlimited {
    fn new(_lock: &HostLock) -> PrintkUnlimited {
        let old = fs::read_to_string(PRINTK_RATELIMIT).expect("reading printk_ratelimit");
        fs::write(PRINTK_RATELIMIT, "0").expect("lifting printk_ratelimit");
        PrintkUnlimited { old }
    }
}

impl Drop for PrintkUnlimited {
    fn drop(&mut self) {
        let _ = fs::write(PRINTK_RATELIMIT, self.old.trim());
    }
}

/// The filter: log every syscall, on x86_64, x86 (int 0x80) and x32.
fn log_filter() -> Vec<u8> {
    let mut ctx = ScmpFilterContext::new(ScmpAction::Log).expect("libseccomp filter");
    ctx.add_arch(ScmpArch::X86).expect("adding x86");
    ctx.add_arch(ScmpArch::X32).expect("adding x32");
    ctx.set_ctl_nnp(true).expect("nnp");
    let mut file = tempfile::tempfile().expect("temp file");
    ctx.export_bpf(&file).expect("exporting the BPF program");
    let mut program = Vec::new();
    std::io::Seek::rewind(&mut file).expect("rewinding");
    std::io::Read::read_to_end(&mut file, &mut program).expect("reading the BPF program");
    program
}

/// The syscalls the child makes after loading the filter, as names in the
/// profile: getppid, getuid and getgid natively, getpid through int 0x80
/// (32-bit x86) and as x32 (ENOSYS here, but still logged), and exit_group.
const CHILD_SYSCALLS: [&str; 5] = ["exit_group", "getgid", "getpid", "getppid", "getuid"];

/// A child that waits for a byte on a pipe, then loads the filter and makes
/// the known syscalls. Only raw syscalls run in the child after fork.
struct LoggedChild {
    pid: libc::pid_t,
    go: libc::c_int,
}

impl LoggedChild {
    fn fork(program: &[u8]) -> LoggedChild {
        let mut fds = [0; 2];
        // SAFETY: pipe with a valid array.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let prog = libc::sock_fprog {
            len: (program.len() / 8) as u16,
            filter: program.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: the child makes only async-signal-safe raw syscalls and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            unsafe {
                let mut byte = 0u8;
                libc::read(fds[0], (&mut byte as *mut u8).cast(), 1);
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                if libc::syscall(libc::SYS_seccomp, 1, 0, &prog) != 0 {
                    libc::_exit(99);
                }
                libc::syscall(libc::SYS_getppid);
                libc::syscall(libc::SYS_getuid);
                libc::syscall(libc::SYS_getgid);
                #[cfg(target_arch = "x86_64")]
                {
                    let mut ret: i64 = 20; // getpid on i386
                    std::arch::asm!("int 0x80", inlateout("rax") ret, options(nostack));
                    let _ = ret;
                    libc::syscall(0x4000_0000 | 39); // getpid on x32
                }
                libc::syscall(libc::SYS_exit_group, 0);
                libc::_exit(0);
            }
        }
        // SAFETY: closing our copy of the read end.
        unsafe { libc::close(fds[0]) };
        LoggedChild { pid, go: fds[1] }
    }

    /// Lets the child run and waits for it.
    fn run(self) {
        // SAFETY: write one byte to our pipe, then reap the child.
        unsafe {
            assert_eq!(libc::write(self.go, b"g".as_ptr().cast(), 1), 1);
            libc::close(self.go);
            let mut status = 0;
            assert_eq!(libc::waitpid(self.pid, &mut status, 0), self.pid);
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "child failed to load the filter or run (status {status:#x})"
            );
        }
    }
}

/// Starts `recorder logs ARGS` and waits until it says it is reading.
fn start_recorder(args: &[&str]) -> (Child, BufReader<std::process::ChildStderr>) {
    start_recorder_until(args, "reading seccomp records")
}

/// Starts `recorder logs ARGS` and waits for a line on stderr containing
/// `ready`.
fn start_recorder_until(
    args: &[&str],
    ready: &str,
) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = recorder()
        .arg("logs")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting recorder");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    loop {
        line.clear();
        let n = stderr
            .read_line(&mut line)
            .expect("reading recorder stderr");
        assert!(
            n > 0,
            "recorder exited before it was ready: {:?}",
            child.wait()
        );
        if line.contains(ready) {
            break;
        }
    }
    (child, stderr)
}

/// Interrupts the recorder as Ctrl-C would and returns its remaining stderr.
fn stop_recorder(mut child: Child, mut stderr: BufReader<std::process::ChildStderr>) -> String {
    // Records reach the source asynchronously (the kauditd thread), usually
    // within milliseconds; the margin is for a machine busy with other tests.
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("reading stderr");
    let status = child.wait().expect("waiting for recorder");
    assert!(status.success(), "recorder failed: {rest}");
    rest
}

fn live_profile(source: &str, dir: &Path) -> (String, String) {
    let program = log_filter();
    let child = LoggedChild::fork(&program);
    let out = dir.join("profile.json");
    let pid = child.pid.to_string();
    let (recorder, stderr) = start_recorder(&[
        "--source",
        source,
        "--pid",
        &pid,
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    child.run();
    let summary = stop_recorder(recorder, stderr);
    let profile =
        fs::read_to_string(&out).unwrap_or_else(|e| panic!("no profile ({e}): {summary}"));
    (profile, summary)
}

/// Records of other processes (anything else on the host that logs) are
/// filtered out by `--pid`; the child's six must all be used.
fn assert_child_profile(profile: &str, summary: &str) {
    let names = allowed_names(profile);
    let want: std::collections::BTreeSet<String> =
        CHILD_SYSCALLS.iter().map(|s| s.to_string()).collect();
    assert_eq!(names, want, "summary: {summary}");
    assert_eq!(
        architectures(profile),
        ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
        "summary: {summary}"
    );
    assert!(summary.contains(": 6 used (log 6)"), "summary: {summary}");
}

fn auditd_running() -> bool {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "auditd"))
}

#[test]
fn audit_netlink_source_records_the_child() {
    require_root();
    let _lock = HostLock::take();
    let dir = temp_dir();
    let (profile, summary) = live_profile("audit", dir.path());
    assert_child_profile(&profile, &summary);
}

/// The audit socket's queue overflows while the reader is stopped (a small
/// queue, SIGSTOP, hundreds of records): the summary counts it and names
/// its own fix.
#[test]
fn an_overflowing_audit_socket_is_counted_and_reported() {
    require_root();
    let _lock = HostLock::take();
    let dir = temp_dir();
    let program = log_filter();
    let out = dir.path().join("profile.json");
    let (recorder, stderr) = start_recorder(&[
        "--source",
        "audit",
        "--audit-queue",
        "4096",
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    let pid = recorder.id() as i32;
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    for _ in 0..100 {
        LoggedChild::fork(&program).run();
    }
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let summary = stop_recorder(recorder, stderr);
    // The kernel doubles the queue asked for.
    assert!(
        summary.contains("records were lost")
            && summary.contains("the audit socket's queue (8.0 KiB) overflowed")
            && summary.contains("keep it running (not stopped"),
        "{summary}"
    );
}

#[test]
fn kmsg_source_records_the_child() {
    require_root();
    let lock = HostLock::take();
    assert!(
        !auditd_running(),
        "auditd is running: the kernel sends seccomp records to it instead of the kernel log; stop it (`service auditd stop`) to run this test"
    );
    let _unlimited = PrintkUnlimited::new(&lock);
    let dir = temp_dir();
    let (profile, summary) = live_profile("kmsg", dir.path());
    assert_child_profile(&profile, &summary);
}

#[test]
fn container_filter_maps_live_pids_through_their_cgroup() {
    require_root();
    let id = format!("4f6c9a1b2c3d{:08x}", std::process::id());
    let group = recorder::cgroup::Cgroup2Mount::find()
        .expect("no cgroup2 mount: this test needs cgroup v2")
        .root
        .join(format!("docker-{id}.scope"));
    fs::create_dir(&group).expect("creating a test cgroup");
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("starting sleep");
    fs::write(group.join("cgroup.procs"), sleeper.id().to_string()).expect("moving sleep");
    let line = |pid: u32| {
        format!(
            "audit: type=1326 audit(1795441404.826:{pid}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid={pid} comm=\"x\" exe=\"/x\" sig=0 arch=c000003e syscall=39 compat=0 ip=0x1 code=0x7ffc0000\n"
        )
    };
    let input = format!("{}{}", line(sleeper.id()), line(std::process::id()));
    let mut child = recorder()
        .args(["logs", "--container", &id[..12]])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting recorder");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let _ = fs::remove_dir(&group);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        allowed_names(&String::from_utf8_lossy(&out.stdout)),
        ["getpid".to_string()].into(),
        "{err}"
    );
    assert!(
        err.contains("1 used") && err.contains("1 other container"),
        "{err}"
    );
}

#[test]
fn memory_stays_constant_on_large_input() {
    require_root();
    // 128 MiB of records and noise through a pipe; the recorder's peak RSS
    // must not grow with it.
    let record = "Nov 23 13:44:15 host kernel: [  981.127660] audit: type=1326 audit(1795441455.442:68): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=21692 comm=\"logchild\" exe=\"/tmp/cap/logchild\" sig=0 arch=c000003e syscall=231 compat=0 ip=0x4313a9 code=0x7ffc0000\n";
    let noise = "Nov 23 13:44:15 host sshd[123]: Accepted publickey for deploy from 192.0.2.1 port 22 ssh2\n";
    let block: String = std::iter::repeat_n(format!("{record}{noise}"), 4096).collect();
    // Reaped by wait4 below, which also reports the peak RSS.
    #[allow(clippy::zombie_processes)]
    let mut child = recorder()
        .args(["logs", "-o", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting recorder");
    let mut stdin = child.stdin.take().unwrap();
    let total = 128 << 20;
    let writer = std::thread::spawn(move || {
        let mut written = 0;
        while written < total {
            std::io::Write::write_all(&mut stdin, block.as_bytes()).unwrap();
            written += block.len();
        }
    });
    let pid = child.id() as libc::pid_t;
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    writer.join().unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{stderr}"
    );
    let max_rss_mib = usage.ru_maxrss / 1024;
    assert!(
        max_rss_mib < 48,
        "peak RSS {max_rss_mib} MiB for 128 MiB of input: {stderr}"
    );
    assert!(stderr.contains("seccomp records"), "{stderr}");
}

/// `--container` takes what `trace` takes (here a podman container's name),
/// and keeps the records of the container's short-lived processes (ls, cat,
/// each sleep), which have exited by the time their records are read: the
/// container's processes are followed from the start of the read.
#[test]
fn container_filter_by_name_keeps_records_of_exited_processes() {
    require_root();
    common::containers::require_program("podman", "podman");
    common::containers::require_program("runc", "runc");
    let _lock = HostLock::take();
    let dir = temp_dir();
    let rootfs = common::containers::busybox_rootfs(dir.path());
    let image = common::containers::import_image(
        "podman",
        &rootfs,
        &format!("localhost/{}", common::containers::unique("bb")),
    );
    let name = common::containers::unique("logs");
    let log_profile = dir.path().join("log.json");
    let out = run(recorder().args(["template", "log", "-o"]).arg(&log_profile));
    assert!(out.status.success(), "{out:?}");
    let shared = dir.path().join("shared");
    fs::create_dir(&shared).unwrap();
    let out = run(std::process::Command::new("podman")
        .args(["--runtime", "runc", "run", "-d", "--name", &name])
        .args(["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"])
        .arg("--security-opt")
        .arg(format!("seccomp={}", log_profile.display()))
        .arg("-v")
        .arg(format!("{}:/shared", shared.display()))
        .args([
            &image.name,
            "sh",
            "-c",
            "while [ ! -e /shared/go ]; do sleep 0.1; done; /bin/ls / > /dev/null; /bin/cat /etc/hostname > /dev/null",
        ]));
    assert!(
        out.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let profile = dir.path().join("profile.json");
    let (recorder, stderr) = start_recorder(&[
        "--source",
        "audit",
        "--container",
        &name,
        "-o",
        profile.to_str().expect("utf-8 path"),
    ]);
    fs::write(shared.join("go"), "").unwrap();
    let waited = run(std::process::Command::new("podman").args(["wait", &name]));
    let _ = std::process::Command::new("podman")
        .args(["rm", "-f", &name])
        .output();
    assert!(waited.status.success(), "podman wait: {waited:?}");
    let summary = stop_recorder(recorder, stderr);
    let names = allowed_names(
        &fs::read_to_string(&profile).unwrap_or_else(|e| panic!("no profile ({e}): {summary}")),
    );
    // ls reads the directory; nothing else in the container does.
    assert!(names.contains("getdents64"), "{names:?}\n{summary}");
    assert!(!summary.contains("pid exited"), "{summary}");
}

/// A container's process that forked, ran and exited before its record was
/// read (a log written late, as syslog daemons do) still counts: its
/// parent was in the container when the read began, and forks are
/// followed from then on.
#[test]
fn container_filter_keeps_records_of_processes_gone_before_they_were_read() {
    require_root();
    let id = format!("4f6c9a1b{:08x}{}", std::process::id(), "0".repeat(48));
    let group = recorder::cgroup::Cgroup2Mount::find()
        .expect("no cgroup2 mount: this test needs cgroup v2")
        .root
        .join(format!("docker-{id}.scope"));
    fs::create_dir(&group).expect("creating a test cgroup");
    // Waits for a line, then starts a child that exits at once and prints
    // its pid.
    let mut parent = std::process::Command::new("sh")
        .args(["-c", "read go; /bin/true & echo $!; wait"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting sh");
    fs::write(group.join("cgroup.procs"), parent.id().to_string()).expect("moving sh");
    let dir = temp_dir();
    let log = dir.path().join("kern.log");
    fs::write(&log, "").unwrap();
    let profile = dir.path().join("profile.json");
    let (recorder, stderr) = start_recorder_until(
        &[
            "--follow",
            log.to_str().unwrap(),
            "--container",
            &id[..12],
            "-o",
            profile.to_str().unwrap(),
        ],
        "following",
    );
    std::io::Write::write_all(&mut parent.stdin.take().unwrap(), b"go\n").unwrap();
    let mut child_pid = String::new();
    BufReader::new(parent.stdout.take().unwrap())
        .read_line(&mut child_pid)
        .unwrap();
    let parent_pid = parent.id();
    assert!(parent.wait().unwrap().success());
    let _ = fs::remove_dir(&group);
    let child_pid: u32 = child_pid.trim().parse().expect("the child's pid");
    let line = |pid: u32, syscall: u32| {
        format!(
            "Nov 23 13:44:15 host kernel: audit: type=1326 audit(1795441404.826:{pid}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid={pid} comm=\"x\" exe=\"/x\" sig=0 arch=c000003e syscall={syscall} compat=0 ip=0x1 code=0x7ffc0000\n"
        )
    };
    let records = format!(
        "{}{}{}",
        line(child_pid, 39),
        line(parent_pid, 102),
        line(std::process::id(), 110)
    );
    let mut file = fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut file, records.as_bytes()).unwrap();
    let summary = stop_recorder(recorder, stderr);
    let profile =
        fs::read_to_string(&profile).unwrap_or_else(|e| panic!("no profile ({e}): {summary}"));
    assert_eq!(
        allowed_names(&profile),
        ["getpid".to_string(), "getuid".to_string()].into(),
        "{summary}"
    );
    assert!(
        summary.contains(": 2 used (log 2), 1 filtered out")
            && summary.contains("1 other container"),
        "{summary}"
    );
}
