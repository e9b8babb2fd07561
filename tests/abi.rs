//! End-to-end tests of syscall ABIs on an x86_64 host: ia32 programs, x32
//! syscalls, and which architectures a profile lists. Real kernel, real
//! eBPF program, real libseccomp filters.

mod common;

use std::collections::BTreeSet;
use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;

use common::kernel::{start_in_cgroup, test_cgroup};
use common::*;
use libseccomp::{ScmpAction, ScmpArch, ScmpFilterContext, ScmpSyscall};
use recorder::bpf::{AttachKind, LoadOptions, Start, SyscallRecorder};
use recorder::cgroup::Cgroup2Mount;

fn require_x86_64() {
    assert_eq!(
        std::env::consts::ARCH,
        "x86_64",
        "these ABI tests need an x86_64 host with IA32 emulation"
    );
}

/// Records `args` and returns the profile JSON (written to a file: the
/// program's own output goes to stdout).
fn record(extra: &[&str], args: &[&str]) -> String {
    let dir = temp_dir();
    let file = dir.path().join("profile.json");
    let out = run(recorder()
        .args(["record", "-q", "-o"])
        .arg(&file)
        .args(extra)
        .arg("--")
        .args(args));
    assert!(
        out.status.success(),
        "recorder record {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&file).expect("profile written")
}

/// Runs `program` under a seccomp filter built from the profile by
/// libseccomp, as runc does: every name through `seccomp_rule_add` (which
/// maps each name to each listed architecture), default action from the
/// profile. Returns the program's exit code and stdout.
fn run_under_profile(profile: &str, program: &Path, drop: &[&str]) -> (i32, String) {
    let v: serde_json::Value = serde_json::from_str(profile).unwrap();
    let errno = v["defaultErrnoRet"].as_i64().expect("defaultErrnoRet") as i32;
    let mut filter = ScmpFilterContext::new(ScmpAction::Errno(errno)).unwrap();
    for arch in architectures(profile) {
        let arch: ScmpArch = arch.parse().unwrap();
        filter.add_arch(arch).unwrap();
    }
    for name in allowed_names(profile) {
        if drop.contains(&name.as_str()) {
            continue;
        }
        let syscall = ScmpSyscall::from_name(&name)
            .unwrap_or_else(|e| panic!("libseccomp does not know {name}: {e}"));
        filter.add_rule(ScmpAction::Allow, syscall).unwrap();
    }
    // The filter goes in as raw BPF between fork and exec: nothing there may
    // allocate, so libseccomp compiles it here.
    let mut bpf = tempfile::tempfile().unwrap();
    filter.export_bpf(&bpf).unwrap();
    let mut code = Vec::new();
    std::io::Seek::rewind(&mut bpf).unwrap();
    bpf.read_to_end(&mut code).unwrap();
    let mut command = Command::new(program);
    // SAFETY: the closure makes only raw prctl/seccomp syscalls on memory
    // prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: (code.len() / std::mem::size_of::<libc::sock_filter>()) as u16,
                filter: code.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::syscall(libc::SYS_seccomp, 1 /* SET_MODE_FILTER */, 0, &prog) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command
        .output()
        .expect("running the program under the filter");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn ia32_program_gets_x86_arch_and_ia32_names_and_runs_under_them() {
    require_root();
    require_x86_64();
    let dir = temp_dir();
    let program = build_program(dir.path(), "ia32_calls", &["-m32", "-static", "-O2"]);
    let path = program.to_str().unwrap();
    let profile = record(&[], &[path]);

    assert_eq!(
        architectures(&profile),
        ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"],
        "{profile}"
    );
    // Exactly what strace sees (the exec itself is the 64-bit parent's
    // execve), except that strace shows glibc's socketcall(SYS_SOCKET, ...)
    // as `socket`: the kernel, and so the profile, has `socketcall`.
    let mut expected = strace_names(dir.path(), &[path]);
    assert!(expected.remove("socket"), "strace saw {expected:?}");
    expected.insert("socketcall".to_string());
    let names = allowed_names(&profile);
    assert_eq!(names, expected);
    for ia32_only in [
        "_llseek",
        "mmap2",
        "socketcall",
        "set_thread_area",
        "ugetrlimit",
    ] {
        assert!(names.contains(ia32_only), "{ia32_only} missing: {names:?}");
    }

    // Applied through libseccomp, the profile lets the program run...
    assert_eq!(
        run_under_profile(&profile, &program, &[]),
        (0, "ok\n".to_string())
    );
    // ... and it is the profile doing it: without _llseek, lseek64 fails
    // with the profile's ENOSYS and the program says so in its exit code.
    assert_eq!(run_under_profile(&profile, &program, &["_llseek"]).0, 3);
}

/// `int $0x80` from 64-bit code enters the ia32 ABI from a 64-bit code
/// segment: the one case where the hot path cannot tell the ABI from the
/// registers and must read the task's compat flag. On every hook, the
/// profile names the ia32 calls (getpid, time), not the x86_64 calls with
/// the same numbers (writev, rt_sigaction).
#[test]
fn int_0x80_from_64_bit_code_is_recorded_as_ia32_on_every_hook() {
    require_root();
    require_x86_64();
    let dir = temp_dir();
    let program = build_program(dir.path(), "int80_from_64", &["-static", "-O2"]);
    let path = program.to_str().unwrap();
    for hook in ["tp-btf", "raw-tp", "tracepoint"] {
        let profile = record(&["--attach", hook], &[path]);
        assert_eq!(
            architectures(&profile),
            ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"],
            "{hook}: {profile}"
        );
        let names = allowed_names(&profile);
        assert!(
            names.contains("getpid") && names.contains("time"),
            "{hook}: the ia32 calls are missing: {names:?}"
        );
        assert!(
            !names.contains("writev") && !names.contains("rt_sigaction"),
            "{hook}: ia32 numbers were taken for x86_64 calls: {names:?}"
        );
    }
}

/// The same as on kernels without `bpf_rdonly_cast` (before 6.2): the
/// compat flag is then read through the task the program asks the kernel
/// for, not through the one its CPU remembers, and on tp_btf only where
/// the saved registers do not show a native `syscall`.
#[test]
fn int_0x80_from_64_bit_code_is_ia32_without_the_task_cast() {
    require_root();
    require_x86_64();
    let dir = temp_dir();
    let program = build_program(dir.path(), "int80_from_64", &["-static", "-O2"]);
    let mount = Cgroup2Mount::find().unwrap();
    for kind in AttachKind::ALL {
        let mut recorder = SyscallRecorder::load_options(LoadOptions {
            attach: Some(kind),
            task_cast: false,
            ..LoadOptions::default()
        })
        .unwrap_or_else(|e| panic!("loading with {kind}: {e}"));
        let cgroup = test_cgroup(&mount, "int80-without-cast");
        let id = recorder.start(cgroup.id(), Start::Now).unwrap();
        let mut cmd = Command::new(&program);
        start_in_cgroup(&mut cmd, cgroup.path(), None);
        let status = cmd.status().unwrap();
        assert!(status.success(), "{kind}: {status}");
        let seen = recorder.stop(id).unwrap();
        // ia32 20 is getpid and 13 time; x86_64 20 is writev and 13
        // rt_sigaction, which the program never makes.
        assert!(
            seen.compat.contains(&20) && seen.compat.contains(&13),
            "{kind}: the ia32 calls are missing: {:?}",
            seen.compat
        );
        assert!(
            !seen.native.contains(&20) && !seen.native.contains(&13),
            "{kind}: ia32 numbers were taken for x86_64 calls: {:?}",
            seen.native
        );
    }
}

#[test]
fn x32_syscall_gets_x32_arch_and_name() {
    require_root();
    require_x86_64();
    let dir = temp_dir();
    // x32 syscall 521 is ptrace; the kernel here has no x32 ABI and answers
    // ENOSYS, but the tracepoint still sees the number with the x32 bit.
    let program = build_program(dir.path(), "x32_call", &["-O2"]);
    let profile = record(&[], &[program.to_str().unwrap()]);
    assert_eq!(
        architectures(&profile),
        ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
        "{profile}"
    );
    let names = allowed_names(&profile);
    assert!(names.contains("ptrace"), "{names:?}");
    // ptrace is the x32 call's name: the same program without it makes no
    // ptrace call.
    let plain = strace_names(dir.path(), &["/bin/true"]);
    assert!(!plain.contains("ptrace"));
}

#[test]
fn plain_64_bit_program_lists_x86_64_or_dockers_three() {
    require_root();
    require_x86_64();
    let observed = record(&[], &["/bin/true"]);
    assert_eq!(architectures(&observed), ["SCMP_ARCH_X86_64"]);
    let docker = record(&["--arch-policy", "docker"], &["/bin/true"]);
    assert_eq!(
        architectures(&docker),
        ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]
    );
    assert_eq!(allowed_names(&observed), allowed_names(&docker));
}

/// A program using a syscall libseccomp 2.5.4 lacks (close_range is there
/// since 2.5.2; mseal since 2.5.6): warned about by default, left out with
/// --libseccomp 2.5.4.
#[test]
fn names_older_libseccomp_lacks_are_warned_about_or_left_out() {
    require_root();
    require_x86_64();
    let dir = temp_dir();
    let program = build_program(dir.path(), "mseal_call", &["-O2"]);
    let path = program.to_str().unwrap();
    let out = run(recorder().args(["record", "-q", "-o", "-", "--", path]));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("libseccomp"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].starts_with("recorder: warning: libseccomp releases before 2.5.6")
            && warnings[0].contains("mseal (2.5.6+)"),
        "{stderr}"
    );
    assert!(allowed_names(&String::from_utf8_lossy(&out.stdout)).contains("mseal"));

    let out = run(recorder().args([
        "record",
        "-q",
        "-o",
        "-",
        "--libseccomp",
        "2.5.4",
        "--",
        path,
    ]));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "recorder: libseccomp 2.5.4 does not know mseal (2.5.6+): left out of the profile, so those syscalls will be denied"
    );
    let names: BTreeSet<String> = allowed_names(&String::from_utf8_lossy(&out.stdout));
    assert!(
        !names.contains("mseal") && names.contains("execve"),
        "{names:?}"
    );

    let out = run(recorder().args(["record", "-o", "-", "--libseccomp", "2.4", "--", path]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .next()
            .unwrap_or_default()
            .contains("libseccomp 2.4.0 is older than 2.5.0"),
        "{stderr}"
    );
}
