//! Architectures and their syscall tables.
//!
//! Sits between capture and the profile: the kernel side records syscall
//! *numbers* per ABI row ([`recorder_common::AbiRow`]); this module says which
//! libseccomp architecture each row of the running host is, and turns numbers
//! into the names libseccomp understands (runc, crun, containerd and Docker
//! resolve profile names through libseccomp and silently drop unknown ones).

mod aarch64;
mod generated;
pub mod libseccomp_release;
mod mips;
mod policy;
pub mod suggest;
mod table;
mod x86;

use std::fmt;
use std::str::FromStr;

use recorder_common::{AbiRow, Numbering};
use serde::{Deserialize, Serialize};

pub use libseccomp_release::LibseccompVersion;
pub use policy::ArchPolicy;
pub use table::SyscallTable;
pub use x86::X32_SYSCALL_BIT;

/// Where the compat bit lives in `struct task_struct`: the word the kernel
/// side reads to tell a 32-bit compat syscall from a native one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompatField {
    /// Byte offset of a 32-bit word in task_struct.
    pub offset: u64,
    /// Bit mask of the compat flag in that word; never 0.
    pub mask: u64,
}

impl Arch {
    /// The compat field of a kernel of this architecture, release
    /// `(major, minor)`, whose type description gives member offsets
    /// (`offset_of("task_struct", "thread_info.status")`); `None` when the
    /// architecture has no compat flag this knows or the kernel lacks it.
    /// Reading the running kernel's BTF is `recorder`'s.
    pub fn compat_field(
        self,
        release: (u32, u32),
        offset_of: impl Fn(&str, &str) -> Option<u64>,
    ) -> Option<CompatField> {
        match self {
            Arch::X86_64 => x86::compat_field(offset_of),
            Arch::Aarch64 => aarch64::compat_field(release, offset_of),
            _ => None,
        }
    }
}

/// `__ARM_NR_BASE`: the ARM private syscalls are 0x0f0001..0x0f0006.
pub const ARM_NR_BASE: u32 = 0x0f_0000;

/// A syscall ABI as libseccomp names it (`SCMP_ARCH_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Arch {
    #[serde(rename = "SCMP_ARCH_X86")]
    X86,
    #[serde(rename = "SCMP_ARCH_X86_64")]
    X86_64,
    #[serde(rename = "SCMP_ARCH_X32")]
    X32,
    #[serde(rename = "SCMP_ARCH_ARM")]
    Arm,
    #[serde(rename = "SCMP_ARCH_AARCH64")]
    Aarch64,
    #[serde(rename = "SCMP_ARCH_LOONGARCH64")]
    Loongarch64,
    #[serde(rename = "SCMP_ARCH_M68K")]
    M68k,
    #[serde(rename = "SCMP_ARCH_MIPS")]
    Mips,
    #[serde(rename = "SCMP_ARCH_MIPSEL")]
    Mipsel,
    #[serde(rename = "SCMP_ARCH_MIPS64")]
    Mips64,
    #[serde(rename = "SCMP_ARCH_MIPSEL64")]
    Mipsel64,
    #[serde(rename = "SCMP_ARCH_MIPS64N32")]
    Mips64n32,
    #[serde(rename = "SCMP_ARCH_MIPSEL64N32")]
    Mipsel64n32,
    #[serde(rename = "SCMP_ARCH_PARISC")]
    Parisc,
    #[serde(rename = "SCMP_ARCH_PARISC64")]
    Parisc64,
    #[serde(rename = "SCMP_ARCH_PPC")]
    Ppc,
    #[serde(rename = "SCMP_ARCH_PPC64")]
    Ppc64,
    #[serde(rename = "SCMP_ARCH_PPC64LE")]
    Ppc64le,
    #[serde(rename = "SCMP_ARCH_RISCV64")]
    Riscv64,
    #[serde(rename = "SCMP_ARCH_S390")]
    S390,
    #[serde(rename = "SCMP_ARCH_S390X")]
    S390x,
    #[serde(rename = "SCMP_ARCH_SH")]
    Sh,
    #[serde(rename = "SCMP_ARCH_SHEB")]
    Sheb,
}

impl Arch {
    /// Every architecture libseccomp (2.5 and 2.6) knows.
    pub const ALL: [Arch; 23] = [
        Arch::X86,
        Arch::X86_64,
        Arch::X32,
        Arch::Arm,
        Arch::Aarch64,
        Arch::Loongarch64,
        Arch::M68k,
        Arch::Mips,
        Arch::Mipsel,
        Arch::Mips64,
        Arch::Mipsel64,
        Arch::Mips64n32,
        Arch::Mipsel64n32,
        Arch::Parisc,
        Arch::Parisc64,
        Arch::Ppc,
        Arch::Ppc64,
        Arch::Ppc64le,
        Arch::Riscv64,
        Arch::S390,
        Arch::S390x,
        Arch::Sh,
        Arch::Sheb,
    ];

    /// The `SCMP_ARCH_*` name used in OCI and Docker profiles.
    pub fn scmp_name(self) -> &'static str {
        match self {
            Arch::X86 => "SCMP_ARCH_X86",
            Arch::X86_64 => "SCMP_ARCH_X86_64",
            Arch::X32 => "SCMP_ARCH_X32",
            Arch::Arm => "SCMP_ARCH_ARM",
            Arch::Aarch64 => "SCMP_ARCH_AARCH64",
            Arch::Loongarch64 => "SCMP_ARCH_LOONGARCH64",
            Arch::M68k => "SCMP_ARCH_M68K",
            Arch::Mips => "SCMP_ARCH_MIPS",
            Arch::Mipsel => "SCMP_ARCH_MIPSEL",
            Arch::Mips64 => "SCMP_ARCH_MIPS64",
            Arch::Mipsel64 => "SCMP_ARCH_MIPSEL64",
            Arch::Mips64n32 => "SCMP_ARCH_MIPS64N32",
            Arch::Mipsel64n32 => "SCMP_ARCH_MIPSEL64N32",
            Arch::Parisc => "SCMP_ARCH_PARISC",
            Arch::Parisc64 => "SCMP_ARCH_PARISC64",
            Arch::Ppc => "SCMP_ARCH_PPC",
            Arch::Ppc64 => "SCMP_ARCH_PPC64",
            Arch::Ppc64le => "SCMP_ARCH_PPC64LE",
            Arch::Riscv64 => "SCMP_ARCH_RISCV64",
            Arch::S390 => "SCMP_ARCH_S390",
            Arch::S390x => "SCMP_ARCH_S390X",
            Arch::Sh => "SCMP_ARCH_SH",
            Arch::Sheb => "SCMP_ARCH_SHEB",
        }
    }

    /// The short lower-case name (`x86_64`, `aarch64`, ...) that
    /// `scmp_sys_resolver -a` and `--arch` take.
    pub fn short_name(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::X86_64 => "x86_64",
            Arch::X32 => "x32",
            Arch::Arm => "arm",
            Arch::Aarch64 => "aarch64",
            Arch::Loongarch64 => "loongarch64",
            Arch::M68k => "m68k",
            Arch::Mips => "mips",
            Arch::Mipsel => "mipsel",
            Arch::Mips64 => "mips64",
            Arch::Mipsel64 => "mipsel64",
            Arch::Mips64n32 => "mips64n32",
            Arch::Mipsel64n32 => "mipsel64n32",
            Arch::Parisc => "parisc",
            Arch::Parisc64 => "parisc64",
            Arch::Ppc => "ppc",
            Arch::Ppc64 => "ppc64",
            Arch::Ppc64le => "ppc64le",
            Arch::Riscv64 => "riscv64",
            Arch::S390 => "s390",
            Arch::S390x => "s390x",
            Arch::Sh => "sh",
            Arch::Sheb => "sheb",
        }
    }

    /// The `AUDIT_ARCH_*` value the kernel writes in audit and seccomp log
    /// records (`arch=c000003e`) and passes to seccomp filters. x32 shares
    /// x86_64's: the kernel tells x32 apart by bit 0x40000000 of the syscall
    /// number (see [`Arch::from_audit_arch`]).
    pub fn audit_arch(self) -> u32 {
        // EM_* machine numbers with __AUDIT_ARCH_64BIT (0x80000000),
        // __AUDIT_ARCH_LE (0x40000000) and, for MIPS n32,
        // __AUDIT_ARCH_CONVENTION_MIPS64_N32 (0x20000000).
        match self {
            Arch::X86 => 0x4000_0003,
            Arch::X86_64 | Arch::X32 => 0xc000_003e,
            Arch::Arm => 0x4000_0028,
            Arch::Aarch64 => 0xc000_00b7,
            Arch::Loongarch64 => 0xc000_0102,
            Arch::M68k => 0x0000_0004,
            Arch::Mips => 0x0000_0008,
            Arch::Mipsel => 0x4000_0008,
            Arch::Mips64 => 0x8000_0008,
            Arch::Mipsel64 => 0xc000_0008,
            Arch::Mips64n32 => 0xa000_0008,
            Arch::Mipsel64n32 => 0xe000_0008,
            Arch::Parisc => 0x0000_000f,
            Arch::Parisc64 => 0x8000_000f,
            Arch::Ppc => 0x0000_0014,
            Arch::Ppc64 => 0x8000_0015,
            Arch::Ppc64le => 0xc000_0015,
            Arch::Riscv64 => 0xc000_00f3,
            Arch::S390 => 0x0000_0016,
            Arch::S390x => 0x8000_0016,
            // libseccomp's SCMP_ARCH_SH is little-endian SH (AUDIT_ARCH_SHEL).
            Arch::Sh => 0x4000_002a,
            Arch::Sheb => 0x0000_002a,
        }
    }

    /// libseccomp's token for the architecture (`SCMP_ARCH_*`'s value):
    /// the audit value, except x32's 0x4000003e, which no kernel reports.
    pub fn scmp_token(self) -> u32 {
        match self {
            Arch::X32 => 0x4000_003e,
            other => other.audit_arch(),
        }
    }

    /// The architecture of a log record's `arch=` value and syscall number:
    /// an x86_64 record with bit 0x40000000 in the number is x32.
    pub fn from_audit_arch(audit_arch: u32, syscall_nr: u32) -> Option<Arch> {
        if audit_arch == Arch::X86_64.audit_arch() {
            return Some(x86::x86_64_or_x32(syscall_nr));
        }
        Arch::ALL
            .into_iter()
            .find(|a| *a != Arch::X32 && a.audit_arch() == audit_arch)
    }

    /// The first libseccomp release that knows this architecture.
    pub fn libseccomp_since(self) -> LibseccompVersion {
        self.table().arch_since()
    }

    /// The architecture of the running host's native syscall ABI.
    pub fn host() -> Arch {
        match std::env::consts::ARCH {
            "x86" => Arch::X86,
            "aarch64" => Arch::Aarch64,
            "arm" => Arch::Arm,
            "loongarch64" => Arch::Loongarch64,
            "riscv64" => Arch::Riscv64,
            "s390x" => Arch::S390x,
            "powerpc64" if cfg!(target_endian = "little") => Arch::Ppc64le,
            "powerpc64" => Arch::Ppc64,
            "powerpc" => Arch::Ppc,
            "mips64" if cfg!(target_endian = "little") => Arch::Mipsel64,
            "mips64" => Arch::Mips64,
            "mips" if cfg!(target_endian = "little") => Arch::Mipsel,
            "mips" => Arch::Mips,
            "m68k" => Arch::M68k,
            _ => Arch::X86_64,
        }
    }

    /// Which architecture the kernel side's ABI row stands for on this host,
    /// or `None` when the host has no such ABI.
    pub fn of_host_row(row: AbiRow) -> Option<Arch> {
        Arch::host().row_arch(row)
    }

    /// Which architecture `row` stands for on a host of this architecture.
    fn row_arch(self, row: AbiRow) -> Option<Arch> {
        let host = self;
        match row {
            AbiRow::Native => Some(host),
            AbiRow::Compat => host.compat().or_else(|| mips::row_arch(host, row)),
            AbiRow::Third if host == Arch::X86_64 => Some(Arch::X32),
            AbiRow::Third => mips::row_arch(host, row),
        }
    }

    /// How a kernel whose native ABI is this one numbers syscalls: what
    /// the kernel side is told at load time to place them in its rows.
    pub fn numbering(self) -> Numbering {
        Numbering {
            x32_bit: if self == Arch::X86_64 {
                X32_SYSCALL_BIT.into()
            } else {
                0
            },
            // arm programs run on arm and aarch64 (compat) kernels.
            arm_private_base: if matches!(self, Arch::Arm | Arch::Aarch64) {
                ARM_NR_BASE.into()
            } else {
                0
            },
            mips_bases: mips::row_bases(self).unwrap_or_default().map(u64::from),
        }
    }

    /// The 32-bit ABI a 64-bit kernel of this architecture also runs.
    pub fn compat(self) -> Option<Arch> {
        match self {
            Arch::X86_64 => Some(Arch::X86),
            Arch::Aarch64 => Some(Arch::Arm),
            Arch::S390x => Some(Arch::S390),
            Arch::Ppc64 => Some(Arch::Ppc),
            Arch::Parisc64 => Some(Arch::Parisc),
            _ => None,
        }
    }

    /// The architectures Docker's default profile lists on a host of this
    /// native architecture (moby's `archMap`): the ABIs such a kernel runs.
    pub fn docker_arches(self) -> Vec<Arch> {
        match self {
            Arch::X86_64 => vec![Arch::X86_64, Arch::X86, Arch::X32],
            Arch::Aarch64 => vec![Arch::Aarch64, Arch::Arm],
            Arch::Mips64 => vec![Arch::Mips64, Arch::Mips, Arch::Mips64n32],
            Arch::Mips64n32 => vec![Arch::Mips64n32, Arch::Mips, Arch::Mips64],
            Arch::Mipsel64 => vec![Arch::Mipsel64, Arch::Mipsel, Arch::Mipsel64n32],
            Arch::Mipsel64n32 => vec![Arch::Mipsel64n32, Arch::Mipsel, Arch::Mipsel64],
            Arch::S390x => vec![Arch::S390x, Arch::S390],
            other => vec![other],
        }
    }

    /// The number the kernel reported for a syscall the kernel side stored
    /// in `row` as `stored`: x32 numbers are stored without the x32 bit, ARM
    /// private calls folded to the top of the row, MIPS numbers without
    /// their ABI's base.
    pub fn reported_number(row: AbiRow, stored: u32) -> u32 {
        Arch::host().reported_number_on_host(row, stored)
    }

    fn reported_number_on_host(self, row: AbiRow, stored: u32) -> u32 {
        // Every number the kernel side stores fits in 32 bits again.
        self.numbering().reported(row, stored.into()) as u32
    }

    /// This architecture's syscall table.
    pub fn table(self) -> SyscallTable {
        SyscallTable::of(self)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// An architecture name that is neither `SCMP_ARCH_*` nor a short name.
#[derive(Debug, thiserror::Error)]
#[error("unknown architecture {0:?}: {hint}", hint = UnknownArch::hint(&self.0))]
pub struct UnknownArch(pub String);

impl UnknownArch {
    fn hint(input: &str) -> String {
        let names = Arch::ALL.map(|a| a.short_name());
        let bare = input.trim().to_ascii_lowercase();
        let bare = bare.strip_prefix("scmp_arch_").unwrap_or(&bare);
        match suggest::closest(bare, names) {
            Some(name) => format!("did you mean {name}? (known: {})", names.join(", ")),
            None => format!("use one of {}", names.join(", ")),
        }
    }
}

impl FromStr for Arch {
    type Err = UnknownArch;

    /// Accepts `SCMP_ARCH_X86_64`, `x86_64`, and the kernel's `amd64`/`arm64`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let bare = lower.strip_prefix("scmp_arch_").unwrap_or(&lower);
        let alias = match bare {
            "amd64" => "x86_64",
            "arm64" => "aarch64",
            "i386" | "i686" | "ia32" => "x86",
            other => other,
        };
        Arch::ALL
            .into_iter()
            .find(|a| a.short_name() == alias)
            .ok_or_else(|| UnknownArch(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for arch in Arch::ALL {
            assert_eq!(arch.scmp_name().parse::<Arch>().unwrap(), arch);
            assert_eq!(arch.short_name().parse::<Arch>().unwrap(), arch);
            let json = serde_json::to_string(&arch).unwrap();
            assert_eq!(json, format!("\"{}\"", arch.scmp_name()));
        }
    }

    #[test]
    fn audit_arch_values_round_trip() {
        for arch in Arch::ALL {
            let nr = if arch == Arch::X32 {
                0x4000_0000 | 59
            } else {
                59
            };
            assert_eq!(
                Arch::from_audit_arch(arch.audit_arch(), nr),
                Some(arch),
                "{arch}"
            );
        }
        // Log records: `arch=c000003e` (x86_64, x32 by the number's bit),
        // `arch=40000003` (ia32).
        assert_eq!(Arch::from_audit_arch(0xc000_003e, 1), Some(Arch::X86_64));
        assert_eq!(
            Arch::from_audit_arch(0xc000_003e, 0x4000_0001),
            Some(Arch::X32)
        );
        assert_eq!(Arch::from_audit_arch(0x4000_0003, 1), Some(Arch::X86));
        assert_eq!(Arch::from_audit_arch(0x1234, 1), None);
        let mut tokens: Vec<u32> = Arch::ALL.map(Arch::scmp_token).to_vec();
        tokens.sort();
        tokens.dedup();
        assert_eq!(
            tokens.len(),
            Arch::ALL.len(),
            "SCMP_ARCH_* tokens are distinct"
        );
        assert_eq!(Arch::X32.scmp_token(), 0x4000_003e);
    }

    #[test]
    fn rows_give_back_the_numbers_the_kernel_reported() {
        assert_eq!(Arch::reported_number(AbiRow::Third, 521), 0x4000_0000 | 521);
        assert_eq!(Arch::reported_number(AbiRow::Native, 59), 59);
        // ARM private calls come back from the top of the arm row.
        let set_tls = recorder_common::ARM_PRIVATE_SLOT + 5;
        let on_aarch64 = Arch::Aarch64.reported_number_on_host(AbiRow::Compat, set_tls);
        assert_eq!(on_aarch64, 0x0f_0005);
        assert_eq!(Arch::Arm.table().name(on_aarch64), Some("set_tls"));
        let on_arm = Arch::Arm.reported_number_on_host(AbiRow::Native, set_tls);
        assert_eq!(on_arm, 0x0f_0005);
        // Other hosts' rows are left alone.
        let on_x86 = Arch::X86_64.reported_number_on_host(AbiRow::Compat, set_tls);
        assert_eq!(on_x86, set_tls);
        // MIPS numbers get their ABI's base back.
        for (host, row, stored, reported) in [
            (Arch::Mips64, AbiRow::Native, 57, 5057),
            (Arch::Mips64, AbiRow::Compat, 11, 4011),
            (Arch::Mips64, AbiRow::Third, 57, 6057),
            (Arch::Mipsel, AbiRow::Native, 11, 4011),
        ] {
            assert_eq!(host.reported_number_on_host(row, stored), reported);
        }
    }

    /// What the kernel side does with every syscall of every ABI a host of
    /// each architecture runs, as the loader configures it for that host:
    /// each lands in the row of its own ABI (none is lost as out of range),
    /// and reads back as the number the kernel reported, hence its name.
    #[test]
    fn every_syscall_of_every_host_round_trips_through_the_bitmap() {
        let per_row = recorder_common::SYSCALLS_PER_ABI as usize;
        // x32 and n32 are never a kernel's own ABI.
        let hosts = Arch::ALL
            .into_iter()
            .filter(|a| !matches!(a, Arch::X32 | Arch::Mips64n32 | Arch::Mipsel64n32));
        for host in hosts {
            let numbering = host.numbering();
            for row in AbiRow::ALL {
                let Some(abi) = host.row_arch(row) else {
                    continue;
                };
                // The compat flag marks compat syscalls where the kernel
                // side reads one; MIPS numbers tell their ABI by themselves.
                let compat = row == AbiRow::Compat && host.compat().is_some();
                let table = abi.table();
                for (number, name) in table.entries() {
                    let index = numbering
                        .seen_index(number.into(), compat)
                        .unwrap_or_else(|| panic!("{host}: {abi} {name} ({number}) has no place"));
                    assert_eq!(
                        AbiRow::ALL[index / per_row],
                        row,
                        "{host}: {abi} {name} ({number}) in the wrong row"
                    );
                    let back = host.reported_number_on_host(row, (index % per_row) as u32);
                    assert_eq!(back, number, "{host}: {abi} {name}");
                    assert_eq!(table.name(back), Some(name));
                }
            }
        }
    }

    #[test]
    fn unknown_arch_suggests_the_closest() {
        let err = "x68_64".parse::<Arch>().unwrap_err().to_string();
        assert!(
            err.starts_with("unknown architecture \"x68_64\": did you mean x86_64?"),
            "{err}"
        );
        let err = "SCMP_ARCH_AARCH46".parse::<Arch>().unwrap_err().to_string();
        assert!(err.contains("did you mean aarch64?"), "{err}");
    }

    #[test]
    fn unknown_arch_lists_choices() {
        let err = "sparc".parse::<Arch>().unwrap_err().to_string();
        assert!(err.contains("sparc") && err.contains("x86_64"), "{err}");
    }
}
