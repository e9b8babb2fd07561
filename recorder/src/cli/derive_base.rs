//! `recorder derive-base`.

use std::path::PathBuf;

use clap::Args;

use super::report_error;
use crate::arch::Arch;
use crate::container::OciRuntime;
use crate::container::derive::{DeriveOptions, derive};
use crate::profile::output::Output;
use crate::profile::{Profile, oci};

/// Derive an OCI runtime's base profile from real runs: the syscalls the
/// runtime itself makes after it installs a container's seccomp filter.
///
/// Runs containers of static busybox `true` with the runtime, under a filter
/// that logs every syscall (SCMP_ACT_LOG), with no_new_privileges off and on,
/// and reads the kernel's audit records live. This is how
/// profiles/base/<runtime>.json is made; run it again for a new runtime
/// version. Needs root, the runtime, and busybox-static.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  recorder derive-base runc -o profiles/base/runc.json")]
pub struct DeriveBaseArgs {
    /// The runtime: runc or crun.
    #[arg(value_name = "RUNTIME", value_parser = parse_runtime)]
    runtime: OciRuntime,

    /// Write the profile to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Containers per no_new_privileges setting. runc's Go runtime makes a
    /// few timing-dependent calls; more runs catch more of them.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    runs: u32,

    /// The runtime binary (default: RUNTIME on PATH).
    #[arg(long, value_name = "PATH")]
    runtime_binary: Option<PathBuf>,

    /// A statically linked busybox for the containers' root filesystem.
    #[arg(long, value_name = "PATH", default_value = "/bin/busybox")]
    busybox: PathBuf,
}

fn parse_runtime(text: &str) -> Result<OciRuntime, String> {
    match text {
        "runc" => Ok(OciRuntime::Runc),
        "crun" => Ok(OciRuntime::Crun),
        other => Err(format!("unknown runtime {other:?}: use runc or crun")),
    }
}

pub fn run(args: DeriveBaseArgs) -> i32 {
    let output = match Output::prepare(args.output.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    let options = DeriveOptions {
        runtime: args.runtime,
        binary: args.runtime_binary,
        busybox: args.busybox,
        runs: args.runs,
    };
    let derivation = match derive(&options) {
        Ok(d) => d,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    for nr in &derivation.unnamed {
        crate::warning!("syscall {nr} has no name libseccomp knows and is not in the profile");
    }
    let names = derivation.names();
    let profile = Profile::allow_list([Arch::host()], names.iter().cloned(), 38);
    if let Err(e) = output.write(&oci::to_json(&profile)) {
        report_error(&e);
        return 1;
    }
    crate::notice!(
        "{}: {} syscalls after the filter ({} with no_new_privileges off, {} on; {} runs each)",
        derivation.version,
        names.len(),
        derivation.without_nnp.len(),
        derivation.with_nnp.len(),
        options.runs
    );
    let timing = derivation.timing_dependent();
    if !timing.is_empty() {
        let list: Vec<String> = timing
            .iter()
            .map(|(name, count)| format!("{name} ({count}/{})", options.runs))
            .collect();
        crate::notice!(
            "made in some runs only (timing, not code path): {}",
            list.join(", ")
        );
    }
    0
}
