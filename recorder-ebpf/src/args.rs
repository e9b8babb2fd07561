//! Argument capture (`recorder record --args`): for the syscalls whose
//! arguments decide what they can do (`socket`, `clone`, `ioctl`, ...),
//! the values each recording used, in its `ARG_SETS` entry.
//!
//! Kept off the per-syscall path: with `ARGS_ON` 0 (a read-only load-time
//! constant) the verifier drops every branch that leads here. With it on,
//! a syscall costs one more load and one compare ([`capture`]: its kind in
//! `ARG_KIND`, read at the place the bitmap has for it already); only the
//! captured syscalls go further, into [`capture_kind`].
//!
//! Arguments are read per ABI, not per architecture: the place of a
//! syscall in the bitmap tells its ABI, and the compat ABI's arguments sit
//! in other registers (ia32: bx, cx, dx, si, di, bp) and count 32 bits.
//! The register offsets come from the kernel's BTF at load time.

use core::intrinsics::{AtomicOrdering, atomic_xadd};
use core::ptr::{read_volatile, write_volatile};

use aya_ebpf::{
    helpers::{bpf_probe_read_kernel, bpf_probe_read_user},
    macros::map,
    maps::Array,
};
use recorder_common::{
    AbiRow, ArgSets, ArgSyscall, DEFAULT_SLOTS, FlagBits, SEEN_LEN, SOCK_TYPE_MASK, SYSCALL_ARGS,
    SYSCALLS_PER_ABI, ValueTable,
};

use crate::load;

#[map]
static ARG_SETS: Array<ArgSets> = Array::with_max_entries(DEFAULT_SLOTS, 0);

// Load-time constants, see `recorder_common::global`.
#[unsafe(no_mangle)]
pub static ARGS_ON: u64 = 0;
#[unsafe(no_mangle)]
static ARG_KIND: [u8; SEEN_LEN] = [0; SEEN_LEN];
#[unsafe(no_mangle)]
static ARG_REGS_NATIVE: [u64; SYSCALL_ARGS] = [0; SYSCALL_ARGS];
#[unsafe(no_mangle)]
static ARG_REGS_COMPAT: [u64; SYSCALL_ARGS] = [0; SYSCALL_ARGS];
#[unsafe(no_mangle)]
static COMPAT_ARG_MASK: u64 = 0;
#[unsafe(no_mangle)]
static CLONE_FLAGS_ARG: u64 = 0;

/// Where a program finds the syscall's arguments.
#[derive(Clone, Copy)]
pub enum Regs {
    /// `tp_btf`: the BTF-typed `struct pt_regs *`, read directly (the
    /// verifier checks each load against the type).
    Btf(*const u8),
    /// `raw_tp`: an untyped `struct pt_regs *`, read with a probe.
    Raw(*const u8),
    /// The classic tracepoint's record: `args[6]` at offset 16, which the
    /// kernel filled per ABI already (`syscall_get_arguments`).
    Classic(*const u8),
}

impl Regs {
    /// Argument `n` (a constant at every call) as seccomp sees it: the
    /// whole register on the native ABI, its low 32 bits on the compat one.
    #[inline(always)]
    fn arg(self, n: usize, compat: bool) -> Option<u64> {
        let value = match self {
            Regs::Classic(record) => unsafe {
                read_volatile(record.wrapping_add(16 + 8 * n) as *const u64)
            },
            Regs::Btf(regs) => unsafe {
                read_volatile(regs.wrapping_add(register(n, compat)) as *const u64)
            },
            Regs::Raw(regs) => unsafe {
                bpf_probe_read_kernel(regs.wrapping_add(register(n, compat)) as *const u64).ok()?
            },
        };
        Some(if compat {
            value & load(&COMPAT_ARG_MASK)
        } else {
            value
        })
    }
}

/// The offset in `struct pt_regs` of argument `n` of the ABI.
#[inline(always)]
fn register(n: usize, compat: bool) -> usize {
    let table = if compat {
        &ARG_REGS_COMPAT
    } else {
        &ARG_REGS_NATIVE
    };
    match table.get(n) {
        Some(offset) => load(offset) as usize,
        None => 0,
    }
}

/// Captures the arguments of the syscall just marked at `index` of slot
/// `slot`'s bitmap, if its kind is captured: one load and one compare for
/// every other syscall.
#[inline(always)]
pub fn capture(slot: u32, index: usize, regs: Regs) {
    let kind = match ARG_KIND.get(index) {
        Some(kind) => unsafe { read_volatile(kind) },
        None => return,
    };
    if kind != 0 {
        capture_kind(slot, kind, index, regs);
    }
}

/// Adds the arguments of a captured syscall to the slot's sets; marks the
/// syscall overflowed when they do not fit or cannot be read, which
/// userspace turns into a rule without conditions (a value that was used
/// is never denied).
#[inline(never)]
fn capture_kind(slot: u32, kind: u8, index: usize, regs: Regs) {
    let Some(sets) = ARG_SETS.get_ptr_mut(slot) else {
        return;
    };
    // SAFETY: array values live as long as the map; cells are written by
    // their one owner only (see `recorder_common::ValueTable`), flag bytes
    // with idempotent stores.
    let sets = unsafe { &mut *sets };
    let compat = index / SYSCALLS_PER_ABI as usize == AbiRow::Compat as usize;
    let a = |n| regs.arg(n, compat);
    let Some(syscall) = ArgSyscall::from_kind(kind) else {
        return;
    };
    let kept = match syscall {
        ArgSyscall::Socket => match (a(0), a(1), a(2)) {
            (Some(domain), Some(ty), Some(protocol)) => {
                insert(&mut sets.socket, [domain, ty & SOCK_TYPE_MASK, protocol])
            }
            _ => false,
        },
        ArgSyscall::Socketpair => match (a(0), a(1)) {
            (Some(domain), Some(ty)) => insert(&mut sets.socketpair, [domain, ty & SOCK_TYPE_MASK]),
            _ => false,
        },
        ArgSyscall::Clone => {
            let flags = if load(&CLONE_FLAGS_ARG) == 1 {
                a(1)
            } else {
                a(0)
            };
            // The low byte is the exit signal, not flags.
            flags
                .map(|f| set_bits(&mut sets.clone, f & !0xff))
                .is_some()
        }
        ArgSyscall::Clone3 => match a(0) {
            // clone_args.flags, the first member: the caller just wrote
            // it, so the page is in; a failed read counts as overflowed.
            Some(args) => match unsafe { bpf_probe_read_user(args as *const u64) } {
                Ok(flags) => {
                    set_bits(&mut sets.clone3, flags);
                    true
                }
                Err(_) => false,
            },
            None => false,
        },
        ArgSyscall::Unshare => a(0).map(|f| set_bits(&mut sets.unshare, f)).is_some(),
        ArgSyscall::Setns => a(1).is_some_and(|v| insert(&mut sets.setns, [v])),
        ArgSyscall::Personality => a(0).is_some_and(|v| insert(&mut sets.personality, [v])),
        ArgSyscall::Prctl => a(0).is_some_and(|v| insert(&mut sets.prctl, [v])),
        ArgSyscall::Ioctl => a(1).is_some_and(|v| insert(&mut sets.ioctl, [v])),
        ArgSyscall::Ptrace => a(0).is_some_and(|v| insert(&mut sets.ptrace, [v])),
        ArgSyscall::Bpf => a(0).is_some_and(|v| insert(&mut sets.bpf, [v])),
        ArgSyscall::Keyctl => a(0).is_some_and(|v| insert(&mut sets.keyctl, [v])),
        ArgSyscall::Mprotect => a(2).map(|p| set_bits(&mut sets.mprotect, p)).is_some(),
        ArgSyscall::PkeyMprotect => a(2).map(|p| set_bits(&mut sets.pkey_mprotect, p)).is_some(),
    };
    // Masked rather than bounds-checked: LLVM may check one copy of
    // `kind` and index with another, which the verifier cannot follow.
    if !kept && let Some(flag) = sets.overflowed.get_mut(usize::from(kind & 15)) {
        unsafe { write_volatile(flag, 1) };
    }
}

/// Adds `words` to `table` (see `recorder_common::ValueTable` for why
/// concurrent CPUs lose no value); `false` when it is full.
#[inline(always)]
fn insert<const CAP: usize, const W: usize>(
    table: &mut ValueTable<CAP, W>,
    words: [u64; W],
) -> bool {
    // SAFETY: a map value, changed by other CPUs only through `insert`.
    // The add's result is not used, so it compiles to BPF's `lock add`,
    // which every ISA version has (`AtomicU64::fetch_add` is not offered:
    // the BPF target lacks compare-and-swap before ISA v3).
    unsafe {
        ValueTable::insert(table, words, |claims| {
            atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(claims, 1);
        })
    }
}

/// Marks the bits of `word` seen; always kept.
#[inline(always)]
fn set_bits(bits: &mut FlagBits, word: u64) {
    // SAFETY: a map value.
    unsafe { FlagBits::set(bits, word) };
}
