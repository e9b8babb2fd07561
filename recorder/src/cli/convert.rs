//! `recorder convert`.

use std::path::PathBuf;

use clap::Args;

use super::profile_args::{FormatArgs, TargetArgs, read_profile, spec_path};
use super::report_error;
use crate::profile::output::Output;

/// Convert a profile from any format into another.
///
/// Reads OCI, Docker or podman (containers-common) JSON, SeccompProfile YAML
/// (pick one of several objects with FILE#NAME), or a systemd unit or
/// drop-in. Docker's conditional rules (by architecture, capabilities,
/// kernel version) are resolved for the target, as Docker does when it
/// starts a container; a unit's @groups are expanded as its systemd does
/// (--systemd).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  recorder convert docker-default.json --arch x86_64 -o default.json\n  recorder convert app.json --format crd --namespace shop\n  recorder convert profiles.yaml#web --format systemd\n  recorder convert /lib/systemd/system/systemd-logind.service --systemd 257"
)]
pub struct ConvertArgs {
    /// The profile to convert (FILE, FILE#NAME, or - for stdin).
    #[arg(value_name = "IN")]
    input: String,

    /// Write the result to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    #[command(flatten)]
    format: FormatArgs,

    #[command(flatten)]
    target: TargetArgs,
}

pub fn run(args: ConvertArgs) -> i32 {
    let output = match Output::prepare(args.output.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    let document = match read_profile(&args.input, &args.target.target()) {
        Ok(d) => d,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    let input = spec_path(&args.input);
    let input_name = document
        .name
        .as_ref()
        .map(|n| PathBuf::from(format!("{n}.json")));
    let name_from = input_name.as_deref().unwrap_or(input);
    match args
        .format
        .write(&document.profile, &output, Some(name_from))
    {
        Ok(()) => 0,
        Err(e) => {
            report_error(&e);
            1
        }
    }
}
