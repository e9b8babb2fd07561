//! Layout shared by the kernel-side program (`recorder-ebpf`) and the userspace
//! loader (`recorder::bpf`).
//!
//! The kernel side keeps one [`Slot`] per recorded cgroup tree: a bitmap of the
//! syscall numbers seen, one row per syscall ABI, so that nothing per syscall
//! ever crosses to userspace. Userspace hands out slot indices, writes the
//! root cgroup id of each recording into [`map::ROOTS`], and reads the bitmaps
//! back when the recording ends.
#![no_std]

/// Syscall numbers per ABI row. The highest number of any Linux ABI in 6.18 is
/// about 470 (x32's private calls are 512..547 after the x32 bit is removed);
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
    /// x32 on x86_64: numbers with bit 0x40000000, stored without that bit.
    X32 = 2,
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

/// Maximum number of recordings one loaded program serves at once.
pub const MAX_SLOTS: u32 = 256;

/// [`Slot::flags`]: the slot records (set by userspace, or by the kernel side
/// when the first exec of an armed slot is seen).
pub const SLOT_ACTIVE: u64 = 1 << 0;
/// [`Slot::flags`]: the slot becomes active at the first `execve`/`execveat`
/// of a process in it. `recorder record` uses this so that what the child does
/// between joining the cgroup and exec (the recorder's own work) is not
/// recorded, while the exec itself is.
pub const SLOT_ARM_ON_EXEC: u64 = 1 << 1;
/// [`Slot::flags`]: only tasks outside the host's pid namespace count, and
/// with [`SLOT_ARM_ON_EXEC`] only an exec made there arms the slot.
///
/// This is the runtime boundary of `recorder trace`: an OCI runtime prepares a
/// container (mounts, pivot_root, sethostname, keyctl, ...) in a process that
/// enters the container's cgroup early, and execs the workload as its last
/// step. Its setup before the first exec inside the container's pid namespace
/// is not the workload's, and neither is anything a runtime does while still
/// in the host's pid namespace (e.g. runc 1.1 re-executing itself from a memfd,
/// or `setns` before `runc exec`). What the runtime does after it loads the
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
/// valid while [`CpuCache::generation`] equals the global generation. A
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
    /// Bumped by userspace whenever the set of recorded cgroups changes, which
    /// invalidates every [`super::CpuCache`] entry at once.
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
    /// Number of entries in `CONTROL`.
    pub const LEN: u32 = 4;
}

/// Map and program names, shared so that a rename cannot split the two sides.
pub mod map {
    /// Hash: root cgroup id (u64) -> slot index (u32).
    pub const ROOTS: &str = "ROOTS";
    /// LRU hash: any cgroup id (u64) -> [`super::cache_entry`].
    pub const CGROUP_SLOT: &str = "CGROUP_SLOT";
    /// Array of [`super::Slot`], [`super::MAX_SLOTS`] entries.
    pub const SLOTS: &str = "SLOTS";
    /// Per-CPU array of one [`super::CpuCache`].
    pub const CPU_CACHE: &str = "CPU_CACHE";
    /// Array of u64, see [`super::control`].
    pub const CONTROL: &str = "CONTROL";
    /// Queue of slot indices (u32) userspace lends to the kernel side for
    /// recordings it starts by itself, see [`super::control`].
    pub const FREE_SLOTS: &str = "FREE_SLOTS";
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
}
