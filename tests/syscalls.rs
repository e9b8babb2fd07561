//! End-to-end tests of `recorder syscalls` against independent syscall
//! tables: Debian's libseccomp (the library runc, crun and Docker resolve
//! names with) for every architecture it supports, and the kernel's own
//! tables for the four architectures libseccomp added in 2.6.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::*;
use libseccomp::{ScmpArch, ScmpSyscall};
use recorder::arch::{Arch, LibseccompVersion};

/// `recorder syscalls --arch ARCH` as number -> name.
fn recorder_table(arch: Arch) -> BTreeMap<u32, String> {
    let out = run(recorder().args(["syscalls", "--arch", arch.short_name()]));
    assert!(
        out.status.success(),
        "recorder syscalls --arch {arch}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_table(&String::from_utf8_lossy(&out.stdout))
}

fn parse_table(text: &str) -> BTreeMap<u32, String> {
    text.lines()
        .map(|line| {
            let (nr, name) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("not number<TAB>name: {line:?}"));
            (nr.parse().expect("number"), name.to_string())
        })
        .collect()
}

/// The numbers the kernel can report for an architecture: the ABI's base
/// (x32 bit, MIPS base) plus 0..1024, and the ARM private range.
fn kernel_numbers(arch: Arch) -> Vec<u32> {
    let base = match arch {
        Arch::X32 => 0x4000_0000,
        Arch::Mips | Arch::Mipsel => 4000,
        Arch::Mips64 | Arch::Mipsel64 => 5000,
        Arch::Mips64n32 | Arch::Mipsel64n32 => 6000,
        _ => 0,
    };
    let mut numbers: Vec<u32> = (base..base + 1024).collect();
    if arch == Arch::Arm {
        numbers.extend(0x0f_0000..0x0f_0010);
    }
    numbers
}

const DEBIAN_LIBSECCOMP: LibseccompVersion = LibseccompVersion {
    major: 2,
    minor: 5,
    patch: 4,
};

/// Where libseccomp 2.5.4 names a number that the newest libseccomp (and so
/// recorder) does not: libseccomp 2.6.1 dropped `_llseek` from parisc64
/// (the kernel's parisc table builds it for the 32-bit ABI only).
const DROPPED_SINCE_2_5_4: &[(Arch, u32, &str)] = &[(Arch::Parisc64, 140, "_llseek")];

/// Every number Debian's libseccomp names resolves to the same name in
/// `recorder syscalls`, on every architecture it supports; every name only
/// recorder has is one recorder's data says 2.5.4 does not know.
#[test]
fn agrees_with_debian_libseccomp_on_every_number() {
    let version = libseccomp::ScmpVersion::current().expect("libseccomp version");
    assert_eq!(
        (version.major, version.minor, version.micro),
        (2, 5, 4),
        "this test checks against Debian 12's libseccomp 2.5.4 (libseccomp-dev)"
    );
    let mut checked_arches = 0;
    for arch in Arch::ALL {
        if arch.libseccomp_since() > DEBIAN_LIBSECCOMP {
            continue;
        }
        checked_arches += 1;
        let ours = recorder_table(arch);
        let table = arch.table();
        let scmp: ScmpArch = arch.scmp_name().parse().expect("libseccomp arch");
        let mut named_by_libseccomp = 0;
        for nr in kernel_numbers(arch) {
            let theirs = ScmpSyscall::from(nr as i32).get_name_by_arch(scmp).ok();
            let mine = ours.get(&nr);
            match (&theirs, mine) {
                (Some(t), Some(m)) => {
                    named_by_libseccomp += 1;
                    assert_eq!(t, m, "{arch} syscall {nr}");
                }
                (Some(t), None) => {
                    assert!(
                        DROPPED_SINCE_2_5_4.contains(&(arch, nr, t.as_str())),
                        "{arch} syscall {nr}: libseccomp 2.5.4 says {t}, recorder has nothing"
                    );
                }
                (None, Some(m)) => {
                    let since = table.since(nr).expect("version data");
                    assert!(
                        since > DEBIAN_LIBSECCOMP,
                        "{arch} syscall {nr} ({m}): libseccomp 2.5.4 does not know it, but recorder's data says {since} does"
                    );
                }
                (None, None) => {}
            }
        }
        assert!(
            named_by_libseccomp > 250,
            "{arch}: only {named_by_libseccomp} numbers compared"
        );
    }
    assert_eq!(
        checked_arches, 19,
        "libseccomp 2.5 supports 19 architectures"
    );
}

/// The same through `scmp_sys_resolver` (Debian's `seccomp` package), for a
/// few numbers where the spelling or the number's form is the point.
#[test]
fn agrees_with_scmp_sys_resolver() {
    let cases = [
        ("x86_64", "262"),
        ("aarch64", "79"),
        ("x86", "17"),
        ("x86", "102"),
        ("x86", "140"),
        ("x32", "1073741867"),
        ("x32", "1073742345"),
        ("arm", "983045"),
        ("mips", "4017"),
        ("mips64n32", "6000"),
        ("s390", "102"),
    ];
    for (arch, nr) in cases {
        let resolver = run(Command::new("scmp_sys_resolver").args(["-a", arch, nr]));
        assert!(
            resolver.status.success(),
            "scmp_sys_resolver -a {arch} {nr} (install Debian's seccomp package)"
        );
        let theirs = String::from_utf8_lossy(&resolver.stdout).trim().to_string();
        let ours = run(recorder().args(["syscalls", "--arch", arch, nr]));
        assert!(
            ours.status.success(),
            "recorder syscalls --arch {arch} {nr}"
        );
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            format!("{nr}\t{theirs}\n"),
            "{arch} {nr}"
        );
    }
}

/// A kernel table from Debian's cross-compilation kernel headers
/// (`linux-libc-dev-<arch>-cross`, Linux 6.1.4): `asm/unistd_32.h`, which
/// the kernel generates from its `syscall.tbl`.
fn kernel_header_table(debian_triplet: &str) -> BTreeMap<u32, String> {
    let path = format!("/usr/{debian_triplet}/include/asm/unistd_32.h");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{path}: {e} (install linux-libc-dev-m68k-cross and linux-libc-dev-sh4-cross: `cargo xtask setup`)")
    });
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (Some("#define"), Some(name), Some(nr)) =
                (words.next(), words.next(), words.next())
            else {
                return None;
            };
            Some((nr.parse().ok()?, name.strip_prefix("__NR_")?.to_string()))
        })
        .collect()
}

/// Checks `ours` against a kernel table: every kernel entry has the same
/// name here, and every entry here up to the kernel table's highest number
/// is in the kernel table, except `added_later`.
fn assert_matches_kernel(
    arch: Arch,
    kernel: &BTreeMap<u32, String>,
    ours: &BTreeMap<u32, String>,
    added_later: &[(u32, &str)],
) {
    assert!(
        kernel.len() > 300,
        "{arch}: kernel table has {} entries",
        kernel.len()
    );
    for (nr, name) in kernel {
        assert_eq!(ours.get(nr), Some(name), "{arch} syscall {nr}");
    }
    let max = *kernel.keys().max().unwrap();
    let extra: Vec<(u32, &str)> = ours
        .iter()
        .filter(|(nr, _)| **nr <= max && !kernel.contains_key(nr))
        .map(|(nr, name)| (*nr, name.as_str()))
        .collect();
    assert_eq!(extra, added_later, "{arch}: entries the kernel table lacks");
}

#[test]
fn m68k_and_sh_match_the_kernels_tables() {
    let m68k = kernel_header_table("m68k-linux-gnu");
    assert_matches_kernel(Arch::M68k, &m68k, &recorder_table(Arch::M68k), &[]);
    // sh's sync_file_range2 was wired up after Linux 6.1 (2024's rework of
    // sh's sync_file_range ABI).
    let sh = kernel_header_table("sh4-linux-gnu");
    let sync = [(388, "sync_file_range2")];
    assert_matches_kernel(Arch::Sh, &sh, &recorder_table(Arch::Sh), &sync);
    assert_matches_kernel(Arch::Sheb, &sh, &recorder_table(Arch::Sheb), &sync);
}

/// loongarch64 against the kernel's generic table as the `syscalls` crate
/// 0.8.1 ships it (generated from Linux 6.18's scripts/syscall.tbl), less
/// the crate's known defects (see arch/table.rs): the spelling `fstatat` for
/// libseccomp's `newfstatat`, 32-bit-only time64 calls, and the renameat,
/// rlimit and memfd_secret entries loongarch does not build in 6.18
/// (arch/loongarch/kernel/Makefile.syscalls: "No special ABIs").
#[test]
fn loongarch64_matches_the_kernels_table() {
    use syscalls::loongarch64::Sysno;
    let wrong_abi = [38, 163, 164, 447];
    let kernel: BTreeMap<u32, String> = (0..=Sysno::last().id())
        .filter_map(|nr| Sysno::new(nr as usize).map(|s| (nr as u32, s.name().to_string())))
        .filter(|(nr, name)| !name.ends_with("time64") && !wrong_abi.contains(nr))
        .map(|(nr, name)| {
            let name = if name == "fstatat" {
                "newfstatat".to_string()
            } else {
                name
            };
            (nr, name)
        })
        .collect();
    assert_matches_kernel(
        Arch::Loongarch64,
        &kernel,
        &recorder_table(Arch::Loongarch64),
        &[],
    );
}

#[test]
fn table_is_sorted_and_resolves_both_ways() {
    let out = run(recorder().args(["syscalls", "--arch", "x86", "socketcall", "_llseek", "192"]));
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "102\tsocketcall\n140\t_llseek\n192\tmmap2\n"
    );
    let out = run(recorder().args(["syscalls", "--arch", "arm64"]));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let numbers: Vec<u32> = parse_table(&text).into_keys().collect();
    let printed: Vec<u32> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(printed, numbers, "sorted by number, no duplicates");
    assert!(text.contains("79\tnewfstatat\n") && !text.contains("\tfstatat\n"));
}

#[test]
fn bad_input_gets_one_line_with_the_closest_spelling() {
    let out = run(recorder().args(["syscalls", "--arch", "x68_64"]));
    assert!(out.stdout.is_empty());
    assert_one_line_error(
        &out,
        2,
        "recorder: unknown architecture \"x68_64\": did you mean x86_64?",
    );

    let out = run(recorder().args(["syscalls", "--arch", "x86_64", "opne", "read"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\tread\n");
    assert_one_line_error(
        &out,
        1,
        "recorder: unknown syscall \"opne\" on x86_64: did you mean open?",
    );
}
