//! `recorder syscalls`: the syscall table of an architecture, or the
//! resolution of names and numbers (like libseccomp's `scmp_sys_resolver`).

use std::io::{self, Write as _};

use clap::Args;

use super::{print_error, report_error};
use crate::arch::suggest::closest_all;
use crate::arch::{Arch, SyscallTable};

/// Print an architecture's syscall table (`number<TAB>name`, by number), or
/// resolve syscall names and numbers.
///
/// Names are libseccomp's (the ones runtimes resolve profiles with);
/// numbers are the ones the kernel reports: x32 numbers carry bit 0x40000000,
/// MIPS numbers their ABI base (o32 4000, n64 5000, n32 6000), the ARM
/// private calls are 0x0f0001..0x0f0006. Each argument prints as one
/// `number<TAB>name` line.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  recorder syscalls --arch aarch64\n  recorder syscalls --arch x86 socketcall 102\n  recorder syscalls --arch x32 0x4000002b"
)]
pub struct SyscallsArgs {
    /// Architecture (x86_64, aarch64, SCMP_ARCH_X86, ...; default: the host's).
    #[arg(short, long, value_name = "ARCH")]
    arch: Option<String>,

    /// Syscall names or numbers (decimal or 0x hex) to resolve.
    #[arg(value_name = "NAME|NUMBER")]
    syscalls: Vec<String>,
}

pub fn run(args: SyscallsArgs) -> i32 {
    let arch = match args.arch.as_deref().map(str::parse::<Arch>) {
        None => Arch::host(),
        Some(Ok(arch)) => arch,
        Some(Err(e)) => {
            report_error(&e);
            return 2;
        }
    };
    let table = arch.table();
    let mut out = io::stdout().lock();
    if args.syscalls.is_empty() {
        for (nr, name) in table.entries() {
            if writeln!(out, "{nr}\t{name}").is_err() {
                return 1;
            }
        }
        return 0;
    }
    let mut failed = false;
    for arg in &args.syscalls {
        match resolve(&table, arg) {
            Ok((nr, name)) => {
                if writeln!(out, "{nr}\t{name}").is_err() {
                    return 1;
                }
            }
            Err(message) => {
                print_error(message);
                failed = true;
            }
        }
    }
    i32::from(failed)
}

/// Resolves a name or number on `table`'s architecture, or says why not and
/// what was probably meant.
fn resolve(table: &SyscallTable, arg: &str) -> Result<(u32, &'static str), String> {
    let arch = table.arch();
    if let Some(nr) = parse_number(arg) {
        return match table.name(nr) {
            Some(name) => Ok((nr, name)),
            None => Err(match number_hint(table, nr) {
                Some((meant, name)) => format!(
                    "{arch} has no syscall {nr}: did you mean {meant} ({name})? The kernel reports {arch} numbers with {}",
                    number_form(arch)
                ),
                None => format!(
                    "{arch} has no syscall {nr}: run `recorder syscalls --arch {arch}` for the table"
                ),
            }),
        };
    }
    let name = arg.trim();
    if let Some(nr) = table.number(name) {
        return Ok((nr, table.name(nr).unwrap_or("?")));
    }
    let elsewhere: Vec<&str> = Arch::ALL
        .into_iter()
        .filter(|a| a.table().number(name).is_some())
        .map(Arch::short_name)
        .collect();
    if !elsewhere.is_empty() {
        return Err(format!(
            "{name} is not a syscall on {arch} (it is on {})",
            elsewhere.join(", ")
        ));
    }
    let meant = closest_all(name, table.entries().map(|(_, n)| n));
    Err(match meant.split_last() {
        Some((last, [])) => format!("unknown syscall {name:?} on {arch}: did you mean {last}?"),
        Some((last, others)) => format!(
            "unknown syscall {name:?} on {arch}: did you mean {} or {last}?",
            others.join(", ")
        ),
        None => format!(
            "unknown syscall {name:?} on {arch}: run `recorder syscalls --arch {arch}` for the table"
        ),
    })
}

fn parse_number(arg: &str) -> Option<u32> {
    let arg = arg.trim();
    match arg.strip_prefix("0x").or_else(|| arg.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => arg.parse().ok(),
    }
}

/// A number the user probably meant: the same syscall with the x32 bit or
/// the MIPS base the kernel adds.
fn number_hint(table: &SyscallTable, nr: u32) -> Option<(u32, &'static str)> {
    let candidate = match table.arch() {
        Arch::X32 => nr | crate::arch::X32_SYSCALL_BIT,
        Arch::Mips | Arch::Mipsel => nr.checked_add(4000)?,
        Arch::Mips64 | Arch::Mipsel64 => nr.checked_add(5000)?,
        Arch::Mips64n32 | Arch::Mipsel64n32 => nr.checked_add(6000)?,
        _ => return None,
    };
    table.name(candidate).map(|name| (candidate, name))
}

fn number_form(arch: Arch) -> &'static str {
    match arch {
        Arch::X32 => "bit 0x40000000 set",
        Arch::Mips | Arch::Mipsel => "the o32 base 4000 added",
        Arch::Mips64 | Arch::Mipsel64 => "the n64 base 5000 added",
        _ => "the n32 base 6000 added",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_and_numbers() {
        let t = Arch::X86_64.table();
        assert_eq!(resolve(&t, "openat"), Ok((257, "openat")));
        assert_eq!(resolve(&t, "257"), Ok((257, "openat")));
        assert_eq!(resolve(&t, "0x101"), Ok((257, "openat")));
        let x32 = Arch::X32.table();
        assert_eq!(resolve(&x32, "0x4000002b"), Ok((0x4000_002b, "accept")));
    }

    #[test]
    fn explains_misses() {
        let t = Arch::X86_64.table();
        assert_eq!(
            resolve(&t, "opne").unwrap_err(),
            "unknown syscall \"opne\" on x86_64: did you mean open?"
        );
        assert_eq!(
            resolve(&t, "openatt").unwrap_err(),
            "unknown syscall \"openatt\" on x86_64: did you mean openat or openat2?"
        );
        assert_eq!(
            resolve(&t, "socketcall").unwrap_err(),
            "socketcall is not a syscall on x86_64 (it is on x86, m68k, mips, mipsel, ppc, ppc64, ppc64le, s390, s390x, sh, sheb)"
        );
        assert_eq!(
            resolve(&t, "1000").unwrap_err(),
            "x86_64 has no syscall 1000: run `recorder syscalls --arch x86_64` for the table"
        );
        assert_eq!(
            resolve(&Arch::X32.table(), "43").unwrap_err(),
            "x32 has no syscall 43: did you mean 1073741867 (accept)? The kernel reports x32 numbers with bit 0x40000000 set"
        );
        assert_eq!(
            resolve(&Arch::Mips.table(), "3").unwrap_err(),
            "mips has no syscall 3: did you mean 4003 (read)? The kernel reports mips numbers with the o32 base 4000 added"
        );
    }
}
