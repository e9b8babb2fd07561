//! Kernel side of the recorder.
//!
//! On every `sys_enter` it finds the recording (slot) the current task's cgroup
//! belongs to, if any, and marks the syscall in that slot's bitmap. Nothing per
//! syscall leaves the kernel; userspace reads the bitmaps when it wants.
//!
//! A cgroup belongs to a recording when it, or one of its ancestors, is a root
//! in `ROOTS`. The answer is cached per cgroup (`CGROUP_SLOT`) and per CPU
//! (`CPU_CACHE`), both tagged with the generation userspace bumps on every
//! change, so the common case costs two array lookups and no hashing.
//!
//! A cgroup in no recording can start one by itself when userspace asked for
//! recordings of new cgroups (`control::NEW_CGROUP_FLAGS`): it takes a slot
//! index from `FREE_SLOTS`, becomes a root, and says so in one
//! `NEW_CGROUPS` event, so that userspace can tell what it is (a container
//! or not) while it lives. A cgroup userspace (or a lack of slots) marked
//! `ROOT_IGNORED` never starts one again. Slots flagged
//! `SLOT_IN_CONTAINER` count only tasks outside the host's pid namespace.
#![no_std]
#![no_main]
// `atomic_xadd`: see `args::insert`.
#![allow(internal_features)]
#![feature(core_intrinsics)]
#![feature(asm_experimental_arch)]

mod args;

use core::intrinsics::{AtomicOrdering, atomic_xadd};

use args::Regs;
use aya_ebpf::{
    EbpfContext,
    bindings::{BPF_NOEXIST, bpf_pidns_info},
    helpers::{
        bpf_get_current_cgroup_id, bpf_get_current_pid_tgid,
        generated::{
            bpf_get_current_ancestor_cgroup_id, bpf_get_current_comm, bpf_get_current_task_btf,
            bpf_get_ns_current_pid_tgid,
        },
    },
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{Array, HashMap, LruHashMap, PerCpuArray, Queue, RingBuf},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use recorder_common::{
    CachedSlot, CpuCache, DEFAULT_SLOTS, EVENT_ARGV_BYTES, EVENT_ENV_BYTES, MAX_ROOTS,
    NEW_CGROUPS_BYTES, NOT_RECORDED, NewCgroupEvent, Numbering, RDONLY_CAST_PLACEHOLDER,
    ROOT_IGNORED, SLOT_ACTIVE, SLOT_ARM_ON_EXEC, SLOT_IN_CONTAINER, Slot, cache_entry, control,
};

/// `BPF_F_NO_PREALLOC`: entries are allocated as they are inserted.
const NO_PREALLOC: u32 = 1;

#[map]
static ROOTS: HashMap<u64, u32> = HashMap::with_max_entries(MAX_ROOTS, NO_PREALLOC);

#[map]
static CGROUP_SLOT: LruHashMap<u64, CachedSlot> = LruHashMap::with_max_entries(16384, 0);

#[map]
static SLOTS: Array<Slot> = Array::with_max_entries(DEFAULT_SLOTS, 0);

#[map]
static CPU_CACHE: PerCpuArray<CpuCache> = PerCpuArray::with_max_entries(1, 0);

#[map]
static CONTROL: Array<u64> = Array::with_max_entries(control::LEN, 0);

// The words the hot path reads on every syscall, each in a data section of
// its own (see `recorder_common::map::GENERATION`): a fixed address, where
// an array lookup stores the key, loads it back and checks it.
#[unsafe(link_section = ".data.generation")]
#[unsafe(no_mangle)]
static mut GENERATION: u64 = 0;
#[unsafe(link_section = ".data.task_changes")]
#[unsafe(no_mangle)]
static mut TASK_CHANGES: u64 = 0;

#[map]
static FREE_SLOTS: Queue<u32> = Queue::with_max_entries(DEFAULT_SLOTS, 0);

#[map]
static NEW_CGROUPS: RingBuf = RingBuf::with_byte_size(NEW_CGROUPS_BYTES, 0);

// Load-time constants, see `recorder_common::global`.
#[unsafe(no_mangle)]
static EXECVE_NR: u64 = u64::MAX;
#[unsafe(no_mangle)]
static EXECVEAT_NR: u64 = u64::MAX;
#[unsafe(no_mangle)]
static X32_BIT: u64 = 0;
#[unsafe(no_mangle)]
static ARM_PRIVATE_BASE: u64 = 0;
#[unsafe(no_mangle)]
static MIPS_BASE_NATIVE: u64 = 0;
#[unsafe(no_mangle)]
static MIPS_BASE_COMPAT: u64 = 0;
#[unsafe(no_mangle)]
static MIPS_BASE_THIRD: u64 = 0;
#[unsafe(no_mangle)]
static COMPAT_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static COMPAT_MASK: u64 = 0;
#[unsafe(no_mangle)]
static HOST_PIDNS_DEV: u64 = 0;
#[unsafe(no_mangle)]
static HOST_PIDNS_INO: u64 = 0;
#[unsafe(no_mangle)]
static MNT_NS_ON: u64 = 0;
#[unsafe(no_mangle)]
static REAL_PARENT_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static NSPROXY_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static MNT_NS_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static NS_INUM_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static TGID_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static CMDLINE_ON: u64 = 0;
#[unsafe(no_mangle)]
static CGROUP_ID_ON: u64 = 0;
#[unsafe(no_mangle)]
static CGROUPS_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static DFL_CGRP_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static CGROUP_KN_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static KN_ID_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static PID_LEVEL_ON: u64 = 0;
#[unsafe(no_mangle)]
static THREAD_PID_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static PID_LEVEL_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static HOST_PID_LEVEL: u64 = 0;
#[unsafe(no_mangle)]
static NATIVE_ENTRY_ON: u64 = 0;
#[unsafe(no_mangle)]
static NATIVE_ENTRY: [u64; 6] = [0; 6];
#[unsafe(no_mangle)]
static TASK_CAST_ON: u64 = 0;
#[unsafe(no_mangle)]
static TASK_STRUCT_BTF_ID: u64 = 0;
#[unsafe(no_mangle)]
static MM_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static ARG_START_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static ARG_END_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static ENV_START_OFFSET: u64 = 0;
#[unsafe(no_mangle)]
static ENV_END_OFFSET: u64 = 0;

/// Deepest cgroup level searched for a recorded ancestor. systemd and
/// Kubernetes nest about 6 levels deep; 32 leaves ample room.
const MAX_CGROUP_DEPTH: i32 = 32;

#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter_btf(ctx: BtfTracePointContext) -> i32 {
    // sys_enter(struct pt_regs *regs, long id): the registers' address is
    // the task's key (see `CpuCache::task_key`).
    let regs = ctx.arg::<*const u8>(0);
    record(
        ctx.arg::<i64>(1),
        Regs::Btf(regs),
        TaskKey::Regs(regs as u64),
    );
    0
}

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter_raw(ctx: RawTracePointContext) -> i32 {
    let regs = ctx.arg::<*const u8>(0);
    record(
        ctx.arg::<i64>(1),
        Regs::Raw(regs),
        TaskKey::Regs(regs as u64),
    );
    0
}

/// On every tracepoint of `recorder_common::program::TASK_CHANGE_HOOKS`: a
/// task was created or moved between cgroups, so what any CPU remembers of
/// a task's cgroup may be stale. Attached with the two `sys_enter` hooks
/// that remember tasks; rare next to syscalls.
#[raw_tracepoint]
pub fn task_changed(_ctx: RawTracePointContext) -> i32 {
    count_task_change();
    0
}

/// [`task_changed`] on the classic tracepoints, for `sys_enter_classic`.
#[tracepoint]
pub fn task_changed_classic(_ctx: TracePointContext) -> i32 {
    count_task_change();
    0
}

#[inline(always)]
fn count_task_change() {
    // SAFETY: a global variable (a map value, which lives as long as the
    // program); the add is atomic, as CPUs create tasks at the same moment.
    unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::Relaxed }>(&raw mut TASK_CHANGES, 1) };
}

/// On `sched/sched_switch`, with `sys_enter_classic` only: another task
/// runs on this CPU from now on (`CpuCache::switched`). One store per
/// context switch, which is rarer than syscalls by far.
#[tracepoint(category = "sched", name = "sched_switch")]
pub fn sched_switch_classic(_ctx: TracePointContext) -> i32 {
    if let Some(cache) = CPU_CACHE.get_ptr_mut(0) {
        // SAFETY: a per-CPU value, only touched by this CPU with preemption
        // off.
        unsafe { (*cache).switched = 1 };
    }
    0
}

/// How the hot path tells that the task of this syscall is the one whose
/// cgroup it read last on this CPU.
#[derive(Clone, Copy)]
enum TaskKey {
    /// The address of the task's saved registers, the top of its kernel
    /// stack, which no two live tasks share.
    Regs(u64),
    /// No `sched_switch` since that read.
    Switches,
}

#[tracepoint(category = "raw_syscalls", name = "sys_enter")]
pub fn sys_enter_classic(ctx: TracePointContext) -> i32 {
    // struct trace_event_raw_sys_enter { struct trace_entry ent; long id; ... }
    // with an 8-byte trace_entry on every architecture. Read in place (the
    // verifier checks it against the event's size), not through a
    // probe-read helper: one call fewer on every syscall.
    let id = unsafe { core::ptr::read_volatile((ctx.as_ptr() as *const i64).add(1)) };
    // The classic event carries no registers' address: the task is the
    // one whose cgroup was read last on this CPU until `sched_switch` says
    // another runs.
    record(
        id,
        Regs::Classic(ctx.as_ptr() as *const u8),
        TaskKey::Switches,
    );
    0
}

#[inline(always)]
fn load(global: &u64) -> u64 {
    // The loader patches these in .rodata; a volatile read keeps the compiler
    // from folding the defaults in.
    unsafe { core::ptr::read_volatile(global) }
}

/// The hot path, run on every syscall of every process. A task this CPU
/// remembers (`task_key`) costs no call, recorded or not: a recorded one's
/// compat flag is read through the remembered task's address where the
/// kernel has `bpf_rdonly_cast` ([`task_at`]); without it, tp_btf's
/// registers show a native syscall ([`surely_native`]) and raw_tp and the
/// classic tracepoint ask for the task (one call). A task the CPU does not
/// remember costs that call once, to read its cgroup. The cgroup id, the
/// compat flag, the pid namespace's level and the mount namespace are
/// plain loads through the task pointer, under the RCU read lock the
/// tracepoint holds. On CPUs where every call and return goes through a
/// mitigation thunk, a call costs more than the rest of the program.
#[inline(always)]
fn record(id: i64, regs: Regs, task_key: TaskKey) {
    // SAFETY: global variables, written by userspace (the generation) and
    // atomically by `task_changed`; a word is read whole.
    let generation = unsafe { core::ptr::read_volatile(&raw const GENERATION) };
    // Read before the task's cgroup: a change counted after this read makes
    // what is remembered below stale at the next syscall.
    let stamp = unsafe { core::ptr::read_volatile(&raw const TASK_CHANGES) } + 1;
    let Some(cache) = CPU_CACHE.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: a per-CPU value, only touched by this CPU with preemption off.
    let cache = unsafe { &mut *cache };
    let mut task = core::ptr::null();
    let remembered = cache.task_stamp == stamp
        && match task_key {
            TaskKey::Regs(key) => key != 0 && cache.task_key == key,
            TaskKey::Switches => cache.switched == 0,
        };
    let cgroup_id = if remembered {
        cache.task_cgroup_id
    } else {
        task = current_task_cold();
        let cgroup_id = cgroup_id_of(task);
        if let TaskKey::Regs(key) = task_key {
            cache.task_key = key;
        }
        cache.task = task as u64;
        cache.task_outside_host_pidns =
            u64::from(load(&PID_LEVEL_ON) != 0 && outside_host_pidns(task));
        cache.switched = 0;
        cache.task_stamp = stamp;
        cache.task_cgroup_id = cgroup_id;
        cgroup_id
    };
    if cache.cgroup_id == cgroup_id && cache.generation == generation {
        if cache.slot_plus_one == NOT_RECORDED {
            return;
        }
        if let Some(slot) = SLOTS.get_ptr_mut(cache.slot_plus_one - 1) {
            // SAFETY: array values live as long as the map; concurrent
            // writers only store single bytes and set flags to the same
            // value.
            let slot = unsafe { &mut *slot };
            if slot.epoch == cache.epoch {
                let known = Known::of(task, regs, cache);
                mark_and_capture(slot, cache.slot_plus_one - 1, id, regs, known);
                return;
            }
        }
    }
    let (found, epoch) = slot_of(cgroup_id, generation);
    cache.cgroup_id = cgroup_id;
    cache.generation = generation;
    cache.slot_plus_one = found;
    cache.epoch = epoch;
    if found == NOT_RECORDED {
        return;
    }
    let Some(slot) = SLOTS.get_ptr_mut(found - 1) else {
        return;
    };
    // SAFETY: as above.
    let slot = unsafe { &mut *slot };
    mark_and_capture(slot, found - 1, id, regs, Known::of(task, regs, cache));
}

/// What the recorded path knows of the syscall's task without asking.
struct Known {
    task: LazyTask,
    /// The task is outside the host's pid namespace (as remembered).
    outside_host_pidns: bool,
}

impl Known {
    /// What `cache` remembers of the current task, whose pointer `task` is
    /// when it was asked for already (else null).
    #[inline(always)]
    fn of(task: *const u8, regs: Regs, cache: &CpuCache) -> Known {
        Known {
            task: LazyTask::new(task, regs, cache.task),
            outside_host_pidns: cache.task_outside_host_pidns != 0,
        }
    }
}

/// The current task of a recorded syscall, for its compat flag and for a
/// container scope its pid namespace does not decide: the task this CPU
/// remembers (`remembered`, the one its cgroup id was read from), typed
/// again without a call where the kernel has `bpf_rdonly_cast`. Without
/// the kfunc, tp_btf asks for the task only where the registers leave the
/// ABI open (an ia32 syscall) or the scope needs it, through the cold
/// subprogram the call counts know; raw_tp and the classic tracepoint,
/// whose registers cost a call to read, ask for it at the start.
struct LazyTask(*const u8);

impl LazyTask {
    #[inline(always)]
    fn new(task: *const u8, regs: Regs, remembered: u64) -> LazyTask {
        if !task.is_null() {
            return LazyTask(task);
        }
        // A remembered task's address is never 0 (it was stored with its
        // cgroup id); a load through 0 would read 0.
        if load(&TASK_CAST_ON) != 0 {
            return LazyTask(task_at(remembered));
        }
        match regs {
            Regs::Raw(_) | Regs::Classic(_) => LazyTask(current_task()),
            Regs::Btf(_) => LazyTask(task),
        }
    }

    #[inline(always)]
    fn get(&mut self, regs: Regs) -> *const u8 {
        if let Regs::Btf(_) = regs
            && self.0.is_null()
        {
            self.0 = current_task_cold();
        }
        self.0
    }
}

/// The current task, as a BTF pointer.
#[inline(always)]
fn current_task() -> *const u8 {
    unsafe { bpf_get_current_task_btf() as *const u8 }
}

/// The task at address `task`, typed as a `task_struct` again:
/// `bpf_rdonly_cast(task, TASK_STRUCT_BTF_ID)`, which the verifier replaces
/// with a move, and whose result it lets the program read (each load
/// guarded against faults, as a probe read would be) but not pass to
/// helpers that need a trusted pointer. Only reached with `TASK_CAST_ON`.
#[inline(always)]
fn task_at(task: u64) -> *const u8 {
    let typed: u64;
    // SAFETY: one instruction, the kfunc call the loader completes (see
    // `recorder_common::RDONLY_CAST_PLACEHOLDER`); like any call it takes
    // r1 and r2, returns in r0 and clobbers r1 to r5. It touches no memory.
    unsafe {
        core::arch::asm!(
            ".quad {call}",
            call = const RDONLY_CAST_PLACEHOLDER,
            inout("r1") task => _,
            inout("r2") load(&TASK_STRUCT_BTF_ID) => _,
            lateout("r0") typed,
            lateout("r3") _,
            lateout("r4") _,
            lateout("r5") _,
            options(nomem, nostack),
        );
    }
    typed as *const u8
}

/// [`current_task`] off the warm paths (a task this CPU does not remember;
/// on tp_btf, a recorded syscall whose registers leave its ABI open): a
/// subprogram, not inlined, so that the call counts of
/// `recorder::bpf::hot_path` find the start of such a path by its name.
#[inline(never)]
fn current_task_cold() -> *const u8 {
    unsafe { bpf_get_current_task_btf() as *const u8 }
}

/// The cgroup v2 id of `task`: `task->cgroups->dfl_cgrp->kn->id`, read
/// through BTF pointers at offsets userspace read from the kernel's BTF
/// (none of them is null for a running task; a null on the way gives 0, the
/// id of no cgroup); the helper, which takes an RCU read lock of its own
/// (two more calls), only where the kernel's BTF lacked the fields.
#[inline(always)]
fn cgroup_id_of(task: *const u8) -> u64 {
    if load(&CGROUP_ID_ON) == 0 {
        return unsafe { bpf_get_current_cgroup_id() };
    }
    if task.is_null() {
        return 0;
    }
    let css_set = pointer_at(task, &CGROUPS_OFFSET);
    if css_set.is_null() {
        return 0;
    }
    let cgroup = pointer_at(css_set, &DFL_CGRP_OFFSET);
    if cgroup.is_null() {
        return 0;
    }
    let kn = pointer_at(cgroup, &CGROUP_KN_OFFSET);
    if kn.is_null() {
        return 0;
    }
    word_at(kn, &KN_ID_OFFSET)
}

/// Marks syscall `id` in slot `slot_index` and, with `--args`, captures
/// its arguments ([`args::capture`]: one more compare for the syscalls it
/// does not capture; nothing at all without `--args`, where the verifier
/// drops the branch on the read-only `ARGS_ON`).
#[inline(always)]
fn mark_and_capture(slot: &mut Slot, slot_index: u32, id: i64, regs: Regs, known: Known) {
    if let Some(index) = mark(slot, id, regs, known)
        && load(&args::ARGS_ON) != 0
    {
        args::capture(slot_index, index, regs);
    }
}

/// The epoch of slot `slot_plus_one - 1` (0 for none).
#[inline(always)]
fn epoch_of(slot_plus_one: u32) -> u64 {
    if slot_plus_one == NOT_RECORDED {
        return 0;
    }
    match SLOTS.get(slot_plus_one - 1) {
        Some(slot) => slot.epoch,
        None => 0,
    }
}

/// Finds the slot of `cgroup_id` (+ 1, or [`NOT_RECORDED`]) and its epoch
/// through the per-cgroup cache, or by walking its ancestors, and caches
/// the answer. The epoch is read after the walk: an answer computed while
/// userspace ended the recording carries the old epoch or the new one, and
/// userspace changes the epoch again before it gives the slot to another
/// recording, so a stale answer never outlives the slot's rest.
#[inline(always)]
fn slot_of(cgroup_id: u64, generation: u64) -> (u32, u64) {
    if let Some(cached) = unsafe { CGROUP_SLOT.get(&cgroup_id) } {
        let slot_plus_one = cached.entry as u32;
        if cached.entry >> 32 == generation as u32 as u64
            && (slot_plus_one == NOT_RECORDED || epoch_of(slot_plus_one) == cached.epoch)
        {
            return (slot_plus_one, cached.epoch);
        }
    }
    let found = find_or_start_recording(cgroup_id) as u32;
    let cached = CachedSlot {
        entry: cache_entry(found, generation),
        epoch: epoch_of(found),
    };
    let _ = CGROUP_SLOT.insert(&cgroup_id, &cached, 0);
    (found, cached.epoch)
}

/// The slot (+ 1) of the recording of the current task's cgroup `cgroup_id`
/// or of its deepest recorded ancestor, else the slot of a recording started
/// for it (see [`start_new_cgroup`]), else [`NOT_RECORDED`].
///
/// A global function (`no_mangle`, never inlined), called only when the
/// per-cgroup cache has no answer: the kernel verifies a global function
/// once, on its own, where an inlined one is verified again for each way
/// the program reaches it. This walk of up to 32 ancestors, with its
/// branches at each level, was verified four times over and was most of the
/// program's load time.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn find_or_start_recording(cgroup_id: u64) -> u64 {
    let mut found = NOT_RECORDED;
    let mut ignored = false;
    // Level 0 is the root cgroup, which is never recorded; the deepest match
    // wins so that a recording nested in another one keeps its own syscalls.
    // An ignore mark only keeps its own cgroup from starting a recording.
    let mut level = 1;
    while level <= MAX_CGROUP_DEPTH {
        let ancestor = unsafe { bpf_get_current_ancestor_cgroup_id(level) };
        if ancestor == 0 {
            break;
        }
        if let Some(slot) = unsafe { ROOTS.get(&ancestor) } {
            if *slot != ROOT_IGNORED {
                found = *slot + 1;
            } else if ancestor == cgroup_id {
                ignored = true;
            }
        }
        level += 1;
    }
    if found == NOT_RECORDED && !ignored {
        found = start_new_cgroup(cgroup_id);
    }
    u64::from(found)
}

/// Starts a recording for a cgroup created after the moment userspace chose
/// (see `recorder_common::control`), or returns [`NOT_RECORDED`]. Either
/// way userspace hears of it once, through `NEW_CGROUPS`; a cgroup that
/// found no free slot is marked ignored, so that it stays unrecorded
/// rather than being recorded partly from some later syscall.
#[inline(always)]
fn start_new_cgroup(cgroup_id: u64) -> u32 {
    let flags = match CONTROL.get(control::NEW_CGROUP_FLAGS) {
        Some(f) if *f != 0 => *f,
        _ => return NOT_RECORDED,
    };
    match CONTROL.get(control::NEW_CGROUP_MIN_ID) {
        Some(min) if cgroup_id > *min => {}
        _ => return NOT_RECORDED,
    }
    // One place announces either outcome: each inlined copy of `announce`
    // is verified again.
    let (announced, found) = match FREE_SLOTS.pop() {
        Ok(Some(slot)) => match take_slot(cgroup_id, slot, flags) {
            Taken::Ours => (slot, slot + 1),
            Taken::Other(found) => return found,
        },
        _ => {
            if ROOTS
                .insert(&cgroup_id, &ROOT_IGNORED, BPF_NOEXIST as u64)
                .is_err()
            {
                return NOT_RECORDED;
            }
            count(control::NEW_CGROUP_MISSED);
            (ROOT_IGNORED, NOT_RECORDED)
        }
    };
    announce(cgroup_id, announced);
    found
}

/// Who [`take_slot`] found recording the cgroup.
enum Taken {
    /// The free slot given to it.
    Ours,
    /// Another CPU's slot (+ 1), or [`NOT_RECORDED`]; the free slot went
    /// back to the queue.
    Other(u32),
}

/// Gives the free `slot` to `cgroup_id`'s recording, unless another CPU
/// started one at the same moment.
#[inline(always)]
fn take_slot(cgroup_id: u64, slot: u32, flags: u64) -> Taken {
    let Some(value) = SLOTS.get_ptr_mut(slot) else {
        return Taken::Other(NOT_RECORDED);
    };
    // Userspace cleared the bitmap before it queued the slot. This task is
    // the cgroup's first to make a syscall, which the runtime started: its
    // parent works in the runtime's mount namespace.
    // SAFETY: array values live as long as the map; nothing marks this slot
    // before it is in ROOTS.
    unsafe {
        (*value).flags = flags;
        if flags & SLOT_IN_CONTAINER != 0 {
            (*value).runtime_mnt_ns = parent_mnt_ns();
        }
    }
    if ROOTS.insert(&cgroup_id, &slot, BPF_NOEXIST as u64).is_err() {
        // Another CPU started this cgroup's recording at the same moment.
        let _ = FREE_SLOTS.push(slot, 0);
        return Taken::Other(match unsafe { ROOTS.get(&cgroup_id) } {
            Some(winner) if *winner != ROOT_IGNORED => *winner + 1,
            _ => NOT_RECORDED,
        });
    }
    Taken::Ours
}

/// Adds one to a `CONTROL` counter.
#[inline(always)]
fn count(index: u32) {
    if let Some(counter) = CONTROL.get_ptr_mut(index) {
        // SAFETY: an array value; a lost increment only makes the count
        // smaller, and userspace only asks whether it is 0.
        unsafe { *counter += 1 };
    }
}

/// Tells userspace that `cgroup_id` took `slot` (or found none), with what
/// tells the cgroup's first task (see `NewCgroupEvent`). The record is
/// written in place in the ring buffer: it is larger than the BPF stack.
#[inline(always)]
fn announce(cgroup_id: u64, slot: u32) {
    let Some(mut entry) = NEW_CGROUPS.reserve::<NewCgroupEvent>(0) else {
        count(control::EVENTS_LOST);
        return;
    };
    let event = entry.as_mut_ptr();
    // SAFETY: `event` points at a reserved record of the right size, ours
    // until it is submitted. Every field userspace reads is written here:
    // `argv` and `env` beyond their lengths are not read, so the record is
    // not zeroed first. (The ring buffer's pages are zeroed when the map is
    // made and hold nothing but earlier records after; zeroing 800 bytes
    // compiles to a byte loop the verifier walks once per byte, which was
    // a third of the program's load time.)
    unsafe {
        (*event).cgroup_id = cgroup_id;
        (*event).slot = slot;
        (*event).tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
        (*event).parent_tgid = parent_tgid();
        (*event).argv_len = 0;
        (*event).env_len = 0;
        (*event)._pad = 0;
        // Fills the whole array: the name and zeros after it, or zeros.
        let comm = &mut (*event).comm;
        bpf_get_current_comm(comm.as_mut_ptr().cast(), comm.len() as u32);
        if load(&CMDLINE_ON) != 0 {
            read_args(&mut *event);
        }
    }
    entry.submit(0);
}

/// Copies the end of the current task's command line and the start of its
/// environment into `event`, from its own memory (written at its exec, so
/// present: a read that faults leaves the part empty).
#[inline(always)]
fn read_args(event: &mut NewCgroupEvent) {
    let task = current_task();
    if task.is_null() {
        return;
    }
    let mm = pointer_at(task, &MM_OFFSET);
    if mm.is_null() {
        return;
    }
    let arg_start = word_at(mm, &ARG_START_OFFSET);
    let arg_end = word_at(mm, &ARG_END_OFFSET);
    let mut len = arg_end.wrapping_sub(arg_start);
    if len > EVENT_ARGV_BYTES as u64 {
        len = EVENT_ARGV_BYTES as u64;
    }
    let from = arg_end.wrapping_sub(len) as *const u8;
    if unsafe { read_user(event.argv.as_mut_ptr(), len as u32, from) } {
        event.argv_len = len as u32;
    }
    let env_start = word_at(mm, &ENV_START_OFFSET);
    let env_end = word_at(mm, &ENV_END_OFFSET);
    let mut len = env_end.wrapping_sub(env_start);
    if len > EVENT_ENV_BYTES as u64 {
        len = EVENT_ENV_BYTES as u64;
    }
    if unsafe { read_user(event.env.as_mut_ptr(), len as u32, env_start as *const u8) } {
        event.env_len = len as u32;
    }
}

/// `bpf_probe_read_user` of `len` bytes; whether it read them.
#[inline(always)]
unsafe fn read_user(to: *mut u8, len: u32, from: *const u8) -> bool {
    unsafe { aya_ebpf::helpers::generated::bpf_probe_read_user(to.cast(), len, from.cast()) == 0 }
}

/// The `unsigned long` member of a kernel struct at the offset in
/// `offset`, from a BTF pointer to the struct.
#[inline(always)]
fn word_at(base: *const u8, offset: &u64) -> u64 {
    unsafe { core::ptr::read_volatile(base.wrapping_add(load(offset) as usize) as *const u64) }
}

/// The current task's parent's thread group id, read through BTF task
/// pointers like [`parent_mnt_ns`]; 0 when the kernel's BTF lacked the
/// fields.
#[inline(always)]
fn parent_tgid() -> u32 {
    if load(&MNT_NS_ON) == 0 {
        return 0;
    }
    let task = current_task();
    if task.is_null() {
        return 0;
    }
    let parent = pointer_at(task, &REAL_PARENT_OFFSET);
    if parent.is_null() {
        return 0;
    }
    unsafe {
        core::ptr::read_volatile(parent.wrapping_add(load(&TGID_OFFSET) as usize) as *const u32)
    }
}

/// Whether the current task is the container's, not its runtime's (which
/// works in the host's pid namespace and its own mount namespace until it
/// has made the container's): outside the host's pid namespace, or in a
/// mount namespace other than the runtime's, which covers containers that
/// share the host's pid namespace (Kubernetes `hostPID`, `docker run
/// --pid=host`).
#[inline(always)]
fn in_container(slot: &Slot, task: *const u8) -> bool {
    if outside_host_pidns(task) {
        return true;
    }
    let runtime = slot.runtime_mnt_ns;
    if runtime == 0 {
        return false;
    }
    let ns = if load(&MNT_NS_ON) == 0 {
        0
    } else {
        mnt_ns_of(task)
    };
    ns != 0 && ns != runtime
}

/// Whether `task` is in a pid namespace below the host's: its pid's level
/// (`task->thread_pid->level`, a plain load) is deeper than the recorder's
/// own. Where those fields were not found, the helper, which only answers
/// for the pid namespace it is asked about.
#[inline(always)]
fn outside_host_pidns(task: *const u8) -> bool {
    if load(&PID_LEVEL_ON) != 0 {
        if task.is_null() {
            return false;
        }
        let pid = pointer_at(task, &THREAD_PID_OFFSET);
        if pid.is_null() {
            return false;
        }
        let level = unsafe {
            core::ptr::read_volatile(
                pid.wrapping_add(load(&PID_LEVEL_OFFSET) as usize) as *const u32
            )
        };
        return u64::from(level) > load(&HOST_PID_LEVEL);
    }
    let mut info = bpf_pidns_info { pid: 0, tgid: 0 };
    let result = unsafe {
        bpf_get_ns_current_pid_tgid(
            load(&HOST_PIDNS_DEV),
            load(&HOST_PIDNS_INO),
            &mut info,
            core::mem::size_of::<bpf_pidns_info>() as u32,
        )
    };
    result != 0
}

/// The mount namespace of the current task's parent: when the current task
/// is a new cgroup's first, the runtime's, whether that task is still the
/// runtime's own (runc's) or already the container's (crun's).
#[inline(always)]
fn parent_mnt_ns() -> u64 {
    if load(&MNT_NS_ON) == 0 {
        return 0;
    }
    let task = current_task();
    if task.is_null() {
        return 0;
    }
    mnt_ns_of(pointer_at(task, &REAL_PARENT_OFFSET))
}

/// A task's mount namespace, `task->nsproxy->mnt_ns->ns.inum`, read through
/// BTF task pointers at offsets userspace read from the kernel's BTF (each
/// a read-only constant the verifier checks against the types; a load
/// through such a pointer cannot fault); 0 when a pointer on the way is
/// null.
#[inline(always)]
fn mnt_ns_of(task: *const u8) -> u64 {
    if task.is_null() {
        return 0;
    }
    let nsproxy = pointer_at(task, &NSPROXY_OFFSET);
    if nsproxy.is_null() {
        return 0;
    }
    let mnt_ns = pointer_at(nsproxy, &MNT_NS_OFFSET);
    if mnt_ns.is_null() {
        return 0;
    }
    let inum = unsafe {
        core::ptr::read_volatile(mnt_ns.wrapping_add(load(&NS_INUM_OFFSET) as usize) as *const u32)
    };
    u64::from(inum)
}

/// The pointer member of a kernel struct at the offset in `offset` (a
/// load-time constant), from a BTF pointer to the struct.
#[inline(always)]
fn pointer_at(base: *const u8, offset: &u64) -> *const u8 {
    unsafe {
        core::ptr::read_volatile(base.wrapping_add(load(offset) as usize) as *const *const u8)
    }
}

/// Marks syscall `id` in the slot's bitmap when the slot records it, and
/// returns its place there.
#[inline(always)]
fn mark(slot: &mut Slot, id: i64, regs: Regs, known: Known) -> Option<usize> {
    let nr = id as u64;
    let mut task = known.task;
    if slot.flags & SLOT_IN_CONTAINER != 0
        && !known.outside_host_pidns
        && !in_container(slot, task.get(regs))
    {
        return None;
    }
    if slot.flags & SLOT_ACTIVE == 0 {
        if slot.flags & SLOT_ARM_ON_EXEC == 0
            || (nr != load(&EXECVE_NR) && nr != load(&EXECVEAT_NR))
        {
            return None;
        }
        slot.flags |= SLOT_ACTIVE;
    }
    // A zero mask disables compat detection; offset 0 is a valid place
    // (aarch64's thread_info.flags opens task_struct).
    let compat_mask = load(&COMPAT_MASK);
    // With the remembered task at hand, its flag is one load; without it,
    // tp_btf's registers spare the call for a native syscall.
    let compat = compat_mask != 0
        && (load(&TASK_CAST_ON) != 0 || !surely_native(regs))
        && is_compat(task.get(regs), load(&COMPAT_OFFSET), compat_mask);
    let numbering = Numbering {
        x32_bit: load(&X32_BIT),
        arm_private_base: load(&ARM_PRIVATE_BASE),
        mips_bases: [
            load(&MIPS_BASE_NATIVE),
            load(&MIPS_BASE_COMPAT),
            load(&MIPS_BASE_THIRD),
        ],
    };
    let Some(index) = numbering.seen_index(nr, compat) else {
        slot.out_of_range += 1;
        return None;
    };
    let byte = slot.seen.get_mut(index)?;
    if *byte == 0 {
        *byte = 1;
    }
    Some(index)
}

/// Whether the syscall's registers show a native `syscall` instruction (see
/// `recorder_common::global::NATIVE_ENTRY`): on tp_btf, whose registers
/// are plain loads, where the kernel lacks `bpf_rdonly_cast` (with it, the
/// remembered task's flag is one load); elsewhere reading them costs a
/// call, and the task's flag is read instead.
#[inline(always)]
fn surely_native(regs: Regs) -> bool {
    let Regs::Btf(regs) = regs else {
        return false;
    };
    if load(&NATIVE_ENTRY_ON) == 0 || regs.is_null() {
        return false;
    }
    let [cs, user_cs, cx, ip, r11, flags] = &NATIVE_ENTRY;
    let segment =
        unsafe { core::ptr::read_volatile(regs.wrapping_add(load(cs) as usize) as *const u16) };
    u64::from(segment) == load(user_cs)
        && word_at(regs, cx) == word_at(regs, ip)
        && word_at(regs, r11) == word_at(regs, flags)
}

/// Whether the current syscall entered through the 32-bit compat ABI,
/// judged by a task_struct word whose offset userspace read from BTF.
///
/// A direct load through the BTF-typed task pointer: the offset is a
/// read-only constant the verifier knows, so it checks the access against
/// task_struct's layout once at load time, and no probe-read helper call is
/// paid on every syscall. Only reached when userspace found the field in
/// the kernel's BTF, which that pointer needs anyway.
#[inline(always)]
fn is_compat(task: *const u8, offset: u64, mask: u64) -> bool {
    if task.is_null() {
        return false;
    }
    let word =
        unsafe { core::ptr::read_volatile(task.wrapping_add(offset as usize) as *const u32) };
    word as u64 & mask != 0
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
