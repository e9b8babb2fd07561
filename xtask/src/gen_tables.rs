//! `cargo xtask gen-tables --libseccomp DIR`: writes
//! `recorder-profile/src/arch/generated.rs`, the syscall tables of every architecture
//! libseccomp knows, from libseccomp's own table.
//!
//! Input: a git clone of libseccomp (github.com/seccomp/libseccomp, LGPL-2.1).
//! Its `src/syscalls.csv` is the table every libseccomp release resolves names
//! with: one row per syscall name, one column per ABI (`PNR` where the ABI
//! lacks the call). The numbers of the newest release in [`RELEASES`] become
//! the tables; the same file at every older release tag gives, per ABI and
//! name, the first release that resolves the name to that number. Nothing of
//! libseccomp is copied into this repository but those facts (numbers, names,
//! releases).
//!
//! Numbers are written as the kernel reports them at syscall entry, which is
//! what the recorder sees: libseccomp keeps x32 and MIPS numbers without
//! their bit or base and adds it when it resolves, so this does the same.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail, ensure};
use clap::Args;

use crate::util::{capture, workspace_root};

/// libseccomp releases whose tables are read, oldest first (version order).
/// 2.5.0 is the first release with `src/syscalls.csv`; add new releases at the
/// end and rerun.
const RELEASES: &[&str] = &[
    "2.5.0", "2.5.1", "2.5.2", "2.5.3", "2.5.4", "2.5.5", "2.5.6", "2.6.0", "2.6.1",
];

/// One column of syscalls.csv: its header name, the Rust name of the table,
/// and what the kernel adds to libseccomp's number.
struct Column {
    csv: &'static str,
    table: &'static str,
    offset: u32,
}

const COLUMNS: &[Column] = &[
    col("x86", "X86", 0),
    col("x86_64", "X86_64", 0),
    // __X32_SYSCALL_BIT
    col("x32", "X32", 0x4000_0000),
    col("arm", "ARM", 0),
    col("aarch64", "AARCH64", 0),
    col("loongarch64", "LOONGARCH64", 0),
    col("m68k", "M68K", 0),
    // __NR_O32_Linux, __NR_64_Linux, __NR_N32_Linux
    col("mips", "MIPS", 4000),
    col("mips64", "MIPS64", 5000),
    col("mips64n32", "MIPS64N32", 6000),
    col("parisc", "PARISC", 0),
    col("parisc64", "PARISC64", 0),
    col("ppc", "PPC", 0),
    col("ppc64", "PPC64", 0),
    col("riscv64", "RISCV64", 0),
    col("s390", "S390", 0),
    col("s390x", "S390X", 0),
    col("sh", "SH", 0),
];

const fn col(csv: &'static str, table: &'static str, offset: u32) -> Column {
    Column { csv, table, offset }
}

#[derive(Args)]
pub struct GenTablesArgs {
    /// A git clone of libseccomp with its release tags (v2.5.0 ...).
    #[arg(long, value_name = "DIR")]
    libseccomp: PathBuf,
    /// Only check that the checked-in file is what the generator writes.
    #[arg(long)]
    check: bool,
}

/// One release's table: column -> name -> number (as libseccomp stores it).
type Table = BTreeMap<String, BTreeMap<String, u32>>;

pub fn run(args: GenTablesArgs) -> anyhow::Result<()> {
    let tables = RELEASES
        .iter()
        .map(|r| read_release(&args.libseccomp, r))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let text = render(&tables)?;
    let out = workspace_root().join("recorder-profile/src/arch/generated.rs");
    if args.check {
        let current =
            std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
        ensure!(
            current == text,
            "{} is stale: run `cargo xtask gen-tables --libseccomp {}`",
            out.display(),
            args.libseccomp.display()
        );
        eprintln!("gen-tables: {} is up to date", out.display());
        return Ok(());
    }
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("gen-tables: wrote {}", out.display());
    Ok(())
}

fn read_release(repo: &Path, release: &str) -> anyhow::Result<(String, Table)> {
    let csv = capture(
        Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["show", &format!("v{release}:src/syscalls.csv")]),
    )
    .with_context(|| format!("reading syscalls.csv of libseccomp v{release}"))?;
    let table = parse_csv(&csv).with_context(|| format!("parsing libseccomp v{release}"))?;
    let header = csv.lines().next().unwrap_or_default();
    // "#syscall (v7.1.0-rc4 2026-05-21),x86,..." names the kernel it follows.
    let kernel = header
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inside, _)| inside.to_string())
        .unwrap_or_default();
    Ok((kernel, table))
}

/// Parses syscalls.csv: a `#` header naming the columns (each ABI column may
/// be followed by a `<abi>_kver` column, which is skipped), then
/// `name,<nr|PNR>[,kver],...` rows.
fn parse_csv(text: &str) -> anyhow::Result<Table> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .context("empty file")?
        .split(',')
        .map(str::trim)
        .collect();
    let mut table = Table::new();
    for line in lines.filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        ensure!(fields.len() == header.len(), "ragged row: {line}");
        let name = fields[0];
        for (column, value) in header.iter().zip(&fields).skip(1) {
            if column.ends_with("_kver") || *value == "PNR" {
                continue;
            }
            let nr: u32 = value
                .parse()
                .with_context(|| format!("{name}: bad number {value:?} for {column}"))?;
            table
                .entry(column.to_string())
                .or_default()
                .insert(name.to_string(), nr);
        }
    }
    Ok(table)
}

fn render(tables: &[(String, Table)]) -> anyhow::Result<String> {
    let (kernel, newest) = tables.last().context("no releases")?;
    let mut out = String::new();
    writeln!(
        out,
        "//! @generated by `cargo xtask gen-tables` from libseccomp's src/syscalls.csv\n\
         //! (github.com/seccomp/libseccomp, LGPL-2.1) at tags v{} ... v{}; the newest\n\
         //! follows Linux {kernel}. Do not edit: rerun the generator.\n",
        RELEASES[0],
        RELEASES[RELEASES.len() - 1]
    )?;
    writeln!(
        out,
        "/// libseccomp releases the version data covers, oldest first.\n\
         pub(super) const RELEASES: [(u16, u16, u16); {}] = [",
        RELEASES.len()
    )?;
    for r in RELEASES {
        let parts: Vec<&str> = r.split('.').collect();
        writeln!(out, "    ({}, {}, {}),", parts[0], parts[1], parts[2])?;
    }
    writeln!(out, "];\n")?;
    writeln!(
        out,
        "/// One ABI's table.\n\
         #[derive(Debug)]\n\
         pub(super) struct AbiTable {{\n    \
             /// Index in RELEASES of the first release that knows the ABI.\n    \
             pub since: u8,\n    \
             /// (number as the kernel reports it, libseccomp's name, index in\n    \
             /// RELEASES of the first release that resolves the name to it),\n    \
             /// sorted by number.\n    \
             pub entries: &'static [(u32, &'static str, u8)],\n\
         }}\n"
    )?;

    for column in COLUMNS {
        let Some(names) = newest.get(column.csv) else {
            bail!("newest release has no {} column", column.csv);
        };
        let first_arch = tables
            .iter()
            .position(|(_, t)| t.contains_key(column.csv))
            .context("column vanished")?;
        let mut rows: Vec<(u32, &str, usize)> = Vec::new();
        for (name, &nr) in names {
            let since = first_release(tables, column.csv, name, nr)?;
            rows.push((nr + column.offset, name, since));
        }
        rows.sort();
        for pair in rows.windows(2) {
            ensure!(
                pair[0].0 != pair[1].0,
                "{}: number {} is both {} and {}",
                column.csv,
                pair[0].0,
                pair[0].1,
                pair[1].1
            );
        }
        writeln!(
            out,
            "pub(super) static {}: AbiTable = AbiTable {{\n    since: {first_arch},\n    entries: &[",
            column.table
        )?;
        for (nr, name, since) in rows {
            writeln!(out, "        ({nr}, {name:?}, {since}),")?;
        }
        writeln!(out, "    ],\n}};\n")?;
    }
    out.pop();
    Ok(out)
}

/// The first release from which every release (in version order) resolves
/// `name` on `column` to `nr`.
fn first_release(
    tables: &[(String, Table)],
    column: &str,
    name: &str,
    nr: u32,
) -> anyhow::Result<usize> {
    let knows = |t: &Table| t.get(column).and_then(|c| c.get(name)) == Some(&nr);
    let mut first = tables.len() - 1;
    while first > 0 && knows(&tables[first - 1].1) {
        first -= 1;
    }
    // A name that an older release knew, a later one forgot and the newest
    // knows again would make "from this release on" wrong: refuse it.
    if let Some(i) = (0..first).find(|&i| knows(&tables[i].1)) {
        bail!(
            "{column}/{name}: known in v{} but not in v{}; the data model assumes \
             releases never forget a name",
            RELEASES[i],
            RELEASES[first - 1]
        );
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_and_skips_kver_and_pnr() {
        let csv = "#syscall (v6.0),x86,x86_kver,x32,x32_kver\n\
                   read,3,SCMP_KV_UNDEF,0,SCMP_KV_UNDEF\n\
                   socketcall,102,SCMP_KV_UNDEF,PNR,SCMP_KV_UNDEF\n";
        let t = parse_csv(csv).unwrap();
        assert_eq!(t["x86"]["read"], 3);
        assert_eq!(t["x86"]["socketcall"], 102);
        assert_eq!(t["x32"].len(), 1);
        assert!(!t.contains_key("x86_kver"));
    }

    #[test]
    fn first_release_is_the_start_of_the_newest_run() {
        let mk = |nr: Option<u32>| {
            let mut t = Table::new();
            if let Some(nr) = nr {
                t.entry("x86".into()).or_default().insert("a".into(), nr);
            }
            (String::new(), t)
        };
        let tables = [mk(None), mk(Some(5)), mk(Some(5))];
        assert_eq!(first_release(&tables, "x86", "a", 5).unwrap(), 1);
        let renumbered = [mk(Some(4)), mk(Some(5)), mk(Some(5))];
        assert_eq!(first_release(&renumbered, "x86", "a", 5).unwrap(), 1);
        let forgotten = [mk(Some(5)), mk(None), mk(Some(5))];
        assert!(first_release(&forgotten, "x86", "a", 5).is_err());
    }
}
