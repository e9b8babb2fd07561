//! A profile compiled into the seccomp BPF program runc would load for it.
//!
//! Built through libseccomp the way runc builds it: the default action and
//! its errno, the listed architectures on top of the native one, each rule's
//! names resolved by libseccomp (unknown names skipped), rules that repeat the
//! default skipped, argument conditions (a rule that tests one argument twice
//! becomes one rule per condition), per-rule errno. The program is exported
//! before any process is forked, so that loading it in the child takes only
//! two raw syscalls (runc's ENOSYS stub for syscalls newer than the profile
//! is not reproduced).

use std::io::{Read, Seek};
use std::os::fd::{FromRawFd, OwnedFd};

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};

use crate::profile::effective::Verdict;
use crate::profile::syscall_names::{libseccomp_supports, scmp_arch};
use crate::profile::{Action, ArgOp, Profile};

/// Why a profile cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("the installed libseccomp does not support architecture {0}")]
    UnsupportedArch(crate::arch::Arch),
    #[error(
        "SCMP_ACT_NOTIFY needs a seccomp agent, which `recorder run` does not provide; use another action"
    )]
    Notify,
    #[error(
        "unknown seccomp flag {0:?}: use SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW or _WAIT_KILLABLE_RECV"
    )]
    UnknownFlag(String),
    #[error("libseccomp refused the rule for {name} ({verdict}): {message}")]
    Rule {
        name: String,
        verdict: Verdict,
        message: String,
    },
    #[error("libseccomp: {0}")]
    Libseccomp(String),
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

/// An errno beyond 16 bits is cut to its low 16 bits (libseccomp's
/// `SCMP_ACT_ERRNO` keeps only those), as runc loads it.
fn scmp_action(v: Verdict) -> Result<ScmpAction, FilterError> {
    Ok(match v.action {
        Action::KillThread => ScmpAction::KillThread,
        Action::KillProcess => ScmpAction::KillProcess,
        Action::Trap => ScmpAction::Trap,
        Action::Errno => ScmpAction::Errno(v.errno.unwrap_or(1) as u16 as i32),
        Action::Trace => ScmpAction::Trace(v.errno.unwrap_or(1) as u16),
        Action::Notify => return Err(FilterError::Notify),
        Action::Log => ScmpAction::Log,
        Action::Allow => ScmpAction::Allow,
    })
}

fn compare(c: &crate::profile::ArgCondition) -> ScmpArgCompare {
    let (op, datum) = match c.op {
        ArgOp::NotEqual => (ScmpCompareOp::NotEqual, c.value),
        ArgOp::LessThan => (ScmpCompareOp::Less, c.value),
        ArgOp::LessOrEqual => (ScmpCompareOp::LessOrEqual, c.value),
        ArgOp::Equal => (ScmpCompareOp::Equal, c.value),
        ArgOp::GreaterOrEqual => (ScmpCompareOp::GreaterEqual, c.value),
        ArgOp::GreaterThan => (ScmpCompareOp::Greater, c.value),
        // The OCI form: `value` is the mask, `valueTwo` the value.
        ArgOp::MaskedEqual => (ScmpCompareOp::MaskedEqual(c.value), c.value_two),
    };
    ScmpArgCompare::new(c.index, op, datum)
}

fn flag_bits(flags: &[String]) -> Result<libc::c_ulong, FilterError> {
    flags.iter().try_fold(0, |bits, flag| {
        let bit = match flag.as_str() {
            "SECCOMP_FILTER_FLAG_TSYNC" => 1,
            "SECCOMP_FILTER_FLAG_LOG" => 2,
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => 4,
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => 32,
            _ => return Err(FilterError::UnknownFlag(flag.clone())),
        };
        Ok(bits | bit)
    })
}

fn lib_err(e: libseccomp::error::SeccompError) -> FilterError {
    FilterError::Libseccomp(e.to_string())
}

/// Compiles `profile`. `bad_arch_logs`: syscalls of architectures the
/// profile does not list are logged instead of killing the thread (complain
/// mode).
pub fn compile(profile: &Profile, bad_arch_logs: bool) -> Result<CompiledFilter, FilterError> {
    let default = Verdict::new(profile.default_action, profile.default_errno_ret);
    let mut ctx = ScmpFilterContext::new(scmp_action(default)?).map_err(lib_err)?;
    for &arch in &profile.architectures {
        if !libseccomp_supports(arch) {
            return Err(FilterError::UnsupportedArch(arch));
        }
        ctx.add_arch(scmp_arch(arch)).map_err(lib_err)?;
    }
    if bad_arch_logs {
        ctx.set_act_badarch(ScmpAction::Log).map_err(lib_err)?;
    }
    let mut skipped = Vec::new();
    for rule in &profile.syscalls {
        let verdict = Verdict::new(rule.action, rule.errno_ret);
        if verdict == default {
            continue;
        }
        let action = scmp_action(verdict)?;
        let conditions: Vec<ScmpArgCompare> = rule.args.iter().map(compare).collect();
        let repeated = {
            let mut indexes: Vec<u32> = rule.args.iter().map(|a| a.index).collect();
            indexes.sort_unstable();
            indexes.windows(2).any(|w| w[0] == w[1])
        };
        for name in &rule.names {
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                skipped.push(name.clone());
                continue;
            };
            let result = if conditions.is_empty() {
                ctx.add_rule(action, syscall).map(|_| ())
            } else if repeated {
                conditions
                    .iter()
                    .try_for_each(|c| ctx.add_rule_conditional(action, syscall, &[*c]).map(|_| ()))
            } else {
                ctx.add_rule_conditional(action, syscall, &conditions)
                    .map(|_| ())
            };
            result.map_err(|e| FilterError::Rule {
                name: name.clone(),
                verdict,
                message: e.to_string(),
            })?;
        }
    }
    let instructions = export(&ctx)?;
    Ok(CompiledFilter {
        instructions,
        flags: flag_bits(&profile.flags)?,
        skipped,
    })
}

/// The BPF program, through a memfd (libseccomp 2.5 has no in-memory export).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, FilterError> {
    // SAFETY: memfd_create with a static name; the fd is owned below.
    let fd = unsafe { libc::memfd_create(c"recorder-filter".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(FilterError::Export(std::io::Error::last_os_error()));
    }
    // SAFETY: a fresh fd we own.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    ctx.export_bpf(&file).map_err(lib_err)?;
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
        let program = libc::sock_fprog {
            len: self.instructions.len() as libc::c_ushort,
            filter: self.instructions.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: plain prctl and seccomp(2) with a program that outlives the call.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &program as *const libc::sock_fprog,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

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
    use crate::profile::{ArgCondition, SyscallRule};

    #[test]
    fn compiles_rules_and_skips_unknown_names() {
        let mut p = Profile::allow_list(
            [Arch::X86_64, Arch::X86],
            ["read", "mmap2", "no_such_call"].map(String::from),
            38,
        );
        p.syscalls.push(SyscallRule {
            names: vec!["socket".into()],
            action: Action::Allow,
            errno_ret: None,
            args: vec![
                ArgCondition {
                    index: 0,
                    value: 1,
                    value_two: 0,
                    op: ArgOp::Equal,
                },
                ArgCondition {
                    index: 0,
                    value: 2,
                    value_two: 0,
                    op: ArgOp::Equal,
                },
            ],
        });
        let f = compile(&p, false).unwrap();
        assert_eq!(f.skipped, ["no_such_call"]);
        assert!(f.instructions.len() > 10);
    }

    #[test]
    fn complain_logs_denials_only() {
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        p.syscalls.push(SyscallRule {
            names: vec!["mkdir".into()],
            action: Action::KillProcess,
            errno_ret: None,
            args: vec![],
        });
        let c = complain(&p);
        assert_eq!(c.default_action, Action::Log);
        assert_eq!(c.syscalls[0].action, Action::Allow);
        assert_eq!(c.syscalls[1].action, Action::Log);
    }

    #[test]
    fn unknown_flags_and_notify_are_refused() {
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        p.flags.push("SECCOMP_FILTER_FLAG_FOO".into());
        assert!(matches!(
            compile(&p, false),
            Err(FilterError::UnknownFlag(_))
        ));
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        p.default_action = Action::Notify;
        assert!(matches!(compile(&p, false), Err(FilterError::Notify)));
    }
}
