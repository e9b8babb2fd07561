//! Every call into libseccomp, in one place (as youki's `seccomp` module).
//!
//! The rest of the recorder speaks in its own terms ([`Arch`], [`Verdict`],
//! [`ArgCondition`]); this module turns them into libseccomp's and back, and
//! gives each call its own [`Error`] variant that keeps libseccomp's error
//! as its source. [`crate::profile::loading`] builds a [`Filter`] the way runc
//! does; `recorder run` exports it ([`Filter::export_bpf`]) and installs it.
//!
//! ```
//! use recorder_profile::arch::Arch;
//! use recorder_profile::profile::Action;
//! use recorder_profile::profile::effective::Verdict;
//! use recorder_profile::seccomp::{self, Filter};
//!
//! assert!(seccomp::supports(Arch::X86_64));
//! let mut filter = Filter::new(Verdict::new(Action::Errno, Some(1)))?;
//! filter.add_arch(Arch::X86_64)?;
//! let read = seccomp::syscall("read")?;
//! filter.add_rule(Verdict::new(Action::Allow, None), read, &[])?;
//! # Ok::<(), seccomp::Error>(())
//! ```

use std::collections::HashSet;
use std::fs::File;
use std::sync::OnceLock;

use libseccomp::error::{SeccompErrno, SeccompError};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};

use crate::arch::Arch;
use crate::profile::effective::{EPERM, Verdict};
use crate::profile::{Action, ArgCondition, ArgOp};

/// A libseccomp call that failed, with libseccomp's error as its source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `seccomp_init`: a filter with the default action.
    #[error("libseccomp refused the default action: {source}")]
    NewFilter {
        /// libseccomp's error.
        #[source]
        source: SeccompError,
    },
    /// `seccomp_arch_add`.
    #[error("libseccomp refused an architecture: {source}")]
    AddArch {
        /// The architecture refused.
        arch: Arch,
        /// libseccomp's error.
        #[source]
        source: SeccompError,
    },
    /// `seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH)`.
    #[error("libseccomp refused the bad-architecture action: {source}")]
    SetBadArchAction {
        /// libseccomp's error.
        #[source]
        source: SeccompError,
    },
    /// `seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE)`.
    #[error("libseccomp refused the binary-tree optimisation: {source}")]
    SetOptimize {
        /// libseccomp's error.
        #[source]
        source: SeccompError,
    },
    /// `seccomp_rule_add_array`: a rule, with or without conditions.
    #[error("libseccomp refused a rule: {source}")]
    AddRule {
        /// libseccomp's error.
        #[source]
        source: SeccompError,
    },
    /// `seccomp_syscall_resolve_name`: a name libseccomp does not know.
    #[error("libseccomp does not know the syscall {name}: {source}")]
    ResolveName {
        /// The name given.
        name: String,
        /// libseccomp's error.
        #[source]
        source: SeccompError,
    },
    /// `seccomp_export_bpf`.
    #[error("libseccomp: {source}")]
    ExportBpf {
        /// libseccomp's error.
        #[source]
        source: SeccompError,
    },
    /// `seccomp_export_pfc`.
    #[error("libseccomp could not write the filter's pseudo-code: {source}")]
    ExportPfc {
        /// libseccomp's error.
        #[source]
        source: SeccompError,
    },
}

impl Error {
    /// libseccomp's error.
    fn source_error(&self) -> &SeccompError {
        match self {
            Error::NewFilter { source }
            | Error::AddArch { source, .. }
            | Error::SetBadArchAction { source }
            | Error::SetOptimize { source }
            | Error::AddRule { source }
            | Error::ResolveName { source, .. }
            | Error::ExportBpf { source }
            | Error::ExportPfc { source } => source,
        }
    }

    /// Whether libseccomp refused a rule because its conditions collide
    /// with an earlier rule's that has another action (`EEXIST`).
    pub fn collides(&self) -> bool {
        self.source_error().errno() == Some(SeccompErrno::EEXIST)
    }

    /// Whether libseccomp found an argument invalid (`EINVAL`).
    pub fn invalid(&self) -> bool {
        self.source_error().errno() == Some(SeccompErrno::EINVAL)
    }

    /// libseccomp's own words, without this call's context.
    pub fn libseccomp_message(&self) -> String {
        self.source_error().to_string()
    }
}

/// A syscall as libseccomp resolved it (on the native architecture).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall(ScmpSyscall);

/// The syscall libseccomp knows as `name`.
pub fn syscall(name: &str) -> Result<Syscall, Error> {
    ScmpSyscall::from_name(name)
        .map(Syscall)
        .map_err(|source| Error::ResolveName {
            name: name.to_string(),
            source,
        })
}

/// Whether the installed libseccomp supports `arch` (2.5 lacks loongarch64,
/// m68k and sh).
pub fn supports(arch: Arch) -> bool {
    static SUPPORTED: OnceLock<HashSet<Arch>> = OnceLock::new();
    SUPPORTED
        .get_or_init(|| {
            Arch::ALL
                .into_iter()
                .filter(|&a| ScmpSyscall::from_name_by_arch("close", scmp_arch(a)).is_ok())
                .collect()
        })
        .contains(&arch)
}

/// libseccomp's token for `arch`.
fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::X86 => ScmpArch::X86,
        Arch::X86_64 => ScmpArch::X8664,
        Arch::X32 => ScmpArch::X32,
        Arch::Arm => ScmpArch::Arm,
        Arch::Aarch64 => ScmpArch::Aarch64,
        Arch::Loongarch64 => ScmpArch::Loongarch64,
        Arch::M68k => ScmpArch::M68k,
        Arch::Mips => ScmpArch::Mips,
        Arch::Mipsel => ScmpArch::Mipsel,
        Arch::Mips64 => ScmpArch::Mips64,
        Arch::Mipsel64 => ScmpArch::Mipsel64,
        Arch::Mips64n32 => ScmpArch::Mips64N32,
        Arch::Mipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::Parisc => ScmpArch::Parisc,
        Arch::Parisc64 => ScmpArch::Parisc64,
        Arch::Ppc => ScmpArch::Ppc,
        Arch::Ppc64 => ScmpArch::Ppc64,
        Arch::Ppc64le => ScmpArch::Ppc64Le,
        Arch::Riscv64 => ScmpArch::Riscv64,
        Arch::S390 => ScmpArch::S390,
        Arch::S390x => ScmpArch::S390X,
        Arch::Sh => ScmpArch::Sh,
        Arch::Sheb => ScmpArch::Sheb,
    }
}

/// libseccomp's action for a verdict. An errno beyond 16 bits is cut to its
/// low 16 bits, as runc passes it (`int16`).
fn scmp_action(v: Verdict) -> ScmpAction {
    let data = v.errno.unwrap_or(EPERM) as u16;
    match v.action {
        Action::KillThread => ScmpAction::KillThread,
        Action::KillProcess => ScmpAction::KillProcess,
        Action::Trap => ScmpAction::Trap,
        Action::Errno => ScmpAction::Errno(i32::from(data)),
        Action::Trace => ScmpAction::Trace(data),
        Action::Notify => ScmpAction::Notify,
        Action::Log => ScmpAction::Log,
        Action::Allow => ScmpAction::Allow,
    }
}

/// libseccomp's comparison for an argument condition.
fn compare(c: &ArgCondition) -> ScmpArgCompare {
    let (op, datum) = match c.op {
        ArgOp::NotEqual => (ScmpCompareOp::NotEqual, c.value),
        ArgOp::LessThan => (ScmpCompareOp::Less, c.value),
        ArgOp::LessOrEqual => (ScmpCompareOp::LessOrEqual, c.value),
        ArgOp::Equal => (ScmpCompareOp::Equal, c.value),
        ArgOp::GreaterOrEqual => (ScmpCompareOp::GreaterEqual, c.value),
        ArgOp::GreaterThan => (ScmpCompareOp::Greater, c.value),
        // The OCI form: `value` is the mask, `valueTwo` the value.
        ArgOp::MaskedEqual => (ScmpCompareOp::MaskedEqual(c.value), c.value_two),
    };
    ScmpArgCompare::new(c.index, op, datum)
}

/// A seccomp filter being built in libseccomp.
#[derive(Debug)]
pub struct Filter(ScmpFilterContext);

impl Filter {
    /// A filter whose syscalls without a rule get `default`.
    pub fn new(default: Verdict) -> Result<Filter, Error> {
        ScmpFilterContext::new(scmp_action(default))
            .map(Filter)
            .map_err(|source| Error::NewFilter { source })
    }

    /// Adds `arch` to the native architecture.
    pub fn add_arch(&mut self, arch: Arch) -> Result<(), Error> {
        self.0
            .add_arch(scmp_arch(arch))
            .map(|_| ())
            .map_err(|source| Error::AddArch { arch, source })
    }

    /// Logs syscalls of architectures the filter does not list, instead of
    /// killing the thread (libseccomp's default).
    pub fn log_bad_arch(&mut self) -> Result<(), Error> {
        self.0
            .set_act_badarch(ScmpAction::Log)
            .map(|_| ())
            .map_err(|source| Error::SetBadArchAction { source })
    }

    /// Turns on libseccomp's binary-tree optimisation (not in older
    /// releases).
    pub fn optimize(&mut self) -> Result<(), Error> {
        self.0
            .set_ctl_optimize(2)
            .map(|_| ())
            .map_err(|source| Error::SetOptimize { source })
    }

    /// Adds a rule: `verdict` for `syscall` when all of `conditions` hold
    /// (always, with none).
    pub fn add_rule(
        &mut self,
        verdict: Verdict,
        syscall: Syscall,
        conditions: &[ArgCondition],
    ) -> Result<(), Error> {
        let action = scmp_action(verdict);
        let added = if conditions.is_empty() {
            self.0.add_rule(action, syscall.0)
        } else {
            let conditions: Vec<ScmpArgCompare> = conditions.iter().map(compare).collect();
            self.0.add_rule_conditional(action, syscall.0, &conditions)
        };
        added
            .map(|_| ())
            .map_err(|source| Error::AddRule { source })
    }

    /// Writes the filter's BPF program into `file`.
    pub fn export_bpf(&self, file: &File) -> Result<(), Error> {
        self.0
            .export_bpf(file)
            .map_err(|source| Error::ExportBpf { source })
    }

    /// Writes the filter as libseccomp's pseudo-code (PFC) into `file`:
    /// what it kept of the rules, readable.
    pub fn export_pfc(&self, file: &File) -> Result<(), Error> {
        self.0
            .export_pfc(file)
            .map_err(|source| Error::ExportPfc { source })
    }
}
