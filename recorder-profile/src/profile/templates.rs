//! Starting profiles for the log-based workflow: run a workload under one,
//! collect the kernel's seccomp audit records, and build the real profile
//! from them.
//!
//! - [`Template::Log`]: everything is allowed and logged.
//! - [`Template::AuditHighRisk`]: everything is allowed; the high-risk
//!   syscalls are logged.
//! - [`Template::BlockHighRisk`]: everything is logged; the high-risk
//!   syscalls fail with EPERM.

use super::{Action, Profile, SyscallRule};
use crate::arch::Arch;
use crate::choice::{Choice, by_name};

/// Syscalls that reach into the kernel or other processes in ways a
/// container should not need: loading code into the kernel, tracing other
/// processes, changing namespaces or mounts, the clock, keys, swap, reboot.
pub const HIGH_RISK: [&str; 56] = [
    "_sysctl",
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "init_module",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "personality",
    "pidfd_getfd",
    "pivot_root",
    "process_madvise",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "sysfs",
    "syslog",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
];

/// A starting profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// Allow and log every syscall.
    Log,
    /// Allow every syscall; log the high-risk ones.
    AuditHighRisk,
    /// Log every syscall; deny the high-risk ones with EPERM.
    BlockHighRisk,
}

impl Choice for Template {
    const ALL: &'static [Template] = &[
        Template::Log,
        Template::AuditHighRisk,
        Template::BlockHighRisk,
    ];

    fn name(self) -> &'static str {
        match self {
            Template::Log => "log",
            Template::AuditHighRisk => "audit-high-risk",
            Template::BlockHighRisk => "block-high-risk",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Template::Log => "Allow and log every syscall",
            Template::AuditHighRisk => "Allow every syscall; log the high-risk ones",
            Template::BlockHighRisk => "Log every syscall; deny the high-risk ones with EPERM",
        }
    }
}

by_name!(Template);

impl Template {
    /// The template for a host of `native` architecture.
    pub fn profile(self, native: Arch) -> Profile {
        let high_risk = || HIGH_RISK.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (default_action, syscalls) = match self {
            Template::Log => (Action::Log, Vec::new()),
            Template::AuditHighRisk => (
                Action::Allow,
                vec![SyscallRule::new(high_risk(), Action::Log)],
            ),
            Template::BlockHighRisk => (
                Action::Log,
                vec![SyscallRule {
                    errno_ret: Some(libc::EPERM as u32),
                    ..SyscallRule::new(high_risk(), Action::Errno)
                }],
            ),
        };
        Profile {
            default_action,
            default_errno_ret: None,
            architectures: native.docker_arches(),
            flags: None,
            listener_path: None,
            listener_metadata: None,
            syscalls,
            unknown_fields: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::syscall_names;

    #[test]
    fn high_risk_names_are_known_and_sorted() {
        for name in HIGH_RISK {
            assert!(syscall_names::is_known(name), "{name}");
        }
        assert!(HIGH_RISK.is_sorted());
    }

    #[test]
    fn templates() {
        let p = Template::BlockHighRisk.profile(Arch::X86_64);
        assert_eq!(p.default_action, Action::Log);
        assert_eq!(p.architectures, [Arch::X86_64, Arch::X86, Arch::X32]);
        assert_eq!(p.syscalls[0].errno_ret, Some(1));
        assert!(Template::Log.profile(Arch::Aarch64).syscalls.is_empty());
    }
}
