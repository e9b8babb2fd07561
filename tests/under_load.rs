//! Recordings stay exact while the machine is saturated: 64 threads in 16
//! other cgroups make syscalls on both cores while 8 recordings of a
//! deterministic workload run at once, and each recording equals what
//! `strace -f` sees of that workload.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::containers::require_program;
use common::*;

/// Processes in cgroups of their own, removed (processes killed, cgroups
/// deleted) when dropped.
struct Load {
    children: Vec<Child>,
    cgroups: Vec<PathBuf>,
}

impl Load {
    /// `cgroups` cgroups, each with one process of `threads` threads that
    /// make syscalls the workload never makes.
    fn start(program: &Path, cgroups: usize, threads: usize) -> Load {
        let mut load = Load {
            children: Vec::new(),
            cgroups: Vec::new(),
        };
        for i in 0..cgroups {
            let cgroup =
                cgroup2_mount().join(format!("recorder-test-load-{}-{i}", std::process::id()));
            std::fs::create_dir(&cgroup)
                .unwrap_or_else(|e| panic!("creating {}: {e}", cgroup.display()));
            load.cgroups.push(cgroup.clone());
            // The shell moves itself, then becomes the load.
            let child = Command::new("sh")
                .arg("-c")
                .arg("echo $$ > \"$1/cgroup.procs\" && exec \"$2\" \"$3\"")
                .arg("sh")
                .arg(&cgroup)
                .arg(program)
                .arg(threads.to_string())
                .stdin(Stdio::null())
                .spawn()
                .expect("starting a load process");
            load.children.push(child);
        }
        load
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for cgroup in &self.cgroups {
            let _ = std::fs::remove_dir(cgroup);
        }
    }
}

#[test]
fn eight_recordings_under_load_each_equal_strace() {
    require_root();
    require_program("strace", "strace");
    let dir = temp_dir();
    let workload = build_program(dir.path(), "threads", &["-O1", "-pthread"]);
    let busy = build_program(dir.path(), "busy_threads", &["-O1", "-pthread"]);
    let workload = workload.to_str().unwrap();
    let expected = strace_names(dir.path(), &[workload]);

    let load = Load::start(&busy, 16, 4);
    // The load runs before the recordings start.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let recorded: Vec<(usize, BTreeSet<String>, String)> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..8)
            .map(|i| {
                let dir = dir.path();
                s.spawn(move || {
                    let path = dir.join(format!("profile-{i}.json"));
                    let out = run(recorder()
                        .args(["record", "-q", "-o"])
                        .arg(&path)
                        .args(["--", workload]));
                    assert!(
                        out.status.success(),
                        "recording {i} failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let profile = std::fs::read_to_string(&path).expect("profile written");
                    (i, allowed_names(&profile), profile)
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    drop(load);
    for (i, names, profile) in recorded {
        let only_recorded: BTreeSet<_> = names.difference(&expected).collect();
        let only_traced: BTreeSet<_> = expected.difference(&names).collect();
        assert!(
            only_recorded.is_empty() && only_traced.is_empty(),
            "recording {i} under load differs from strace -f:\nonly recorded: {only_recorded:?}\nonly strace: {only_traced:?}\n{profile}"
        );
    }
}
