//! Choosing and attaching the `sys_enter` hook.
//!
//! Preference order, cheapest first (measured per syscall on 6.18):
//! `tp_btf` (needs kernel BTF), `raw_tp` (any kernel since 4.17), and the
//! classic `raw_syscalls/sys_enter` tracepoint (needs tracefs).

use std::fmt;
use std::str::FromStr;

use aya::programs::{BtfTracePoint, RawTracePoint, TracePoint};
use aya::{Btf, Ebpf};
use recorder_common::program;

use super::BpfError;
use crate::arch::btf::Btf as KernelBtf;

/// The typedef the kernel declares for the `sys_enter` tracepoint, whose id
/// a `tp_btf` program is loaded with (aya prefixes the tracepoint's name).
const HOOK_TYPE: &str = "btf_trace_sys_enter";

/// The kernel BTF that attaching `tp_btf/sys_enter` needs. aya only looks
/// the hook's type up in it, by name, but wants it parsed whole, which
/// took as long as everything else in start-up together: this gives it the
/// kernel's BTF cut after that type ([`KernelBtf::through_type`]; its
/// ids are the kernel's), and the whole only when our reader could not
/// read the kernel's BTF or find the type.
pub(super) fn hook_btf(kernel: Option<&KernelBtf>) -> Option<Btf> {
    let cut = kernel
        .and_then(|btf| btf.through_type(btf.typedef_id(HOOK_TYPE)?))
        .and_then(|bytes| Btf::parse(&bytes, aya::Endianness::default()).ok());
    cut.or_else(|| Btf::from_sys_fs().ok())
}

/// The kind of hook the program runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachKind {
    /// `tp_btf/sys_enter`.
    TpBtf,
    /// `raw_tp/sys_enter`.
    RawTp,
    /// `tracepoint/raw_syscalls/sys_enter`.
    Tracepoint,
}

impl AttachKind {
    pub const ALL: [AttachKind; 3] = [AttachKind::TpBtf, AttachKind::RawTp, AttachKind::Tracepoint];

    pub fn name(self) -> &'static str {
        match self {
            AttachKind::TpBtf => "tp-btf",
            AttachKind::RawTp => "raw-tp",
            AttachKind::Tracepoint => "tracepoint",
        }
    }

    pub(super) fn program(self) -> &'static str {
        match self {
            AttachKind::TpBtf => program::BTF,
            AttachKind::RawTp => program::RAW,
            AttachKind::Tracepoint => program::CLASSIC,
        }
    }
}

impl fmt::Display for AttachKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AttachKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AttachKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown hook {s:?}: use tp-btf, raw-tp or tracepoint"))
    }
}

/// Attaches `kind`, or the first kind that works when `kind` is `None`.
pub(super) fn attach(
    ebpf: &mut Ebpf,
    btf: Option<&Btf>,
    kind: Option<AttachKind>,
) -> Result<AttachKind, BpfError> {
    let candidates: Vec<AttachKind> = match kind {
        Some(k) => vec![k],
        None => AttachKind::ALL.to_vec(),
    };
    let mut failures = Vec::new();
    let mut task_hooks: Option<Result<(), String>> = None;
    for candidate in candidates {
        let hooks = match candidate {
            AttachKind::TpBtf | AttachKind::RawTp => task_hooks
                .get_or_insert_with(|| attach_task_hooks(ebpf))
                .clone(),
            AttachKind::Tracepoint => attach_classic_task_hooks(ebpf),
        };
        if let Err(e) = hooks {
            log::debug!("{candidate}: {e}");
            failures.push(format!("{candidate}: {e}"));
            continue;
        }
        match attach_one(ebpf, btf, candidate) {
            Ok(()) => {
                log::debug!("attached to sys_enter via {candidate}");
                return Ok(candidate);
            }
            Err(e) => {
                log::debug!("{candidate}: {e}");
                failures.push(format!("{candidate}: {e}"));
            }
        }
    }
    Err(BpfError::NoHook(failures.join("; ")))
}

/// Attaches the program that tells the hot path a task was created or
/// moved between cgroups (see `recorder_common::control::TASK_CHANGES`):
/// without it, a CPU could take a new task for a dead one whose kernel
/// stack it reuses. Attached before `sys_enter`, so that no syscall is seen
/// before a change can be.
fn attach_task_hooks(ebpf: &mut Ebpf) -> Result<(), String> {
    let p: &mut RawTracePoint = program_of(ebpf, program::TASK_CHANGED)?;
    p.load()
        .map_err(|e| format!("load {}: {e}", program::TASK_CHANGED))?;
    for (_, hook) in program::TASK_CHANGE_HOOKS {
        p.attach(hook)
            .map_err(|e| format!("attach to {hook}: {e}"))?;
    }
    Ok(())
}

/// [`attach_task_hooks`] for the classic tracepoint, and the `sched_switch`
/// program that tells it another task runs.
fn attach_classic_task_hooks(ebpf: &mut Ebpf) -> Result<(), String> {
    let p: &mut TracePoint = program_of(ebpf, program::TASK_CHANGED_CLASSIC)?;
    p.load()
        .map_err(|e| format!("load {}: {e}", program::TASK_CHANGED_CLASSIC))?;
    for (category, hook) in program::TASK_CHANGE_HOOKS {
        p.attach(category, hook)
            .map_err(|e| format!("attach to {category}/{hook}: {e}"))?;
    }
    let p: &mut TracePoint = program_of(ebpf, program::SCHED_SWITCH_CLASSIC)?;
    p.load()
        .map_err(|e| format!("load {}: {e}", program::SCHED_SWITCH_CLASSIC))?;
    p.attach("sched", "sched_switch")
        .map_err(|e| format!("attach to sched/sched_switch: {e}"))?;
    Ok(())
}

/// Program `name` of the object, as the kind `T`.
fn program_of<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut T, String>
where
    &'a mut T: TryFrom<&'a mut aya::programs::Program, Error = aya::programs::ProgramError>,
{
    let prog = ebpf
        .program_mut(name)
        .ok_or_else(|| format!("program {name} missing from the object"))?;
    prog.try_into().map_err(|e| format!("{name}: {e}"))
}

fn attach_one(ebpf: &mut Ebpf, btf: Option<&Btf>, kind: AttachKind) -> Result<(), String> {
    let prog = ebpf
        .program_mut(kind.program())
        .ok_or_else(|| format!("program {} missing from the object", kind.program()))?;
    match kind {
        AttachKind::TpBtf => {
            let btf = btf.ok_or("no kernel BTF (/sys/kernel/btf/vmlinux)")?;
            let p: &mut BtfTracePoint = prog.try_into().map_err(|e| format!("{e}"))?;
            p.load("sys_enter", btf).map_err(|e| format!("load: {e}"))?;
            p.attach().map_err(|e| format!("attach: {e}"))?;
        }
        AttachKind::RawTp => {
            let p: &mut RawTracePoint = prog.try_into().map_err(|e| format!("{e}"))?;
            p.load().map_err(|e| format!("load: {e}"))?;
            p.attach("sys_enter").map_err(|e| format!("attach: {e}"))?;
        }
        AttachKind::Tracepoint => {
            let p: &mut TracePoint = prog.try_into().map_err(|e| format!("{e}"))?;
            p.load().map_err(|e| format!("load: {e}"))?;
            p.attach("raw_syscalls", "sys_enter")
                .map_err(|e| format!("attach: {e}"))?;
        }
    }
    Ok(())
}
