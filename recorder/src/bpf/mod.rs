//! Loads the kernel-side program and drives its maps.
//!
//! First stage of the flow: capture. [`SyscallRecorder::load`] loads the
//! embedded eBPF object, attaches it to `sys_enter` with the cheapest kind the
//! kernel supports ([`AttachKind`]), and then serves any number of recordings:
//! each is a root cgroup (plus everything created below it) with a slot of
//! per-ABI syscall bitmaps in the kernel. Reading a slot yields a [`Seen`].

mod attach;
mod privileges;

use std::collections::BTreeSet;

use aya::maps::{Array, HashMap, MapData};
use aya::{Ebpf, EbpfLoader};
use recorder_common::{
    ABI_ROWS, AbiRow, MAX_SLOTS, SLOT_ACTIVE, SLOT_ARM_ON_EXEC, SYSCALLS_PER_ABI, Slot, control,
    global, map,
};

pub use attach::AttachKind;
pub use privileges::check_privileges;

use crate::cgroup::CgroupId;

/// The eBPF object built by `build.rs` from `recorder-ebpf`.
static PROGRAM_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/recorder"));

/// Errors of loading the program and using its maps.
#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    #[error(
        "this recorder was built without its eBPF program (RECORDER_SKIP_EBPF was set): rebuild it without that variable"
    )]
    NotBuilt,
    #[error(
        "permission denied loading the eBPF program: run as root, or grant CAP_BPF and CAP_PERFMON (plus CAP_SYS_ADMIN on kernels before 5.8)"
    )]
    PermissionDenied,
    #[error("loading the eBPF program failed: {0}")]
    Load(#[source] Box<aya::EbpfError>),
    #[error("the eBPF object lacks {0} (rebuild recorder)")]
    Missing(&'static str),
    #[error("eBPF map {name}: {source}")]
    Map {
        name: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error(
        "no usable sys_enter hook: {0}. Needs a kernel with BTF (/sys/kernel/btf/vmlinux) or raw tracepoints, or tracefs mounted at /sys/kernel/tracing (run `cargo xtask setup`)"
    )]
    NoHook(String),
    #[error("all {MAX_SLOTS} recording slots are in use")]
    NoFreeSlot,
}

/// Which recording a [`SyscallRecorder`] slot belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordingId {
    slot: u32,
    root: CgroupId,
}

/// When a recording starts marking syscalls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// From the next syscall on.
    Now,
    /// From the first `execve`/`execveat` of a process in the cgroup (that
    /// exec included): skips the recorder's own work in a child before exec.
    AtFirstExec,
}

/// What one recording saw: syscall numbers per ABI row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub native: BTreeSet<u32>,
    pub compat: BTreeSet<u32>,
    pub x32: BTreeSet<u32>,
    /// Syscalls whose number was beyond the bitmap (or negative).
    pub out_of_range: u64,
}

impl Seen {
    fn from_slot(slot: &Slot) -> Seen {
        let mut seen = Seen {
            out_of_range: slot.out_of_range,
            ..Seen::default()
        };
        for row in 0..ABI_ROWS {
            let start = row * SYSCALLS_PER_ABI as usize;
            let numbers = slot.seen[start..start + SYSCALLS_PER_ABI as usize]
                .iter()
                .enumerate()
                .filter(|(_, b)| **b != 0)
                .map(|(nr, _)| nr as u32);
            let set = match row {
                r if r == AbiRow::Native as usize => &mut seen.native,
                r if r == AbiRow::Compat as usize => &mut seen.compat,
                _ => &mut seen.x32,
            };
            set.extend(numbers);
        }
        seen
    }

    /// Number of distinct syscalls over all ABIs.
    pub fn len(&self) -> usize {
        self.native.len() + self.compat.len() + self.x32.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The numbers seen in one ABI row.
    pub fn row(&self, row: AbiRow) -> &BTreeSet<u32> {
        match row {
            AbiRow::Native => &self.native,
            AbiRow::Compat => &self.compat,
            AbiRow::X32 => &self.x32,
        }
    }
}

/// The kernel's accounting of the attached program (kept only while
/// `kernel.bpf_stats_enabled` is 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramStats {
    pub run_time_ns: u64,
    pub run_count: u64,
}

/// The loaded, attached program and the recordings it serves.
pub struct SyscallRecorder {
    // Keeps programs and links alive; dropping it detaches.
    ebpf: Ebpf,
    attach: AttachKind,
    roots: HashMap<MapData, u64, u32>,
    slots: Array<MapData, Slot>,
    control: Array<MapData, u64>,
    in_use: BTreeSet<u32>,
    generation: u64,
}

impl SyscallRecorder {
    /// Loads and attaches the program with the best hook available.
    pub fn load() -> Result<SyscallRecorder, BpfError> {
        Self::load_with(None)
    }

    /// Loads and attaches with the given hook, or the best one for `None`.
    pub fn load_with(kind: Option<AttachKind>) -> Result<SyscallRecorder, BpfError> {
        if PROGRAM_OBJECT.is_empty() {
            return Err(BpfError::NotBuilt);
        }
        check_privileges()?;
        raise_memlock_limit();
        let host = crate::arch::Arch::host();
        let table = host.table();
        let execve = u64::from(table.number("execve").unwrap_or(u32::MAX));
        let execveat = u64::from(table.number("execveat").unwrap_or(u32::MAX));
        let x32_bit = u64::from(crate::arch::x32_bit_of_host());
        let arm_private_base = u64::from(crate::arch::arm_private_base_of_host());
        let compat = crate::arch::compat_field();
        let (compat_offset, compat_mask) = compat.map_or((0u64, 0u64), |c| (c.offset, c.mask));
        // Parsing the kernel's BTF (megabytes) is the largest start-up cost:
        // do it once for loading and attaching.
        let btf = aya::Btf::from_sys_fs().ok();
        let mut ebpf = EbpfLoader::new()
            .btf(btf.as_ref())
            .override_global(global::EXECVE_NR, &execve, true)
            .override_global(global::EXECVEAT_NR, &execveat, true)
            .override_global(global::X32_BIT, &x32_bit, true)
            .override_global(global::ARM_PRIVATE_BASE, &arm_private_base, true)
            .override_global(global::COMPAT_OFFSET, &compat_offset, true)
            .override_global(global::COMPAT_MASK, &compat_mask, true)
            .load(PROGRAM_OBJECT)
            .map_err(|e| {
                if is_permission_error(&e) {
                    BpfError::PermissionDenied
                } else {
                    BpfError::Load(Box::new(e))
                }
            })?;
        let attach = attach::attach(&mut ebpf, btf.as_ref(), kind)?;
        let roots = take_map(&mut ebpf, map::ROOTS)?;
        let slots = take_map(&mut ebpf, map::SLOTS)?;
        let control = take_map(&mut ebpf, map::CONTROL)?;
        Ok(SyscallRecorder {
            ebpf,
            attach,
            roots,
            slots,
            control,
            in_use: BTreeSet::new(),
            generation: 0,
        })
    }

    /// The hook the program is attached to.
    pub fn attach_kind(&self) -> AttachKind {
        self.attach
    }

    /// Run time and count of the attached program so far.
    pub fn program_stats(&self) -> Option<ProgramStats> {
        let info = self.ebpf.program(self.attach.program())?.info().ok()?;
        Some(ProgramStats {
            run_time_ns: u64::try_from(info.run_time().as_nanos()).unwrap_or(u64::MAX),
            run_count: info.run_count(),
        })
    }

    /// Starts recording `root` and every cgroup below it.
    pub fn start(&mut self, root: CgroupId, start: Start) -> Result<RecordingId, BpfError> {
        let slot = (0..MAX_SLOTS)
            .find(|s| !self.in_use.contains(s))
            .ok_or(BpfError::NoFreeSlot)?;
        let mut value = Slot::EMPTY;
        value.flags = match start {
            Start::Now => SLOT_ACTIVE,
            Start::AtFirstExec => SLOT_ARM_ON_EXEC,
        };
        self.slots
            .set(slot, value, 0)
            .map_err(|source| map_error(map::SLOTS, source))?;
        self.roots
            .insert(root.0, slot, 0)
            .map_err(|source| map_error(map::ROOTS, source))?;
        self.in_use.insert(slot);
        self.bump_generation()?;
        Ok(RecordingId { slot, root })
    }

    /// What the recording has seen so far.
    pub fn seen(&self, id: RecordingId) -> Result<Seen, BpfError> {
        let slot = self
            .slots
            .get(&id.slot, 0)
            .map_err(|source| map_error(map::SLOTS, source))?;
        Ok(Seen::from_slot(&slot))
    }

    /// Ends the recording and returns what it saw.
    pub fn stop(&mut self, id: RecordingId) -> Result<Seen, BpfError> {
        self.roots
            .remove(&id.root.0)
            .map_err(|source| map_error(map::ROOTS, source))?;
        self.bump_generation()?;
        let seen = self.seen(id)?;
        self.in_use.remove(&id.slot);
        Ok(seen)
    }

    /// Invalidates every cached cgroup -> slot answer in the kernel.
    fn bump_generation(&mut self) -> Result<(), BpfError> {
        self.generation += 1;
        self.control
            .set(control::GENERATION, self.generation, 0)
            .map_err(|source| map_error(map::CONTROL, source))
    }
}

fn take_map<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T, BpfError>
where
    T: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.take_map(name).ok_or(BpfError::Missing(name))?;
    T::try_from(map).map_err(|source| map_error(name, source))
}

fn map_error(name: &'static str, source: aya::maps::MapError) -> BpfError {
    BpfError::Map { name, source }
}

fn is_permission_error(e: &aya::EbpfError) -> bool {
    let text = format!("{e:?}");
    text.contains("PermissionDenied") || text.contains("EPERM") || text.contains("os error 1)")
}

/// Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK. Raising it is
/// harmless where it is not needed and often not allowed (no
/// CAP_SYS_RESOURCE), so a failure is only worth a debug line.
fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: plain syscall on a valid struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } != 0 {
        log::debug!(
            "could not raise RLIMIT_MEMLOCK ({}); fine on kernels >= 5.11",
            std::io::Error::last_os_error()
        );
    }
}
