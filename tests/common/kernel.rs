//! Helpers for the tests that drive the library against the real kernel:
//! cgroups of their own, commands started inside them, names of what a
//! recording saw.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use recorder::arch::Arch;
use recorder::bpf::Seen;
use recorder::cgroup::{Cgroup2Mount, OwnedCgroup};

/// The native names of what a recording saw.
pub fn seen_names(seen: &Seen) -> BTreeSet<&'static str> {
    let table = Arch::host().table();
    seen.native
        .iter()
        .filter_map(|&nr| table.name(nr))
        .collect()
}

/// A new cgroup `NAME-<pid>`, removed when dropped.
pub fn test_cgroup(mount: &Cgroup2Mount, name: &str) -> OwnedCgroup {
    OwnedCgroup::create(mount, &format!("{name}-{}", std::process::id())).unwrap()
}

/// Makes `cmd` start in `cgroup` (its first syscall after exec there) and,
/// with `cpu`, on that CPU alone.
pub fn start_in_cgroup(cmd: &mut Command, cgroup: &Path, cpu: Option<usize>) {
    let procs = cgroup.join("cgroup.procs");
    let path = std::ffi::CString::new(procs.as_os_str().as_encoded_bytes()).unwrap();
    let set = cpu.map(|cpu| {
        // SAFETY: cpu_set_t is plain bits; all-zero is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `cpu` is below CPU_SETSIZE on any machine this runs on.
        unsafe { libc::CPU_SET(cpu, &mut set) };
        set
    });
    // SAFETY: between fork and exec the closure makes only raw,
    // async-signal-safe syscalls, on a path allocated before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(set) = &set
                && libc::sched_setaffinity(0, std::mem::size_of_val(set), set) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(fd);
            Ok(())
        });
    }
}
