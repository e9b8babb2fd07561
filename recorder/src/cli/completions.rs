//! `recorder completions SHELL`: the shell completion script, and the hidden
//! `recorder manpages DIR` that writes the man pages; both generated from
//! the command-line definitions, so they never drift from `--help`.

use std::io;
use std::path::PathBuf;

use clap::{Args, CommandFactory as _};
use clap_complete::Shell;

use super::{Cli, print_error};

/// Print a shell completion script on stdout.
///
/// Packages install it where the shell finds it; by hand, for example:
/// `recorder completions bash > /etc/bash_completion.d/recorder`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

pub fn run(args: CompletionsArgs) -> i32 {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "recorder", &mut io::stdout());
    0
}

/// Write the man pages (`recorder.1` and `recorder-SUBCOMMAND.1`) into a
/// directory; used to build packages.
#[derive(Debug, Args)]
pub struct ManpagesArgs {
    /// The directory to write them into (created when missing).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

pub fn run_manpages(args: ManpagesArgs) -> i32 {
    match write_manpages(&args.dir) {
        Ok(()) => 0,
        Err(e) => {
            print_error(format_args!(
                "writing man pages into {}: {e}",
                args.dir.display()
            ));
            1
        }
    }
}

fn write_manpages(dir: &std::path::Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let command = Cli::command();
    clap_mangen::generate_to(command, dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_man_page_per_visible_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        write_manpages(dir.path()).unwrap();
        let mut pages: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        pages.sort();
        assert!(pages.contains(&"recorder.1".to_string()), "{pages:?}");
        assert!(
            pages.contains(&"recorder-record.1".to_string()),
            "{pages:?}"
        );
        assert!(pages.contains(&"recorder-trace.1".to_string()), "{pages:?}");
        assert!(!pages.iter().any(|p| p.contains("manpages")), "{pages:?}");
    }
}
