//! Where the kernel side finds a task's mount namespace, for the half of
//! its container boundary that covers containers in the host's pid
//! namespace (see [`recorder_common::Slot::runtime_mnt_ns`]).
//!
//! A container that shares the host's pid namespace (Kubernetes `hostPID`,
//! `docker run --pid=host`) still has a mount namespace of its own, which
//! its runtime makes before it sets the container up: so "in a mount
//! namespace other than the runtime's" tells the workload from the runtime
//! where the pid namespace cannot. No helper reads a task's mount
//! namespace; the kernel side follows `task->nsproxy->mnt_ns->ns.inum` at
//! offsets read here from the running kernel's BTF, for a task and for its
//! parent (`task->real_parent`).

use crate::arch::btf::Btf;

/// Offsets of `task_struct.real_parent`, `task_struct.nsproxy`,
/// `nsproxy.mnt_ns` and `mnt_namespace.ns.inum`, and of `task_struct.tgid`
/// (for the parent's in a new cgroup's event, on the same way up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountNsFields {
    pub real_parent_offset: u64,
    pub nsproxy_offset: u64,
    pub mnt_ns_offset: u64,
    pub inum_offset: u64,
    pub tgid_offset: u64,
}

impl MountNsFields {
    /// The fields of this kernel, or `None` when its BTF lacks one (then
    /// containers in the host's pid namespace are not recorded from their
    /// start, which `recorder trace` says when it meets one, so this only
    /// logs at debug level, sparing every other command the noise).
    pub fn of_kernel(kernel: Option<&Btf>) -> Option<MountNsFields> {
        let fields = kernel.and_then(|btf| Self::find(|t, p| btf.member_offset(t, p)));
        if fields.is_none() {
            log::debug!(
                "the kernel's BTF does not describe task_struct.nsproxy->mnt_ns->ns.inum: containers that share the host's pid namespace cannot be recorded from their start"
            );
        }
        fields
    }

    fn find(offset_of: impl Fn(&str, &str) -> Option<u64>) -> Option<MountNsFields> {
        Some(MountNsFields {
            real_parent_offset: offset_of("task_struct", "real_parent")?,
            nsproxy_offset: offset_of("task_struct", "nsproxy")?,
            mnt_ns_offset: offset_of("nsproxy", "mnt_ns")?,
            inum_offset: offset_of("mnt_namespace", "ns.inum")?,
            tgid_offset: offset_of("task_struct", "tgid")?,
        })
    }
}

/// Offsets of `task_struct.mm` and `mm_struct.arg_start`, `.arg_end`,
/// `.env_start` and `.env_end`: where a new cgroup's first task keeps its
/// command line and environment, copied into its announcement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArgsFields {
    pub mm_offset: u64,
    pub arg_start_offset: u64,
    pub arg_end_offset: u64,
    pub env_start_offset: u64,
    pub env_end_offset: u64,
}

impl ArgsFields {
    /// The fields of this kernel, or `None` when its BTF lacks one (then
    /// announcements carry no command line: a container whose processes
    /// are all gone before it is told is not told).
    pub fn of_kernel(kernel: Option<&Btf>) -> Option<ArgsFields> {
        let btf = kernel?;
        Some(ArgsFields {
            mm_offset: btf.member_offset("task_struct", "mm")?,
            arg_start_offset: btf.member_offset("mm_struct", "arg_start")?,
            arg_end_offset: btf.member_offset("mm_struct", "arg_end")?,
            env_start_offset: btf.member_offset("mm_struct", "env_start")?,
            env_end_offset: btf.member_offset("mm_struct", "env_end")?,
        })
    }
}

/// Where the hot path finds, through the current task's BTF pointer, what
/// helpers would otherwise fetch at the cost of calls: the cgroup id
/// (`task->cgroups->dfl_cgrp->kn->id`) and the pid namespace's level
/// (`task->thread_pid->level`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HotPathFields {
    pub cgroup_id: Option<[u64; 4]>,
    pub pid_level: Option<[u64; 2]>,
    /// `recorder_common::global::NATIVE_ENTRY`, on x86_64.
    pub native_entry: Option<[u64; 6]>,
}

/// x86_64's `__USER_CS`: the selector of the 64-bit user code segment
/// (GDT entry 6, privilege level 3), part of the kernel's ABI.
const X86_64_USER_CS: u64 = 6 * 8 + 3;

impl HotPathFields {
    pub fn of_kernel(kernel: Option<&Btf>) -> HotPathFields {
        let Some(btf) = kernel else {
            return HotPathFields::default();
        };
        let cgroup_id = (|| {
            Some([
                btf.member_offset("task_struct", "cgroups")?,
                btf.member_offset("css_set", "dfl_cgrp")?,
                btf.member_offset("cgroup", "kn")?,
                btf.member_offset("kernfs_node", "id")?,
            ])
        })();
        let pid_level = (|| {
            Some([
                btf.member_offset("task_struct", "thread_pid")?,
                btf.member_offset("pid", "level")?,
            ])
        })();
        let native_entry = (crate::arch::Arch::host() == crate::arch::Arch::X86_64)
            .then(|| {
                Some([
                    btf.member_offset("pt_regs", "cs")?,
                    X86_64_USER_CS,
                    btf.member_offset("pt_regs", "cx")?,
                    btf.member_offset("pt_regs", "ip")?,
                    btf.member_offset("pt_regs", "r11")?,
                    btf.member_offset("pt_regs", "flags")?,
                ])
            })
            .flatten();
        HotPathFields {
            cgroup_id,
            pid_level,
            native_entry,
        }
    }
}

/// The level of the recorder's own pid namespace (0 for the initial one):
/// the number of pids in /proc/self/status's `NSpid:` line, less one.
pub fn own_pid_level() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
            Some(line.split_whitespace().count().saturating_sub(1) as u64)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_every_field() {
        let all = |ty: &str, path: &str| match (ty, path) {
            ("task_struct", "real_parent") => Some(1528),
            ("task_struct", "nsproxy") => Some(1840),
            ("nsproxy", "mnt_ns") => Some(24),
            ("mnt_namespace", "ns.inum") => Some(24),
            ("task_struct", "tgid") => Some(1512),
            _ => None,
        };
        assert_eq!(
            MountNsFields::find(all),
            Some(MountNsFields {
                real_parent_offset: 1528,
                nsproxy_offset: 1840,
                mnt_ns_offset: 24,
                inum_offset: 24,
                tgid_offset: 1512,
            })
        );
        let no_mnt_ns = |ty: &str, path: &str| (ty, path) != ("nsproxy", "mnt_ns");
        assert_eq!(
            MountNsFields::find(|t, p| no_mnt_ns(t, p).then(|| all(t, p)).flatten()),
            None
        );
    }

    /// The kernels the tests run on describe all the fields.
    #[test]
    fn the_running_kernel_has_the_fields() {
        let btf = Btf::kernel().expect("kernel BTF (CONFIG_DEBUG_INFO_BTF)");
        assert!(MountNsFields::of_kernel(Some(&btf)).is_some());
        let args = ArgsFields::of_kernel(Some(&btf)).expect("mm_struct's argument fields");
        assert_eq!(args.arg_end_offset, args.arg_start_offset + 8);
        let hot = HotPathFields::of_kernel(Some(&btf));
        assert!(
            hot.cgroup_id.is_some() && hot.pid_level.is_some(),
            "{hot:?}"
        );
        assert_eq!(own_pid_level(), 0);
    }
}
