//! A profile compiled into the seccomp BPF program runc would load for it.
//!
//! libseccomp builds it the way runc does ([`crate::profile::loading`]); the
//! program is exported before any process is forked, so that loading it in
//! the child takes only two raw syscalls. The flags are runc's: with no
//! `flags` in the profile, `SECCOMP_FILTER_FLAG_SPEC_ALLOW` (runc's default).
//! runc's ENOSYS stub for syscalls newer than the profile is not reproduced.

use std::io::{Read, Seek};

use crate::profile::effective::Verdict;
use crate::profile::loading::{self, BadArch, LoadError};
use crate::profile::{Action, Profile};
use crate::seccomp::{self, Filter};

/// Why a profile cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(
        "the profile hands {names} to a seccomp agent (SCMP_ACT_NOTIFY), which runc and crun connect at listenerPath; `recorder run` has none: use --complain, or another action"
    )]
    Notify { names: String },
    #[error(
        "unknown seccomp flag {0:?}: runc refuses it too; use SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW or _WAIT_KILLABLE_RECV"
    )]
    UnknownFlag(String),
    #[error(
        "libseccomp refuses the rule {verdict} for {name}: {reason}; runc and crun refuse the profile too"
    )]
    Rule {
        name: String,
        verdict: Verdict,
        reason: String,
    },
    #[error(transparent)]
    Libseccomp(#[from] seccomp::Error),
    #[error("exporting the filter: {0}")]
    Export(#[source] std::io::Error),
}

/// A seccomp BPF program and the flags to load it with.
pub struct CompiledFilter {
    instructions: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
    /// Names libseccomp did not know (runc skips them too).
    pub skipped: Vec<String>,
}

const SPEC_ALLOW: libc::c_ulong = 4;

/// The `seccomp(2)` flags runc passes for the profile's `flags`.
fn flag_bits(flags: Option<&[String]>) -> Result<libc::c_ulong, FilterError> {
    let Some(flags) = flags else {
        return Ok(SPEC_ALLOW);
    };
    flags.iter().try_fold(0, |bits, flag| {
        let bit = match flag.as_str() {
            // runc leaves TSYNC to libseccomp; the command has one thread
            // when the filter is loaded, so it changes nothing.
            "SECCOMP_FILTER_FLAG_TSYNC" => 0,
            "SECCOMP_FILTER_FLAG_LOG" => 2,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => SPEC_ALLOW,
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => 32,
            _ => return Err(FilterError::UnknownFlag(flag.clone())),
        };
        Ok(bits | bit)
    })
}

/// Names that a rule or the default hands to a seccomp agent.
fn notified(profile: &Profile) -> Option<String> {
    if profile.default_action == Action::Notify {
        return Some("every syscall without a rule".into());
    }
    let names: Vec<&str> = profile
        .syscalls
        .iter()
        .filter(|r| r.action == Action::Notify)
        .flat_map(|r| r.names.iter().map(String::as_str))
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// What the profile asks of the runtime that `recorder run`, which loads
/// the filter alone, does not do: said before the command runs.
pub fn unenforced(profile: &Profile) -> Vec<String> {
    let mut notes = Vec::new();
    if notified(profile).is_none()
        && let Some(path) = &profile.listener_path
    {
        notes.push(format!(
            "listenerPath {path:?} names a seccomp agent, but no rule hands it a syscall (SCMP_ACT_NOTIFY): runc ignores it, crun still sends the agent the filter (and listenerMetadata); `recorder run` has no agent and ignores it"
        ));
    }
    let traced = profile.default_action == Action::Trace
        || profile.syscalls.iter().any(|r| r.action == Action::Trace);
    if traced {
        notes.push(
            "SCMP_ACT_TRACE hands calls to a ptrace tracer; with none attached (as under runc, crun, Docker and podman unless one attaches, and here) the kernel fails them with ENOSYS".to_string(),
        );
    }
    notes
}

/// Compiles `profile`. `bad_arch_logs`: syscalls of architectures the
/// profile does not list are logged instead of killing the thread (complain
/// mode).
pub fn compile(profile: &Profile, bad_arch_logs: bool) -> Result<CompiledFilter, FilterError> {
    if let Some(names) = notified(profile) {
        return Err(FilterError::Notify { names });
    }
    let flags = flag_bits(profile.flags.as_deref())?;
    let bad_arch = if bad_arch_logs {
        BadArch::Log
    } else {
        BadArch::Kill
    };
    let loaded = loading::load(profile, bad_arch)?;
    if let Some(r) = loaded.refused.into_iter().next() {
        return Err(FilterError::Rule {
            name: r.name,
            verdict: r.verdict,
            reason: r.reason,
        });
    }
    Ok(CompiledFilter {
        instructions: export(&loaded.filter)?,
        flags,
        skipped: loaded.skipped,
    })
}

/// The BPF program, through a memfd (libseccomp 2.5 has no in-memory export).
fn export(filter: &Filter) -> Result<Vec<libc::sock_filter>, FilterError> {
    let mut file = crate::sys::fs::memfd(c"recorder-filter").map_err(FilterError::Export)?;
    filter.export_bpf(&file)?;
    let mut bytes = Vec::new();
    file.rewind()
        .and_then(|()| file.read_to_end(&mut bytes))
        .map_err(FilterError::Export)?;
    let size = std::mem::size_of::<libc::sock_filter>();
    Ok(bytes
        .chunks_exact(size)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

impl CompiledFilter {
    /// Sets no_new_privs and loads the filter on the calling thread. Makes
    /// only raw syscalls, so it may run between fork and exec.
    pub fn load(&self) -> std::io::Result<()> {
        self.load_with_flags(self.flags)
    }

    /// Sets no_new_privs and loads the filter on every thread of the
    /// process (TSYNC, which sets no_new_privs on each too), with none of
    /// the profile's flags: the recorder's own filter, which keeps the
    /// kernel's speculation mitigations on (no SPEC_ALLOW).
    pub fn load_on_every_thread(&self) -> std::io::Result<()> {
        self.load_with_flags(TSYNC)
    }

    /// prctl(PR_SET_NO_NEW_PRIVS) and seccomp(SECCOMP_SET_MODE_FILTER,
    /// `flags`): raw syscalls only.
    fn load_with_flags(&self, flags: libc::c_ulong) -> std::io::Result<()> {
        crate::sys::caps::set_no_new_privs()?;
        match crate::sys::caps::set_seccomp_filter(&self.instructions, flags)? {
            0 => Ok(()),
            // With TSYNC: the id of a thread that could not take it.
            tid => Err(std::io::Error::other(format!(
                "thread {tid} could not take the filter"
            ))),
        }
    }
}

/// `SECCOMP_FILTER_FLAG_TSYNC`: the filter goes onto every thread of the
/// process at once, or onto none.
const TSYNC: libc::c_ulong = 1;

/// The profile with every denial (of the default or of a rule) turned into
/// `SCMP_ACT_LOG`.
pub fn complain(profile: &Profile) -> Profile {
    let mut p = profile.clone();
    if !p.default_action.lets_run() {
        p.default_action = Action::Log;
        p.default_errno_ret = None;
    }
    for rule in &mut p.syscalls {
        if !rule.action.lets_run() {
            rule.action = Action::Log;
            rule.errno_ret = None;
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::profile::{ArgCondition, ArgOp, SyscallRule};

    #[test]
    fn compiles_rules_and_skips_unknown_names() {
        let mut p = Profile::allow_list(
            [Arch::X86_64, Arch::X86],
            ["read", "mmap2", "no_such_call"].map(String::from),
            38,
        );
        let eq = |value| ArgCondition {
            index: 0,
            value,
            value_two: 0,
            op: ArgOp::Equal,
        };
        p.syscalls.push(SyscallRule {
            args: vec![eq(1), eq(2)],
            ..SyscallRule::new(["socket".into()], Action::Allow)
        });
        let f = compile(&p, false).unwrap();
        assert_eq!(f.skipped, ["no_such_call"]);
        assert!(f.instructions.len() > 10);
        assert_eq!(f.flags, SPEC_ALLOW, "runc's default without flags");
    }

    #[test]
    fn complain_logs_denials_only() {
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        p.syscalls
            .push(SyscallRule::new(["mkdir".into()], Action::KillProcess));
        let c = complain(&p);
        assert_eq!(c.default_action, Action::Log);
        assert_eq!(c.syscalls[0].action, Action::Allow);
        assert_eq!(c.syscalls[1].action, Action::Log);
    }

    #[test]
    fn flags_are_runcs() {
        let with = |flags: &[&str]| {
            let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
            p.flags = Some(flags.iter().map(|f| f.to_string()).collect());
            compile(&p, false).map(|f| f.flags)
        };
        assert_eq!(with(&[]).unwrap(), 0);
        assert_eq!(
            with(&["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"]).unwrap(),
            2
        );
        assert!(matches!(
            with(&["SECCOMP_FILTER_FLAG_FOO"]),
            Err(FilterError::UnknownFlag(_))
        ));
    }

    #[test]
    fn an_agent_without_work_is_said() {
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        assert!(unenforced(&p).is_empty());
        p.listener_path = Some("/run/agent.sock".into());
        assert_eq!(
            unenforced(&p),
            [
                "listenerPath \"/run/agent.sock\" names a seccomp agent, but no rule hands it a syscall (SCMP_ACT_NOTIFY): runc ignores it, crun still sends the agent the filter (and listenerMetadata); `recorder run` has no agent and ignores it"
            ]
        );
        assert!(compile(&p, false).is_ok());
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        p.syscalls
            .push(SyscallRule::new(["mkdir".into()], Action::Trace));
        assert_eq!(
            unenforced(&p),
            [
                "SCMP_ACT_TRACE hands calls to a ptrace tracer; with none attached (as under runc, crun, Docker and podman unless one attaches, and here) the kernel fails them with ENOSYS"
            ]
        );
    }

    #[test]
    fn notify_and_refused_rules_are_errors() {
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        p.syscalls.push(SyscallRule::new(
            ["mkdir".into(), "chmod".into()],
            Action::Notify,
        ));
        let err = compile(&p, false).err().unwrap().to_string();
        assert!(
            err.starts_with("the profile hands mkdir, chmod to a seccomp agent"),
            "{err}"
        );
        let cond = ArgCondition {
            index: 0,
            value: 8,
            value_two: 0,
            op: ArgOp::Equal,
        };
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        for action in [Action::Allow, Action::Log] {
            p.syscalls.push(SyscallRule {
                args: vec![cond.clone()],
                ..SyscallRule::new(["personality".into()], action)
            });
        }
        let err = compile(&p, false).err().unwrap().to_string();
        assert!(
            err.starts_with("libseccomp refuses the rule SCMP_ACT_LOG for personality: its argument conditions collide"),
            "{err}"
        );
    }
}
