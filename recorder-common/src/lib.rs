//! Layout shared by the kernel-side program (`recorder-ebpf`) and the userspace
//! loader (`recorder::bpf`).
//!
//! The kernel side keeps one [`Slot`] per recorded cgroup tree: a bitmap of the
//! syscall numbers seen, one row per syscall ABI, so that nothing per syscall
//! ever crosses to userspace. Userspace hands out slot indices, writes the
//! root cgroup id of each recording into [`map::ROOTS`], and reads the bitmaps
//! back when the recording ends.
#![cfg_attr(not(test), no_std)]

/// Syscall numbers per ABI row. The highest number of any Linux ABI in 6.18 is
/// about 470 (x32's private calls are 512..547 after the x32 bit is removed,
/// MIPS numbers are stored without their ABI's base, see [`Numbering`]);
/// 1024 leaves room for a decade of new syscalls. Larger numbers are counted in
/// [`Slot::out_of_range`] instead of being dropped silently.
pub const SYSCALLS_PER_ABI: u32 = 1024;

/// One bitmap row per syscall ABI of the host, so that e.g. ia32 syscall 5
/// (`open`) is never confused with x86_64 syscall 5 (`fstat`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiRow {
    /// The host's own ABI (x86_64, aarch64, ...).
    Native = 0,
    /// The 32-bit compat ABI (ia32 on x86_64, arm on aarch64).
    Compat = 1,
    /// A third ABI: x32 on x86_64 (numbers with bit 0x40000000, stored
    /// without that bit), n32 on mips64.
    Third = 2,
}

impl AbiRow {
    /// Every row, in the order of [`Slot::seen`].
    pub const ALL: [AbiRow; ABI_ROWS] = [AbiRow::Native, AbiRow::Compat, AbiRow::Third];
}

/// MIPS numbers each ABI's syscalls from its own base (`__NR_Linux`: o32
/// 4000, n64 5000, n32 6000), so one ABI spans at most this many numbers.
pub const MIPS_ABI_SPAN: u64 = 1000;

/// How the host numbers its syscalls: what the kernel side needs to find a
/// syscall's place in a [`Slot`]'s bitmap, built from the load-time
/// constants in [`global`] (all 0 on a host that needs none of them). Kept
/// here, apart from the kernel side, so that userspace tests can check it
/// against every architecture's table and the inverse that reads the
/// bitmap back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Numbering {
    /// [`global::X32_BIT`].
    pub x32_bit: u64,
    /// [`global::ARM_PRIVATE_BASE`].
    pub arm_private_base: u64,
    /// [`global::MIPS_BASE_NATIVE`], [`global::MIPS_BASE_COMPAT`] and
    /// [`global::MIPS_BASE_THIRD`], indexed by [`AbiRow`]. When the native
    /// base is set, a syscall's number alone tells its ABI.
    pub mips_bases: [u64; ABI_ROWS],
}

impl Numbering {
    /// The index in [`Slot::seen`] of syscall `nr`, made by a task whose
    /// compat flag is `compat`, or `None` when it has no place there (a
    /// negative or unknown number, counted in [`Slot::out_of_range`]).
    #[inline(always)]
    pub fn seen_index(&self, nr: u64, compat: bool) -> Option<usize> {
        let (row, nr) = if self.mips_bases[AbiRow::Native as usize] != 0 {
            self.mips_place(nr)?
        } else if compat {
            (AbiRow::Compat, nr)
        } else if self.x32_bit != 0 && nr & self.x32_bit != 0 {
            (AbiRow::Third, nr & !self.x32_bit)
        } else {
            (AbiRow::Native, nr)
        };
        let base = self.arm_private_base;
        let nr = if base != 0 && nr >= base && nr < base + ARM_PRIVATE_COUNT as u64 {
            nr - base + ARM_PRIVATE_SLOT as u64
        } else {
            nr
        };
        if nr >= SYSCALLS_PER_ABI as u64 {
            return None;
        }
        Some(row as usize * SYSCALLS_PER_ABI as usize + nr as usize)
    }

    /// The number the kernel reported for a syscall [`Numbering::seen_index`]
    /// stored in `row` as `stored`: its inverse.
    pub fn reported(&self, row: AbiRow, stored: u64) -> u64 {
        let base = self.arm_private_base;
        let nr =
            if base != 0 && (ARM_PRIVATE_SLOT as u64..SYSCALLS_PER_ABI as u64).contains(&stored) {
                base + stored - ARM_PRIVATE_SLOT as u64
            } else {
                stored
            };
        if self.mips_bases[AbiRow::Native as usize] != 0 {
            return nr + self.mips_bases[row as usize];
        }
        match row {
            AbiRow::Third => nr | self.x32_bit,
            _ => nr,
        }
    }

    /// The MIPS ABI whose range holds `nr`, and `nr` within it.
    #[inline(always)]
    fn mips_place(&self, nr: u64) -> Option<(AbiRow, u64)> {
        for row in AbiRow::ALL {
            let base = self.mips_bases[row as usize];
            if base != 0 && nr >= base && nr < base + MIPS_ABI_SPAN {
                return Some((row, nr - base));
            }
        }
        None
    }
}

/// The ARM private syscalls (`__ARM_NR_BASE` + 1 ..= + 6: breakpoint,
/// cacheflush, usr26, usr32, set_tls, get_tls) have numbers far beyond the
/// bitmap. When [`global::ARM_PRIVATE_BASE`] is set, syscall
/// `ARM_PRIVATE_BASE + k` (k < [`ARM_PRIVATE_COUNT`]) is stored as
/// `ARM_PRIVATE_SLOT + k` instead, at the top of the row, which no arm syscall
/// number comes near (the highest is about 470).
pub const ARM_PRIVATE_SLOT: u32 = SYSCALLS_PER_ABI - ARM_PRIVATE_COUNT;
/// Number of ARM private syscall numbers kept (0x0f0000..0x0f000f).
pub const ARM_PRIVATE_COUNT: u32 = 16;

/// Number of ABI rows in a [`Slot`].
pub const ABI_ROWS: usize = 3;
/// Length of [`Slot::seen`].
pub const SEEN_LEN: usize = ABI_ROWS * SYSCALLS_PER_ABI as usize;

/// Number of [`Slot`]s a program is loaded with unless the loader sets
/// another (`EbpfLoader::set_max_entries` on [`map::SLOTS`] and
/// [`map::FREE_SLOTS`]): what one-shot recordings need. The daemon loads
/// as many as it records at once plus those it triages new cgroups in.
pub const DEFAULT_SLOTS: u32 = 256;

/// Entries of [`map::ROOTS`]: recording roots plus the cgroups marked
/// [`ROOT_IGNORED`]. The map allocates entries as they are used
/// (`BPF_F_NO_PREALLOC`), so the bound costs nothing until reached.
pub const MAX_ROOTS: u32 = 65536;

/// A [`map::ROOTS`] value that is no slot: the cgroup is not recorded and
/// never starts a recording of its own (see [`control::NEW_CGROUP_FLAGS`]):
/// userspace found it is not a container, or it has no slot for it, or the
/// kernel side found no free slot when it appeared. Its ancestors' and
/// descendants' recordings are unaffected.
pub const ROOT_IGNORED: u32 = u32::MAX;

/// Bytes of the first task's command line kept in a [`NewCgroupEvent`]:
/// its end, where runtimes put the container's id.
pub const EVENT_ARGV_BYTES: usize = 512;
/// Bytes of the first task's environment kept: its start, where runc's
/// init has `_LIBCONTAINER_STATEDIR=<root>/<id>`.
pub const EVENT_ENV_BYTES: usize = 256;

/// One record of [`map::NEW_CGROUPS`]: the kernel side started a recording
/// for a new cgroup at its first syscall, or found no free slot for it. One
/// per new cgroup, never one per syscall.
///
/// It carries what tells a container when every process that could be asked
/// is gone by the time userspace reads it (a container that exits at once
/// under load): the first task's name, the end of its command line (crun's
/// container process is a fork of crun, with crun's arguments) and the start
/// of its environment (runc's init names its state directory there).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewCgroupEvent {
    pub cgroup_id: u64,
    /// The slot the recording took, or [`ROOT_IGNORED`] when none was free
    /// (the cgroup is then marked so and stays unrecorded).
    pub slot: u32,
    /// The process (thread group) whose syscall it was: the cgroup's first.
    pub tgid: u32,
    /// Its parent's: the runtime that started it (0 when unknown).
    pub parent_tgid: u32,
    /// Bytes of [`Self::argv`] read: the whole command line when less than
    /// [`EVENT_ARGV_BYTES`], else its end.
    pub argv_len: u32,
    /// Bytes of [`Self::env`] read.
    pub env_len: u32,
    /// The first task's `comm`.
    pub comm: [u8; 16],
    pub argv: [u8; EVENT_ARGV_BYTES],
    pub env: [u8; EVENT_ENV_BYTES],
    pub _pad: u32,
}

impl NewCgroupEvent {
    /// An event with nothing read.
    pub const EMPTY: NewCgroupEvent = NewCgroupEvent {
        cgroup_id: 0,
        slot: 0,
        tgid: 0,
        parent_tgid: 0,
        argv_len: 0,
        env_len: 0,
        comm: [0; 16],
        argv: [0; EVENT_ARGV_BYTES],
        env: [0; EVENT_ENV_BYTES],
        _pad: 0,
    };
}

/// Size of [`map::NEW_CGROUPS`]: 1 MiB holds about 1,200 events, far more
/// cgroups than appear between two reads; a full buffer is counted in
/// [`control::EVENTS_LOST`], after which userspace reads [`map::ROOTS`].
pub const NEW_CGROUPS_BYTES: u32 = 1024 * 1024;

/// [`Slot::flags`]: the slot records (set by userspace, or by the kernel side
/// when the first exec of an armed slot is seen).
pub const SLOT_ACTIVE: u64 = 1 << 0;
/// [`Slot::flags`]: the slot becomes active at the first `execve`/`execveat`
/// of a process in it. `recorder record` uses this so that what the child does
/// between joining the cgroup and exec (the recorder's own work) is not
/// recorded, while the exec itself is.
pub const SLOT_ARM_ON_EXEC: u64 = 1 << 1;
/// [`Slot::flags`]: only a container's tasks count, and with
/// [`SLOT_ARM_ON_EXEC`] only an exec made by one arms the slot. A container's
/// task is one outside the host's pid namespace, or, when
/// [`Slot::runtime_mnt_ns`] is set, one in a mount namespace other than the
/// runtime's.
///
/// This is the runtime boundary of `recorder trace`: an OCI runtime prepares a
/// container (mounts, pivot_root, sethostname, keyctl, ...) in a process that
/// enters the container's cgroup early, and execs the workload as its last
/// step. Its setup before the first exec inside the container's namespaces
/// is not the workload's, and neither is anything a runtime does while still
/// in the host's (e.g. runc 1.1 re-executing itself from a memfd, or `setns`
/// before `runc exec`). The mount namespace is there for containers that
/// share the host's pid namespace (`hostPID`): every OCI container has a
/// mount namespace of its own. It is compared with the runtime's own, not
/// init's: a runtime may work in a mount namespace of its own too (snap's
/// Docker does). What the runtime does after it loads the
/// seccomp filter comes from the runtime's base profile instead.
pub const SLOT_IN_CONTAINER: u64 = 1 << 2;

/// Per-recording state in the `SLOTS` array map.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// [`SLOT_ACTIVE`] | [`SLOT_ARM_ON_EXEC`] | [`SLOT_IN_CONTAINER`].
    pub flags: u64,
    /// Syscalls seen whose number did not fit the bitmap (including negative
    /// numbers such as `syscall(-1)`).
    pub out_of_range: u64,
    /// With [`SLOT_IN_CONTAINER`]: the inode of the mount namespace the
    /// container's runtime works in, or 0 to leave the pid namespace alone
    /// to decide. Userspace sets it for the recordings it starts (from the
    /// container process's parent); the kernel side, for the recordings it
    /// starts itself, sets that of the parent of a new cgroup's first task
    /// (a task the runtime started, in the container's namespaces already
    /// or not yet).
    pub runtime_mnt_ns: u64,
    /// Changed by userspace whenever it ends the slot's recording or gives
    /// the slot to another (the kernel side never writes it). A cached
    /// answer "this cgroup records into this slot" holds only while the
    /// slot's epoch is the one cached with it, so that ending one recording
    /// invalidates the answers that point at it and no others: the per-CPU
    /// caches of every other cgroup stay warm as containers come and go.
    pub epoch: u64,
    /// `seen[row * SYSCALLS_PER_ABI + nr]` is non-zero once syscall `nr` of
    /// ABI `row` was made by a process of this recording. One byte per
    /// syscall rather than one bit: byte stores need no atomic read-modify-
    /// write (which the BPF target only has from ISA v3), and two CPUs marking
    /// neighbouring syscalls at once can never lose one.
    pub seen: [u8; SEEN_LEN],
}

impl Slot {
    /// An inactive, empty slot.
    pub const EMPTY: Slot = Slot {
        flags: 0,
        out_of_range: 0,
        runtime_mnt_ns: 0,
        epoch: 0,
        seen: [0; SEEN_LEN],
    };
}

/// Slot part of a cache entry: the cgroup belongs to no recording.
pub const NOT_RECORDED: u32 = 0;

/// A `CGROUP_SLOT` value: slot index + 1 (or [`NOT_RECORDED`]) in the low 32
/// bits, the low 32 bits of the generation it was computed in above. An entry
/// of an older generation is ignored, so userspace never has to clear the
/// cache, and an entry computed concurrently with a change cannot stick.
#[inline(always)]
pub const fn cache_entry(slot_plus_one: u32, generation: u64) -> u64 {
    ((generation as u32 as u64) << 32) | slot_plus_one as u64
}

/// One entry per CPU: the last cgroup seen on this CPU and what it maps to,
/// valid while [`CpuCache::generation`] equals the global generation (and,
/// for a recorded cgroup, [`CpuCache::epoch`] the slot's). A
/// syscall-heavy process stays on its CPU, so most syscalls take this path and
/// skip the hash lookups entirely.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuCache {
    pub cgroup_id: u64,
    pub generation: u64,
    /// Slot index + 1, or [`NOT_RECORDED`].
    pub slot_plus_one: u32,
    pub _pad: u32,
    /// The slot's [`Slot::epoch`] when the answer was computed.
    pub epoch: u64,
}

/// A `CGROUP_SLOT` value: [`cache_entry`] and the slot's epoch with it (see
/// [`Slot::epoch`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CachedSlot {
    pub entry: u64,
    pub epoch: u64,
}

/// Indices in the `CONTROL` array map.
///
/// [`control::NEW_CGROUP_FLAGS`] and [`control::NEW_CGROUP_MIN_ID`] let the kernel side start a
/// recording by itself for every cgroup created after a moment userspace
/// chose, at that cgroup's first syscall. `recorder trace --wait` uses this to
/// record a container whose cgroup does not exist yet from its first syscall
/// without racing the runtime: each such cgroup takes a slot from
/// [`map::FREE_SLOTS`] and becomes a root in [`map::ROOTS`];
/// userspace keeps the one that turns out to be the container's and gives the
/// others back.
pub mod control {
    /// Bumped by userspace when a recording starts for a cgroup that may
    /// have cached answers (below it, "not recorded"), which invalidates
    /// every [`super::CpuCache`] entry at once. Ending or dropping a
    /// recording changes its slot's [`super::Slot::epoch`] instead.
    pub const GENERATION: u32 = 0;
    /// [`super::Slot::flags`] for a slot the kernel side starts for a new
    /// cgroup; 0 starts none.
    pub const NEW_CGROUP_FLAGS: u32 = 1;
    /// Only cgroups with a larger id count as new. Cgroup ids (kernfs node
    /// ids) grow with every node created, so this is a point in time.
    pub const NEW_CGROUP_MIN_ID: u32 = 2;
    /// Number of new cgroups that found [`super::map::FREE_SLOTS`] empty and
    /// went unrecorded (written without atomics: only "non-zero" matters).
    pub const NEW_CGROUP_MISSED: u32 = 3;
    /// Number of [`super::NewCgroupEvent`]s the ring buffer had no room for
    /// (written without atomics: only "non-zero" matters).
    pub const EVENTS_LOST: u32 = 4;
    /// Number of entries in `CONTROL`.
    pub const LEN: u32 = 5;
}

/// Map and program names, shared so that a rename cannot split the two sides.
pub mod map {
    /// Hash: root cgroup id (u64) -> slot index (u32), or
    /// [`super::ROOT_IGNORED`]; [`super::MAX_ROOTS`] entries.
    pub const ROOTS: &str = "ROOTS";
    /// LRU hash: any cgroup id (u64) -> [`super::CachedSlot`].
    pub const CGROUP_SLOT: &str = "CGROUP_SLOT";
    /// Array of [`super::Slot`], [`super::DEFAULT_SLOTS`] entries unless
    /// the loader sets another number.
    pub const SLOTS: &str = "SLOTS";
    /// Per-CPU array of one [`super::CpuCache`].
    pub const CPU_CACHE: &str = "CPU_CACHE";
    /// Array of u64, see [`super::control`].
    pub const CONTROL: &str = "CONTROL";
    /// Queue of slot indices (u32) userspace lends to the kernel side for
    /// recordings it starts by itself, see [`super::control`].
    pub const FREE_SLOTS: &str = "FREE_SLOTS";
    /// Ring buffer of [`super::NewCgroupEvent`]s.
    pub const NEW_CGROUPS: &str = "NEW_CGROUPS";
}

/// Load-time constants of the kernel side (`EbpfLoader::override_global`).
pub mod global {
    /// Native syscall number of `execve`, for [`super::SLOT_ARM_ON_EXEC`].
    pub const EXECVE_NR: &str = "EXECVE_NR";
    /// Native syscall number of `execveat`.
    pub const EXECVEAT_NR: &str = "EXECVEAT_NR";
    /// Bit that marks x32 syscall numbers (0x40000000 on x86_64, 0 elsewhere).
    pub const X32_BIT: &str = "X32_BIT";
    /// `__ARM_NR_BASE` (0x0f0000) on hosts that run arm programs (arm,
    /// aarch64), 0 elsewhere; see [`super::ARM_PRIVATE_SLOT`].
    pub const ARM_PRIVATE_BASE: &str = "ARM_PRIVATE_BASE";
    /// The first syscall number of the host's native ABI on MIPS hosts
    /// (o32 4000 on mips, n64 5000 on mips64), 0 elsewhere; see
    /// [`super::Numbering`].
    pub const MIPS_BASE_NATIVE: &str = "MIPS_BASE_NATIVE";
    /// The first number of the compat row's ABI (o32 4000 on mips64), 0
    /// when there is none.
    pub const MIPS_BASE_COMPAT: &str = "MIPS_BASE_COMPAT";
    /// The first number of the third row's ABI (n32 6000 on mips64), 0
    /// when there is none.
    pub const MIPS_BASE_THIRD: &str = "MIPS_BASE_THIRD";
    /// Byte offset in `task_struct` of the word that tells a compat syscall,
    /// read from the kernel's BTF.
    pub const COMPAT_OFFSET: &str = "COMPAT_OFFSET";
    /// Mask of the compat bit in that (32-bit) word (TS_COMPAT on x86_64,
    /// 1 << TIF_32BIT on aarch64); 0 disables compat detection.
    pub const COMPAT_MASK: &str = "COMPAT_MASK";
    /// Device and inode of the host's pid namespace (`stat
    /// /proc/self/ns/pid` of the recorder), for [`super::SLOT_IN_CONTAINER`].
    pub const HOST_PIDNS_DEV: &str = "HOST_PIDNS_DEV";
    pub const HOST_PIDNS_INO: &str = "HOST_PIDNS_INO";
    /// Non-zero when the fields below were found, so that the kernel side
    /// can read a task's mount namespace (see
    /// [`super::Slot::runtime_mnt_ns`]).
    pub const MNT_NS_ON: &str = "MNT_NS_ON";
    /// Byte offsets of `task_struct.real_parent`, `task_struct.nsproxy`,
    /// `nsproxy.mnt_ns` and `mnt_namespace.ns.inum`, read from the kernel's
    /// BTF.
    pub const REAL_PARENT_OFFSET: &str = "REAL_PARENT_OFFSET";
    pub const NSPROXY_OFFSET: &str = "NSPROXY_OFFSET";
    pub const MNT_NS_OFFSET: &str = "MNT_NS_OFFSET";
    pub const NS_INUM_OFFSET: &str = "NS_INUM_OFFSET";
    /// Byte offset of `task_struct.tgid`, for the parent's in a
    /// [`super::NewCgroupEvent`]; read with the fields above.
    pub const TGID_OFFSET: &str = "TGID_OFFSET";
    /// Non-zero when the fields below were found, so that a
    /// [`super::NewCgroupEvent`] carries its task's command line and
    /// environment.
    pub const CMDLINE_ON: &str = "CMDLINE_ON";
    /// Byte offsets of `task_struct.mm` and `mm_struct.arg_start`,
    /// `.arg_end`, `.env_start`, `.env_end`.
    pub const MM_OFFSET: &str = "MM_OFFSET";
    pub const ARG_START_OFFSET: &str = "ARG_START_OFFSET";
    pub const ARG_END_OFFSET: &str = "ARG_END_OFFSET";
    pub const ENV_START_OFFSET: &str = "ENV_START_OFFSET";
    pub const ENV_END_OFFSET: &str = "ENV_END_OFFSET";
    /// Non-zero when the fields below were found, so that the hot path
    /// reads the current task's cgroup id through its task pointer instead
    /// of a helper: `task_struct.cgroups`, `css_set.dfl_cgrp`, `cgroup.kn`,
    /// `kernfs_node.id`.
    pub const CGROUP_ID_ON: &str = "CGROUP_ID_ON";
    pub const CGROUPS_OFFSET: &str = "CGROUPS_OFFSET";
    pub const DFL_CGRP_OFFSET: &str = "DFL_CGRP_OFFSET";
    pub const CGROUP_KN_OFFSET: &str = "CGROUP_KN_OFFSET";
    pub const KN_ID_OFFSET: &str = "KN_ID_OFFSET";
    /// Non-zero when `task_struct.thread_pid` and `pid.level` were found:
    /// a task is outside the host's pid namespace when its pid's level is
    /// deeper than [`HOST_PID_LEVEL`] (the recorder's own).
    pub const PID_LEVEL_ON: &str = "PID_LEVEL_ON";
    pub const THREAD_PID_OFFSET: &str = "THREAD_PID_OFFSET";
    pub const PID_LEVEL_OFFSET: &str = "PID_LEVEL_OFFSET";
    pub const HOST_PID_LEVEL: &str = "HOST_PID_LEVEL";
}

/// Program names in the object, in the order the loader tries them.
pub mod program {
    /// `tp_btf/sys_enter`: cheapest, needs BTF.
    pub const BTF: &str = "sys_enter_btf";
    /// `raw_tp/sys_enter`: no BTF needed.
    pub const RAW: &str = "sys_enter_raw";
    /// `tracepoint/raw_syscalls/sys_enter`: needs tracefs.
    pub const CLASSIC: &str = "sys_enter_classic";
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: plain-old-data, repr(C), no padding-dependent invariants.
    unsafe impl aya::Pod for super::Slot {}
    unsafe impl aya::Pod for super::CpuCache {}
    unsafe impl aya::Pod for super::NewCgroupEvent {}
    unsafe impl aya::Pod for super::CachedSlot {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `reported` undoes `seen_index` for every number that has a place.
    fn assert_round_trip(n: &Numbering, numbers: impl Iterator<Item = u64>, compat: bool) {
        for nr in numbers {
            if let Some(index) = n.seen_index(nr, compat) {
                let (row, stored) = row_and_number(index);
                assert_eq!(n.reported(AbiRow::ALL[row], stored as u64), nr, "{n:?}");
            }
        }
    }

    #[test]
    fn reported_undoes_seen_index() {
        let hosts = [
            Numbering::default(),
            Numbering {
                x32_bit: 0x4000_0000,
                ..Numbering::default()
            },
            Numbering {
                arm_private_base: 0x0f_0000,
                ..Numbering::default()
            },
            Numbering {
                mips_bases: [5000, 4000, 6000],
                ..Numbering::default()
            },
        ];
        for n in &hosts {
            for compat in [false, true] {
                // On arm hosts the top of each row holds the private
                // calls, which no arm syscall number comes near.
                let top = if n.arm_private_base != 0 {
                    ARM_PRIVATE_SLOT as u64
                } else {
                    2048
                };
                let small = 0..top;
                let x32 = (0..1024).map(|k| 0x4000_0000 | k);
                let arm = 0x0f_0000..0x0f_0010;
                assert_round_trip(n, small.chain(x32).chain(arm).chain(3990..7010), compat);
            }
        }
    }

    fn row_and_number(index: usize) -> (usize, usize) {
        let per_row = SYSCALLS_PER_ABI as usize;
        (index / per_row, index % per_row)
    }

    #[test]
    fn x86_64_rows() {
        let n = Numbering {
            x32_bit: 0x4000_0000,
            ..Numbering::default()
        };
        assert_eq!(n.seen_index(59, false).map(row_and_number), Some((0, 59)));
        assert_eq!(n.seen_index(11, true).map(row_and_number), Some((1, 11)));
        let x32_execve = 0x4000_0000 | 520;
        assert_eq!(
            n.seen_index(x32_execve, false).map(row_and_number),
            Some((2, 520))
        );
        assert_eq!(n.seen_index(u64::MAX, false), None, "syscall(-1)");
        assert_eq!(n.seen_index(1024, false), None);
    }

    #[test]
    fn arm_private_calls_fold_to_the_top_of_the_row() {
        let n = Numbering {
            arm_private_base: 0x0f_0000,
            ..Numbering::default()
        };
        let set_tls = 0x0f_0005;
        assert_eq!(
            n.seen_index(set_tls, true).map(row_and_number),
            Some((1, ARM_PRIVATE_SLOT as usize + 5))
        );
        assert_eq!(n.seen_index(0x0f_0000 + 16, true), None);
    }

    #[test]
    fn mips_numbers_tell_their_abi() {
        let mips64 = Numbering {
            mips_bases: [5000, 4000, 6000],
            ..Numbering::default()
        };
        let mips = Numbering {
            mips_bases: [4000, 0, 0],
            ..Numbering::default()
        };
        // execve: n64 5057, o32 4011, n32 6057. The compat flag has no say:
        // the number alone tells.
        for (host, nr, compat, place) in [
            (mips64, 5057, false, Some((0, 57))),
            (mips64, 4011, false, Some((1, 11))),
            (mips64, 6057, false, Some((2, 57))),
            (mips64, 5057, true, Some((0, 57))),
            (mips64, 57, false, None),
            (mips64, 7000, false, None),
            (mips, 4011, false, Some((0, 11))),
            (mips, 5057, false, None), // no n64 on a 32-bit kernel
        ] {
            assert_eq!(
                host.seen_index(nr, compat).map(row_and_number),
                place,
                "{nr}"
            );
        }
    }
}
