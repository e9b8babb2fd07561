//! The shipped runtime base profiles (profiles/base/) are what
//! `recorder derive-base` finds today: each runtime is run again under an
//! SCMP_ACT_LOG filter and its post-filter syscalls are compared with the
//! shipped names.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::containers::*;
use common::*;

/// Calls runc 1.1 makes after its filter in some runs only: its Go runtime
/// decides, not its code path (see profiles/base/README.md). A re-derivation
/// with few runs may miss them; the shipped profile keeps them.
const RUNC_TIMING_DEPENDENT: [&str; 2] = ["futex", "rt_sigreturn"];

fn shipped(runtime: &str) -> BTreeSet<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../profiles/base/{runtime}.json"));
    allowed_names(&std::fs::read_to_string(path).unwrap())
}

fn derive(runtime: &str, runs: &str) -> BTreeSet<String> {
    let dir = temp_dir();
    let out_path = dir.path().join(format!("{runtime}.json"));
    let out = run(recorder()
        .args(["derive-base", runtime, "--runs", runs, "-o"])
        .arg(&out_path));
    assert!(
        out.status.success(),
        "derive-base {runtime}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    allowed_names(&std::fs::read_to_string(&out_path).unwrap())
}

#[test]
fn runc_base_profile_is_what_runc_does() {
    require_root();
    require_program("runc", "runc");
    let derived = derive("runc", "10");
    let shipped = shipped("runc");
    let new: BTreeSet<&String> = derived.difference(&shipped).collect();
    assert!(
        new.is_empty(),
        "runc now needs {new:?} after its filter: re-derive profiles/base/runc.json (`recorder derive-base runc --runs 50 -o profiles/base/runc.json`)"
    );
    let gone: BTreeSet<&String> = shipped
        .difference(&derived)
        .filter(|n| !RUNC_TIMING_DEPENDENT.contains(&n.as_str()))
        .collect();
    assert!(
        gone.is_empty(),
        "runc no longer makes {gone:?} after its filter: re-derive profiles/base/runc.json"
    );
}

#[test]
fn crun_base_profile_is_what_crun_does() {
    require_root();
    require_program("crun", "crun");
    let _hugetlb = HugetlbMount::ensure();
    // crun (C) makes the same calls every run.
    assert_eq!(derive("crun", "3"), shipped("crun"));
}
