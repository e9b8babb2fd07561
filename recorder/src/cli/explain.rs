//! `recorder explain`.

use std::io::IsTerminal;

use clap::Args;

use super::profile_args::{TargetArgs, read_profile};
use super::report_error;
use crate::explain::explain;

/// Explain what a profile allows, grouped by kind.
///
/// One line per syscall on what it does, and a flag on the ones Docker's
/// default profile blocks (!) or restricts (~), with the reason.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  recorder explain app.json\n  recorder explain profiles.yaml#web --color never"
)]
pub struct ExplainArgs {
    /// The profile (FILE or FILE#NAME).
    #[arg(value_name = "PROFILE")]
    profile: String,

    /// Colour: auto (on a terminal), always, never.
    #[arg(long, value_enum, default_value_t, value_name = "WHEN")]
    color: ColorChoice,

    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

pub fn run(args: ExplainArgs) -> i32 {
    let document = match read_profile(&args.profile, &args.target.target()) {
        Ok(d) => d,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    let color = match args.color {
        ColorChoice::Auto => std::io::stdout().is_terminal(),
        ColorChoice::Always => true,
        ColorChoice::Never => false,
    };
    print!("{}", explain(&document.profile).render(color));
    0
}
