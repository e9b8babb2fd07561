//! Helpers shared by the end-to-end tests: the recorder binary, root checks,
//! C test programs built on the fly, and profile inspection.
#![allow(dead_code)]

pub mod containers;
pub mod kernel;
pub mod seccomp;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `recorder` binary cargo built for these tests.
pub fn recorder() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recorder"))
}

/// End-to-end tests load eBPF programs and create cgroups: they need root.
/// They fail loudly instead of passing when run without it; `cargo xtask
/// test` skips them (and says so) when not root.
pub fn require_root() {
    // SAFETY: geteuid never fails.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this end-to-end test needs root (eBPF, cgroups): run `cargo xtask test` as root"
    );
}

/// The directory `cargo xtask dist` wrote the release artefacts into
/// (`cargo xtask test` builds them first and names it in
/// `RECORDER_DIST_DIR`).
pub fn dist_dir() -> PathBuf {
    let dir = std::env::var_os("RECORDER_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dist"));
    assert!(
        dir.join("SHA256SUMS").exists(),
        "no release artefacts in {}: run `cargo xtask dist` first (`cargo xtask test` does)",
        dir.display()
    );
    dir
}

/// A directory for test artefacts that lives as long as the returned guard.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("recorder-test-")
        .tempdir()
        .expect("creating a temp dir")
}

/// Compiles a C program with gcc into `dir` and returns the binary's path.
pub fn compile_c(dir: &Path, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).expect("writing C source");
    let bin = dir.join(name);
    let out = Command::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("running gcc (install it with `cargo xtask setup`)");
    assert!(
        out.status.success(),
        "gcc failed for {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Compiles `tests/programs/<name>.c` into `dir` and returns the binary.
pub fn build_program(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/programs")
        .join(format!("{name}.c"));
    let source =
        std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("reading {}: {e}", src.display()));
    compile_c(dir, name, &source, flags)
}

/// Where cgroup2 is mounted: `/sys/fs/cgroup` itself, or `unified` on a
/// hybrid host.
pub fn cgroup2_mount() -> PathBuf {
    let unified = Path::new("/sys/fs/cgroup/unified");
    if unified.join("cgroup.procs").exists() {
        unified.to_path_buf()
    } else {
        PathBuf::from("/sys/fs/cgroup")
    }
}

/// A small tmpfs, full, unmounted when dropped.
pub struct FullTmpfs(pub PathBuf);

impl FullTmpfs {
    pub fn mount(dir: &Path) -> FullTmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir));
        assert!(mounted.status.success(), "mounting a small tmpfs");
        let mut file = std::fs::File::create(dir.join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
        FullTmpfs(dir.to_path_buf())
    }
}

impl Drop for FullTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

/// Serialises tests that change host-wide state or read global kernel
/// logs (printk's rate limit, seccomp records), across test binaries.
pub struct HostLock {
    _file: std::fs::File,
}

impl HostLock {
    pub fn take() -> HostLock {
        let file = std::fs::File::create("/run/lock/recorder-tests-host-state.lock")
            .expect("creating the host-state lock file");
        // SAFETY: flock on an open fd.
        let rc = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
        HostLock { _file: file }
    }
}

/// Runs a command and panics with its stderr when it could not start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

/// Asserts that a command failed with `code` and exactly one line on stderr
/// containing `needle`: the project's error form.
pub fn assert_one_line_error(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status; stderr: {stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "one-line error expected: {stderr}"
    );
    assert!(stderr.starts_with("recorder: "), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
}

/// The names of the unconditional SCMP_ACT_ALLOW rules of an OCI profile.
pub fn allowed_names(profile_json: &str) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(profile_json)
        .unwrap_or_else(|e| panic!("profile is not JSON ({e}):\n{profile_json}"));
    v["syscalls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["action"] == "SCMP_ACT_ALLOW" && r.get("args").is_none())
        .flat_map(|r| r["names"].as_array().cloned().unwrap_or_default())
        .map(|n| n.as_str().expect("syscall name is a string").to_string())
        .collect()
}

/// The `architectures` of an OCI profile.
pub fn architectures(profile_json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(profile_json).expect("profile is JSON");
    v["architectures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a.as_str().expect("arch is a string").to_string())
        .collect()
}

/// Syscall names `strace -f` saw for a command (its own output discarded).
pub fn strace_names(dir: &Path, args: &[&str]) -> BTreeSet<String> {
    let log = dir.join("strace.log");
    let out = run(Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&log)
        .args(args));
    assert!(out.status.success(), "strace {args:?} failed");
    parse_strace_names(&std::fs::read_to_string(&log).expect("strace log"))
}

/// Extracts syscall names from `strace -f` output lines such as
/// `123 openat(AT_FDCWD, ...) = 3` and `123 <... read resumed>...`.
pub fn parse_strace_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            let rest = line.split_once(' ').map_or(line, |(_, r)| r).trim_start();
            let rest = rest.strip_prefix("<... ").unwrap_or(rest);
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let follows = rest[name.len()..].chars().next();
            (!name.is_empty() && matches!(follows, Some('(') | Some(' '))).then_some(name)
        })
        .filter(|n| n != "exited" && n != "killed")
        .collect()
}
