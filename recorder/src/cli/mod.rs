//! Command-line interface: one module per subcommand, each a thin layer that
//! parses flags, calls the library, and maps errors to one-line messages and
//! exit codes.

mod choice;
mod completions;
mod convert;
mod daemon;
mod derive_base;
mod diff;
mod explain;
mod hot_path;
mod install;
mod logs;
mod merge;
pub mod profile_args;
mod record;
mod recorded_profile;
mod run;
pub mod self_confine_args;
mod status;
mod syscalls;
mod template;
mod trace;

use clap::{Parser, Subcommand};

/// Writes minimal seccomp profiles by watching what a program or container
/// really does.
#[derive(Debug, Parser)]
#[command(name = "recorder", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// More detail on stderr (-v info, -vv debug, -vvv also the eBPF
    /// loader's debug output).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Record(record::RecordArgs),
    Syscalls(syscalls::SyscallsArgs),
    Convert(convert::ConvertArgs),
    Merge(merge::MergeArgs),
    Diff(diff::DiffArgs),
    Run(run::RunArgs),
    Explain(explain::ExplainArgs),
    Install(install::InstallArgs),
    Template(template::TemplateArgs),
    Logs(Box<logs::LogsArgs>),
    Trace(trace::TraceArgs),
    Daemon(daemon::DaemonArgs),
    Status(status::StatusArgs),
    DeriveBase(derive_base::DeriveBaseArgs),
    Completions(completions::CompletionsArgs),
    #[command(hide = true)]
    Manpages(completions::ManpagesArgs),
    #[command(hide = true)]
    DebugHotPath(hot_path::HotPathArgs),
}

/// `0.1.0 (3f2a9c1b7d4e)`: the version and the git commit it was built
/// from (`unknown` for a build outside a git checkout), as `--version`
/// prints it after the name.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("RECORDER_GIT_COMMIT"),
    ")"
);

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Record(args) => record::run(args),
        Command::Syscalls(args) => syscalls::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Run(args) => run::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Install(args) => install::run(args),
        Command::Template(args) => template::run(args),
        Command::Logs(args) => logs::run(*args),
        Command::Trace(args) => trace::run(args),
        Command::Daemon(args) => daemon::run(args),
        Command::Status(args) => status::run(args),
        Command::DeriveBase(args) => derive_base::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Manpages(args) => completions::run_manpages(args),
        Command::DebugHotPath(args) => hot_path::run(args),
    }
}

/// Prints `recorder: <message>` on stderr, the one-line error form.
pub fn print_error(message: impl std::fmt::Display) {
    crate::messages::error(message);
}

/// Prints an error and its causes on one line: `recorder: <error>: <cause>`.
pub fn report_error(error: &dyn std::error::Error) {
    crate::messages::error_chain(error);
}
