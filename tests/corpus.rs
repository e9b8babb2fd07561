//! The profiles people already have, read as their engines read them: the
//! corpus of real files in `tests/data/corpus` and `tests/data/reference`
//! (Docker's defaults from 1.10 on, containers-common's, the Security
//! Profiles Operator's, runc's and crun's test profiles, systemd units),
//! podman's installed default profile, and every unit of this machine that
//! carries `SystemCallFilter=`.
//!
//! Each file is converted to every output format and back with its effective
//! rules unchanged (what a format cannot say is named in its warnings), and
//! a static program is run under each OCI/Docker profile by `recorder run`
//! and by runc: every call must get the same result from both, and the
//! result the profile's effective rules predict.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use recorder::arch::Arch;
use recorder::profile::effective::Effective;
use recorder::profile::format::{Format, FormatOptions, render};
use recorder::profile::read::{Document, KernelVersion, Target, read_path, read_str};
use recorder::profile::systemd_groups::SystemdChoice;
use recorder::profile::{Action, Profile};

fn data(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(dir)
}

/// Every profile file of the corpus and the reference data, by the name the
/// tests give it (`corpus/...`, `reference/...`).
fn corpus_files() -> BTreeMap<String, PathBuf> {
    let mut files = BTreeMap::new();
    for dir in ["corpus", "corpus/systemd", "reference"] {
        for entry in std::fs::read_dir(data(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let profile =
                name.ends_with(".json") || name.ends_with(".yaml") || name.ends_with(".service");
            if profile {
                files.insert(format!("{dir}/{name}"), path);
            }
        }
    }
    files
}

/// The kernel the tests resolve Docker's `minKernel` for.
const KERNEL: KernelVersion = KernelVersion { major: 6, minor: 1 };

fn target(arch: Arch) -> Target {
    Target {
        kernel: KERNEL,
        systemd: SystemdChoice::Version(252),
        ..Target::for_arch(arch)
    }
}

/// The architectures a file's `archMap` resolves for; x86_64 for the rest.
fn target_arches(path: &Path) -> Vec<Arch> {
    let text = std::fs::read_to_string(path).unwrap();
    let map: Vec<Arch> = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["archMap"].as_array().cloned())
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let name = m["architecture"].as_str()?.to_string();
            Arch::ALL.into_iter().find(|a| a.scmp_name() == name)
        })
        .collect();
    if map.is_empty() {
        vec![Arch::X86_64]
    } else {
        map
    }
}

#[test]
fn every_file_reads_and_names_its_source() {
    let readmes = [
        std::fs::read_to_string(data("corpus/README.md")).unwrap(),
        std::fs::read_to_string(data("reference/README.md")).unwrap(),
    ];
    let mut seen = BTreeMap::new();
    for (name, path) in corpus_files() {
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            readmes.iter().any(|r| r.contains(&file_name)),
            "{name} is not in its README: say where it came from"
        );
        let file = read_path(&path, &target(Arch::X86_64)).unwrap_or_else(|e| panic!("{e}"));
        let formats: BTreeSet<String> = file
            .documents
            .iter()
            .map(|d| format!("{:?}", d.format))
            .collect();
        let warnings: Vec<String> = file.warnings.iter().map(|w| w.message.clone()).collect();
        seen.insert(
            name,
            (
                file.documents.len(),
                formats.into_iter().collect::<Vec<_>>().join(","),
                warnings,
            ),
        );
    }
    let plain = |count: usize, format: &str| (count, format.to_string(), Vec::<String>::new());
    let mut expected: BTreeMap<String, (usize, String, Vec<String>)> = BTreeMap::new();
    for name in [
        "containers-common-0.50.1-debian.json",
        "containers-common-fixture-example.json",
        "containers-common-upstream.json",
        "docker-1.11.0-default.json",
        "docker-1.12.6-default.json",
        "docker-17.03.2-default.json",
        "docker-18.09.9-default.json",
        "docker-19.03.15-default.json",
        "docker-20.10.27-default.json",
        "docker-23.0.6-default.json",
        "docker-24.0.9-default.json",
        "docker-25.0.5-default.json",
        "docker-28.5.2-default.json",
        "spo-bpf-recorder.json",
        "spo-security-profiles-operator.json",
    ] {
        expected.insert(format!("corpus/{name}"), plain(1, "Docker"));
    }
    for name in [
        "crun-test-architectures.json",
        "crun-test-block-syscall.json",
        "crun-test-comparison-ops.json",
        "crun-test-errno-default.json",
        "crun-test-flags.json",
        "crun-test-kill-action.json",
        "crun-test-listener.json",
        "crun-test-syscall-args.json",
        "runc-bats-enosys-compat.json",
        "runc-bats-errno-explicit.json",
        "runc-bats-kill.json",
        "runc-bats-listener-without-notify.json",
        "runc-bats-notify.json",
        "runc-seccomp_syscall_test1.json",
        "runc-seccomp_syscall_test2.json",
    ] {
        expected.insert(format!("corpus/{name}"), plain(1, "Oci"));
    }
    expected.insert(
        "corpus/docker-1.10.0-docs-example.json".into(),
        plain(1, "Docker"),
    );
    expected.insert(
        "corpus/crun-test-unknown-syscall.json".into(),
        (
            1,
            "Oci".into(),
            vec!["unknown syscall \"this_syscall_does_not_exist_12345\": runtimes skip names they do not know".into()],
        ),
    );
    expected.insert(
        "corpus/spo-allowed-syscalls-validation.yaml".into(),
        plain(4, "Crd"),
    );
    for unit in [
        "fstrim.service",
        "systemd-hostnamed.service",
        "systemd-journald.service",
        "systemd-journald@.service",
        "systemd-localed.service",
        "systemd-logind.service",
        "systemd-networkd.service",
        "systemd-timedated.service",
        "systemd-timesyncd.service",
    ] {
        expected.insert(format!("corpus/systemd/{unit}"), plain(1, "Systemd"));
    }
    // moby's fixture gives syslog errno 12345: runc fails on it.
    expected.insert(
        "reference/docker-fixture-example.json".into(),
        (
            1,
            "Docker".into(),
            vec!["libseccomp refuses the rule SCMP_ACT_ERRNO(12345) for \"syslog\" (libseccomp takes errno values up to 4094): runc and crun will not start the container".into()],
        ),
    );
    for (name, count, format) in [
        ("docker-default-seccomp.json", 1, "Docker"),
        ("docker-fixture-conditional_include.json", 1, "Docker"),
        ("docker-fixture-default-old-format.json", 1, "Docker"),
        ("spo-baseprofile-crun.yaml", 1, "Crd"),
        ("spo-baseprofile-runc.yaml", 1, "Crd"),
        ("spo-seccompprofile.yaml", 4, "Crd"),
    ] {
        expected.insert(format!("reference/{name}"), plain(count, format));
    }
    assert_eq!(seen, expected);
}

/// Word-by-word: whether one of `warnings` names `word`.
fn named_in(warnings: &[String], word: &str) -> bool {
    warnings.iter().any(|w| {
        w.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|t| t == word)
    })
}

/// The documents of a file, read for `arch`.
fn documents(path: &Path, arch: Arch) -> Vec<Document> {
    read_path(path, &target(arch))
        .unwrap_or_else(|e| panic!("{e}"))
        .documents
}

fn write_and_read_back(profile: &Profile, format: Format, arch: Arch) -> (Profile, Vec<String>) {
    let options = FormatOptions {
        format,
        name: Some("corpus".into()),
        namespace: None,
    };
    let rendered = render(profile, &options, None);
    let back = read_str(&rendered.text, "converted", &target(arch))
        .unwrap_or_else(|e| panic!("{e}\n{}", rendered.text))
        .single()
        .unwrap()
        .profile;
    (back, rendered.warnings)
}

#[test]
fn conversions_keep_the_effective_rules() {
    let mut checked = 0;
    for (name, path) in corpus_files() {
        for arch in target_arches(&path) {
            for doc in documents(&path, arch) {
                let what = format!("{name} ({arch}, {})", doc.name.as_deref().unwrap_or("-"));
                let profile = &doc.profile;
                let before = Effective::of(profile);

                // JSON keeps everything, in order.
                let (back, warnings) = write_and_read_back(profile, Format::Oci, arch);
                assert_eq!(&back, profile, "{what} through oci");
                assert!(warnings.is_empty(), "{what}: {warnings:?}");

                // The operator's object keeps every rule.
                let (back, _) = write_and_read_back(profile, Format::Crd, arch);
                assert_eq!(Effective::of(&back), before, "{what} through crd");

                // systemd changes only what its warnings name.
                let (back, warnings) = write_and_read_back(profile, Format::Systemd, arch);
                let after = Effective::of(&back);
                if after.default != before.default {
                    assert!(
                        warnings.iter().any(|w| w.contains("default")),
                        "{what}: default {} became {} unwarned",
                        before.default,
                        after.default
                    );
                }
                // An OCI profile without architectures covers the native
                // one, which systemd calls native.
                if after.covered_arches(arch) != before.covered_arches(arch) {
                    assert!(
                        warnings.iter().any(|w| w.contains("architecture")),
                        "{what}: architectures changed unwarned"
                    );
                }
                if (&after.flags, &after.listener_path) != (&before.flags, &before.listener_path) {
                    assert!(
                        warnings.iter().any(|w| w.contains("flags or listenerPath")),
                        "{what}: flags changed unwarned"
                    );
                }
                let names: BTreeSet<&String> =
                    before.rules.keys().chain(after.rules.keys()).collect();
                for n in names {
                    if !recorder::profile::syscall_names::is_known(n) {
                        continue; // No engine loads it; systemd drops it.
                    }
                    let (b, a) = (before.treatment(n), after.treatment(n));
                    let same = b.fallback(before.default) == a.fallback(after.default)
                        && b.conditional == a.conditional;
                    assert!(
                        same || named_in(&warnings, n),
                        "{what}: {n} went from {} to {} and no warning says so: {warnings:?}",
                        b.describe(before.default),
                        a.describe(after.default)
                    );
                }
                checked += 1;
            }
        }
    }
    // 32 OCI/Docker and unit files with one profile, 3 YAML files with 10,
    // and the archMap files once per architecture.
    assert!(checked > 100, "{checked}");
}

/// The names systemd expands `items` (groups and names) to, asked of the
/// installed systemd-analyze one group at a time.
fn systemd_expansion(items: &[String]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut todo: Vec<String> = items.to_vec();
    let mut seen = BTreeSet::new();
    while let Some(item) = todo.pop() {
        if !item.starts_with('@') {
            names.insert(item);
            continue;
        }
        if !seen.insert(item.clone()) {
            continue;
        }
        let out =
            run(Command::new("systemd-analyze").args(["--no-pager", "syscall-filter", &item]));
        assert!(
            out.status.success(),
            "systemd-analyze syscall-filter {item}"
        );
        for line in String::from_utf8_lossy(&out.stdout).lines().skip(1) {
            let member = line.trim();
            if !member.is_empty() && !member.starts_with('#') {
                todo.push(member.to_string());
            }
        }
    }
    names
}

#[test]
fn every_unit_here_reads_as_the_installed_systemd_expands_it() {
    containers::require_program("systemd-analyze", "systemd");
    let mut units = BTreeMap::new();
    for entry in std::fs::read_dir("/lib/systemd/system").unwrap() {
        let path = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // A directory (wants, drop-ins).
        };
        let filters: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("SystemCallFilter="))
            .collect();
        if !filters.is_empty() {
            units.insert(path.clone(), (text.clone(), filters.join(" ")));
        }
    }
    let names: BTreeSet<String> = units
        .keys()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for unit in [
        "fstrim.service",
        "systemd-hostnamed.service",
        "systemd-logind.service",
    ] {
        assert!(names.contains(unit), "{unit} not among {names:?}");
    }
    for (path, (text, filter)) in &units {
        // The units here are allow lists (no ~): @default plus the items.
        assert!(!filter.contains('~'), "{}: {filter}", path.display());
        let mut items = vec!["@default".to_string()];
        items.extend(filter.split_whitespace().map(String::from));
        let expected = systemd_expansion(&items);
        let out = run(recorder().args(["convert", "-o", "-"]).arg(path));
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "{}: no warnings",
            path.display()
        );
        let profile: Profile = serde_json::from_slice(&out.stdout).unwrap();
        let allowed: BTreeSet<String> = profile
            .allowed_names()
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(allowed, expected, "{}", path.display());
        let errno = text.contains("SystemCallErrorNumber=EPERM");
        assert_eq!(
            (profile.default_action, profile.default_errno_ret),
            if errno {
                (Action::Errno, Some(1))
            } else {
                (Action::KillProcess, None)
            },
            "{}",
            path.display()
        );
        let native_only = text.contains("SystemCallArchitectures=native");
        assert_eq!(
            profile.architectures,
            if native_only {
                vec![Arch::host()]
            } else {
                recorder::profile::read::systemd_local_arches(Arch::host())
            },
            "{}",
            path.display()
        );
    }
}

/// A probe: a syscall by name and its arguments, chosen so that an allowed
/// call fails harmlessly (bad pointers, bad fds, invalid flags) or does
/// nothing, the same way on the host and in a container with the same
/// capabilities.
const PROBES: &[(&str, &[i64])] = &[
    ("getppid", &[]),
    ("umask", &[0o22]),
    ("getpid", &[]),
    ("getcwd", &[0, 0]),
    ("setns", &[-1, 0]),
    ("unshare", &[0]),
    ("personality", &[0xffff_ffff]),
    ("personality", &[0]),
    ("personality", &[0x0040000]),
    // AF_ALG, AF_VSOCK, NETLINK_AUDIT.
    ("socket", &[38, 5, 0]),
    ("socket", &[40, 1, 0]),
    ("socket", &[16, 3, 9]),
    // CLONE_NEWUSER | CLONE_FS: EINVAL before anything is created.
    ("clone", &[0x1000_0200, 0, 0, 0, 0]),
    ("clone3", &[0, 0]),
    ("bpf", &[0xffff, 0, 0]),
    ("perf_event_open", &[0, 0, -1, -1, 0]),
    ("keyctl", &[0xffff]),
    ("add_key", &[0, 0, 0, 0, 0]),
    ("ptrace", &[0xffff, 0, 0, 0]),
    ("kcmp", &[0, 0, 0xffff, 0, 0]),
    ("process_vm_readv", &[0, 0, 0, 0, 0, 0]),
    ("mount", &[0, 0, 0, 0, 0]),
    ("umount2", &[0, 0]),
    ("chroot", &[0]),
    ("pivot_root", &[0, 0]),
    ("sethostname", &[0, -1]),
    ("setdomainname", &[0, -1]),
    ("acct", &[1]),
    ("syslog", &[-1, 0, 0]),
    ("reboot", &[0, 0, 0, 0]),
    ("kexec_load", &[0, 0, 0, 0xffff_ffff]),
    ("quotactl", &[0, 0, 0, 0]),
    ("iopl", &[4]),
    ("ioperm", &[0x10000, 1, 1]),
    ("clock_settime", &[-1, 0]),
    ("adjtimex", &[0]),
    ("swapon", &[0, 0]),
    ("init_module", &[0, 0, 0]),
    ("delete_module", &[0, 0]),
    ("open_by_handle_at", &[-1, 0, 0]),
    ("fanotify_init", &[0xffff_ffff, 0]),
    ("userfaultfd", &[0xffff]),
    ("ioctl", &[-1, 0x5401]),
    ("write", &[-1, 0, 2000]),
    ("mkdir", &[0, 0]),
    ("mkdirat", &[-100, 0, 0]),
    ("io_uring_setup", &[0, 0]),
    ("pidfd_getfd", &[-1, 0, 0]),
    ("fsopen", &[0, 0]),
    ("close_range", &[0xffff_ffff, 0xffff_ffff, 0]),
];

/// The probes as arguments of tests/programs/probe.c (`NR:ARG...`).
fn probe_args(probes: &[(&str, &[i64])]) -> Vec<String> {
    let table = Arch::host().table();
    probes
        .iter()
        .map(|(name, args)| {
            let nr = table
                .number(name)
                .unwrap_or_else(|| panic!("{name} on {}", Arch::host()));
            std::iter::once(nr.to_string())
                .chain(args.iter().map(i64::to_string))
                .collect::<Vec<_>>()
                .join(":")
        })
        .collect()
}

/// What a probe run showed: one line per call, and the exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    lines: Vec<String>,
    status: Option<i32>,
}

impl Outcome {
    fn of(out: &std::process::Output) -> Outcome {
        Outcome {
            lines: String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(String::from)
                .collect(),
            status: out.status.code(),
        }
    }
}

/// The capabilities this process may pass on (a container gets the same,
/// so that a call the profile allows fails or works alike in both).
fn bounding_capabilities() -> Vec<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim();
    let bits = u64::from_str_radix(hex, 16).unwrap();
    recorder::profile::read::ALL_CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| bits & (1 << bit) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// A runc bundle whose root holds the probe; the container shares every
/// namespace but the mount one and has this process's capabilities.
struct Bundle {
    dir: PathBuf,
    config: serde_json::Value,
}

impl Bundle {
    fn new(dir: &Path, probe: &Path) -> Bundle {
        let dir = dir.join("bundle");
        std::fs::create_dir_all(dir.join("rootfs")).unwrap();
        std::fs::copy(probe, dir.join("rootfs/probe")).unwrap();
        let out = run(Command::new("runc").arg("spec").arg("--bundle").arg(&dir));
        assert!(
            out.status.success(),
            "runc spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        config["process"]["terminal"] = false.into();
        let caps = serde_json::json!(bounding_capabilities());
        config["process"]["capabilities"] = serde_json::json!({
            "bounding": caps, "effective": caps, "permitted": caps,
        });
        let namespaces: Vec<serde_json::Value> = config["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "mount")
            .cloned()
            .collect();
        config["linux"]["namespaces"] = namespaces.into();
        let object = config.as_object_mut().unwrap();
        object.remove("hostname");
        Bundle { dir, config }
    }

    /// Runs the probe with `args` under `seccomp` (none: unconfined).
    fn run(
        &self,
        id: &str,
        seccomp: Option<&serde_json::Value>,
        args: &[String],
    ) -> std::process::Output {
        let mut config = self.config.clone();
        let mut process_args = vec!["/probe".to_string()];
        process_args.extend(args.iter().cloned());
        config["process"]["args"] = process_args.into();
        match seccomp {
            Some(s) => config["linux"]["seccomp"] = s.clone(),
            None => {
                config["linux"].as_object_mut().unwrap().remove("seccomp");
            }
        }
        std::fs::write(self.dir.join("config.json"), config.to_string()).unwrap();
        let id = format!("recorder-corpus-{}-{id}", std::process::id());
        let state = self.dir.join("../runc-state");
        // runc 1.1 waits for ever when the profile kills its init: give up
        // (timeout's status 124, or its signal) and remove what is left.
        let out = run(Command::new("timeout")
            .args(["-k", "5", "20", "runc", "--root"])
            .arg(&state)
            .args(["run", "--bundle"])
            .arg(&self.dir)
            .arg(&id));
        run(Command::new("runc")
            .arg("--root")
            .arg(&state)
            .args(["delete", "--force", &id]));
        out
    }
}

/// Whether `arg` meets `c` as the kernel's filter compares: 64 bits, unsigned.
fn meets(c: &recorder::profile::ArgCondition, args: &[i64]) -> bool {
    use recorder::profile::ArgOp;
    let arg = args.get(c.index as usize).copied().unwrap_or(0) as u64;
    match c.op {
        ArgOp::NotEqual => arg != c.value,
        ArgOp::LessThan => arg < c.value,
        ArgOp::LessOrEqual => arg <= c.value,
        ArgOp::Equal => arg == c.value,
        ArgOp::GreaterOrEqual => arg >= c.value,
        ArgOp::GreaterThan => arg > c.value,
        ArgOp::MaskedEqual => arg & c.value == c.value_two,
    }
}

/// What the effective rules say a call gets; `None` when conditional
/// rules with different verdicts match (libseccomp's order decides).
fn predicted(
    e: &Effective,
    name: &str,
    args: &[i64],
) -> Option<recorder::profile::effective::Verdict> {
    let t = e.treatment(name);
    let matching: BTreeSet<_> = t
        .conditional
        .iter()
        .filter(|r| r.conditions.iter().all(|c| meets(c, args)))
        .map(|r| r.verdict)
        .collect();
    match matching.len() {
        0 => Some(t.fallback(e.default)),
        1 => matching.into_iter().next(),
        _ => None,
    }
}

/// The lines and status the effective rules predict, given what each call
/// does unconfined; `None` when a verdict cannot be told.
fn prediction(e: &Effective, probes: &[(&str, &[i64])], unconfined: &[String]) -> Option<Outcome> {
    let mut lines = Vec::new();
    for ((name, args), free) in probes.iter().zip(unconfined) {
        let verdict = predicted(e, name, args)?;
        let nr = free.split_whitespace().next().unwrap();
        match verdict.action {
            Action::Allow | Action::Log => lines.push(free.clone()),
            Action::Errno => lines.push(format!("{nr} errno {}", verdict.errno.unwrap())),
            // No tracer is attached: the kernel fails the call.
            Action::Trace => lines.push(format!("{nr} errno 38")),
            Action::KillProcess | Action::KillThread | Action::Trap => {
                return Some(Outcome {
                    lines,
                    status: Some(128 + libc::SIGSYS),
                });
            }
            Action::Notify => return None,
        }
    }
    Some(Outcome {
        lines,
        status: Some(0),
    })
}

/// runc's stub: with a default that denies (not allow, log or trace),
/// syscalls numbered above the profile's highest get ENOSYS instead of the
/// default. `recorder run` does not reproduce that; probes above are left
/// out.
fn above_runc_stub(profile: &Profile) -> Option<u32> {
    if matches!(
        profile.default_action,
        Action::Allow | Action::Log | Action::Trace
    ) {
        return None;
    }
    profile
        .syscalls
        .iter()
        .flat_map(|r| &r.names)
        .filter_map(|n| libseccomp::ScmpSyscall::from_name(n).ok())
        .map(i32::from)
        .filter(|&nr| nr >= 0)
        .max()
        .map(|nr| nr as u32)
}

#[test]
fn runc_and_recorder_run_agree_on_every_oci_and_docker_profile() {
    require_root();
    containers::require_program("runc", "runc");
    let dir = temp_dir();
    let probe = build_program(dir.path(), "probe", &["-static", "-O1"]);
    let bundle = Bundle::new(dir.path(), &probe);
    let all_args = probe_args(PROBES);

    // Unconfined, in the container and here: the same results.
    let free = Outcome::of(&bundle.run("free", None, &all_args));
    assert_eq!(free.status, Some(0), "{free:?}");
    let here = Outcome::of(&run(Command::new(&probe).args(&all_args)));
    assert_eq!(here, free, "the probe differs in a container unconfined");

    let mut files: Vec<(String, PathBuf)> = corpus_files()
        .into_iter()
        .filter(|(name, _)| name.ends_with(".json"))
        .collect();
    files.push((
        "installed podman default".into(),
        PathBuf::from("/usr/share/containers/seccomp.json"),
    ));
    let mut results = BTreeMap::new();
    for (name, path) in files {
        // What Docker or podman would hand runc on this host.
        let out = run(recorder().args(["convert", "--format", "oci"]).arg(&path));
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let oci: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let profile: Profile = serde_json::from_value(oci.clone()).unwrap();
        let limit = above_runc_stub(&profile);
        let table = Arch::host().table();
        let probes: Vec<(&str, &[i64])> = PROBES
            .iter()
            .copied()
            .filter(|(n, _)| limit.is_none_or(|max| table.number(n).unwrap() <= max))
            .collect();
        let args = probe_args(&probes);
        let unconfined: Vec<String> = PROBES
            .iter()
            .zip(&free.lines)
            .filter(|((n, _), _)| probes.iter().any(|(p, _)| p == n))
            .map(|(_, l)| l.clone())
            .collect();
        let id = name.replace(['/', ' ', '.'], "-");
        let by_runc = bundle.run(&id, Some(&oci), &args);
        let ours = run(recorder()
            .current_dir(path.parent().unwrap())
            .args(["run", "--profile"])
            .arg(path.file_name().unwrap())
            .arg("--")
            .arg(&probe)
            .args(&args));
        let runc_outcome = Outcome::of(&by_runc);
        let our_outcome = Outcome::of(&ours);
        // runc exits 1 when it cannot start the container; the probe never
        // does.
        let hung = matches!(runc_outcome.status, Some(124 | 137) | None);
        let runc_started = !hung && runc_outcome.status != Some(1);
        let verdict = if !runc_started {
            let stderr = String::from_utf8_lossy(&by_runc.stderr);
            let line = stderr
                .lines()
                .rfind(|l| !l.contains("level=warning"))
                .unwrap_or_default();
            // logrus lines carry a time: keep the message.
            let error = match line.split_once("msg=\"") {
                Some((_, msg)) => msg.trim_end_matches('"').replace("\\\"", "\""),
                None => line.to_string(),
            };
            if hung {
                "runc hangs: the profile kills its init".to_string()
            } else {
                format!("runc cannot start it: {error}")
            }
        } else {
            assert_eq!(
                our_outcome, runc_outcome,
                "{name}: recorder run and runc disagree"
            );
            let e = Effective::of(&profile);
            // The probe's own startup and exit are the profile's business
            // too; the status says something about the probes only when
            // one of them is killed.
            if let Some(expected) = prediction(&e, &probes, &unconfined) {
                assert_eq!(
                    runc_outcome.lines, expected.lines,
                    "{name}: not what its rules say"
                );
                if expected.status != Some(0) {
                    assert_eq!(runc_outcome.status, expected.status, "{name}");
                }
            }
            "same".to_string()
        };
        // The probe's path is a temporary directory's: shown as `probe`.
        let ours_said = String::from_utf8_lossy(&ours.stderr)
            .trim()
            .replace(&probe.display().to_string(), "probe");
        results.insert(name, (verdict, our_outcome.status, ours_said));
    }
    let summary: Vec<String> = results
        .iter()
        .filter(|(_, (v, _, _))| v != "same")
        .map(|(n, (v, status, said))| format!("{n}: {v} | recorder run: {status:?} {said}"))
        .collect();
    // Where runc cannot start a container, `recorder run` still runs the
    // probe (it has no runc init to feed) unless the profile itself cannot
    // load. runc 1.1 (Debian 12's) knows no seccomp flags; 1.2 does.
    assert_eq!(
        summary,
        [
            "corpus/crun-test-errno-default.json: runc cannot start it: ensure /proc/self/fd is on procfs: operation not permitted | recorder run: Some(0) ",
            "corpus/crun-test-flags.json: runc cannot start it: runc run failed: seccomp flags are not yet supported by runc | recorder run: Some(0) ",
            "corpus/crun-test-kill-action.json: runc hangs: the profile kills its init | recorder run: Some(159) recorder: probe was killed by SIGSYS: crun-test-kill-action.json does not allow a syscall it made; `recorder run --complain` lists them",
            "corpus/runc-bats-notify.json: runc cannot start it: runc run failed: unable to start container process: failed to connect with seccomp agent specified in the seccomp profile: dial unix /run/seccomp-agent.socket: connect: no such file or directory | recorder run: Some(125) recorder: the profile hands mkdir to a seccomp agent (SCMP_ACT_NOTIFY), which runc and crun connect at listenerPath; `recorder run` has none: use --complain, or another action",
            "reference/docker-fixture-conditional_include.json: runc cannot start it: runc run failed: container process is already dead | recorder run: Some(139) recorder: probe was killed by SIGSEGV under docker-fixture-conditional_include.json, which fails the syscalls it does not list with EPERM: if one of them made it crash, `recorder run --complain` lists them",
            "reference/docker-fixture-example.json: runc cannot start it: runc run failed: unable to start container process: unable to init seccomp: error adding seccomp filter rule for syscall syslog: two checks on same syscall argument | recorder run: Some(125) recorder: warning: docker-fixture-example.json:28:22: libseccomp refuses the rule SCMP_ACT_ERRNO(12345) for \"syslog\" (libseccomp takes errno values up to 4094): runc and crun will not start the container\nrecorder: libseccomp refuses the rule SCMP_ACT_ERRNO(12345) for syslog: libseccomp takes errno values up to 4094; runc and crun refuse the profile too",
        ]
    );
}

#[test]
fn podmans_installed_profile_explains_runs_and_denies_what_it_denies() {
    require_root();
    let podman = Path::new("/usr/share/containers/seccomp.json");
    assert!(
        podman.exists(),
        "podman's default profile is missing: apt-get install golang-github-containers-common"
    );
    let explained = run(recorder().arg("explain").arg(podman));
    assert_eq!(
        (
            explained.status.code(),
            String::from_utf8_lossy(&explained.stderr).into_owned()
        ),
        (Some(0), String::new())
    );
    assert!(String::from_utf8_lossy(&explained.stdout).contains("\n  setns "));

    let plain = run(Command::new("ls").args(["-l", "/"]));
    let confined = run(recorder()
        .args(["run", "--profile"])
        .arg(podman)
        .args(["--", "ls", "-l", "/"]));
    assert_eq!(
        confined.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&confined.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&confined.stderr), "");
    // The same listing (but for /proc's link count, which moves with the
    // processes of the machine).
    let listing = |out: &std::process::Output| -> Vec<String> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.ends_with(" proc"))
            .map(String::from)
            .collect()
    };
    assert_eq!(listing(&confined), listing(&plain));
    assert!(listing(&plain).len() > 10);

    // Docker's default capabilities (podman's profile is resolved for them):
    // no CAP_SYS_ADMIN, CAP_SYS_PACCT, CAP_SYS_PTRACE, CAP_SYS_BOOT,
    // CAP_SYS_TIME, CAP_DAC_READ_SEARCH: their syscalls get EPERM; setns is
    // allowed by the profile's first rule (libseccomp keeps it), io_uring is
    // not named and gets the default ENOSYS; chroot (CAP_SYS_CHROOT) and
    // unshare run.
    let probes: &[(&str, &[i64], &str)] = &[
        ("setns", &[-1, 0], "errno 9"),
        ("bpf", &[0xffff, 0, 0], "errno 1"),
        ("perf_event_open", &[0, 0, -1, -1, 0], "errno 1"),
        ("quotactl", &[0, 0, 0, 0], "errno 1"),
        ("fanotify_init", &[0xffff_ffff, 0], "errno 1"),
        ("sethostname", &[0, -1], "errno 1"),
        ("setdomainname", &[0, -1], "errno 1"),
        ("open_by_handle_at", &[-1, 0, 0], "errno 1"),
        ("acct", &[1], "errno 1"),
        ("kcmp", &[0, 0, 0xffff, 0, 0], "errno 1"),
        ("kexec_load", &[0, 0, 0, 0xffff_ffff], "errno 1"),
        ("clock_settime", &[-1, 0], "errno 1"),
        ("io_uring_setup", &[0, 0], "errno 38"),
        ("chroot", &[0], "errno 14"),
        ("unshare", &[0], "ok"),
    ];
    let dir = temp_dir();
    let probe = build_program(dir.path(), "probe", &["-static", "-O1"]);
    let calls: Vec<(&str, &[i64])> = probes.iter().map(|(n, a, _)| (*n, *a)).collect();
    let out = run(recorder()
        .args(["run", "--profile"])
        .arg(podman)
        .arg("--")
        .arg(&probe)
        .args(probe_args(&calls)));
    let table = Arch::host().table();
    let expected: Vec<String> = probes
        .iter()
        .map(|(n, _, r)| format!("{} {r}", table.number(n).unwrap()))
        .collect();
    assert_eq!(Outcome::of(&out).lines, expected);
}
