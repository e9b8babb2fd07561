//! `cargo xtask`: everything that is not a plain cargo command.

mod bench;
mod bench_daemon;
mod bench_logs;
mod bench_machine;
mod demo;
mod dist;
mod gen_tables;
mod gen_values;
mod setup;
mod test;
mod util;

use std::process::ExitCode;

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
    /// Build the release artefacts into target/dist: a static binary, a
    /// .deb, an image archive for docker/podman load, and SHA256SUMS.
    Dist,
    /// Regenerate recorder-profile/src/arch/generated.rs (syscall tables of every
    /// architecture) from a libseccomp git clone.
    GenTables(gen_tables::GenTablesArgs),
    /// Regenerate recorder-profile/src/profile/values.tsv (names of argument
    /// values) from the installed Linux UAPI and glibc headers.
    GenValues,
}

/// A failure ends with one line, `xtask: <step> failed: <cause>` (the
/// cause's chain on that line), and no backtrace: what failed and why is
/// what a user or a CI log needs; the commands it ran were echoed above it.
fn main() -> ExitCode {
    let command = Cli::parse().command;
    let step = command.step();
    let result = match command {
        Command::Setup => setup::run(),
        Command::Demo => demo::run(),
        Command::Test => test::run(),
        Command::Bench(args) => bench::run(args),
        Command::Dist => dist::run(),
        Command::GenTables(args) => gen_tables::run(args),
        Command::GenValues => gen_values::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {step} failed: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

impl Command {
    /// The step's name, as the user typed it.
    fn step(&self) -> &'static str {
        match self {
            Command::Setup => "setup",
            Command::Demo => "demo",
            Command::Test => "test",
            Command::Bench(_) => "bench",
            Command::Dist => "dist",
            Command::GenTables(_) => "gen-tables",
            Command::GenValues => "gen-values",
        }
    }
}

/// Folds a message that spans lines (a tool's stderr in a cause) into one.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn causes_fold_into_one_line() {
        assert_eq!(
            super::one_line("cargo failed: exit 1: error\n  detail\n\n"),
            "cargo failed: exit 1: error / detail"
        );
    }
}
