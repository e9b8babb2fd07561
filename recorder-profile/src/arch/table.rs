//! Number <-> name tables per architecture, with libseccomp's spelling.
//!
//! The data is libseccomp's own syscall table (`generated.rs`, written by
//! `cargo xtask gen-tables` from libseccomp's `src/syscalls.csv` of every
//! release from 2.5.0 to 2.6.1), because the names that count are the ones
//! libseccomp resolves: runc, crun, containerd and Docker drop names it does
//! not know. So no table here ever holds a name the newest libseccomp lacks.
//!
//! Numbers are the ones the kernel reports at syscall entry: x32 numbers carry
//! bit 0x40000000, MIPS numbers their ABI base (o32 4000, n64 5000, n32 6000),
//! the ARM private calls are 0x0f0001..0x0f0006. libseccomp's resolver also
//! accepts x32 numbers without the bit and MIPS numbers without the base;
//! these tables do not, because the kernel never reports them that way (a
//! number without the x32 bit is an x86_64 syscall).
//!
//! The `syscalls` crate's tables (Linux 6.18) are an independent check of the
//! kernel numbers: the tests below list every place where it differs from
//! libseccomp, and why libseccomp's entry is the one kept.

use super::Arch;
use super::generated as data;
use super::libseccomp_release::LibseccompVersion;

/// The syscall table of one architecture.
#[derive(Clone, Copy, Debug)]
pub struct SyscallTable {
    arch: Arch,
    data: &'static data::AbiTable,
}

impl SyscallTable {
    pub fn of(arch: Arch) -> Self {
        let data = match arch {
            Arch::X86 => &data::X86,
            Arch::X86_64 => &data::X86_64,
            Arch::X32 => &data::X32,
            Arch::Arm => &data::ARM,
            Arch::Aarch64 => &data::AARCH64,
            Arch::Loongarch64 => &data::LOONGARCH64,
            Arch::M68k => &data::M68K,
            Arch::Mips | Arch::Mipsel => &data::MIPS,
            Arch::Mips64 | Arch::Mipsel64 => &data::MIPS64,
            Arch::Mips64n32 | Arch::Mipsel64n32 => &data::MIPS64N32,
            Arch::Parisc => &data::PARISC,
            Arch::Parisc64 => &data::PARISC64,
            Arch::Ppc => &data::PPC,
            Arch::Ppc64 | Arch::Ppc64le => &data::PPC64,
            Arch::Riscv64 => &data::RISCV64,
            Arch::S390 => &data::S390,
            Arch::S390x => &data::S390X,
            Arch::Sh | Arch::Sheb => &data::SH,
        };
        SyscallTable { arch, data }
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The libseccomp name of syscall `nr` as the kernel reports it for this
    /// architecture, or `None` when the table has no such number.
    pub fn name(&self, nr: u32) -> Option<&'static str> {
        self.find(nr).map(|(_, name, _)| name)
    }

    /// The number of syscall `name` on this architecture, as the kernel
    /// reports it.
    pub fn number(&self, name: &str) -> Option<u32> {
        self.data
            .entries
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|&(nr, _, _)| nr)
    }

    /// Every (number, name) pair, sorted by number.
    pub fn entries(&self) -> impl Iterator<Item = (u32, &'static str)> + '_ {
        self.data.entries.iter().map(|&(nr, name, _)| (nr, name))
    }

    /// Number of syscalls in the table.
    pub fn len(&self) -> usize {
        self.data.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.entries.is_empty()
    }

    /// The first libseccomp release that knows this architecture.
    pub fn arch_since(&self) -> LibseccompVersion {
        LibseccompVersion::release(self.data.since)
    }

    /// The first libseccomp release that resolves syscall `nr` of this
    /// architecture to its name (2.5.0 stands for "2.5.0 or older").
    pub fn since(&self, nr: u32) -> Option<LibseccompVersion> {
        self.find(nr)
            .map(|(_, _, release)| LibseccompVersion::release(release))
    }

    fn find(&self, nr: u32) -> Option<(u32, &'static str, u8)> {
        self.data
            .entries
            .binary_search_by_key(&nr, |&(n, _, _)| n)
            .ok()
            .map(|i| self.data.entries[i])
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn x86_64_basics() {
        let t = Arch::X86_64.table();
        assert_eq!(t.name(0), Some("read"));
        assert_eq!(t.name(59), Some("execve"));
        assert_eq!(t.number("getcpu"), Some(309));
        assert_eq!(t.name(262), Some("newfstatat"));
    }

    #[test]
    fn x86_ia32_basics() {
        let t = Arch::X86.table();
        assert_eq!(t.name(5), Some("open"));
        assert_eq!(t.name(192), Some("mmap2"));
        assert_eq!(t.name(140), Some("_llseek"));
        assert_eq!(t.name(102), Some("socketcall"));
        assert_eq!(t.name(17), Some("break"));
        // The direct socket calls are real numbers on ia32 (libseccomp's
        // resolver maps the names to socketcall pseudo numbers instead).
        assert_eq!(t.name(359), Some("socket"));
    }

    #[test]
    fn x32_numbers_carry_the_x32_bit() {
        let t = Arch::X32.table();
        assert_eq!(t.name(0x4000_0000), Some("read"));
        assert_eq!(t.name(0x4000_0000 | 512), Some("rt_sigaction"));
        assert_eq!(t.name(0x4000_0000 | 521), Some("ptrace"));
        assert_eq!(t.number("execve"), Some(0x4000_0000 | 520));
        // Without the bit it is an x86_64 number, not an x32 one.
        assert_eq!(t.name(0), None);
        // x32 has no 64-bit-only entry points such as x86_64's rt_sigaction.
        assert_eq!(t.name(0x4000_0000 | 13), None);
    }

    #[test]
    fn mips_numbers_carry_their_abi_base() {
        assert_eq!(Arch::Mips.table().name(4003), Some("read"));
        assert_eq!(Arch::Mipsel.table().name(4003), Some("read"));
        assert_eq!(Arch::Mips64.table().name(5000), Some("read"));
        assert_eq!(Arch::Mips64n32.table().name(6000), Some("read"));
        assert_eq!(Arch::Mips.table().name(3), None);
        assert_eq!(Arch::Mips.table().name(4017), Some("break"));
    }

    #[test]
    fn arm_private_calls() {
        let t = Arch::Arm.table();
        let private: Vec<_> = (0x0f0001..=0x0f0006).map(|nr| t.name(nr)).collect();
        assert_eq!(
            private,
            [
                "breakpoint",
                "cacheflush",
                "usr26",
                "usr32",
                "set_tls",
                "get_tls"
            ]
            .map(Some)
        );
    }

    #[test]
    fn every_table_is_sorted_unique_and_nonempty() {
        for arch in Arch::ALL {
            let t = arch.table();
            assert!(t.len() > 300, "{arch}: {} entries", t.len());
            let numbers: Vec<u32> = t.entries().map(|(nr, _)| nr).collect();
            assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{arch}");
            for (nr, name) in t.entries() {
                assert_eq!(t.number(name), Some(nr), "{arch} {name}");
                assert!(
                    name.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{arch}: odd name {name:?}"
                );
            }
        }
    }

    #[test]
    fn names_libseccomp_added_late_have_late_releases() {
        let v = |s: &str| s.parse::<LibseccompVersion>().unwrap();
        let t = Arch::X86_64.table();
        let since = |name| t.since(t.number(name).unwrap()).unwrap();
        assert_eq!(since("read"), v("2.5.0"));
        assert_eq!(since("close_range"), v("2.5.2"));
        assert_eq!(since("futex_waitv"), v("2.5.4"));
        assert_eq!(since("mseal"), v("2.5.6"));
        assert_eq!(since("setxattrat"), v("2.5.6"));
        assert_eq!(since("file_getattr"), v("2.6.1"));
        assert_eq!(since("listns"), v("2.6.1"));
        // Whole ABIs added in 2.6.0.
        let m68k = Arch::M68k.table();
        assert_eq!(m68k.since(m68k.number("read").unwrap()), Some(v("2.6.0")));
    }

    /// The `syscalls` crate's table of one arch: number -> name.
    fn crate_table(entries: impl Iterator<Item = (i32, &'static str)>) -> BTreeMap<u32, String> {
        entries
            .map(|(nr, name)| (nr as u32, name.to_string()))
            .collect()
    }

    macro_rules! crate_table {
        ($arch:ident) => {
            // Sysno::iter() skips the last syscall (one of the crate's
            // defects), so walk the numbers instead.
            crate_table(
                (0..=syscalls::$arch::Sysno::last().id()).filter_map(|nr| {
                    syscalls::$arch::Sysno::new(nr as usize).map(|s| (nr, s.name()))
                }),
            )
        };
    }

    /// Where our table and the crate's differ, as `number:crate's>ours`
    /// (`-` where one has no entry).
    fn differences(arch: Arch, theirs: &BTreeMap<u32, String>) -> Vec<String> {
        let ours: BTreeMap<u32, String> = arch
            .table()
            .entries()
            .map(|(nr, name)| (nr, name.to_string()))
            .collect();
        let numbers: std::collections::BTreeSet<u32> =
            ours.keys().chain(theirs.keys()).copied().collect();
        let show = |name: Option<&String>| name.map_or("-", String::as_str).to_string();
        numbers
            .into_iter()
            .filter(|nr| ours.get(nr) != theirs.get(nr))
            .map(|nr| format!("{nr}:{}>{}", show(theirs.get(&nr)), show(ours.get(&nr))))
            .collect()
    }

    /// The 32-bit ABIs' `*_time64` calls, which the crate also lists for
    /// aarch64 and loongarch64; 64-bit ABIs have no such entry points.
    const TIME64: &[&str] = &[
        "403:clock_gettime64>-",
        "404:clock_settime64>-",
        "405:clock_adjtime64>-",
        "406:clock_getres_time64>-",
        "407:clock_nanosleep_time64>-",
        "408:timer_gettime64>-",
        "409:timer_settime64>-",
        "410:timerfd_gettime64>-",
        "411:timerfd_settime64>-",
        "412:utimensat_time64>-",
        "413:pselect6_time64>-",
        "414:ppoll_time64>-",
        "416:io_pgetevents_time64>-",
        "417:recvmmsg_time64>-",
        "418:mq_timedsend_time64>-",
        "419:mq_timedreceive_time64>-",
        "420:semtimedop_time64>-",
        "421:rt_sigtimedwait_time64>-",
        "422:futex_time64>-",
        "423:sched_rr_get_interval_time64>-",
    ];

    /// Checks that the crate differs from our table exactly by `expected`
    /// plus the two syscalls added after Linux 6.18 (which the crate
    /// follows; libseccomp 2.6.1 follows Linux 7.1).
    fn assert_corrections(arch: Arch, theirs: BTreeMap<u32, String>, base: u32, expected: &[&str]) {
        let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        expected.push(format!("{}:->listns", base + 470));
        expected.push(format!("{}:->rseq_slice_yield", base + 471));
        expected.sort_by_key(|d| d.split(':').next().and_then(|n| n.parse::<u32>().ok()));
        assert_eq!(differences(arch, &theirs), expected, "{arch}");
    }

    /// The crate agrees with libseccomp here.
    #[test]
    fn syscalls_crate_agrees_on_x86_64_riscv64_s390x() {
        assert_corrections(Arch::X86_64, crate_table!(x86_64), 0, &[]);
        assert_corrections(Arch::Riscv64, crate_table!(riscv64), 0, &[]);
        assert_corrections(Arch::S390x, crate_table!(s390x), 0, &[]);
    }

    /// The crate spells `break` as the Rust raw identifier `r#break`.
    #[test]
    fn syscalls_crate_correction_break() {
        assert_corrections(Arch::X86, crate_table!(x86), 0, &["17:r#break>break"]);
        assert_corrections(Arch::Ppc, crate_table!(powerpc), 0, &["17:r#break>break"]);
        assert_corrections(
            Arch::Ppc64,
            crate_table!(powerpc64),
            0,
            &["17:r#break>break"],
        );
    }

    /// The crate lacks the ARM private calls at 0x0f0001..0x0f0006.
    #[test]
    fn syscalls_crate_correction_arm_private_calls() {
        let private = [
            "983041:->breakpoint",
            "983042:->cacheflush",
            "983043:->usr26",
            "983044:->usr32",
            "983045:->set_tls",
            "983046:->get_tls",
        ];
        assert_corrections(Arch::Arm, crate_table!(arm), 0, &private);
    }

    /// The crate names nr 79 `fstatat` (as the kernel's generic table does);
    /// libseccomp, and so every runtime, calls it `newfstatat`. It also lists
    /// the 32-bit-only time64 calls on these 64-bit ABIs, and on loongarch64
    /// the `renameat`, `rlimit` and `memfd_secret` entries that only arm64
    /// and riscv64 build (loongarch's Makefile.syscalls: "No special ABIs").
    #[test]
    fn syscalls_crate_corrections_aarch64_loongarch64() {
        let mut aarch64 = vec!["79:fstatat>newfstatat"];
        aarch64.extend(TIME64);
        assert_corrections(Arch::Aarch64, crate_table!(aarch64), 0, &aarch64);
        let mut loongarch = aarch64.clone();
        loongarch.extend([
            "38:renameat>-",
            "163:getrlimit>-",
            "164:setrlimit>-",
            "447:memfd_secret>-",
        ]);
        assert_corrections(Arch::Loongarch64, crate_table!(loongarch64), 0, &loongarch);
    }

    /// MIPS: `r#break` again, the o32 table's placeholders for removed
    /// calls (`unused18`, `reserved82`, ...), which are no syscalls, and n64's
    /// `set_mempolicy_home_node`, which the crate misses.
    #[test]
    fn syscalls_crate_corrections_mips() {
        let o32 = [
            "4017:r#break>break",
            "4018:unused18>-",
            "4028:unused28>-",
            "4059:unused59>-",
            "4082:reserved82>-",
            "4084:unused84>-",
            "4109:unused109>-",
            "4150:unused150>-",
            "4221:reserved221>-",
        ];
        assert_corrections(Arch::Mips, crate_table!(mips), 4000, &o32);
        let n64 = [
            "5177:reserved177>-",
            "5193:reserved193>-",
            "5450:->set_mempolicy_home_node",
        ];
        assert_corrections(Arch::Mips64, crate_table!(mips64), 5000, &n64);
    }
}
