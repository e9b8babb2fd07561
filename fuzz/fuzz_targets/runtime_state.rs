//! Any bytes as the runtime state files the recorder reads to tell
//! containers apart (runc's state.json, crun's status, a bundle's
//! config.json, containers/storage's containers.json) and as a runtime's
//! command line: no panic.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use recorder_runtime::runtime_call::parse_runtime_call;
use recorder_runtime::{oci_state, storage};

/// A directory of this process's own, made once: a state root with one
/// container, and a graph root.
static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("recorder-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("state/c1")).expect("making the fuzz state root");
    std::fs::create_dir_all(dir.join("graph/overlay-containers"))
        .expect("making the fuzz graph root");
    dir
});

fuzz_target!(|data: &[u8]| {
    let dir = &*DIR;
    let container = dir.join("state/c1");
    // runc's state.json, then crun's status (read when there is no state.json).
    let _ = std::fs::remove_file(container.join("status"));
    std::fs::write(container.join("state.json"), data).expect("writing state.json");
    let _ = oci_state::read_root(&dir.join("state"), std::path::Path::new("/sys/fs/cgroup"));
    let _ = std::fs::remove_file(container.join("state.json"));
    std::fs::write(container.join("status"), data).expect("writing status");
    let _ = oci_state::read_root(&dir.join("state"), std::path::Path::new("/sys/fs/cgroup"));
    std::fs::write(dir.join("graph/overlay-containers/containers.json"), data)
        .expect("writing containers.json");
    let _ = storage::list(&dir.join("graph"));
    // A command line: NUL-separated, as /proc/PID/cmdline holds it.
    let argv: Vec<String> = data
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let _ = parse_runtime_call(&argv);
});
