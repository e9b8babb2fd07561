//! Command-line interface: one module per subcommand, each a thin layer that
//! parses flags, calls the library, and maps errors to one-line messages and
//! exit codes.

mod record;
mod syscalls;

use clap::{Parser, Subcommand};

/// Writes minimal seccomp profiles by watching what a program or container
/// really does.
#[derive(Debug, Parser)]
#[command(name = "recorder", version, about, long_about = None)]
pub struct Cli {
    /// More detail on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Record(record::RecordArgs),
    Syscalls(syscalls::SyscallsArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Record(args) => record::run(args),
        Command::Syscalls(args) => syscalls::run(args),
    }
}

/// Prints `recorder: <message>` on stderr, the one-line error form.
pub fn print_error(message: impl std::fmt::Display) {
    eprintln!("recorder: {message}");
}
