//! The program's warm paths make one call each (the current task), on every
//! hook: counted on the instructions the kernel runs (`bpftool prog dump
//! xlated`), a figure the same on every machine. A change that adds a call
//! to a warm path fails here; see recorder::bpf::hot_path.

mod common;

use common::containers::require_program;
use common::*;
use recorder::bpf::hot_path::{HotPathCalls, hot_path_calls};
use recorder::bpf::{AttachKind, SyscallRecorder};

#[test]
fn warm_paths_make_one_call_on_every_hook() {
    require_root();
    require_program("bpftool", "bpftool");
    for kind in AttachKind::ALL {
        let recorder = SyscallRecorder::load_with(Some(kind))
            .unwrap_or_else(|e| panic!("loading with {kind}: {e}"));
        let id = recorder.program_id().expect("the loaded program's id");
        let calls = hot_path_calls(id).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(
            calls,
            HotPathCalls {
                unrecorded: 1,
                recorded: 1,
            },
            "{kind}"
        );
    }
}
