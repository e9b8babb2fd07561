//! End-to-end tests of argument-aware profiles (`--args`) against the real
//! kernel: the values a known program passed, exactly; programs that run
//! under their profiles (enforced by `recorder run`, through libseccomp
//! as runc loads a profile) with the same output; the values they did not
//! pass failing with the profile's errno; ia32 programs; a runc container.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::containers::{
    RuncBundle, Tracing, WORKLOAD, assert_enosys, busybox_rootfs, normalise, require_program,
    seccomp_of, unique,
};
use common::*;

/// ENOSYS, the recorded profiles' errno.
const ENOSYS: i32 = 38;

/// One argument condition: (index, value, valueTwo, op).
type Condition = (u64, u64, u64, String);

/// The conditional rules of a profile: per name, each rule's conditions.
fn conditions(profile: &str) -> BTreeMap<String, BTreeSet<Vec<Condition>>> {
    let v: serde_json::Value = serde_json::from_str(profile).expect("profile is JSON");
    let mut out: BTreeMap<String, BTreeSet<Vec<Condition>>> = BTreeMap::new();
    for rule in v["syscalls"].as_array().into_iter().flatten() {
        let Some(args) = rule.get("args").and_then(|a| a.as_array()) else {
            continue;
        };
        assert_eq!(rule["action"], "SCMP_ACT_ALLOW", "{rule}");
        let conditions: Vec<Condition> = args
            .iter()
            .map(|a| {
                (
                    a["index"].as_u64().unwrap(),
                    a["value"].as_u64().unwrap(),
                    a["valueTwo"].as_u64().unwrap_or(0),
                    a["op"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for name in rule["names"].as_array().unwrap() {
            out.entry(name.as_str().unwrap().to_string())
                .or_default()
                .insert(conditions.clone());
        }
    }
    out
}

fn eq(index: u64, value: u64) -> Condition {
    (index, value, 0, "SCMP_CMP_EQ".into())
}

fn masked(index: u64, mask: u64, value: u64) -> Condition {
    (index, mask, value, "SCMP_CMP_MASKED_EQ".into())
}

/// The values of the single-condition EQ rules of `name`.
fn values(c: &BTreeMap<String, BTreeSet<Vec<Condition>>>, name: &str) -> BTreeSet<u64> {
    c.get(name)
        .into_iter()
        .flatten()
        .map(|rule| match rule.as_slice() {
            [(_, value, _, op)] if op == "SCMP_CMP_EQ" => *value,
            other => panic!("{name}: not one value: {other:?}"),
        })
        .collect()
}

/// Records `command` with `--args`, its stdout to `stdout` (a file: libc
/// then makes no tty ioctls of its own). Returns the profile and stderr.
fn record_args(dir: &Path, name: &str, command: &[&str], stdout: &Path) -> (String, String) {
    let profile = dir.join(format!("{name}.json"));
    let out = run(recorder()
        .args(["record", "-q", "--args", "-o"])
        .arg(&profile)
        .arg("--")
        .args(command)
        .stdout(File::create(stdout).unwrap()));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "recording {command:?} failed: {stderr}"
    );
    (std::fs::read_to_string(&profile).unwrap(), stderr)
}

/// Runs `command` under `profile` with `recorder run`, stdout to `stdout`.
fn run_under(profile: &Path, command: &[&str], stdout: &Path) -> Output {
    run(recorder()
        .args(["run", "--profile"])
        .arg(profile)
        .arg("--")
        .args(command)
        .stdout(File::create(stdout).unwrap())
        .stderr(Stdio::piped()))
}

/// Records `command`, runs it under its profile, and asserts the same
/// output (after `tidy`); returns the profile.
fn runs_under_its_profile(
    dir: &Path,
    name: &str,
    command: &[&str],
    tidy: impl Fn(&str) -> String,
) -> String {
    let first = dir.join(format!("{name}.out"));
    let (profile, _) = record_args(dir, name, command, &first);
    let second = dir.join(format!("{name}.enforced.out"));
    let out = run_under(&dir.join(format!("{name}.json")), command, &second);
    assert!(
        out.status.success(),
        "{command:?} failed under its profile ({}): {}\n{profile}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |p: &PathBuf| tidy(&std::fs::read_to_string(p).unwrap());
    assert_eq!(read(&second), read(&first), "{command:?}");
    assert!(!read(&first).is_empty(), "{command:?} printed nothing");
    profile
}

/// The variants of arg_calls.c, each a call with values the recording did
/// not see.
const VARIANTS: [&str; 8] = [
    "netlink",
    "packet",
    "tiocsti",
    "dumpable",
    "read_implies_exec",
    "unshare_user",
    "clone_user",
    "mprotect_exec",
];

/// The errno each variant of `program` fails with under `profile`.
fn variant_errnos(dir: &Path, profile: &Path, program: &Path) -> BTreeMap<&'static str, i32> {
    VARIANTS
        .iter()
        .map(|variant| {
            let stdout = dir.join(format!("{variant}.out"));
            let out = run_under(profile, &[program.to_str().unwrap(), variant], &stdout);
            assert!(out.status.success(), "{variant}: {out:?}");
            let text = std::fs::read_to_string(&stdout).unwrap();
            let errno = text
                .trim()
                .strip_prefix("errno=")
                .and_then(|e| e.parse().ok())
                .unwrap_or_else(|| panic!("{variant}: {text}"));
            (*variant, errno)
        })
        .collect()
}

#[test]
fn a_known_program_gets_exactly_its_values_and_nothing_else() {
    require_root();
    let dir = temp_dir();
    let dir = dir.path();
    let program = build_program(dir, "arg_calls", &["-static", "-O1", "-pthread"]);
    let path = program.to_str().unwrap();
    let first = dir.join("first.out");
    let (profile, stderr) = record_args(dir, "calls", &[path], &first);
    let c = conditions(&profile);

    let expected_socket: BTreeSet<Vec<Condition>> = [
        // AF_UNIX, SOCK_STREAM (SOCK_CLOEXEC masked off), 0.
        vec![eq(0, 1), masked(1, 0xf, 1), eq(2, 0)],
        // AF_INET, SOCK_DGRAM, 0.
        vec![eq(0, 2), masked(1, 0xf, 2), eq(2, 0)],
    ]
    .into();
    assert_eq!(c["socket"], expected_socket);
    assert_eq!(values(&c, "prctl"), BTreeSet::from([15]), "PR_SET_NAME");
    assert_eq!(values(&c, "personality"), BTreeSet::from([0xffff_ffff]));
    // unshare(CLONE_FILES): no namespace flag, NEWTIME included.
    assert_eq!(
        c["unshare"],
        BTreeSet::from([vec![masked(0, 0x7e02_0080, 0)]])
    );
    let ioctls = values(&c, "ioctl");
    assert!(
        ioctls.is_superset(&BTreeSet::from([0x5401, 0x541b])),
        "TCGETS, FIONREAD: {ioctls:x?}"
    );
    // The fork's clone and the thread's clone3, neither with namespaces.
    assert_eq!(
        c["clone"],
        BTreeSet::from([vec![masked(0, 0x7e02_0000, 0)]])
    );
    assert_eq!(c["mprotect"], BTreeSet::from([vec![masked(2, 4, 0)]]));
    let names = allowed_names(&profile);
    for conditioned in c.keys() {
        assert!(!names.contains(conditioned), "{conditioned} also outright");
    }
    assert!(
        !names.contains("clone3") && !c.contains_key("clone3"),
        "clone3 is left to the default, ENOSYS"
    );
    assert!(
        stderr.contains("clone3 asked for no namespace: the profile fails it with ENOSYS"),
        "{stderr}"
    );

    // The program runs under it, the thread through clone after ENOSYS.
    let second = dir.join("second.out");
    let out = run_under(&dir.join("calls.json"), &[path], &second);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&second).unwrap(),
        std::fs::read_to_string(&first).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(&first).unwrap(),
        "pending=0 persona=0 child=0\n"
    );

    // Every other value fails with the profile's errno.
    let errnos = variant_errnos(dir, &dir.join("calls.json"), &program);
    assert_eq!(
        errnos,
        VARIANTS.iter().map(|v| (*v, ENOSYS)).collect(),
        "variants under the profile"
    );

    // explain names the values.
    let out = run(recorder()
        .args(["explain", "--color", "never"])
        .arg(dir.join("calls.json")));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "[only AF_UNIX stream, AF_INET dgram]",
        "[only PR_SET_NAME]",
        "[only 0xffffffff (query)]",
        "[without PROT_EXEC]",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
    let ioctl = text
        .lines()
        .find(|l| l.trim_start().starts_with("ioctl"))
        .unwrap();
    assert!(
        ioctl.contains("TCGETS") && ioctl.contains("FIONREAD"),
        "{ioctl}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("[without namespace flags]"))
            .count(),
        2,
        "clone and unshare:\n{text}"
    );

    // In complain mode, a denial that depended on the arguments says so.
    let out = run(recorder()
        .args(["run", "--complain", "--profile"])
        .arg(dir.join("calls.json"))
        .args(["--", path, "dumpable"])
        .stdout(Stdio::null()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let prctl = stderr
        .lines()
        .find(|l| l.contains(" prctl "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        prctl.contains(
            "only PR_SET_NAME; denied for the arguments it passed (audit records carry none"
        ),
        "{prctl}"
    );
}

#[test]
fn real_programs_run_under_their_profiles() {
    require_root();
    let dir = temp_dir();
    let dir = dir.path();
    let same = |s: &str| s.to_string();
    // ls -l /: link counts (/proc's) and times may differ between runs.
    runs_under_its_profile(dir, "ls", &["ls", "-l", "/"], |s| normalise(s.as_bytes()));
    runs_under_its_profile(
        dir,
        "pipeline",
        &[
            "sh",
            "-c",
            "(echo b; echo a) | (sort; echo done) | tr a-z A-Z; x=$(echo sub; echo shell); echo $x",
        ],
        same,
    );
    let threads = build_program(dir, "threads", &["-O1", "-pthread"]);
    let threaded = runs_under_its_profile(dir, "threads", &[threads.to_str().unwrap()], same);
    assert_eq!(
        conditions(&threaded)["clone"],
        BTreeSet::from([vec![masked(0, 0x7e02_0000, 0)]]),
        "glibc's threads fall back to clone"
    );
    assert!(!allowed_names(&threaded).contains("clone3"));
}

/// python3 serves one HTTP request over loopback to a client in the same
/// run: sockets, threads (clone3, then clone), ioctls, all conditional.
#[test]
fn python_serving_http_over_loopback_runs_under_its_profile() {
    require_root();
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        require_program("python3", "python3");
        "python3"
    };
    let dir = temp_dir();
    let script = r#"
import http.server, threading, urllib.request
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello over loopback\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Hello)
serving = threading.Thread(target=server.handle_request)
serving.start()
url = "http://127.0.0.1:%d/" % server.server_port
print(urllib.request.urlopen(url).read().decode(), end="")
serving.join()
"#;
    let profile = runs_under_its_profile(dir.path(), "python", &[python, "-c", script], |s| {
        s.to_string()
    });
    let c = conditions(&profile);
    // The server's socket (protocol 0) and the client's (IPPROTO_TCP, from
    // getaddrinfo), and glibc's try at nscd's AF_UNIX socket.
    let inet: BTreeSet<Vec<Condition>> = c["socket"]
        .iter()
        .filter(|rule| rule[0] == eq(0, 2))
        .cloned()
        .collect();
    assert_eq!(
        inet,
        BTreeSet::from([
            vec![eq(0, 2), masked(1, 0xf, 1), eq(2, 0)],
            vec![eq(0, 2), masked(1, 0xf, 1), eq(2, 6)],
        ])
    );
    assert!(
        c["socket"]
            .iter()
            .all(|rule| rule[0] == eq(0, 1) || rule[0] == eq(0, 2)),
        "{:?}",
        c["socket"]
    );
    assert!(c.contains_key("clone"), "threads fall back to clone");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("python.out")).unwrap(),
        "hello over loopback\n"
    );
}

/// An ia32 program: its ioctl and prctl conditions hold on the x86 ABI
/// too (seccomp compares 32 bits there), and socket, which ia32 glibc
/// reaches through socketcall, stays unconditional.
#[test]
fn ia32_program_keeps_its_conditions() {
    require_root();
    assert_eq!(std::env::consts::ARCH, "x86_64", "needs IA32 emulation");
    let dir = temp_dir();
    let dir = dir.path();
    let program = build_program(dir, "arg_calls", &["-m32", "-static", "-O1", "-pthread"]);
    let path = program.to_str().unwrap();
    let profile = runs_under_its_profile(dir, "ia32", &[path], |s| s.to_string());
    assert_eq!(
        architectures(&profile),
        ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"]
    );
    let c = conditions(&profile);
    assert_eq!(values(&c, "prctl"), BTreeSet::from([15]));
    assert!(values(&c, "ioctl").is_superset(&BTreeSet::from([0x5401, 0x541b])));
    let names = allowed_names(&profile);
    assert!(names.contains("socketcall"), "{names:?}");
    assert!(!c.contains_key("socket") && !c.contains_key("socketcall"));
    let errnos = variant_errnos(dir, &dir.join("ia32.json"), &program);
    for variant in [
        "tiocsti",
        "dumpable",
        "read_implies_exec",
        "unshare_user",
        "clone_user",
        "mprotect_exec",
    ] {
        assert_eq!(errnos[variant], ENOSYS, "{variant}: {errnos:?}");
    }
    // socketcall lets any socket through: unconditional, as the issue of
    // per-ABI rules demands.
    assert_eq!(errnos["netlink"], 0, "{errnos:?}");
}

/// A runc container traced from its start with --args: it runs under its
/// profile with the same output, the runtime's base profile is in without
/// conditions, and a call its workload never made with those values fails.
#[test]
fn runc_container_traced_with_args() {
    require_root();
    require_program("runc", "runc");
    let dir = temp_dir();
    let dir = dir.path();
    let rootfs = busybox_rootfs(dir);
    let id = unique("args");
    let bundle = RuncBundle::new(dir, &rootfs, &id, &["sh", "-c", WORKLOAD], false, None);
    let tracing = Tracing::start(dir, "rec", &["--container", &id, "--wait", "--args"]);
    let profile_path = tracing.profile.clone();
    let first = bundle.run(&id);
    assert!(first.status.success(), "unconfined run failed: {first:?}");
    let (_, stderr, names) = tracing.finish();
    assert!(
        stderr.contains("only with the argument values recorded"),
        "{stderr}"
    );
    let profile = std::fs::read_to_string(&profile_path).unwrap();
    let c = conditions(&profile);
    // runc's base profile is made with any values: prctl stays outright.
    assert!(names.contains("prctl"), "{names:?}");
    assert!(!c.contains_key("prctl"), "{c:?}");
    // ls asked for the window size, nothing else.
    assert_eq!(values(&c, "ioctl"), BTreeSet::from([0x5413]), "TIOCGWINSZ");

    let seccomp = seccomp_of(&profile_path);
    let enforced_id = unique("args-enforced");
    let enforced = RuncBundle::new(
        dir,
        &rootfs,
        &enforced_id,
        &["sh", "-c", WORKLOAD],
        false,
        Some(seccomp.clone()),
    );
    let second = enforced.run(&enforced_id);
    assert!(
        second.status.success(),
        "the workload failed under its profile: {}\n{profile}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(normalise(&second.stdout), normalise(&first.stdout));
    // ioctl is allowed, TCGETS is not: stty's tcgetattr fails with the
    // profile's ENOSYS, where unconfined it fails with ENOTTY.
    let other_id = unique("args-stty");
    let other = RuncBundle::new(
        dir,
        &rootfs,
        &other_id,
        &["sh", "-c", "mkdir /tmp/x && stty"],
        false,
        Some(seccomp),
    );
    assert_enosys(&other.run(&other_id), "stty");
}

/// `--args` runs the kernel side on every hook it may attach to.
#[test]
fn every_hook_captures_the_same_values() {
    require_root();
    let dir = temp_dir();
    let dir = dir.path();
    let program = build_program(dir, "arg_calls", &["-static", "-O1", "-pthread"]);
    let mut seen = Vec::new();
    for hook in ["tp-btf", "raw-tp", "tracepoint"] {
        let profile = dir.join(format!("{hook}.json"));
        let out = run(recorder()
            .args(["record", "-q", "--args", "--attach", hook, "-o"])
            .arg(&profile)
            .arg("--")
            .arg(&program)
            .stdout(File::create(dir.join(format!("{hook}.out"))).unwrap()));
        assert!(out.status.success(), "{hook}: {out:?}");
        let mut c = conditions(&std::fs::read_to_string(&profile).unwrap());
        c.remove("ioctl");
        seen.push((hook, c));
    }
    for (hook, c) in &seen[1..] {
        assert_eq!(c, &seen[0].1, "{hook} against tp-btf");
    }
}

/// More distinct values than the kernel side keeps: the syscall is allowed
/// without a condition, and stderr says so.
#[test]
fn too_many_values_leave_the_syscall_unconditional() {
    require_root();
    let dir = temp_dir();
    let dir = dir.path();
    let program = build_program(dir, "arg_calls", &["-static", "-O1", "-pthread"]);
    let (profile, stderr) = record_args(
        dir,
        "many",
        &[program.to_str().unwrap(), "many_ioctls"],
        &dir.join("many.out"),
    );
    assert!(allowed_names(&profile).contains("ioctl"), "{profile}");
    assert!(!conditions(&profile).contains_key("ioctl"));
    assert!(
        stderr.contains(
            "recorder: warning: ioctl used more distinct values than the recorder keeps (64): allowed without a condition"
        ),
        "{stderr}"
    );
}
