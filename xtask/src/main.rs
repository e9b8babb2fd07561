//! `cargo xtask`: everything that is not a plain cargo command.

mod bench;
mod bench_logs;
mod demo;
mod gen_tables;
mod setup;
mod test;
mod util;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "recorder's chores")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install everything a fresh Debian 12 machine lacks (idempotent).
    Setup,
    /// Set up, build, record a sample command and print its profile.
    Demo,
    /// Set up and run every check and test (what CI runs).
    Test,
    /// Measure the recorder's cost against bare runs, an empty eBPF program,
    /// bpftrace and strace, and `recorder logs` throughput against grep.
    Bench(bench::BenchArgs),
    /// Regenerate recorder/src/arch/generated.rs (syscall tables of every
    /// architecture) from a libseccomp git clone.
    GenTables(gen_tables::GenTablesArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Setup => setup::run(),
        Command::Demo => demo::run(),
        Command::Test => test::run(),
        Command::Bench(args) => bench::run(args),
        Command::GenTables(args) => gen_tables::run(args),
    }
}
