//! End-to-end tests of the profile toolkit: reading every reference profile,
//! converting between formats, merging recorded profiles, diffing, running
//! under a profile (enforcing and complaining, with real kernel audit
//! records), explaining, and loading installed and template profiles in runc.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use recorder::arch::Arch;
use recorder::profile::effective::Effective;
use recorder::profile::read::{InputFormat, KernelVersion, Target, read_path};
use recorder::profile::{Action, Profile};

/// The field profiles in `tests/data/reference` (their sources and licence
/// are in its README).
fn reference_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/reference")
}

fn docker_default() -> PathBuf {
    reference_data().join("docker-default-seccomp.json")
}

fn x86_64_target() -> Target {
    Target {
        kernel: KernelVersion { major: 6, minor: 1 },
        ..Target::for_arch(Arch::X86_64)
    }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one profile of `path` (`FILE` or `FILE#NAME`), for x86_64.
fn read_single(path: &Path) -> Profile {
    recorder::profile::read::read_one(&path.to_string_lossy(), &x86_64_target())
        .unwrap_or_else(|e| panic!("{e}"))
        .0
        .profile
}

#[test]
fn every_reference_file_reads() {
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(reference_data()).unwrap() {
        let path = entry.unwrap().path();
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !matches!(ext, "json" | "yaml" | "yml") {
            continue;
        }
        let file = read_path(&path, &x86_64_target()).unwrap_or_else(|e| panic!("{e}"));
        let formats: BTreeSet<String> = file
            .documents
            .iter()
            .map(|d| format!("{:?}", d.format))
            .collect();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        seen.insert((
            name,
            file.documents.len(),
            formats.into_iter().collect::<Vec<_>>().join(","),
        ));
    }
    let expected: BTreeSet<(String, usize, String)> = [
        ("docker-default-seccomp.json", 1, "Docker"),
        ("docker-fixture-conditional_include.json", 1, "Docker"),
        ("docker-fixture-default-old-format.json", 1, "Docker"),
        ("docker-fixture-example.json", 1, "Docker"),
        ("spo-baseprofile-crun.yaml", 1, "Crd"),
        ("spo-baseprofile-runc.yaml", 1, "Crd"),
        ("spo-seccompprofile.yaml", 4, "Crd"),
    ]
    .map(|(n, c, f)| (n.to_string(), c, f.to_string()))
    .into();
    assert_eq!(seen, expected);

    let runc = read_single(&reference_data().join("spo-baseprofile-runc.yaml"));
    assert_eq!(runc.allowed_names().len(), 40);
    let crun = read_single(&reference_data().join("spo-baseprofile-crun.yaml"));
    assert_eq!(crun.allowed_names().len(), 53);
    let example = read_single(&reference_data().join("docker-fixture-example.json"));
    assert_eq!(example.syscalls[0].names, ["clone"]);
    assert_eq!(example.syscalls[3].errno_ret, Some(12345));
}

#[test]
fn docker_conditions_resolve_like_docker() {
    let doc = read_path(docker_default(), &x86_64_target())
        .unwrap()
        .single()
        .unwrap();
    assert_eq!(doc.format, InputFormat::Docker);
    let p = doc.profile;
    assert_eq!(p.architectures, [Arch::X86_64, Arch::X86, Arch::X32]);
    let e = Effective::of(&p);
    let allowed = |n: &str| e.treatment(n).always_runs(e.default);
    // Unconditional, by architecture, by kernel (4.8+), by default capability.
    for name in ["read", "arch_prctl", "ptrace", "chroot"] {
        assert!(allowed(name), "{name}");
    }
    // Needs a capability Docker does not give by default, or another arch.
    for name in [
        "mount",
        "bpf",
        "unshare",
        "s390_pci_mmio_read",
        "riscv_flush_icache",
    ] {
        assert!(!e.treatment(name).sometimes_runs(e.default), "{name}");
    }
    assert_eq!(e.rules["clone"].conditional.len(), 1);
    assert_eq!(e.rules["clone3"].unconditional.unwrap().errno, Some(38));
    assert_eq!(e.rules["socket"].conditional.len(), 3);

    // With CAP_SYS_ADMIN clone is unconditional and clone3 allowed; an old
    // kernel loses ptrace.
    let admin = Target {
        caps: Target::parse_caps("CAP_SYS_ADMIN").unwrap(),
        kernel: KernelVersion { major: 4, minor: 4 },
        ..x86_64_target()
    };
    let p = read_path(docker_default(), &admin)
        .unwrap()
        .single()
        .unwrap()
        .profile;
    let e = Effective::of(&p);
    assert!(e.treatment("clone").always_runs(e.default));
    assert!(e.treatment("clone3").always_runs(e.default));
    assert!(e.treatment("mount").always_runs(e.default));
    assert!(!e.treatment("ptrace").sometimes_runs(e.default));
}

#[test]
fn docker_default_converts_to_oci_crd_and_back() {
    let dir = temp_dir();
    let oci = dir.path().join("default.json");
    let crd = dir.path().join("default.yaml");
    let back = dir.path().join("back.json");
    for (input, output, format) in [
        (docker_default(), &oci, "oci"),
        (oci.clone(), &crd, "crd"),
        (crd.clone(), &back, "oci"),
    ] {
        let out = run(recorder()
            .args([
                "convert", "--arch", "x86_64", "--kernel", "6.1", "--format", format, "-o",
            ])
            .arg(output)
            .arg(&input));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let crd_text = std::fs::read_to_string(&crd).unwrap();
    assert!(crd_text.starts_with("---\napiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata:\n  name: default\n"), "{crd_text}");
    let first = read_single(&oci);
    let last = read_single(&back);
    assert_eq!(Effective::of(&first), Effective::of(&last));
    let out = run(recorder().arg("diff").arg(&oci).arg(&back));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn every_format_round_trips() {
    let recorded_like = Profile::allow_list(
        [Arch::X86_64, Arch::X86],
        ["read", "write", "openat", "exit_group", "mmap2"].map(String::from),
        38,
    );
    let deny_list = read_single(
        &reference_data().join("spo-seccompprofile.yaml#profile-complain-block-high-risk"),
    );
    let docker = read_single(&docker_default());
    let dir = temp_dir();
    let cases: [(&str, &Profile, &[&str]); 3] = [
        ("recorded", &recorded_like, &["oci", "crd", "systemd"]),
        ("complain", &deny_list, &["oci", "crd", "systemd"]),
        // systemd cannot test arguments: Docker's profile is oci and crd only.
        ("docker", &docker, &["oci", "crd"]),
    ];
    for (name, profile, formats) in cases {
        let input = dir.path().join(format!("{name}.json"));
        std::fs::write(&input, recorder::profile::oci::to_json(profile)).unwrap();
        for format in formats.iter() {
            let output = dir.path().join(format!("{name}.{format}"));
            let out = run(recorder()
                .args(["convert", "--format", format, "-o"])
                .arg(&output)
                .arg(&input));
            assert!(out.status.success(), "{name} {format}: {}", stderr(&out));
            let back = read_single(&output);
            // A systemd allow list also allows systemd's @default group.
            let mut expected = (*profile).clone();
            if *format == "systemd" && !profile.default_action.lets_run() {
                let groups =
                    recorder::profile::systemd_groups::SyscallGroups::chosen(Default::default());
                expected.syscalls.push(recorder::profile::SyscallRule::new(
                    groups.expand("@default").unwrap(),
                    Action::Allow,
                ));
            }
            assert_eq!(
                Effective::of(&back),
                Effective::of(&expected),
                "{name} through {format}"
            );
        }
    }
}

#[test]
fn malformed_inputs_give_one_line_errors_with_location() {
    let dir = temp_dir();
    let head = "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata: {name: x}\n";
    let cases: Vec<(&str, String, String)> = vec![
        ("empty.json", String::new(), "empty.json:1:1: the file is empty".into()),
        ("blank.yaml", "\n  \n".into(), "blank.yaml:1:1: the file is empty".into()),
        ("bad.json", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [}".into(), "bad.json:1:50: expected value".into()),
        ("bad.yaml", format!("{head}spec:\n  defaultAction: [SCMP_ACT_LOG\n"), "bad.yaml:6:1: did not find expected ',' or ']'".into()),
        ("type.json", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": \"x\"}".into(), "type.json:1:58: invalid type: string \"x\", expected u32".into()),
        ("type.yaml", format!("{head}spec:\n  defaultAction: SCMP_ACT_LOG\n  syscalls: {{names: [read]}}\n"), "type.yaml:6:13: spec.syscalls: invalid type: map, expected a sequence".into()),
        ("action.json", "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALOW\"}]\n}".into(), "action.json:3:60: unknown variant `SCMP_ACT_ALOW`, expected one of `SCMP_ACT_KILL`".into()),
        ("action.yaml", format!("{head}spec:\n  defaultAction: SCMP_ACT_DENY\n"), "action.yaml:5:18: spec.defaultAction: unknown variant `SCMP_ACT_DENY`".into()),
        ("arch.json", "{\"defaultAction\": \"SCMP_ACT_LOG\", \"architectures\": [\"SCMP_ARCH_X86_65\"]}".into(), "arch.json:1:70: unknown variant `SCMP_ARCH_X86_65`, expected one of".into()),
        ("op.json", "{\"defaultAction\": \"SCMP_ACT_LOG\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"op\": \"SCMP_CMP_ABOUT\"}]}]}".into(), "op.json:1:139: unknown variant `SCMP_CMP_ABOUT`".into()),
        ("errno.json", "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"defaultErrnoRet\": 38, \"defaultErrno\": \"EPERM\"}".into(), "errno.json:2:26: \"defaultErrnoRet\" is 38 (ENOSYS) but \"defaultErrno\" is 1 (EPERM): make them agree or keep one".into()),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let out = run(recorder().current_dir(dir.path()).args(["convert", name]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        let want = format!("recorder: {expected}");
        assert!(err.starts_with(&want), "{name}\n got: {err}want: {want}");
        assert_eq!(stdout(&out), "", "{name}: nothing on stdout");
    }
}

/// What runc, Docker, podman and systemd ignore is read the same way, with
/// a warning: an unknown field, a bad errno in a unit.
#[test]
fn what_engines_ignore_is_a_warning_not_an_error() {
    let dir = temp_dir();
    for (name, text, warning) in [
        (
            "field.json",
            "{\"defaultAction\": \"SCMP_ACT_LOG\", \"sycalls\": []}",
            "field.json:1:36: unknown field \"sycalls\" (did you mean \"syscalls\"?): runc, crun, Docker and podman ignore it; kept in JSON output",
        ),
        (
            "unit.conf",
            "[Service]\nSystemCallFilter=~mount\nSystemCallErrorNumber=EWHAT\n",
            "unit.conf:3:23: unknown errno \"EWHAT\": give a number or a name such as ENOSYS or EPERM: systemd ignores the line",
        ),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
        let out = run(recorder().current_dir(dir.path()).args(["convert", name]));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("recorder: warning: {warning}\n"));
    }
}

#[test]
fn unknown_names_warn_with_the_closest_spelling() {
    let dir = temp_dir();
    let path = dir.path().join("typo.json");
    std::fs::write(
        &path,
        "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n    {\"names\": [\"read\", \"exit_grup\"], \"action\": \"SCMP_ACT_ALLOW\"}\n  ]\n}\n",
    )
    .unwrap();
    let out = run(recorder()
        .current_dir(dir.path())
        .args(["convert", "typo.json"]));
    assert!(out.status.success());
    assert_eq!(
        stderr(&out),
        "recorder: warning: typo.json:4:25: unknown syscall \"exit_grup\" (did you mean \"exit_group\"?): runtimes skip names they do not know\n"
    );
}

#[test]
fn diff_exit_codes_and_output() {
    let dir = temp_dir();
    let write = |name: &str, p: &Profile| {
        let path = dir.path().join(name);
        std::fs::write(&path, recorder::profile::oci::to_json(p)).unwrap();
        path
    };
    let a = Profile::allow_list(
        [Arch::X86_64, Arch::X86],
        ["read", "write", "mmap2"].map(String::from),
        38,
    );
    let mut b = Profile::allow_list([Arch::X86_64], ["read", "openat"].map(String::from), 38);
    b.syscalls.push(recorder::profile::SyscallRule {
        errno_ret: Some(13),
        ..recorder::profile::SyscallRule::new(["write".into()], Action::Errno)
    });
    // Same filter, written differently.
    let mut a2 = a.clone();
    a2.syscalls[0].names.reverse();
    a2.default_errno_ret = Some(38);
    write("a.json", &a);
    write("a2.json", &a2);
    write("b.json", &b);
    let diff = |l: &str, r: &str| {
        run(recorder()
            .current_dir(dir.path())
            .args(["diff", "--arch", "x86_64", l, r]))
    };
    let same = diff("a.json", "a2.json");
    assert_eq!(
        (same.status.code(), stdout(&same)),
        (Some(0), String::new())
    );
    let different = diff("a.json", "b.json");
    assert_eq!(different.status.code(), Some(1));
    assert_eq!(
        stdout(&different),
        "--- a.json\n+++ b.json\n\
         @@ x86_64 @@\n\
         -openat  SCMP_ACT_ERRNO(ENOSYS) (default)\n+openat  SCMP_ACT_ALLOW\n\
         -write   SCMP_ACT_ALLOW\n+write   SCMP_ACT_ERRNO(EACCES)\n\
         @@ x86 @@\n\
         -architecture covered\n+architecture not covered: every syscall is killed\n"
    );
    let missing = diff("a.json", "nope.json");
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        stderr(&missing),
        "recorder: nope.json: No such file or directory (os error 2)\n"
    );
}

#[test]
fn explain_tables_match_dockers_profile() {
    use recorder::explain::{DockerDefault, docker_defaults, lookup};
    use recorder::profile::syscall_names::applies;
    let docker = Effective::of(&read_single(&docker_default()));
    let mut mismatches = Vec::new();
    for arch in [Arch::X86_64, Arch::X86] {
        let names: BTreeSet<&str> = arch.table().entries().map(|(_, n)| n).collect();
        for name in names.iter().filter(|n| applies(arch, n)) {
            let t = docker.treatment(name);
            let actual = if t.always_runs(docker.default) {
                None
            } else if t.sometimes_runs(docker.default) || t.unconditional.is_some() {
                Some(DockerDefault::Restricted)
            } else {
                Some(DockerDefault::Blocked)
            };
            // ptrace and process_vm_* are allowed from kernel 4.8 on: the
            // table flags them as restricted by kernel version.
            let kernel_gated = ["ptrace", "process_vm_readv", "process_vm_writev"];
            let expected = if kernel_gated.contains(name) {
                Some(DockerDefault::Restricted)
            } else {
                actual
            };
            let table = lookup(docker_defaults(), name).map(|(s, _)| *s);
            if table != expected {
                mismatches.push(format!(
                    "{arch} {name}: table {table:?}, Docker {expected:?}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn install_writes_where_the_kubelet_looks_and_prints_usage() {
    let dir = temp_dir();
    let out = run(recorder()
        .args(["install", "--kubelet-root"])
        .arg(dir.path())
        .arg(reference_data().join("spo-seccompprofile.yaml#profile-complain-block-high-risk")));
    assert!(out.status.success(), "{}", stderr(&out));
    let installed = dir
        .path()
        .join("seccomp/profiles/profile-complain-block-high-risk.json");
    assert_eq!(
        stdout(&out),
        format!(
            "# Kubernetes: the pod's or container's securityContext\nsecurityContext:\n  seccompProfile:\n    type: Localhost\n    localhostProfile: profiles/profile-complain-block-high-risk.json\n\n# Docker\ndocker run --security-opt seccomp={} IMAGE\n",
            installed.display()
        )
    );
    let p = read_single(&installed);
    assert_eq!(p.default_action, Action::Log);
    assert_eq!(p.syscalls.len(), 2);
}

/// tests/programs/syscaller.c: makes the syscalls its arguments name.
fn syscaller(dir: &Path) -> PathBuf {
    build_program(dir, "syscaller", &["-static", "-O1"])
}

/// Records `program args` with the real recorder into `dir/name.json`.
fn record(dir: &Path, name: &str, program: &Path, args: &[&str]) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    let out = run(recorder()
        .args(["record", "-q", "-o"])
        .arg(&path)
        .arg("--")
        .arg(program)
        .args(args));
    assert!(out.status.success(), "recording {name}: {}", stderr(&out));
    path
}

#[test]
fn merge_of_recorded_profiles_equals_recording_both() {
    require_root();
    let dir = temp_dir();
    let bin = syscaller(dir.path());
    let a = record(dir.path(), "a", &bin, &["getppid"]);
    let b = record(dir.path(), "b", &bin, &["umask", "sched_yield"]);
    let both = record(
        dir.path(),
        "both",
        &bin,
        &["getppid", "umask", "sched_yield"],
    );
    let merged = dir.path().join("merged.json");
    let out = run(recorder()
        .arg("merge")
        .arg(&a)
        .arg(&b)
        .arg("-o")
        .arg(&merged));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "no conflicts");
    let a_names = allowed_names(&std::fs::read_to_string(&a).unwrap());
    let b_names = allowed_names(&std::fs::read_to_string(&b).unwrap());
    assert!(a_names.contains("getppid") && !a_names.contains("umask"));
    assert!(b_names.contains("umask") && !b_names.contains("getppid"));
    assert_eq!(
        std::fs::read_to_string(&merged).unwrap(),
        std::fs::read_to_string(&both).unwrap()
    );
}

#[test]
fn merge_keeps_a_deny_rule() {
    let dir = temp_dir();
    let allow = Profile::allow_list(
        [Arch::X86_64],
        ["read", "write", "mkdir"].map(String::from),
        38,
    );
    let mut deny = Profile::allow_list([Arch::X86_64], ["read"].map(String::from), 38);
    deny.syscalls.push(recorder::profile::SyscallRule {
        errno_ret: Some(13),
        ..recorder::profile::SyscallRule::new(["mkdir".into()], Action::Errno)
    });
    std::fs::write(
        dir.path().join("allow.json"),
        recorder::profile::oci::to_json(&allow),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("deny.json"),
        recorder::profile::oci::to_json(&deny),
    )
    .unwrap();
    let merge = |prefer: &str| {
        run(recorder().current_dir(dir.path()).args([
            "merge",
            "allow.json",
            "deny.json",
            "--prefer",
            prefer,
        ]))
    };
    let out = merge("deny");
    assert!(out.status.success());
    assert_eq!(
        stderr(&out),
        "recorder: conflict: mkdir: allow.json: SCMP_ACT_ALLOW, deny.json: SCMP_ACT_ERRNO(EACCES); kept deny.json (SCMP_ACT_ERRNO(EACCES))\n"
    );
    let e = Effective::of(&serde_json::from_slice::<Profile>(&out.stdout).unwrap());
    assert_eq!(e.rules["mkdir"].unconditional.unwrap().errno, Some(13));
    assert!(e.treatment("write").always_runs(e.default));
    let out = merge("allow");
    let e = Effective::of(&serde_json::from_slice::<Profile>(&out.stdout).unwrap());
    assert!(e.treatment("mkdir").always_runs(e.default));
    assert!(
        stderr(&out).ends_with("kept allow.json (SCMP_ACT_ALLOW)\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_enforces_a_recorded_profile() {
    require_root();
    let dir = temp_dir();
    let bin = syscaller(dir.path());
    let profile = record(dir.path(), "base", &bin, &["getppid"]);
    let ok = run(recorder()
        .arg("run")
        .arg("--profile")
        .arg(&profile)
        .arg("--")
        .arg(&bin)
        .arg("getppid"));
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert_eq!(stdout(&ok), "start\ngetppid=ok errno=0\n");
    // umask is outside the profile: the profile's errno (ENOSYS), passed
    // through as the exit status.
    let denied = run(recorder()
        .arg("run")
        .arg("--profile")
        .arg(&profile)
        .arg("--")
        .arg(&bin)
        .args(["getppid", "umask"]));
    assert_eq!(
        stdout(&denied),
        "start\ngetppid=ok errno=0\numask=failed errno=38\n"
    );
    assert_eq!(denied.status.code(), Some(38));
    assert_eq!(stderr(&denied), "");
}

#[test]
fn complain_reports_exactly_the_missing_syscalls() {
    require_root();
    let dir = temp_dir();
    let bin = syscaller(dir.path());
    let partial = record(dir.path(), "partial", &bin, &["getppid"]);
    let fixed = dir.path().join("fixed.json");
    // Through a shell, with a pipeline of two children running side by side,
    // to check that descendants are followed. (Not `cmd & wait`: whether
    // dash's `wait` calls rt_sigsuspend depends on whether the child has
    // already exited, so the expected set would depend on timing.)
    let script = format!("{0} getppid umask; {0} sched_yield | cat", bin.display());
    let out = run(recorder()
        .arg("run")
        .arg("--profile")
        .arg(&partial)
        .args(["--complain", "--fix", "-o"])
        .arg(&fixed)
        .args(["--", "/bin/sh", "-c", &script]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "start\ngetppid=ok errno=0\numask=ok errno=0\nstart\nsched_yield=ok errno=0\n"
    );
    let reported: BTreeSet<String> = stderr(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("  x86_64  "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    // What /bin/sh needs beyond the recorded program, and the program's two
    // new syscalls; strace tells what sh does.
    let sh = strace_names(dir.path(), &["/bin/sh", "-c", &script]);
    let recorded = allowed_names(&std::fs::read_to_string(&partial).unwrap());
    let expected: BTreeSet<String> = sh.difference(&recorded).cloned().collect();
    assert!(
        expected.contains("umask") && expected.contains("sched_yield"),
        "{expected:?}"
    );
    assert_eq!(reported, expected, "stderr: {}", stderr(&out));
    // The fixed profile lets the same run through, enforcing.
    let again = run(recorder()
        .arg("run")
        .arg("--profile")
        .arg(&fixed)
        .args(["--", "/bin/sh", "-c", &script]));
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(stdout(&again), stdout(&out));
}

#[test]
fn explain_a_recorded_ls() {
    require_root();
    let dir = temp_dir();
    let profile = dir.path().join("ls.json");
    let out = run(recorder()
        .args(["record", "-q", "-o"])
        .arg(&profile)
        .args(["--", "ls", "-l", "/"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(recorder().arg("explain").arg(&profile));
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    // Which group each syscall is listed under.
    let mut group = String::new();
    let mut groups = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("  ") {
            let name = name.split_whitespace().next().unwrap();
            groups
                .entry(group.clone())
                .or_default()
                .insert(name.to_string());
        } else if !line.is_empty() && line.chars().next().unwrap().is_ascii_uppercase() {
            group = line.split_whitespace().next().unwrap().to_string();
        }
    }
    let recorded = allowed_names(&std::fs::read_to_string(&profile).unwrap());
    let listed: BTreeSet<String> = groups.values().flatten().cloned().collect();
    assert_eq!(listed, recorded, "every allowed syscall once");
    for (group, names) in [
        (
            "FILES",
            &["openat", "read", "write", "close", "getdents64"][..],
        ),
        ("PROCESSES", &["execve", "exit_group"]),
        ("MEMORY", &["mmap", "brk", "munmap"]),
        ("NETWORK", &["socket", "connect"]),
    ] {
        for name in names {
            assert!(groups[group].contains(*name), "{name} in {group}:\n{text}");
        }
    }
    // ls looks up user names through nscd's socket, which Docker restricts.
    let socket_line = text.lines().find(|l| l.starts_with("  socket ")).unwrap();
    assert!(
        socket_line.ends_with(
            "~ Docker restricts: no AF_ALG (kernel crypto) or AF_VSOCK (host communication) sockets"
        ),
        "{socket_line}"
    );
    let flagged: Vec<&str> = text.lines().filter(|l| l.contains(" Docker ")).collect();
    assert_eq!(flagged.len(), 1, "{text}");
    assert!(
        text.ends_with("1 syscall that Docker's default profile blocks or restricts: socket\n"),
        "{text}"
    );
    // A profile with what Docker blocks is flagged with the reason.
    let risky = dir.path().join("risky.json");
    let p = Profile::allow_list(
        [Arch::X86_64],
        [
            "mount",
            "ptrace",
            "bpf",
            "keyctl",
            "unshare",
            "perf_event_open",
        ]
        .map(String::from),
        1,
    );
    std::fs::write(&risky, recorder::profile::oci::to_json(&p)).unwrap();
    let out = run(recorder().arg("explain").arg(&risky));
    let text = stdout(&out);
    for line in [
        "! Docker blocks: mounts filesystems (needs CAP_SYS_ADMIN)",
        "! Docker blocks: the kernel keyring is not namespaced",
        "~ Docker restricts: allowed only on kernels 4.8 and later, where ptrace cannot bypass seccomp",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
}

/// A runc bundle with a busybox root filesystem.
fn runc_bundle(dir: &Path, profile_json: &str, args: &[&str]) -> PathBuf {
    for tool in ["runc", "busybox"] {
        assert!(
            which(tool),
            "{tool} is missing: apt-get install -y runc busybox-static (cargo xtask setup)"
        );
    }
    let bundle = dir.join("bundle");
    let bin = bundle.join("rootfs/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
    let list = run(Command::new("/bin/busybox").arg("--list"));
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
        }
    }
    let out = run(Command::new("runc")
        .arg("spec")
        .arg("--bundle")
        .arg(&bundle));
    assert!(out.status.success(), "runc spec: {}", stderr(&out));
    let config_path = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = args
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .into();
    config["linux"]["seccomp"] = serde_json::from_str(profile_json).unwrap();
    std::fs::write(&config_path, config.to_string()).unwrap();
    bundle
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the bundle's container in the foreground and returns its output.
fn runc_run(dir: &Path, bundle: &Path, id: &str) -> std::process::Output {
    let id = format!("recorder-toolkit-{}-{id}", std::process::id());
    run(Command::new("runc")
        .arg("--root")
        .arg(dir.join("runc-state"))
        .args(["run", "--bundle"])
        .arg(bundle)
        .arg(&id))
}

#[test]
fn install_and_template_outputs_load_in_runc() {
    require_root();
    let script = "echo started; linux32 true && echo personality-ok || echo personality-denied; unshare -U true && echo unshare-ok || echo unshare-denied";
    let cases = [
        ("log", "started\npersonality-ok\nunshare-ok\n"),
        ("audit-high-risk", "started\npersonality-ok\nunshare-ok\n"),
        (
            "block-high-risk",
            "started\npersonality-denied\nunshare-denied\n",
        ),
    ];
    for (template, expected) in cases {
        let dir = temp_dir();
        let out = run(recorder().args(["template", template]));
        assert!(out.status.success(), "{}", stderr(&out));
        let bundle = runc_bundle(dir.path(), &stdout(&out), &["sh", "-c", script]);
        let ran = runc_run(dir.path(), &bundle, template);
        assert_eq!(ran.status.code(), Some(0), "{template}: {}", stderr(&ran));
        assert_eq!(stdout(&ran), expected, "{template}: {}", stderr(&ran));
    }

    // Docker's default profile, installed for the kubelet: personality(8)
    // is allowed, unshare is not (no CAP_SYS_ADMIN).
    let dir = temp_dir();
    let kubelet = dir.path().join("kubelet");
    let out = run(recorder()
        .args(["install", "--create-root", "--kubelet-root"])
        .arg(&kubelet)
        .args(["--as", "docker-default"])
        .arg(docker_default()));
    assert!(out.status.success(), "{}", stderr(&out));
    let installed =
        std::fs::read_to_string(kubelet.join("seccomp/profiles/docker-default.json")).unwrap();
    let bundle = runc_bundle(dir.path(), &installed, &["sh", "-c", script]);
    let ran = runc_run(dir.path(), &bundle, "installed");
    assert_eq!(ran.status.code(), Some(0), "{}", stderr(&ran));
    assert_eq!(
        stdout(&ran),
        "started\npersonality-ok\nunshare-denied\n",
        "{}",
        stderr(&ran)
    );
}

#[test]
fn record_writes_every_format() {
    require_root();
    let dir = temp_dir();
    for format in ["oci", "crd", "systemd"] {
        let path = dir.path().join(format!("true.{format}"));
        let out = run(recorder()
            .args(["record", "-q", "--format", format, "-o"])
            .arg(&path)
            .args(["--", "true"]));
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        let p = read_single(&path);
        assert!(p.allowed_names().contains("execve"), "{format}");
        assert_eq!(p.default_errno_ret, Some(38), "{format}");
    }
    let crd = std::fs::read_to_string(dir.path().join("true.crd")).unwrap();
    // A name YAML would read as a boolean is quoted.
    assert!(crd.contains("\n  name: 'true'\n"), "{crd}");
}

/// A mistyped --kubelet-root is refused, and nothing is created, unless
/// --create-root says to create it.
#[test]
fn install_refuses_a_kubelet_root_that_does_not_exist() {
    let dir = temp_dir();
    let typo = dir.path().join("var/lib/kubelt");
    let install = |extra: &[&str]| {
        run(recorder()
            .args(["install", "--kubelet-root"])
            .arg(&typo)
            .args(extra)
            .arg(docker_default()))
    };
    let out = install(&[]);
    assert_one_line_error(
        &out,
        1,
        &format!(
            "recorder: kubelet root {} does not exist: check --kubelet-root (the kubelet's --root-dir), or add --create-root to create it",
            typo.display()
        ),
    );
    assert!(out.stdout.is_empty());
    assert!(!dir.path().join("var").exists(), "nothing is created");

    let out = install(&["--create-root"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        typo.join("seccomp/profiles/docker-default-seccomp.json")
            .is_file()
    );
}

/// Writes a profile allowing `names` (unlisted: `default`) into `dir`.
fn profile_file(dir: &Path, name: &str, default: &str, names: &[&str]) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    let v = serde_json::json!({
        "defaultAction": default,
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}],
    });
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

/// As docker and env do: 125 for the recorder's own failures, 126 and 127
/// for a command that cannot run, and the command's own status otherwise.
#[test]
fn run_tells_its_own_failures_from_the_commands() {
    let dir = temp_dir();
    let out = run(recorder().args(["run", "--profile", "/nonexistent/p.json", "--", "true"]));
    assert_one_line_error(&out, 125, "/nonexistent/p.json");
    let allow_all = dir.path().join("allow.json");
    std::fs::write(&allow_all, r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#).unwrap();
    let run_under = |args: &[&str]| {
        run(recorder()
            .arg("run")
            .arg("--profile")
            .arg(&allow_all)
            .arg("--")
            .args(args))
    };
    let out = run_under(&["sh", "-c", "exit 1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "");
    let out = run_under(&["no-such-command-here"]);
    assert_one_line_error(&out, 127, "no-such-command-here: command not found");
}

/// A command killed by the filter (SIGSYS), or crashed under a profile that
/// fails unlisted syscalls, gets one line that says so and names
/// --complain; its status is passed through.
#[test]
fn a_command_killed_or_crashed_under_the_profile_is_explained() {
    let dir = temp_dir();
    let crash = compile_c(
        dir.path(),
        "crash",
        "#include <sys/mman.h>\n\
         int main(void) {\n\
           volatile char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);\n\
           p[0] = 1;\n\
           return 0;\n\
         }\n",
        &["-static", "-O1"],
    );
    // What a static glibc program needs to start and exit, without mmap.
    let startup = [
        "arch_prctl",
        "brk",
        "execve",
        "exit_group",
        "getrandom",
        "mprotect",
        "prlimit64",
        "readlink",
        "rseq",
        "set_robust_list",
        "set_tid_address",
    ];
    let enosys = profile_file(dir.path(), "enosys", "SCMP_ACT_ERRNO", &startup);
    let out = run(recorder()
        .arg("run")
        .arg("--profile")
        .arg(&enosys)
        .arg("--")
        .arg(&crash));
    assert_eq!(out.status.code(), Some(128 + libc::SIGSEGV));
    assert_eq!(
        stderr(&out),
        format!(
            "recorder: {} was killed by SIGSEGV under {}, which fails the syscalls it does not list with ENOSYS: if one of them made it crash, `recorder run --complain` lists them\n",
            crash.display(),
            enosys.display()
        )
    );

    let kill = profile_file(dir.path(), "kill", "SCMP_ACT_KILL_PROCESS", &["execve"]);
    let out = run(recorder()
        .arg("run")
        .arg("--profile")
        .arg(&kill)
        .arg("--")
        .arg(&crash));
    assert_eq!(out.status.code(), Some(128 + libc::SIGSYS));
    assert_eq!(
        stderr(&out),
        format!(
            "recorder: {} was killed by SIGSYS: {} does not allow a syscall it made; `recorder run --complain` lists them\n",
            crash.display(),
            kill.display()
        )
    );
}

/// --fix says where it wrote, like every command that writes a profile.
#[test]
fn complain_fix_says_what_it_wrote() {
    require_root();
    let dir = temp_dir();
    let partial = profile_file(dir.path(), "partial", "SCMP_ACT_ERRNO", &["execve"]);
    let fixed = dir.path().join("fixed.json");
    let out = run(recorder()
        .arg("run")
        .arg("--profile")
        .arg(&partial)
        .args(["--complain", "--fix", "-o"])
        .arg(&fixed)
        .args(["--", "true"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let names = allowed_names(&std::fs::read_to_string(&fixed).unwrap());
    assert_eq!(
        stderr(&out).lines().last(),
        Some(
            format!(
                "recorder: wrote {} ({} syscalls)",
                fixed.display(),
                names.len()
            )
            .as_str()
        ),
        "{}",
        stderr(&out)
    );
}

/// Every name at the smallest distance is offered, not one of them.
#[test]
fn syscalls_suggests_every_closest_name() {
    let out = run(recorder().args(["syscalls", "--arch", "x86_64", "openatt"]));
    assert_one_line_error(
        &out,
        1,
        "recorder: unknown syscall \"openatt\" on x86_64: did you mean openat or openat2?",
    );
}

/// The README names every subcommand and every template.
#[test]
fn readme_names_every_command_and_template() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let help = run(recorder().arg("--help"));
    let commands: Vec<String> = stdout(&help)
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(
        commands.contains(&"derive-base".to_string()),
        "{commands:?}"
    );
    for command in commands {
        assert!(
            readme.contains(&format!("recorder {command}")),
            "README.md does not show `recorder {command}`"
        );
    }
    for template in ["log", "audit-high-risk", "block-high-risk"] {
        assert!(
            readme.contains(&format!("recorder template {template}")),
            "README.md does not show `recorder template {template}`"
        );
    }
}

/// Names from outside never escape the kubelet's profile directory: a
/// SeccompProfile whose metadata.name is a path (`..`, `/`) or has control
/// characters is refused in one line pointing at `--as`, and writes
/// nothing; `--as` takes only safe file names.
#[test]
fn install_keeps_hostile_names_inside_its_directory() {
    let dir = temp_dir();
    let kubelet = dir.path().join("kubelet");
    // Built here: tests/repository.rs refuses paths that climb out.
    let climbing = ["..", "..", "escaped"].join("/");
    for name in [climbing.as_str(), "a/b", "line\\nbreak", ".."] {
        let yaml = dir.path().join("hostile.yaml");
        std::fs::write(
            &yaml,
            format!(
                "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata:\n  name: \"{name}\"\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n"
            ),
        )
        .unwrap();
        let out = run(recorder()
            .args(["install", "--create-root", "--kubelet-root"])
            .arg(&kubelet)
            .arg(&yaml));
        assert_one_line_error(&out, 1, "--as");
        let out = run(recorder()
            .args(["install", "--create-root", "--kubelet-root"])
            .arg(&kubelet)
            .args(["--as", name])
            .arg(&yaml));
        assert_eq!(
            out.status.code(),
            Some(2),
            "--as {name:?}: {}",
            stderr(&out)
        );
    }
    let written: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
}

/// Every file below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
