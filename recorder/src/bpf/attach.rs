//! Choosing and attaching the `sys_enter` hook.
//!
//! Preference order, cheapest first (measured per syscall on 6.18):
//! `tp_btf` (needs kernel BTF), `raw_tp` (any kernel since 4.17), and the
//! classic `raw_syscalls/sys_enter` tracepoint (needs tracefs).

use std::fmt;
use std::str::FromStr;

use aya::programs::{BtfTracePoint, ProgramError, RawTracePoint, TracePoint};
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

    /// What the kernel needs for this kind, as a user can act on it.
    pub fn needs(self) -> &'static str {
        match self {
            AttachKind::TpBtf => "a kernel with BTF (/sys/kernel/btf/vmlinux)",
            AttachKind::RawTp => "raw tracepoints (Linux 4.17 or later)",
            AttachKind::Tracepoint => {
                "tracefs mounted at /sys/kernel/tracing: run `cargo xtask setup`"
            }
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

/// Why one kind of hook could not be used; aya's error, with the errno
/// the kernel returned, stays its source.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("program {0} missing from the object (rebuild recorder)")]
    MissingProgram(&'static str),
    #[error("no kernel BTF (/sys/kernel/btf/vmlinux)")]
    NoKernelBtf,
    #[error("program {program} is not of the expected type")]
    WrongType {
        program: &'static str,
        #[source]
        source: ProgramError,
    },
    #[error("load")]
    Load(#[source] ProgramError),
    #[error("attach")]
    Attach(#[source] ProgramError),
    #[error("attach to {hook}")]
    AttachTo {
        hook: &'static str,
        #[source]
        source: ProgramError,
    },
    #[error("the hooks that tell of new and moved tasks could not be attached (see above)")]
    TaskHooksFailed,
}

/// One kind of hook that could not be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct HookFailure {
    pub kind: AttachKind,
    #[source]
    pub source: AttachError,
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
    // Shared by tp_btf and raw_tp: attached once, tried once.
    let mut task_hooks: Option<bool> = None;
    for candidate in candidates {
        let hooks = match (candidate, task_hooks) {
            (AttachKind::Tracepoint, _) => attach_classic_task_hooks(ebpf),
            (_, Some(true)) => Ok(()),
            (_, Some(false)) => Err(AttachError::TaskHooksFailed),
            (_, None) => {
                let result = attach_task_hooks(ebpf);
                task_hooks = Some(result.is_ok());
                result
            }
        };
        let attached = hooks.and_then(|()| attach_one(ebpf, btf, candidate));
        match attached {
            Ok(()) => {
                log::debug!("attached to sys_enter via {candidate}");
                return Ok(candidate);
            }
            Err(source) => {
                let failure = HookFailure {
                    kind: candidate,
                    source,
                };
                log::debug!("{:#}", crate::messages::Chain(&failure));
                failures.push(failure);
            }
        }
    }
    match (kind, failures.pop()) {
        (Some(kind), Some(HookFailure { source, .. })) => Err(BpfError::Hook { kind, source }),
        (_, last) => Err(BpfError::NoHook(HookFailures(
            failures.into_iter().chain(last).collect(),
        ))),
    }
}

/// Attaches the program that tells the hot path a task was created or
/// moved between cgroups (see `recorder_common::map::TASK_CHANGES`):
/// without it, a CPU could take a new task for a dead one whose kernel
/// stack it reuses. Attached before `sys_enter`, so that no syscall is seen
/// before a change can be.
fn attach_task_hooks(ebpf: &mut Ebpf) -> Result<(), AttachError> {
    let p: &mut RawTracePoint = program_of(ebpf, program::TASK_CHANGED)?;
    p.load().map_err(AttachError::Load)?;
    for (_, hook) in program::TASK_CHANGE_HOOKS {
        p.attach(hook)
            .map_err(|source| AttachError::AttachTo { hook, source })?;
    }
    Ok(())
}

/// [`attach_task_hooks`] for the classic tracepoint, and the `sched_switch`
/// program that tells it another task runs.
fn attach_classic_task_hooks(ebpf: &mut Ebpf) -> Result<(), AttachError> {
    let p: &mut TracePoint = program_of(ebpf, program::TASK_CHANGED_CLASSIC)?;
    p.load().map_err(AttachError::Load)?;
    for (category, hook) in program::TASK_CHANGE_HOOKS {
        p.attach(category, hook)
            .map_err(|source| AttachError::AttachTo { hook, source })?;
    }
    let p: &mut TracePoint = program_of(ebpf, program::SCHED_SWITCH_CLASSIC)?;
    p.load().map_err(AttachError::Load)?;
    p.attach("sched", "sched_switch")
        .map_err(|source| AttachError::AttachTo {
            hook: "sched_switch",
            source,
        })?;
    Ok(())
}

/// Program `name` of the object, as the kind `T`.
fn program_of<'a, T>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<&'a mut T, AttachError>
where
    &'a mut T: TryFrom<&'a mut aya::programs::Program, Error = ProgramError>,
{
    let prog = ebpf
        .program_mut(name)
        .ok_or(AttachError::MissingProgram(name))?;
    prog.try_into().map_err(|source| AttachError::WrongType {
        program: name,
        source,
    })
}

/// Every kind of hook tried, each with why it could not be used: printed
/// one after the other, each with its whole chain of causes, as an error
/// has one source only.
#[derive(Debug)]
pub struct HookFailures(pub Vec<HookFailure>);

impl fmt::Display for HookFailures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, failure) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", crate::messages::Chain(failure))?;
        }
        Ok(())
    }
}

fn attach_one(ebpf: &mut Ebpf, btf: Option<&Btf>, kind: AttachKind) -> Result<(), AttachError> {
    let program = kind.program();
    match kind {
        AttachKind::TpBtf => {
            let btf = btf.ok_or(AttachError::NoKernelBtf)?;
            let p: &mut BtfTracePoint = program_of(ebpf, program)?;
            p.load("sys_enter", btf).map_err(AttachError::Load)?;
            p.attach().map_err(AttachError::Attach)?;
        }
        AttachKind::RawTp => {
            let p: &mut RawTracePoint = program_of(ebpf, program)?;
            p.load().map_err(AttachError::Load)?;
            p.attach("sys_enter").map_err(AttachError::Attach)?;
        }
        AttachKind::Tracepoint => {
            let p: &mut TracePoint = program_of(ebpf, program)?;
            p.load().map_err(AttachError::Load)?;
            p.attach("raw_syscalls", "sys_enter")
                .map_err(AttachError::Attach)?;
        }
    }
    Ok(())
}
