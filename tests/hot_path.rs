//! The program's warm paths, counted on the instructions the kernel runs
//! (`bpftool prog dump xlated`), a figure the same on every machine: on every
//! hook, a task the CPU remembers makes no call, recorded or not: a
//! recorded one's compat flag is read without a call on tp_btf (whose
//! registers tell a native syscall) and, where the kernel has the kfunc
//! `bpf_rdonly_cast` (6.2+), elsewhere too (through the remembered task);
//! on older kernels raw_tp and the classic tracepoint ask for the task (one
//! call). A change that adds a call to a warm path fails here; see
//! recorder::bpf::hot_path.

mod common;

use common::containers::require_program;
use common::*;
use recorder::arch::btf::Btf;
use recorder::bpf::hot_path::{HotPathCalls, hot_path_calls};
use recorder::bpf::{AttachKind, BpfError, LoadOptions, SyscallRecorder, TaskCast};

#[test]
fn warm_paths_make_no_call() {
    require_root();
    require_program("bpftool", "bpftool");
    let task_cast = TaskCast::of_kernel(Btf::kernel().ok().as_ref()).is_some();
    if !task_cast {
        eprintln!("note: this kernel lacks bpf_rdonly_cast: raw_tp and tracepoint expect one call");
    }
    for kind in AttachKind::ALL {
        let recorded = match kind {
            AttachKind::TpBtf => 0,
            AttachKind::RawTp | AttachKind::Tracepoint => u32::from(!task_cast),
        };
        let loaded = SyscallRecorder::load_options(options_for(kind, true));
        assert_eq!(calls(kind, loaded), expected(recorded), "{kind}");
    }
}

/// As on a kernel without `bpf_rdonly_cast`: raw_tp and the classic
/// tracepoint ask for the task of a recorded syscall (one call).
#[test]
fn without_the_task_cast_a_recorded_task_costs_one_call_off_tp_btf() {
    require_root();
    require_program("bpftool", "bpftool");
    for kind in AttachKind::ALL {
        let recorded = u32::from(kind != AttachKind::TpBtf);
        let loaded = SyscallRecorder::load_options(options_for(kind, false));
        assert_eq!(calls(kind, loaded), expected(recorded), "{kind}");
    }
}

/// A kernel that refuses the program's `bpf_rdonly_cast` call (kfuncs are
/// no stable interface) gets the program without it: loaded, with the
/// task asked for off tp_btf.
#[test]
fn a_refused_kfunc_call_loads_the_program_without_it() {
    require_root();
    require_program("bpftool", "bpftool");
    assert!(
        TaskCast::of_kernel(Btf::kernel().ok().as_ref()).is_some(),
        "this test needs a kernel with the kfunc bpf_rdonly_cast (6.2 or newer, with BTF)"
    );
    for kind in AttachKind::ALL {
        let loaded = SyscallRecorder::load_refusing_the_kfunc(options_for(kind, true));
        let recorded = u32::from(kind != AttachKind::TpBtf);
        assert_eq!(calls(kind, loaded), expected(recorded), "{kind}");
    }
}

fn expected(recorded: u32) -> HotPathCalls {
    HotPathCalls {
        unrecorded: 0,
        recorded,
    }
}

/// Loading on `kind`, with or without the task cast.
fn options_for(kind: AttachKind, task_cast: bool) -> LoadOptions {
    LoadOptions {
        attach: Some(kind),
        task_cast,
        ..LoadOptions::default()
    }
}

/// The warm paths' calls of the program `loaded` for `kind`.
fn calls(kind: AttachKind, loaded: Result<SyscallRecorder, BpfError>) -> HotPathCalls {
    let recorder = loaded.unwrap_or_else(|e| panic!("loading with {kind}: {e}"));
    let id = recorder.program_id().expect("the loaded program's id");
    hot_path_calls(id).unwrap_or_else(|e| panic!("{kind}: {e}"))
}
