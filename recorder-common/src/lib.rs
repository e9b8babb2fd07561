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

/// The syscalls whose arguments `--args` captures, as the kernel side's
/// [`global::ARG_KIND`] table names them (0 there: not captured).
///
/// Each is captured per recording, for every ABI together: an OCI profile
/// has no per-ABI rules, so what any ABI used is what the profile allows.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArgSyscall {
    /// (domain, type without its flag bits, protocol) in [`ArgSets::socket`].
    Socket = 1,
    /// (domain, type without its flag bits) in [`ArgSets::socketpair`].
    Socketpair = 2,
    /// The flag bits of its flags argument (the second on s390, see
    /// [`global::CLONE_FLAGS_ARG`]) in [`ArgSets::clone`].
    Clone = 3,
    /// The flag bits of `clone_args.flags`, read from user memory, in
    /// [`ArgSets::clone3`]; an unreadable one counts as overflowed.
    Clone3 = 4,
    /// Its flag bits in [`ArgSets::unshare`].
    Unshare = 5,
    /// nstype (second argument) in [`ArgSets::setns`].
    Setns = 6,
    /// The persona in [`ArgSets::personality`].
    Personality = 7,
    /// The option in [`ArgSets::prctl`].
    Prctl = 8,
    /// The request (second argument) in [`ArgSets::ioctl`].
    Ioctl = 9,
    /// The request in [`ArgSets::ptrace`].
    Ptrace = 10,
    /// The command in [`ArgSets::bpf`].
    Bpf = 11,
    /// The operation in [`ArgSets::keyctl`].
    Keyctl = 12,
    /// The prot bits (third argument) in [`ArgSets::mprotect`].
    Mprotect = 13,
    /// The prot bits (third argument) in [`ArgSets::pkey_mprotect`].
    PkeyMprotect = 14,
}

impl ArgSyscall {
    /// Every captured syscall.
    pub const ALL: [ArgSyscall; 14] = [
        ArgSyscall::Socket,
        ArgSyscall::Socketpair,
        ArgSyscall::Clone,
        ArgSyscall::Clone3,
        ArgSyscall::Unshare,
        ArgSyscall::Setns,
        ArgSyscall::Personality,
        ArgSyscall::Prctl,
        ArgSyscall::Ioctl,
        ArgSyscall::Ptrace,
        ArgSyscall::Bpf,
        ArgSyscall::Keyctl,
        ArgSyscall::Mprotect,
        ArgSyscall::PkeyMprotect,
    ];

    /// The kind a [`global::ARG_KIND`] entry holds.
    #[inline(always)]
    pub const fn from_kind(kind: u8) -> Option<ArgSyscall> {
        Some(match kind {
            1 => ArgSyscall::Socket,
            2 => ArgSyscall::Socketpair,
            3 => ArgSyscall::Clone,
            4 => ArgSyscall::Clone3,
            5 => ArgSyscall::Unshare,
            6 => ArgSyscall::Setns,
            7 => ArgSyscall::Personality,
            8 => ArgSyscall::Prctl,
            9 => ArgSyscall::Ioctl,
            10 => ArgSyscall::Ptrace,
            11 => ArgSyscall::Bpf,
            12 => ArgSyscall::Keyctl,
            13 => ArgSyscall::Mprotect,
            14 => ArgSyscall::PkeyMprotect,
            _ => return None,
        })
    }

    /// The captured syscall named `name`.
    pub fn from_name(name: &str) -> Option<ArgSyscall> {
        ArgSyscall::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The syscall's name, as libseccomp and the tables know it.
    pub const fn name(self) -> &'static str {
        match self {
            ArgSyscall::Socket => "socket",
            ArgSyscall::Socketpair => "socketpair",
            ArgSyscall::Clone => "clone",
            ArgSyscall::Clone3 => "clone3",
            ArgSyscall::Unshare => "unshare",
            ArgSyscall::Setns => "setns",
            ArgSyscall::Personality => "personality",
            ArgSyscall::Prctl => "prctl",
            ArgSyscall::Ioctl => "ioctl",
            ArgSyscall::Ptrace => "ptrace",
            ArgSyscall::Bpf => "bpf",
            ArgSyscall::Keyctl => "keyctl",
            ArgSyscall::Mprotect => "mprotect",
            ArgSyscall::PkeyMprotect => "pkey_mprotect",
        }
    }
}

/// Cells of the value tables of `ioctl` and `prctl`, which programs use
/// with many values (a terminal program makes a dozen tty ioctls).
pub const WIDE_VALUES: usize = 64;
/// Cells of every other value table.
pub const NARROW_VALUES: usize = 16;

/// One value (or tuple) of a [`ValueTable`].
///
/// A cell is written once and never changed: the CPU that owns it (see
/// [`ValueTable`]) stores `words`, then `tag`. `tag` is [`value_tag`] of
/// the words, which is never 0, so a cell that is not yet written, or
/// written only in part, cannot match a lookup of the value it will hold
/// unless the part seen already tells that value (then the match is
/// right).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueCell<const W: usize> {
    pub words: [u64; W],
    pub tag: u64,
    /// How many CPUs tried to own the cell: each adds 1 atomically
    /// (`lock add`, in every BPF ISA), and only the one that then reads 1
    /// writes it. 64 bits: the BPF target has no 32-bit atomics.
    pub claims: u64,
}

/// A set of at most `CAP` values (or `W`-word tuples), inserted by any
/// CPU at any time without a lock: open addressing from the value's
/// [`value_tag`], linear probing, cells never removed.
///
/// How concurrent CPUs insert safely: a CPU looks for the value from its
/// home cell on; a cell whose tag and words match ends the search. At the
/// first unclaimed cell (`claims == 0`) it claims it with an atomic add of
/// 1 and reads `claims` back: the add is atomic, so at most one CPU ever
/// reads 1 there, and that one alone writes the cell. A CPU that reads
/// more than 1 lost the cell and probes on, so two values are never
/// written to one cell and none is lost. Two CPUs inserting the same
/// value at once may both write it (in two cells), which userspace
/// deduplicates; a cell two CPUs lost to each other stays empty. Both only
/// cost room. When the search finds neither the value nor a free cell, the
/// table has overflowed, which [`ArgSets::overflowed`] says: the syscall
/// is then allowed without a condition.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueTable<const CAP: usize, const W: usize> {
    pub cells: [ValueCell<W>; CAP],
}

impl<const CAP: usize, const W: usize> ValueTable<CAP, W> {
    pub const EMPTY: Self = ValueTable {
        cells: [ValueCell {
            words: [0; W],
            tag: 0,
            claims: 0,
        }; CAP],
    };

    /// The values the table holds (a value twice when two CPUs added it
    /// at once), for userspace.
    pub fn values(&self) -> impl Iterator<Item = [u64; W]> + '_ {
        self.cells
            .iter()
            .filter(|c| c.tag != 0 && c.tag == value_tag(&c.words))
            .map(|c| c.words)
    }

    /// Adds `words` unless the table holds them already; `false` when it
    /// is full. `claim` adds 1 to a cell's `claims` atomically, its result
    /// unused (the kernel side's `lock add`).
    ///
    /// # Safety
    ///
    /// `table` points to a live table that other CPUs change only through
    /// this function.
    #[inline(always)]
    pub unsafe fn insert(table: *mut Self, words: [u64; W], claim: impl Fn(*mut u64)) -> bool {
        use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
        let tag = value_tag(&words);
        let mut at = (tag >> 1) as usize;
        let mut probes = 0;
        while probes < CAP {
            // Masked: always a cell of the table (CAP is a power of two).
            let cell = unsafe { addr_of_mut!((*table).cells[at & (CAP - 1)]) };
            if unsafe { read_volatile(addr_of!((*cell).tag)) } == tag
                && unsafe { holds(cell, &words) }
            {
                return true;
            }
            let claims = unsafe { addr_of_mut!((*cell).claims) };
            if unsafe { read_volatile(claims) } == 0 {
                claim(claims);
                if unsafe { read_volatile(claims) } == 1 {
                    let mut i = 0;
                    while i < W {
                        unsafe { write_volatile(addr_of_mut!((*cell).words[i]), words[i]) };
                        i += 1;
                    }
                    unsafe { write_volatile(addr_of_mut!((*cell).tag), tag) };
                    return true;
                }
            }
            at += 1;
            probes += 1;
        }
        false
    }
}

/// Whether `cell` holds `words` (its tag matched already).
#[inline(always)]
unsafe fn holds<const W: usize>(cell: *const ValueCell<W>, words: &[u64; W]) -> bool {
    let mut i = 0;
    while i < W {
        if unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*cell).words[i])) } != words[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A value's tag: a 64-bit mix of its words with the lowest bit set, so
/// that it is never 0 (an unwritten cell's). Its low bits pick the home
/// cell.
#[inline(always)]
pub const fn value_tag<const W: usize>(words: &[u64; W]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut i = 0;
    while i < W {
        h = (h ^ words[i]).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        i += 1;
    }
    h | 1
}

/// The bits seen of a flag word: one byte per bit, set to 1 with a plain
/// store (idempotent, so CPUs setting bits at once lose none, and no
/// atomic OR is needed, which BPF only has from ISA v3).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagBits {
    /// `low[b]` is non-zero once bit `b` (< 32) was seen.
    pub low: [u8; 32],
    /// Non-zero once any bit from 32 up was seen.
    pub high: u8,
    pub _pad: [u8; 7],
}

impl FlagBits {
    pub const EMPTY: FlagBits = FlagBits {
        low: [0; 32],
        high: 0,
        _pad: [0; 7],
    };

    /// Marks the bits of `word` seen.
    ///
    /// # Safety
    ///
    /// `bits` points to a live `FlagBits`.
    #[inline(always)]
    pub unsafe fn set(bits: *mut FlagBits, word: u64) {
        use core::ptr::{addr_of_mut, write_volatile};
        let mut bit = 0;
        while bit < 32 {
            if word & (1 << bit) != 0 {
                unsafe { write_volatile(addr_of_mut!((*bits).low[bit]), 1) };
            }
            bit += 1;
        }
        if word >> 32 != 0 {
            unsafe { write_volatile(addr_of_mut!((*bits).high), 1) };
        }
    }

    /// The bits seen, with bit 32 standing for any higher one.
    pub fn word(&self) -> u64 {
        let mut word = u64::from(self.high != 0) << 32;
        for (bit, seen) in self.low.iter().enumerate() {
            if *seen != 0 {
                word |= 1 << bit;
            }
        }
        word
    }
}

/// What one recording's syscalls passed as the arguments `--args`
/// captures, in the `ARG_SETS` array map (one per slot). 6,360 bytes: at
/// 1,024 recordings 6.2 MiB of kernel memory (an array map allocates every
/// entry up front), beside the 3 KiB of each [`Slot`]; the daemon's
/// default 1,024 recordings plus 256 triage slots take 7.8 MiB. Without
/// `--args` the map has one entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgSets {
    pub ioctl: ValueTable<WIDE_VALUES, 1>,
    pub prctl: ValueTable<WIDE_VALUES, 1>,
    pub socket: ValueTable<NARROW_VALUES, 3>,
    pub socketpair: ValueTable<NARROW_VALUES, 2>,
    pub setns: ValueTable<NARROW_VALUES, 1>,
    pub personality: ValueTable<NARROW_VALUES, 1>,
    pub ptrace: ValueTable<NARROW_VALUES, 1>,
    pub bpf: ValueTable<NARROW_VALUES, 1>,
    pub keyctl: ValueTable<NARROW_VALUES, 1>,
    pub clone: FlagBits,
    pub clone3: FlagBits,
    pub unshare: FlagBits,
    pub mprotect: FlagBits,
    pub pkey_mprotect: FlagBits,
    /// `overflowed[kind]` is non-zero once a syscall of that
    /// [`ArgSyscall`] kind saw more distinct values than its table holds,
    /// or its arguments could not be read.
    pub overflowed: [u8; 16],
}

impl ArgSets {
    pub const EMPTY: ArgSets = ArgSets {
        ioctl: ValueTable::EMPTY,
        prctl: ValueTable::EMPTY,
        socket: ValueTable::EMPTY,
        socketpair: ValueTable::EMPTY,
        setns: ValueTable::EMPTY,
        personality: ValueTable::EMPTY,
        ptrace: ValueTable::EMPTY,
        bpf: ValueTable::EMPTY,
        keyctl: ValueTable::EMPTY,
        clone: FlagBits::EMPTY,
        clone3: FlagBits::EMPTY,
        unshare: FlagBits::EMPTY,
        mprotect: FlagBits::EMPTY,
        pkey_mprotect: FlagBits::EMPTY,
        overflowed: [0; 16],
    };
}

/// The type bits of a socket's `type` argument; the rest are flags
/// (SOCK_CLOEXEC, SOCK_NONBLOCK).
pub const SOCK_TYPE_MASK: u64 = 0xf;

/// Arguments a syscall has.
pub const SYSCALL_ARGS: usize = 6;

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
///
/// It also remembers the last task seen on this CPU and its cgroup, so that
/// the next syscall of the same task finds its cgroup without asking the
/// kernel for the current task (a helper call, the dearest part of the
/// program where calls and returns go through mitigation thunks).
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
    /// The last task seen on this CPU, named by the address of its saved
    /// user registers (the top of its kernel stack: no two live tasks share
    /// it); 0 for none.
    pub task_key: u64,
    /// [`map::TASK_CHANGES`] + 1 when `task_cgroup_id` was read: a new
    /// task (which may have a dead task's stack) or a cgroup migration since
    /// then makes the pair stale.
    pub task_stamp: u64,
    /// That task's cgroup id.
    pub task_cgroup_id: u64,
    /// Whether that task is outside the host's pid namespace (1), which a
    /// task never leaves: the container scope's answer without the task.
    pub task_outside_host_pidns: u64,
    /// On the classic tracepoint, whose event has no registers' address:
    /// set to 1 by `sched_switch` when another task starts running on this
    /// CPU, cleared when the running task's cgroup is read, so that 0 names
    /// the task `task_cgroup_id` belongs to.
    pub switched: u64,
    /// That task's `task_struct` address, kept as a number: every hook
    /// reads its compat flag through it (typed again by `bpf_rdonly_cast`,
    /// see `global::TASK_CAST_ON`) instead of asking the kernel for the
    /// current task, or reading the registers, on every recorded syscall.
    pub task: u64,
}

/// A `CGROUP_SLOT` value: [`cache_entry`] and the slot's epoch with it (see
/// [`Slot::epoch`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CachedSlot {
    pub entry: u64,
    pub epoch: u64,
}

/// The eBPF program's call of the kfunc `bpf_rdonly_cast` as built: one
/// instruction (`call`, `src_reg` `BPF_PSEUDO_KFUNC_CALL`), whose `imm` is
/// a marker the loader replaces with the kfunc's id in the kernel's BTF
/// (see [`global::TASK_CAST_ON`]). aya 0.14 cannot relocate kfunc calls, so
/// the program writes the instruction itself. In memory order: code 0x85,
/// registers 0x20, offset 0, then the 32-bit marker.
pub const RDONLY_CAST_PLACEHOLDER: u64 = 0x85 | (0x20 << 8) | (RDONLY_CAST_MARKER << 32);

/// The placeholder's `imm`: no BTF id is that large.
pub const RDONLY_CAST_MARKER: u64 = 0x7eca_57ed;

/// What the loader puts in the placeholder's place when the kernel lacks
/// the kfunc: `r0 = r1` (code 0xbf, dst r0, src r1), which is what the
/// verifier makes of the kfunc call anyway. Unreached then: `TASK_CAST_ON`
/// is 0.
pub const RDONLY_CAST_FALLBACK: u64 = 0xbf | (0x10 << 8);

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
    /// [`super::Slot::flags`] for a slot the kernel side starts for a new
    /// cgroup; 0 starts none.
    pub const NEW_CGROUP_FLAGS: u32 = 0;
    /// Only cgroups with a larger id count as new. Cgroup ids (kernfs node
    /// ids) grow with every node created, so this is a point in time.
    pub const NEW_CGROUP_MIN_ID: u32 = 1;
    /// Number of new cgroups that found [`super::map::FREE_SLOTS`] empty and
    /// went unrecorded (written without atomics: only "non-zero" matters).
    pub const NEW_CGROUP_MISSED: u32 = 2;
    /// Number of [`super::NewCgroupEvent`]s the ring buffer had no room for
    /// (written without atomics: only "non-zero" matters).
    pub const EVENTS_LOST: u32 = 3;
    /// Number of entries in `CONTROL`.
    pub const LEN: u32 = 4;
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
    /// The two words the hot path reads on every syscall, each a global
    /// variable in a data section of its own, which aya makes a one-entry
    /// array map named after the section (u64): read at a fixed address,
    /// two instructions where an array lookup takes ten. Apart, so that
    /// userspace writing one never overwrites the kernel side's atomic
    /// adds to the other.
    ///
    /// Bumped by userspace when a recording starts for a cgroup that may
    /// have cached answers (below it, "not recorded"), which invalidates
    /// every [`super::CpuCache`] entry at once. Ending or dropping a
    /// recording changes its slot's [`super::Slot::epoch`] instead.
    pub const GENERATION: &str = ".data.generation";
    /// Bumped by the kernel side (atomically) whenever a task is created or
    /// moved to another cgroup, which invalidates every CPU's remembered task
    /// ([`super::CpuCache::task_key`]) at once.
    pub const TASK_CHANGES: &str = ".data.task_changes";
    /// Queue of slot indices (u32) userspace lends to the kernel side for
    /// recordings it starts by itself, see [`super::control`].
    pub const FREE_SLOTS: &str = "FREE_SLOTS";
    /// Ring buffer of [`super::NewCgroupEvent`]s.
    pub const NEW_CGROUPS: &str = "NEW_CGROUPS";
    /// Array of [`super::ArgSets`], one per slot with `--args`, else one.
    pub const ARG_SETS: &str = "ARG_SETS";
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
    /// Non-zero on x86_64 when `struct pt_regs` has the members of
    /// [`NATIVE_ENTRY`]: `tp_btf` then tells a native syscall from its
    /// registers, without the task's compat flag.
    pub const NATIVE_ENTRY_ON: &str = "NATIVE_ENTRY_ON";
    /// `[u64; 6]`: offsets in `struct pt_regs` of `cs`, then the 64-bit
    /// user code segment's selector (`__USER_CS`, 0x33), then the offsets of
    /// `cx`, `ip`, `r11` and `flags`. The `syscall` instruction saves the
    /// return address in rcx and the flags in r11, so a 64-bit code segment
    /// with cx == ip and r11 == flags is a native syscall; `int 0x80` (the
    /// one compat entry from 64-bit code) leaves rcx and r11 as the program
    /// had them, and a tracer that changed them at the entry stop only
    /// sends the check to the task's flag.
    pub const NATIVE_ENTRY: &str = "NATIVE_ENTRY";
    /// Non-zero when the kernel has the kfunc `bpf_rdonly_cast` (6.2 and
    /// newer, with BTF): every hook then reads a remembered task's compat
    /// flag through [`super::CpuCache::task`] typed again as a
    /// `task_struct` ([`TASK_STRUCT_BTF_ID`]), which the verifier turns
    /// into a plain move: one load, and no call where the registers cannot
    /// be read without one. The program holds the kfunc's call as a
    /// placeholder ([`super::RDONLY_CAST_PLACEHOLDER`]) that the loader
    /// fills with the kfunc's BTF id, or turns into a move when it is 0.
    pub const TASK_CAST_ON: &str = "TASK_CAST_ON";
    /// The kernel BTF id of `struct task_struct`.
    pub const TASK_STRUCT_BTF_ID: &str = "TASK_STRUCT_BTF_ID";
    /// Non-zero when recordings capture arguments (`--args`); 0 takes the
    /// capture out of the verified program entirely (the verifier drops
    /// the branch on a read-only constant).
    pub const ARGS_ON: &str = "ARGS_ON";
    /// `[u8; SEEN_LEN]`: for each place of [`super::Slot::seen`], the
    /// [`super::ArgSyscall`] kind whose arguments are captured there, or
    /// 0. One load and one compare decide, per syscall, whether there is
    /// anything to capture.
    pub const ARG_KIND: &str = "ARG_KIND";
    /// `[u64; 6]`: byte offsets in `struct pt_regs` of the six syscall
    /// arguments of the host's native ABI (x86_64: di, si, dx, r10, r8,
    /// r9), read from the kernel's BTF. Also the third ABI's (x32).
    pub const ARG_REGS_NATIVE: &str = "ARG_REGS_NATIVE";
    /// `[u64; 6]`: the same for the compat ABI (ia32: bx, cx, dx, si, di,
    /// bp).
    pub const ARG_REGS_COMPAT: &str = "ARG_REGS_COMPAT";
    /// The bits of a compat argument the kernel uses (0xffffffff: the
    /// kernel's compat entry and seccomp take 32 bits).
    pub const COMPAT_ARG_MASK: &str = "COMPAT_ARG_MASK";
    /// Which argument holds `clone`'s flags: 0, or 1 on s390 (whose clone
    /// takes the stack first).
    pub const CLONE_FLAGS_ARG: &str = "CLONE_FLAGS_ARG";
}

/// Program names in the object, in the order the loader tries them.
pub mod program {
    /// `tp_btf/sys_enter`: cheapest, needs BTF.
    pub const BTF: &str = "sys_enter_btf";
    /// `raw_tp/sys_enter`: no BTF needed.
    pub const RAW: &str = "sys_enter_raw";
    /// `tracepoint/raw_syscalls/sys_enter`: needs tracefs.
    pub const CLASSIC: &str = "sys_enter_classic";
    /// `raw_tp` on [`TASK_CHANGE_HOOKS`]: bumps
    /// [`super::map::TASK_CHANGES`]. Attached with `tp_btf` and
    /// `raw_tp`.
    pub const TASK_CHANGED: &str = "task_changed";
    /// The same on the classic tracepoints, attached with `CLASSIC`.
    pub const TASK_CHANGED_CLASSIC: &str = "task_changed_classic";
    /// The tracepoints (category, name) after which a task's cgroup may
    /// differ from what a CPU remembers of it: a new task (which may reuse a
    /// dead one's kernel stack, and so its registers' address) and the two
    /// ways tasks move between cgroups.
    pub const TASK_CHANGE_HOOKS: [(&str, &str); 3] = [
        ("task", "task_newtask"),
        ("cgroup", "cgroup_attach_task"),
        ("cgroup", "cgroup_transfer_tasks"),
    ];
    /// `tracepoint/sched/sched_switch`: tells `CLASSIC` that another task
    /// runs (see [`super::CpuCache::switched`]).
    pub const SCHED_SWITCH_CLASSIC: &str = "sched_switch_classic";
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: plain-old-data, repr(C), no padding-dependent invariants.
    unsafe impl aya::Pod for super::Slot {}
    unsafe impl aya::Pod for super::CpuCache {}
    unsafe impl aya::Pod for super::NewCgroupEvent {}
    unsafe impl aya::Pod for super::CachedSlot {}
    unsafe impl aya::Pod for super::ArgSets {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_one(p: *mut u64) {
        // SAFETY: the tests' tables outlive their threads.
        unsafe { core::sync::atomic::AtomicU64::from_ptr(p) }
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }

    #[test]
    fn tables_keep_each_value_once_and_say_when_full() {
        let mut table = ValueTable::<16, 3>::EMPTY;
        for v in 0..16u64 {
            assert!(unsafe { ValueTable::insert(&mut table, [v, 1, 0], add_one) });
            assert!(unsafe { ValueTable::insert(&mut table, [v, 1, 0], add_one) });
        }
        // Zero is a value like any other.
        let mut zero = ValueTable::<16, 1>::EMPTY;
        assert_eq!(zero.values().count(), 0);
        assert!(unsafe { ValueTable::insert(&mut zero, [0], add_one) });
        assert_eq!(zero.values().collect::<Vec<_>>(), [[0]]);
        assert!(!unsafe { ValueTable::insert(&mut table, [99, 1, 0], add_one) });
        let mut values: Vec<[u64; 3]> = table.values().collect();
        values.sort();
        assert_eq!(values, (0..16).map(|v| [v, 1, 0]).collect::<Vec<_>>());
        assert!(value_tag(&[0u64]) & 1 == 1 && value_tag(&[0u64; 3]) != 0);
    }

    /// Threads inserting overlapping values at once into one table, as
    /// CPUs do: none is lost.
    #[test]
    fn concurrent_inserts_lose_no_value() {
        struct Shared(*mut ValueTable<64, 1>);
        // SAFETY: only `insert` touches the table while the threads run.
        unsafe impl Sync for Shared {}
        for round in 0..200u64 {
            let mut table = Box::new(ValueTable::<64, 1>::EMPTY);
            let shared = Shared(&mut *table);
            std::thread::scope(|s| {
                for t in 0..4u64 {
                    let shared = &shared;
                    s.spawn(move || {
                        for v in 0..12u64 {
                            let value = (v * 7 + t + round) % 40;
                            assert!(unsafe { ValueTable::insert(shared.0, [value], add_one) });
                        }
                    });
                }
            });
            let seen: std::collections::BTreeSet<u64> = table.values().map(|[v]| v).collect();
            let expected: std::collections::BTreeSet<u64> = (0..4u64)
                .flat_map(|t| (0..12u64).map(move |v| (v * 7 + t + round) % 40))
                .collect();
            assert_eq!(seen, expected, "round {round}");
        }
    }

    /// The kernel memory `ArgSets`' doc states.
    #[test]
    fn arg_sets_take_about_6_kib() {
        assert_eq!(core::mem::size_of::<ArgSets>(), 6360);
        assert_eq!(1024 * core::mem::size_of::<ArgSets>(), 6_512_640);
    }

    #[test]
    fn flag_bits() {
        let mut bits = FlagBits::EMPTY;
        unsafe { FlagBits::set(&mut bits, 0x7e02_0000) };
        unsafe { FlagBits::set(&mut bits, 0x400) };
        assert_eq!(bits.word(), 0x7e02_0400);
        unsafe { FlagBits::set(&mut bits, 1 << 40) };
        assert_eq!(bits.word(), 0x1_7e02_0400);
    }

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
