//! `recorder merge`.

use std::path::PathBuf;

use clap::Args;

use super::choice;
use super::profile_args::{FormatArgs, TargetArgs, read_profile};
use super::report_error;
use crate::messages;
use crate::profile::merge::{Prefer, merge};
use crate::profile::output::Output;

/// Merge profiles into one that allows what any of them allows.
///
/// Typical use: one recorded profile per test run or replica, merged into
/// one. Argument values allowed by conditions (profiles recorded with
/// --args) are unioned, and an input that allows the syscall outright
/// covers them all. Rules that deny or restrict a syscall otherwise
/// (another action, a condition whose rule denies) are kept; when another
/// input allows that syscall outright, the conflict is reported on stderr
/// and --prefer decides. Architectures are merged too.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  recorder merge run1.json run2.json run3.json -o app.json\n  recorder merge app.json hardening.json --prefer deny"
)]
pub struct MergeArgs {
    /// The profiles to merge (FILE or FILE#NAME).
    #[arg(required = true, num_args = 2.., value_name = "PROFILE")]
    inputs: Vec<String>,

    /// Write the merged profile to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// When one input allows a syscall that another denies or restricts:
    /// keep the denial (deny) or take the allow (allow).
    #[arg(long, value_parser = choice::parser::<Prefer>(), default_value_t, value_name = "SIDE")]
    prefer: Prefer,

    #[command(flatten)]
    format: FormatArgs,

    #[command(flatten)]
    target: TargetArgs,
}

pub fn run(args: MergeArgs) -> i32 {
    let output = match Output::prepare(args.output.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    let target = args.target.target();
    let mut profiles = Vec::with_capacity(args.inputs.len());
    for spec in &args.inputs {
        match read_profile(spec, &target) {
            Ok(d) => profiles.push(d.profile),
            Err(e) => {
                report_error(&e);
                return 1;
            }
        }
    }
    let labelled: Vec<(&str, &crate::profile::Profile)> = args
        .inputs
        .iter()
        .map(String::as_str)
        .zip(&profiles)
        .collect();
    let merged = merge(&labelled, args.prefer);
    for conflict in &merged.conflicts {
        messages::notice(format_args!("conflict: {conflict}"));
    }
    match args.format.write(&merged.profile, &output, None) {
        Ok(()) => 0,
        Err(e) => {
            report_error(&e);
            1
        }
    }
}
