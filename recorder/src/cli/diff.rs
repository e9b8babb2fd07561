//! `recorder diff`.

use clap::Args;

use super::profile_args::{TargetArgs, read_profile};
use super::report_error;
use crate::profile::diff::diff;

/// Show what two profiles treat differently, per architecture.
///
/// `-` lines are the first profile, `+` lines the second; architectures with
/// the same differences are shown together. Exit status: 0 when the profiles
/// load into the same filter, 1 when they differ, 2 on error (like diff).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  recorder diff v1.json v2.json\n  recorder diff app.json profiles.yaml#app"
)]
pub struct DiffArgs {
    /// The first profile (FILE or FILE#NAME).
    #[arg(value_name = "A")]
    left: String,

    /// The second profile (FILE or FILE#NAME).
    #[arg(value_name = "B")]
    right: String,

    #[command(flatten)]
    target: TargetArgs,
}

pub fn run(args: DiffArgs) -> i32 {
    let target = args.target.target();
    let read = |spec: &str| {
        read_profile(spec, &target).map_err(|e| {
            report_error(&e);
        })
    };
    let (Ok(left), Ok(right)) = (read(&args.left), read(&args.right)) else {
        return 2;
    };
    let d = diff(&left.profile, &right.profile, target.arch);
    if d.is_empty() {
        return 0;
    }
    print!("{}", d.render(&args.left, &args.right));
    1
}
