//! Runs a command under an OCI profile loaded through libseccomp, as runc
//! does: default action and errno, architectures, and the allowed names.
//!
//! The filter is compiled in the parent and exported as raw BPF; the child
//! only makes two raw syscalls between fork and exec (prctl, seccomp), which
//! is safe in a multi-threaded test process.

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};
use std::str::FromStr;

use libseccomp::{ScmpAction, ScmpArch, ScmpFilterContext, ScmpSyscall};

/// Compiles the allow rules of `profile_json` into classic BPF.
pub fn compile_profile(profile_json: &str) -> Vec<libc::sock_filter> {
    let v: serde_json::Value = serde_json::from_str(profile_json).expect("profile is JSON");
    assert_eq!(
        v["defaultAction"], "SCMP_ACT_ERRNO",
        "test helper handles errno profiles"
    );
    let errno = v["defaultErrnoRet"].as_i64().unwrap_or(1) as i32;
    let mut ctx = ScmpFilterContext::new(ScmpAction::Errno(errno)).expect("new filter");
    let arches: Vec<ScmpArch> = super::architectures(profile_json)
        .iter()
        .map(|a| ScmpArch::from_str(a).unwrap_or_else(|e| panic!("arch {a}: {e}")))
        .collect();
    let native = ScmpArch::native();
    for arch in &arches {
        if *arch != native {
            ctx.add_arch(*arch).expect("add arch");
        }
    }
    if !arches.contains(&native) {
        ctx.remove_arch(native).expect("remove native arch");
    }
    for name in super::allowed_names(profile_json) {
        // Names unknown to this libseccomp are skipped, as runc skips them.
        if let Ok(syscall) = ScmpSyscall::from_name(&name) {
            ctx.add_rule(ScmpAction::Allow, syscall).expect("add rule");
        }
    }
    let file = tempfile::tempfile().expect("temp file");
    ctx.export_bpf(&file).expect("export bpf");
    let bytes = std::fs::read(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&file)
    ))
    .expect("reading exported bpf");
    bytes
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// Runs `cmd` with the filter of `profile_json` installed just before exec.
pub fn run_under_profile(profile_json: &str, cmd: &mut Command) -> Output {
    let filter = compile_profile(profile_json);
    // SAFETY: only raw syscalls between fork and exec; `filter` outlives the
    // closure because the closure owns it.
    unsafe {
        cmd.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(libc::SYS_seccomp, 1 /* SET_MODE_FILTER */, 0, &prog) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    super::run(cmd)
}
