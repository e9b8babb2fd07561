//! `recorder debug-hot-path` (hidden): the calls the loaded program makes on
//! its warm paths, for each hook (what `cargo xtask bench` reports).

use clap::Args;

use super::{print_error, report_error};
use crate::bpf::hot_path::hot_path_calls;
use crate::bpf::{AttachKind, SyscallRecorder};
use crate::messages::Chain;

/// Print the calls on the program's warm paths, per hook.
#[derive(Debug, Args)]
pub struct HotPathArgs {
    /// Count those of a program loaded already (a `bpftool prog` id), e.g.
    /// another build's.
    #[arg(long, value_name = "ID")]
    id: Option<u32>,
}

pub fn run(args: HotPathArgs) -> i32 {
    if let Some(id) = args.id {
        return match hot_path_calls(id) {
            Ok(calls) => {
                println!(
                    "program {id}: unrecorded {}, recorded {}",
                    calls.unrecorded, calls.recorded
                );
                0
            }
            Err(e) => {
                report_error(&e);
                1
            }
        };
    }
    println!("hook\tunrecorded\trecorded");
    for kind in AttachKind::ALL {
        let counted = SyscallRecorder::load_with(Some(kind))
            .map_err(|e| Chain(&e).to_string())
            .and_then(|r| {
                let id = r.program_id().ok_or("the program has no id")?;
                hot_path_calls(id).map_err(|e| Chain(&e).to_string())
            });
        match counted {
            Ok(calls) => println!("{kind}\t{}\t{}", calls.unrecorded, calls.recorded),
            Err(e) => {
                print_error(format_args!("{kind}: {e}"));
                return 1;
            }
        }
    }
    0
}
