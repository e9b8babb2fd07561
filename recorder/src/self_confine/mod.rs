//! The recorder lowering itself once set up: the long-running commands
//! (`record`, `trace`, `logs --source`, `run`, `daemon`) need root's
//! privileges to load and attach the eBPF program, create cgroups and join
//! the kernel's audit and process-event groups, and almost none afterwards.
//!
//! Each command [`prepare`]s early (before it changes anything, so that a
//! problem stops it with one line) and [`Plan::apply`]s at one place, right
//! after its setup: its program attached, its sockets open, its workload
//! started (`record` and `run` apply after the workload runs, which
//! therefore never inherits any of this). Applying
//!
//! 1. lowers the capabilities to the few the command still uses
//!    ([`Role::capabilities`]; CAP_DAC_OVERRIDE besides while a file it
//!    writes lies where root does not own the directory), dropping the
//!    others from the bounding set too;
//! 2. sets no_new_privs;
//! 3. loads the command's own seccomp filter on every thread
//!    (`SECCOMP_FILTER_FLAG_TSYNC`): a profile of the recorder recorded by
//!    the recorder (`profiles/self/<command>.json`, built in), which fails
//!    every other syscall with ENOSYS.
//!
//! Capabilities belong to threads, and TSYNC covers filters only, so the
//! process must have one thread when it applies: each command starts its
//! threads (signal forwarding, event readers, the daemon's new-cgroup
//! reader) after applying, and they inherit the lowered state. Applying
//! with other threads running is refused (a bug: see [`SelfConfineError`]).
//!
//! `--no-self-confine` switches all of this off. The hidden
//! `--self-profile-cgroup DIR` is how `profiles/self/` is made: instead of
//! loading its filter the recorder moves into cgroup DIR where it would
//! load it, so that a `recorder trace --cgroup DIR` records everything it
//! does from then on (tests/self_profiles.rs).

mod capabilities;

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use capabilities::{Capability, CapabilitySet};

use crate::arch::Arch;
use crate::confine::filter::{CompiledFilter, FilterError, compile};
use crate::profile::Profile;

/// What a command does about its own privileges once set up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Confinement {
    /// Lower the capabilities and load the command's own filter.
    #[default]
    On,
    /// Keep everything (`--no-self-confine`, for debugging).
    Off,
    /// Lower the capabilities, load no filter, and move into the cgroup at
    /// this directory (`--self-profile-cgroup`), to record the profile.
    RecordInto(PathBuf),
}

/// The long-running commands, each with its own profile and capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Record,
    /// `trace` with a program of its own.
    Trace,
    /// `trace` asking a `recorder daemon` for a container's recording.
    TraceThroughDaemon,
    /// `logs --source`.
    Logs,
    /// `run`, plain and `--complain`.
    Run,
    Daemon,
}

impl Role {
    /// Every role, for tests and docs.
    pub const ALL: [Role; 6] = [
        Role::Record,
        Role::Trace,
        Role::TraceThroughDaemon,
        Role::Logs,
        Role::Run,
        Role::Daemon,
    ];

    /// The command's name, which names its profile in `profiles/self/`.
    pub fn command(self) -> &'static str {
        match self {
            Role::Record => "record",
            Role::Trace | Role::TraceThroughDaemon => "trace",
            Role::Logs => "logs",
            Role::Run => "run",
            Role::Daemon => "daemon",
        }
    }

    /// The shipped profile (`profiles/self/<command>.json`).
    pub fn profile_text(self) -> &'static str {
        match self {
            Role::Record => include_str!("../../../profiles/self/record.json"),
            Role::Trace | Role::TraceThroughDaemon => {
                include_str!("../../../profiles/self/trace.json")
            }
            Role::Logs => include_str!("../../../profiles/self/logs.json"),
            Role::Run => include_str!("../../../profiles/self/run.json"),
            Role::Daemon => include_str!("../../../profiles/self/daemon.json"),
        }
    }

    /// The capabilities the command uses after its setup, on kernels from
    /// 6.5 on (where maps are read and written through a held fd without
    /// one; see [`Role::uses_maps`]):
    ///
    /// - `record` and `run`: CAP_KILL, to pass signals on to a workload
    ///   that changed its user (a server dropping to `www-data`);
    /// - `trace` and the daemon: CAP_SYS_PTRACE, to read a runtime's
    ///   working directory, environment and namespaces in /proc (the kernel
    ///   asks it of a reader with fewer capabilities than the process read),
    ///   and CAP_DAC_READ_SEARCH, to find a cgroup by its id
    ///   (`open_by_handle_at`);
    /// - `trace` through the daemon and `logs --source`: none.
    pub fn capabilities(self) -> CapabilitySet {
        CapabilitySet::of(match self {
            Role::Record | Role::Run => &[Capability::KILL],
            Role::Trace | Role::Daemon => &[Capability::SYS_PTRACE, Capability::DAC_READ_SEARCH],
            Role::TraceThroughDaemon | Role::Logs => &[],
        })
    }

    /// Whether the command reads and writes eBPF maps after its setup.
    fn uses_maps(self) -> bool {
        matches!(self, Role::Record | Role::Trace | Role::Daemon)
    }
}

/// Why the recorder cannot lower itself.
#[derive(Debug, thiserror::Error)]
pub enum SelfConfineError {
    #[error("profiles/self/{command}.json, built in, does not parse")]
    Profile {
        command: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("its own profile profiles/self/{command}.json does not compile")]
    Filter {
        command: &'static str,
        #[source]
        source: FilterError,
    },
    #[error("this kernel has no seccomp filters (CONFIG_SECCOMP_FILTER)")]
    NoSeccomp,
    #[error(
        "{0} threads run already: capabilities can only be lowered on the calling thread, so the recorder lowers itself before it starts any (a bug: please report it)"
    )]
    Threads(usize),
    #[error("lowering its capabilities")]
    Capabilities(#[source] io::Error),
    #[error("setting no_new_privs")]
    NoNewPrivs(#[source] io::Error),
    #[error("loading its own seccomp filter")]
    Load(#[source] io::Error),
    #[error("moving into cgroup {path}")]
    Move {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What a command will do when it applies; made by [`prepare`].
pub struct Plan {
    role: Role,
    confinement: Confinement,
    filter: Option<CompiledFilter>,
}

/// Compiles `role`'s own filter (with `Confinement::On`) and checks that
/// this kernel can load it, before the command changes anything.
pub fn prepare(role: Role, confinement: &Confinement) -> Result<Plan, SelfConfineError> {
    let filter = match confinement {
        Confinement::On => own_filter(role)?,
        Confinement::Off | Confinement::RecordInto(_) => None,
    };
    Ok(Plan {
        role,
        confinement: confinement.clone(),
        filter,
    })
}

/// The compiled profile of `role`, or `None` on an architecture the
/// shipped profiles were not recorded on (their names are another ABI's).
fn own_filter(role: Role) -> Result<Option<CompiledFilter>, SelfConfineError> {
    let command = role.command();
    let profile: Profile = serde_json::from_str(role.profile_text())
        .map_err(|source| SelfConfineError::Profile { command, source })?;
    let host = Arch::host();
    if !profile.architectures.contains(&host) {
        log::info!(
            "no profile of its own for {host} (profiles/self/ were recorded on {}): not loading one",
            profile
                .architectures
                .iter()
                .map(|a| a.short_name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(None);
    }
    // EINVAL means the kernel has no seccomp.
    if crate::sys::caps::seccomp_mode().is_err() {
        return Err(SelfConfineError::NoSeccomp);
    }
    compile(&profile, false)
        .map(Some)
        .map_err(|source| SelfConfineError::Filter { command, source })
}

/// A file the command writes after it applies: the directory a new file
/// goes into (an atomic write's), or a file written in place (a FIFO, a
/// device).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    InDirectory(PathBuf),
    File(PathBuf),
}

impl Plan {
    /// Lowers the process as [`Plan`] says; `writes` are where it writes
    /// from then on. A failure is said on stderr, and the command goes on
    /// unconfined rather than leaving a started workload or recording
    /// behind.
    pub fn apply(self, writes: &[Write]) {
        if self.confinement == Confinement::Off {
            return;
        }
        if let Err(e) = self.try_apply(writes) {
            log::warn!(
                "cannot confine itself ({}): running on with the privileges it has (--no-self-confine silences this)",
                crate::messages::Chain(&e)
            );
        }
    }

    fn try_apply(&self, writes: &[Write]) -> Result<(), SelfConfineError> {
        let threads = wait_for_one_thread();
        if threads > 1 {
            return Err(SelfConfineError::Threads(threads));
        }
        if let Confinement::RecordInto(dir) = &self.confinement {
            let procs = dir.join("cgroup.procs");
            std::fs::write(&procs, std::process::id().to_string()).map_err(|source| {
                SelfConfineError::Move {
                    path: dir.clone(),
                    source,
                }
            })?;
        }
        let keep = kept_capabilities(self.role, writes, KernelVersion::running());
        let kept = capabilities::lower(keep).map_err(SelfConfineError::Capabilities)?;
        crate::sys::caps::set_no_new_privs().map_err(SelfConfineError::NoNewPrivs)?;
        if let Some(filter) = &self.filter {
            filter
                .load_on_every_thread()
                .map_err(SelfConfineError::Load)?;
        }
        log::debug!(
            "confined itself: capabilities {kept}, no_new_privs, {}",
            if self.filter.is_some() {
                format!("profiles/self/{}.json", self.role.command())
            } else {
                "no filter of its own".to_string()
            }
        );
        Ok(())
    }
}

/// The process's thread count, once threads that were just joined are
/// gone (the kernel reaps an exited thread a moment after `join` returns).
fn wait_for_one_thread() -> usize {
    let started = Instant::now();
    loop {
        let threads = std::fs::read_dir("/proc/self/task").map_or(1, |d| d.count());
        if threads <= 1 || started.elapsed() > Duration::from_millis(200) {
            return threads;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What `role` keeps on a kernel `kernel`, writing `writes`.
pub fn kept_capabilities(role: Role, writes: &[Write], kernel: KernelVersion) -> CapabilitySet {
    let mut keep = role.capabilities();
    if role.uses_maps() && kernel < KernelVersion(6, 5) {
        // Before 6.5 every bpf(2) call asks for CAP_BPF (CAP_SYS_ADMIN
        // before 5.8) while unprivileged BPF is off, as it is by default.
        keep.insert(if kernel < KernelVersion(5, 8) {
            Capability::SYS_ADMIN
        } else {
            Capability::BPF
        });
    }
    if writes.iter().any(|w| !root_may_write(w)) {
        keep.insert(Capability::DAC_OVERRIDE);
    }
    keep
}

/// Whether root without CAP_DAC_OVERRIDE may write there: the directory
/// (the nearest one that exists, for a directory made later) or the file
/// is root's and writable by its owner, root's group's and writable by its
/// group, or writable by anyone (`/tmp`).
fn root_may_write(write: &Write) -> bool {
    use std::os::unix::fs::MetadataExt;
    let path = match write {
        Write::File(path) => path.to_path_buf(),
        Write::InDirectory(dir) => {
            let mut dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            while !dir.exists() {
                match dir.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => dir = parent,
                    _ => {
                        dir = Path::new(".");
                        break;
                    }
                }
            }
            dir.to_path_buf()
        }
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return false;
    };
    let mode = meta.mode();
    (meta.uid() == 0 && mode & 0o200 != 0)
        || (meta.gid() == 0 && mode & 0o020 != 0)
        || mode & 0o002 != 0
}

/// A kernel's major and minor version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion(pub u32, pub u32);

impl KernelVersion {
    /// The running kernel's (`6.18.44-...` -> 6.18); 0.0 when unreadable,
    /// which keeps the capabilities older kernels need.
    pub fn running() -> KernelVersion {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .and_then(|text| KernelVersion::parse(&text))
            .unwrap_or(KernelVersion(0, 0))
    }

    fn parse(release: &str) -> Option<KernelVersion> {
        let mut parts = release.trim().split(['.', '-']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(KernelVersion(major, minor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_parses_and_compiles() {
        for role in Role::ALL {
            let profile: Profile = serde_json::from_str(role.profile_text())
                .unwrap_or_else(|e| panic!("{}: {}", role.command(), crate::messages::Chain(&e)));
            assert_eq!(profile.default_errno_ret, Some(38), "{}", role.command());
            assert!(
                !profile.allowed_names().contains("execve"),
                "{} may not exec",
                role.command()
            );
            let filter = own_filter(role).unwrap();
            assert_eq!(filter.is_some(), Arch::host() == Arch::X86_64);
            assert!(filter.is_none_or(|f| f.skipped.is_empty()));
        }
    }

    #[test]
    fn capabilities_per_command_and_kernel() {
        let new = KernelVersion(6, 18);
        let caps = |role, kernel| kept_capabilities(role, &[], kernel).to_string();
        assert_eq!(caps(Role::Record, new), "CAP_KILL");
        assert_eq!(caps(Role::Run, new), "CAP_KILL");
        assert_eq!(
            caps(Role::Trace, new),
            "CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE"
        );
        assert_eq!(
            caps(Role::Daemon, new),
            "CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE"
        );
        assert_eq!(caps(Role::Logs, new), "none");
        assert_eq!(caps(Role::TraceThroughDaemon, new), "none");
        assert_eq!(caps(Role::Record, KernelVersion(6, 1)), "CAP_KILL, CAP_BPF");
        assert_eq!(
            caps(Role::Record, KernelVersion(5, 4)),
            "CAP_KILL, CAP_SYS_ADMIN"
        );
        assert_eq!(caps(Role::Logs, KernelVersion(5, 4)), "none");
    }

    /// The README's Security table says what the code keeps.
    #[test]
    fn the_readme_documents_what_each_command_keeps() {
        let readme = include_str!("../../../README.md");
        for (row, role) in [
            ("`record`", Role::Record),
            ("`trace`", Role::Trace),
            ("`trace` through a daemon", Role::TraceThroughDaemon),
            ("`logs --source`", Role::Logs),
            ("`run`", Role::Run),
            ("`daemon`", Role::Daemon),
        ] {
            let line = readme
                .lines()
                .find(|l| l.starts_with(&format!("| {row} |")))
                .unwrap_or_else(|| panic!("no README row for {row}"));
            let documented = line.split('|').nth(2).unwrap().trim().replace('`', "");
            assert_eq!(documented, role.capabilities().to_string(), "{row}");
        }
    }

    #[test]
    fn dac_override_only_where_root_does_not_own_the_directory() {
        use std::os::unix::fs::PermissionsExt;
        let new = KernelVersion(6, 18);
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path();
        let theirs = own.join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o755)).unwrap();
        let chowned = std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).is_ok();
        let logs = |write: Write| kept_capabilities(Role::Logs, &[write], new).to_string();
        assert_eq!(logs(Write::InDirectory(own.to_path_buf())), "none");
        assert_eq!(
            logs(Write::InDirectory(own.join("later/deeper"))),
            "none",
            "a directory made later: its nearest existing ancestor counts"
        );
        assert_eq!(logs(Write::InDirectory("/tmp".into())), "none");
        if chowned {
            assert_eq!(logs(Write::InDirectory(theirs.clone())), "CAP_DAC_OVERRIDE");
            assert_eq!(logs(Write::File(theirs)), "CAP_DAC_OVERRIDE");
        }
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(
            KernelVersion::parse("6.18.44-fc-v669\n"),
            Some(KernelVersion(6, 18))
        );
        assert_eq!(KernelVersion::parse("5.4"), Some(KernelVersion(5, 4)));
        assert_eq!(KernelVersion::parse("garbage"), None);
        assert!(KernelVersion(6, 4) < KernelVersion(6, 5));
    }
}
