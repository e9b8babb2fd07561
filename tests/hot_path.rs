//! The program's warm paths, counted on the instructions the kernel runs
//! (`bpftool prog dump xlated`), a figure the same on every machine: on every
//! hook, a task the CPU remembers makes no call unless it is recorded; a
//! recorded one makes none on tp_btf (whose registers tell a native syscall)
//! and one elsewhere (the current task, for its compat flag). A change that adds a call to a warm path fails here; see
//! recorder::bpf::hot_path.

mod common;

use common::containers::require_program;
use common::*;
use recorder::bpf::hot_path::{HotPathCalls, hot_path_calls};
use recorder::bpf::{AttachKind, SyscallRecorder};

#[test]
fn warm_paths_make_no_call_but_for_the_task_off_tp_btf() {
    require_root();
    require_program("bpftool", "bpftool");
    for kind in AttachKind::ALL {
        let recorder = SyscallRecorder::load_with(Some(kind))
            .unwrap_or_else(|e| panic!("loading with {kind}: {e}"));
        let id = recorder.program_id().expect("the loaded program's id");
        let calls = hot_path_calls(id).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let recorded = match kind {
            AttachKind::TpBtf => 0,
            AttachKind::RawTp | AttachKind::Tracepoint => 1,
        };
        assert_eq!(
            calls,
            HotPathCalls {
                unrecorded: 0,
                recorded,
            },
            "{kind}"
        );
    }
}
