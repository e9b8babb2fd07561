//! Deriving a runtime's base profile from real runs.
//!
//! The base profile of an OCI runtime is what the runtime itself does after
//! it installs a container's seccomp filter and before the workload's exec
//! replaces it. The recorder cannot see that boundary in a container that
//! runs unconfined, so it is measured once per runtime version: a container
//! whose only work is `/bin/true` (static busybox) runs under a filter whose
//! default action is `SCMP_ACT_LOG`, and the kernel's audit records of its
//! init process ([`crate::audit_netlink`]) are split at the exec: records
//! whose `exe` is still the runtime's are the runtime's post-filter syscalls.
//! Each run is repeated with `noNewPrivileges` off (runc and crun load the
//! filter before dropping privileges: capset, setgroups, setuid, ...) and on
//! (they load it just before exec), and the union is the base profile.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use std::os::fd::AsFd;

use serde_json::{Value, json};

use super::OciRuntime;
use crate::arch::Arch;
use crate::confine::audit::{AuditError, SeccompLog, SeccompRecord};

/// Errors of a derivation.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    #[error("{0} not found on PATH: install it (Debian package {0})")]
    RuntimeMissing(&'static str),
    #[error(
        "{0} is missing: the derivation container runs static busybox (install busybox-static, or give --busybox)"
    )]
    BusyboxMissing(PathBuf),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("reading audit records")]
    AuditRead(#[source] std::io::Error),
    #[error("{action}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {stderr}{}", hint(.stderr))]
    Runtime { command: String, stderr: String },
    #[error(
        "no audit record of the container's exec arrived: the kernel must log SCMP_ACT_LOG (`log` in /proc/sys/kernel/seccomp/actions_logged)"
    )]
    NoRecords,
    #[error(
        "audit records were dropped during the run (the socket's queue was full): derive again on a quieter host"
    )]
    LostRecords,
}

/// What to do about a runtime failure this module knows.
fn hint(stderr: &str) -> &'static str {
    if stderr.contains("hybrid mode") {
        " (crun needs the hugetlb controller on a cgroup v1 hierarchy here: `mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb none /sys/fs/cgroup/hugetlb`)"
    } else {
        ""
    }
}

/// A runtime's stderr as one line for the one-line error: its non-empty
/// lines, trimmed, joined with `; `.
fn one_line(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> DeriveError {
    let action = action.into();
    move |source| DeriveError::Io { action, source }
}

/// How to derive.
#[derive(Clone, Debug)]
pub struct DeriveOptions {
    pub runtime: OciRuntime,
    /// The runtime binary; found on PATH when `None`.
    pub binary: Option<PathBuf>,
    /// A statically linked busybox for the container's rootfs.
    pub busybox: PathBuf,
    /// Runs per `noNewPrivileges` setting. The runtimes written in Go (runc)
    /// make a few timing-dependent calls (futex, nanosleep, sched_yield, ...):
    /// more runs catch more of them.
    pub runs: u32,
}

/// What a derivation found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derivation {
    /// The runtime's `--version` output, first line.
    pub version: String,
    /// Runs per setting.
    pub runs: u32,
    /// Names seen with `noNewPrivileges` off, each with the number of runs
    /// that made it.
    pub without_nnp: BTreeMap<String, u32>,
    /// The same with `noNewPrivileges` on.
    pub with_nnp: BTreeMap<String, u32>,
    /// Numbers the host's table does not name.
    pub unnamed: BTreeSet<u32>,
}

impl Derivation {
    /// The base profile: both settings' names.
    pub fn names(&self) -> BTreeSet<String> {
        self.without_nnp
            .keys()
            .chain(self.with_nnp.keys())
            .cloned()
            .collect()
    }

    /// Names some runs of a setting made and others did not: the timing
    /// of the runtime (e.g. Go's scheduler), not its code path, decides.
    pub fn timing_dependent(&self) -> BTreeMap<String, u32> {
        let mut found = BTreeMap::new();
        for counts in [&self.without_nnp, &self.with_nnp] {
            for (name, &count) in counts {
                if count < self.runs {
                    found.insert(name.clone(), count);
                }
            }
        }
        found
    }
}

/// Runs the derivation containers and collects the runtime's post-filter
/// syscalls.
pub fn derive(options: &DeriveOptions) -> Result<Derivation, DeriveError> {
    let binary = match &options.binary {
        Some(b) => b.clone(),
        None => which::which(options.runtime.name())
            .map_err(|_| DeriveError::RuntimeMissing(options.runtime.name()))?,
    };
    if !options.busybox.is_file() {
        return Err(DeriveError::BusyboxMissing(options.busybox.clone()));
    }
    let version = runtime_version(&binary)?;
    let work = tempfile::Builder::new()
        .prefix("recorder-derive-")
        .tempdir()
        .map_err(io("creating a temporary directory"))?;
    let bundle = make_bundle(work.path(), &binary, &options.busybox)?;
    let state_root = work.path().join("state");
    // Inits of created containers are reparented to us, to be reaped.
    // Fails only with EINVAL, for an invalid option.
    let _ = crate::sys::process::set_child_subreaper();
    let mut log = SeccompLog::open()?;
    let mut derivation = Derivation {
        version,
        runs: options.runs,
        without_nnp: BTreeMap::new(),
        with_nnp: BTreeMap::new(),
        unnamed: BTreeSet::new(),
    };
    for nnp in [false, true] {
        for run in 0..options.runs {
            set_no_new_privileges(&bundle, nnp)?;
            let id = format!(
                "recorder-derive-{}-{}-{run}",
                std::process::id(),
                u8::from(nnp)
            );
            let init = run_container(&binary, &state_root, &bundle, &id)?;
            let records = drain(&mut log)?;
            let (numbers, arch) = runtime_syscalls(&records, init)?;
            let table = arch.table();
            let names = if nnp {
                &mut derivation.with_nnp
            } else {
                &mut derivation.without_nnp
            };
            for nr in numbers {
                match table.name(nr) {
                    Some(name) => {
                        *names.entry(name.to_string()).or_default() += 1;
                    }
                    None => {
                        derivation.unnamed.insert(nr);
                    }
                }
            }
        }
    }
    if log.lost_records {
        return Err(DeriveError::LostRecords);
    }
    Ok(derivation)
}

fn runtime_version(binary: &Path) -> Result<String, DeriveError> {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(io(format!("running {} --version", binary.display())))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string())
}

/// A bundle from the runtime's own default spec (`<runtime> spec`), running
/// `/bin/true` from static busybox under an `SCMP_ACT_LOG` filter.
fn make_bundle(dir: &Path, binary: &Path, busybox: &Path) -> Result<PathBuf, DeriveError> {
    let bundle = dir.join("bundle");
    let bin = bundle.join("rootfs/bin");
    fs::create_dir_all(&bin).map_err(io(format!("creating {}", bin.display())))?;
    for d in ["proc", "dev", "sys", "tmp"] {
        fs::create_dir_all(bundle.join("rootfs").join(d)).map_err(io("creating the rootfs"))?;
    }
    fs::copy(busybox, bin.join("busybox")).map_err(io(format!("copying {}", busybox.display())))?;
    std::os::unix::fs::symlink("busybox", bin.join("true")).map_err(io("linking /bin/true"))?;
    let out = Command::new(binary)
        .arg("spec")
        .current_dir(&bundle)
        .output()
        .map_err(io(format!("running {} spec", binary.display())))?;
    if !out.status.success() {
        return Err(DeriveError::Runtime {
            command: format!("{} spec", binary.display()),
            stderr: one_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    let mut config = read_config(&bundle)?;
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["/bin/true"]);
    config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_LOG",
        "architectures": [Arch::host()],
        "syscalls": [],
    });
    config["linux"]["cgroupsPath"] = json!(format!("/recorder/derive-{}", std::process::id()));
    write_config(&bundle, &config)?;
    Ok(bundle)
}

fn set_no_new_privileges(bundle: &Path, on: bool) -> Result<(), DeriveError> {
    let mut config = read_config(bundle)?;
    config["process"]["noNewPrivileges"] = json!(on);
    write_config(bundle, &config)
}

/// The bundle's config.json, which the runtime's `spec` wrote. Its
/// `process` and `linux` sections must be objects: they are edited in place
/// (indexing any other JSON value to set a key panics).
fn read_config(bundle: &Path) -> Result<Value, DeriveError> {
    let path = bundle.join("config.json");
    let text = fs::read_to_string(&path).map_err(io(format!("reading {}", path.display())))?;
    let config: Value = serde_json::from_str(&text).map_err(|e| DeriveError::Io {
        action: format!("parsing {}", path.display()),
        source: e.into(),
    })?;
    if !(config["process"].is_object() && config["linux"].is_object()) {
        return Err(DeriveError::Io {
            action: format!("reading {}", path.display()),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "no \"process\" and \"linux\" objects: the runtime's `spec` did not write an OCI config",
            ),
        });
    }
    Ok(config)
}

fn write_config(bundle: &Path, config: &Value) -> Result<(), DeriveError> {
    let text = serde_json::to_string_pretty(config).map_err(|e| DeriveError::Io {
        action: "serialising config.json".into(),
        source: e.into(),
    })?;
    fs::write(bundle.join("config.json"), text).map_err(io("writing config.json"))
}

/// Runs one container (create, start, wait, delete) and returns its init's
/// pid, which the audit records carry.
fn run_container(
    binary: &Path,
    state_root: &Path,
    bundle: &Path,
    id: &str,
) -> Result<i32, DeriveError> {
    let runtime = |args: &[&str]| -> Result<Vec<u8>, DeriveError> {
        let command = format!("{} {}", binary.display(), args.join(" "));
        // The init inherits stdio: a pipe would stay open while it lives.
        let err = tempfile::tempfile().map_err(io("creating a temporary file"))?;
        let out = Command::new(binary)
            .arg("--root")
            .arg(state_root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err.try_clone().map_err(io("duplicating a file"))?)
            .output()
            .map_err(io(format!("running {command}")))?;
        if !out.status.success() {
            let mut stderr = String::new();
            let mut err = err;
            let _ = std::io::Seek::rewind(&mut err);
            let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
            return Err(DeriveError::Runtime {
                command,
                stderr: one_line(&stderr),
            });
        }
        Ok(out.stdout)
    };
    let bundle_arg = bundle.display().to_string();
    let created = Command::new(binary)
        .arg("--root")
        .arg(state_root)
        .args(["create", "--bundle", &bundle_arg, id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(io(format!("running {} create", binary.display())))?;
    if !created.success() {
        // Again, to show why.
        runtime(&["run", "--bundle", &bundle_arg, id])?;
    }
    let pid = match runtime(&["state", id]).and_then(|state| init_pid(&state, id)) {
        Ok(pid) => pid,
        Err(e) => {
            // Without the pid there is nothing to run; leave no container behind.
            let _ = runtime(&["delete", "-f", id]);
            return Err(e);
        }
    };
    let started = runtime(&["start", id]);
    let reaped = reap(pid);
    let deleted = runtime(&["delete", "-f", id]);
    started?;
    reaped?;
    deleted?;
    Ok(pid)
}

/// The pid of the container's init in the runtime's `state` output. A
/// missing or non-positive pid is an error: waiting for pid 0 would reap any
/// child of ours.
fn init_pid(state: &[u8], id: &str) -> Result<i32, DeriveError> {
    let invalid = |what: String| DeriveError::Io {
        action: format!("reading the state of container {id}"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what),
    };
    let state: Value = serde_json::from_slice(state).map_err(|e| invalid(e.to_string()))?;
    state["pid"]
        .as_i64()
        .and_then(|pid| i32::try_from(pid).ok())
        .filter(|pid| *pid > 0)
        .ok_or_else(|| {
            invalid(format!(
                "no valid init pid (\"pid\": {}); check that the runtime created it",
                state["pid"]
            ))
        })
}

/// Waits for the container's init to exit. The recorder is its subreaper
/// (see [`derive`]), so it becomes our child when `create` exits.
fn reap(pid: i32) -> Result<(), DeriveError> {
    for _ in 0..1000 {
        match crate::sys::process::waitpid(pid, true) {
            Ok(Some(_)) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => return Ok(()),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(DeriveError::Io {
        action: format!("waiting for the container's init {pid}"),
        source: std::io::ErrorKind::TimedOut.into(),
    })
}

/// Reads records until none has come for a while: the kernel's audit
/// thread delivers them shortly after the syscalls.
fn drain(log: &mut SeccompLog) -> Result<Vec<SeccompRecord>, DeriveError> {
    let mut records = Vec::new();
    loop {
        let ready = crate::sys::fd::poll_readable([log.as_fd()], Duration::from_millis(200));
        if !matches!(ready, Ok(n) if n > 0) {
            return Ok(records);
        }
        log.read_pending(&mut records)
            .map_err(DeriveError::AuditRead)?;
    }
}

/// The syscall numbers the container's init (`pid`) made up to and
/// including its first exec, the workload's, and the host architecture
/// whose table names them. Only the runtime's calls come before that exec:
/// the filter applies to them, and without an exec record in the run the
/// split point is unknown.
fn runtime_syscalls(
    records: &[SeccompRecord],
    pid: i32,
) -> Result<(BTreeSet<u32>, Arch), DeriveError> {
    let host = Arch::host();
    let table = host.table();
    let execs: Vec<u32> = ["execve", "execveat"]
        .iter()
        .filter_map(|n| table.number(n))
        .collect();
    let mine = records
        .iter()
        .filter(|r| r.pid == pid as u32 && r.arch() == Some(host));
    let mut numbers = BTreeSet::new();
    for r in mine {
        numbers.insert(r.syscall);
        if execs.contains(&r.syscall) {
            return Ok((numbers, host));
        }
    }
    Err(DeriveError::NoRecords)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_stderr_is_one_line() {
        assert_eq!(
            one_line("\nlevel=error msg=\"a\"\n  \n  second line  \n"),
            "level=error msg=\"a\"; second line"
        );
        assert_eq!(one_line("  only  \n"), "only");
    }

    #[test]
    fn init_pid_of_state() {
        assert_eq!(init_pid(br#"{"id":"c","pid":4242}"#, "c").unwrap(), 4242);
        for bad in [
            &br#"{"id":"c"}"#[..],
            br#"{"pid":0}"#,
            br#"{"pid":-1}"#,
            br#"{"pid":4294967296}"#,
            br#"{"pid":"12"}"#,
            b"not json",
        ] {
            let e = crate::messages::Chain(&init_pid(bad, "c").unwrap_err()).to_string();
            assert!(e.starts_with("reading the state of container c: "), "{e}");
        }
    }

    #[test]
    fn config_without_sections_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["[]", r#"{"process":[],"linux":{}}"#, r#"{"process":{}}"#] {
            fs::write(dir.path().join("config.json"), bad).unwrap();
            let e = crate::messages::Chain(&read_config(dir.path()).unwrap_err()).to_string();
            assert!(e.contains("did not write an OCI config"), "{bad}: {e}");
        }
        fs::write(
            dir.path().join("config.json"),
            r#"{"process":{},"linux":{}}"#,
        )
        .unwrap();
        read_config(dir.path()).unwrap();
    }

    fn record(pid: u32, syscall: u32) -> SeccompRecord {
        SeccompRecord {
            pid,
            audit_arch: 0xc000_003e,
            syscall,
            code: 0x7ffc_0000,
        }
    }

    #[test]
    fn splits_the_init_at_its_exec() {
        if Arch::host() != Arch::X86_64 {
            return;
        }
        // write, another process's read, execve, then the workload's brk
        // and exit_group.
        let records = [
            record(10, 1),
            record(99, 0),
            record(10, 59),
            record(10, 12),
            record(10, 231),
        ];
        let (numbers, arch) = runtime_syscalls(&records, 10).unwrap();
        assert_eq!(numbers, BTreeSet::from([1, 59]));
        assert_eq!(arch, Arch::X86_64);
    }

    #[test]
    fn no_exec_record_is_an_error() {
        assert!(matches!(
            runtime_syscalls(&[record(10, 1), record(11, 59)], 10),
            Err(DeriveError::NoRecords)
        ));
    }
}
