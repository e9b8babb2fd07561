//! End-to-end tests of `recorder logs` on log files captured from a real
//! kernel (tests/data/logs/, see its README), and on bad input.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::*;
use recorder::arch::Arch;
use recorder::logs::Line;
use recorder::logs::collect::record_arch;
use recorder::logs::record::{ArchField, NumberOrName, SeccompAction, SyscallField, Text};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/logs")
        .join(name)
}

/// Every captured shape; each holds the records of the same two test
/// programs (getppid, getuid, getpid via int 0x80, getpid as x32, exit_group).
const SHAPES: [&str; 20] = [
    "dmesg.log",
    "dmesg-T.log",
    "kmsg.log",
    "syslog-rfc3164.log",
    "syslog-rfc3164-pri.log",
    "syslog-rfc3339.log",
    "syslog-rfc5424.log",
    "audit-raw.log",
    "audit-enriched.log",
    "ausearch.log",
    "ausearch-i.log",
    "journal-k.log",
    "journal-short.log",
    "journal-short-iso.log",
    "journal-short-iso-precise.log",
    "journal-short-precise.log",
    "journal-short-full.log",
    "journal-short-unix.log",
    "journal-short-monotonic.log",
    "journal.json",
];

fn logs(args: &[&str]) -> Output {
    run(recorder().arg("logs").args(args))
}

fn logs_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = recorder()
        .arg("logs")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting recorder");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("waiting for recorder");
    writer.join().expect("stdin writer");
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn names(out: &Output) -> BTreeSet<String> {
    assert!(out.status.success(), "recorder failed: {}", stderr(out));
    allowed_names(&String::from_utf8_lossy(&out.stdout))
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

const TEST_PROGRAM_SYSCALLS: [&str; 4] = ["exit_group", "getpid", "getppid", "getuid"];

#[test]
fn every_shape_gives_the_profile_of_the_test_programs() {
    for shape in SHAPES {
        let path = data(shape);
        let out = logs(&[path.to_str().unwrap()]);
        assert_eq!(
            names(&out),
            set(&TEST_PROGRAM_SYSCALLS),
            "{shape}: {}",
            stderr(&out)
        );
        assert_eq!(
            architectures(&String::from_utf8_lossy(&out.stdout)),
            ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
            "{shape}"
        );
        assert!(
            stderr(&out).contains(", 0 unparseable"),
            "{shape}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("without a name"),
            "{shape}: {}",
            stderr(&out)
        );
    }
}

/// The records of one fixture file.
fn records_of(shape: &str) -> Vec<OwnedRecord> {
    let parser = recorder::logs::Parser::with_time_zone(jiff::tz::TimeZone::UTC);
    let text = fs::read(data(shape)).unwrap();
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let mut scratch = Vec::new();
        if let Line::Record(r) = parser.parse_line(line, &mut scratch) {
            out.push(OwnedRecord {
                arch: record_arch(&r),
                arch_field: match r.arch {
                    ArchField::Audit(a) => format!("{a:x}"),
                    ArchField::Name(n) => String::from_utf8_lossy(n).into_owned(),
                },
                syscall: match r.syscall {
                    SyscallField::Number(n) => n.to_string(),
                    SyscallField::Name(n) => String::from_utf8_lossy(n).into_owned(),
                },
                compat: r.compat,
                action: r.action,
                code: r.code,
                pid: r.pid,
                comm: r.comm.map(|c| c.decode().into_owned()),
                comm_hex: matches!(r.comm, Some(Text::Hex(_))),
                exe: r.exe.map(|e| e.decode().into_owned()),
                uid: r.uid.map(|u| match u {
                    NumberOrName::Number(n) => n.to_string(),
                    NumberOrName::Name(n) => String::from_utf8_lossy(n).into_owned(),
                }),
                sig: r.sig.map(|s| match s {
                    NumberOrName::Number(n) => n.to_string(),
                    NumberOrName::Name(n) => String::from_utf8_lossy(n).into_owned(),
                }),
                stamp: r.stamp.map(|s| (s.secs, s.millis, s.serial)),
            });
        }
    }
    out
}

#[derive(Debug)]
struct OwnedRecord {
    arch: Option<Arch>,
    arch_field: String,
    syscall: String,
    compat: Option<bool>,
    action: SeccompAction,
    code: Option<u32>,
    pid: Option<u32>,
    comm: Option<Vec<u8>>,
    comm_hex: bool,
    exe: Option<Vec<u8>>,
    uid: Option<String>,
    sig: Option<String>,
    stamp: Option<(i64, u32, u64)>,
}

#[test]
fn every_field_of_every_shape() {
    for shape in SHAPES {
        let records = records_of(shape);
        let interpreted = shape == "ausearch-i.log";
        // The 32-bit x86 record of the first test program run in the file.
        let x86 = records
            .iter()
            .find(|r| r.compat == Some(true))
            .unwrap_or_else(|| panic!("{shape}: no compat record"));
        assert_eq!(x86.arch, Some(Arch::X86), "{shape}");
        assert_eq!(
            x86.arch_field,
            if interpreted { "i386" } else { "40000003" },
            "{shape}"
        );
        assert_eq!(
            x86.syscall,
            if interpreted { "getpid" } else { "20" },
            "{shape}"
        );
        assert_eq!(x86.action, SeccompAction::Log, "{shape}");
        assert_eq!(x86.code, (!interpreted).then_some(0x7ffc0000), "{shape}");
        assert_eq!(x86.comm.as_deref(), Some(&b"logchild"[..]), "{shape}");
        assert_eq!(
            x86.exe.as_deref(),
            Some(&b"/tmp/cap/logchild"[..]),
            "{shape}"
        );
        assert_eq!(
            x86.uid.as_deref(),
            Some(if interpreted { "root" } else { "0" }),
            "{shape}"
        );
        assert_eq!(
            x86.sig.as_deref(),
            Some(if interpreted { "SIG0" } else { "0" }),
            "{shape}"
        );
        assert!(x86.pid.is_some(), "{shape}");
        let bare = shape.starts_with("journal-short");
        if !bare {
            assert!(x86.stamp.is_some(), "{shape}: no stamp");
        }
        // x32: the number keeps bit 0x40000000 on arch c000003e.
        let x32 = records
            .iter()
            .find(|r| r.arch == Some(Arch::X32))
            .unwrap_or_else(|| panic!("{shape}: no x32 record"));
        assert_eq!(x32.syscall, "1073741863", "{shape}");
        assert_eq!(Arch::X32.table().name(1073741863), Some("getpid"));
        assert_eq!(
            x32.arch_field,
            if interpreted { "x86_64" } else { "c000003e" },
            "{shape}"
        );
    }
}

#[test]
fn kernel_line_exact_fields() {
    let records = records_of("dmesg.log");
    let r = &records[2];
    assert_eq!(r.pid, Some(19884));
    assert_eq!(r.stamp, Some((1795441404, 826, 4)));
    assert_eq!(r.compat, Some(true));
    // The kill record carries the signal.
    let kill = records
        .iter()
        .find(|r| r.action == SeccompAction::KillProcess)
        .unwrap();
    assert_eq!(kill.sig.as_deref(), Some("31"));
    assert_eq!(kill.code, Some(0x80000000));
    // Every action the kernel logs.
    let actions: BTreeSet<SeccompAction> = records.iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        BTreeSet::from([
            SeccompAction::KillProcess,
            SeccompAction::KillThread,
            SeccompAction::Trap,
            SeccompAction::Errno,
            SeccompAction::UserNotif,
            SeccompAction::Trace,
            SeccompAction::Log
        ])
    );
}

#[test]
fn hex_encoded_comm_and_exe() {
    for shape in [
        "dmesg.log",
        "audit-enriched.log",
        "journal.json",
        "ausearch-i.log",
    ] {
        let records = records_of(shape);
        let r = records
            .iter()
            .find(|r| r.comm.as_deref() == Some(&b"my comm"[..]))
            .unwrap_or_else(|| panic!("{shape}: no 'my comm' record"));
        assert_eq!(r.exe.as_deref(), Some(&b"/tmp/cap/my prog"[..]), "{shape}");
        assert_eq!(r.comm_hex, shape != "ausearch-i.log", "{shape}");
    }
}

#[test]
fn journald_json_takes_stamp_from_audit_fields() {
    let records = records_of("journal.json");
    let audit_copy = records
        .iter()
        .find(|r| r.stamp == Some((1795441431, 770, 53)));
    assert!(audit_copy.is_some(), "{records:?}");
}

#[test]
fn mixed_shapes_in_one_input_with_compression() {
    let dir = temp_dir();
    let mut all = Vec::new();
    for shape in SHAPES {
        all.extend(fs::read(data(shape)).unwrap());
    }
    let gz = dir.path().join("mixed.log.1.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&all).unwrap();
    fs::write(&gz, enc.finish().unwrap()).unwrap();
    let zst = dir.path().join("mixed.log.2"); // no extension: told by content
    fs::write(&zst, zstd::encode_all(&all[..], 1).unwrap()).unwrap();
    for file in [&gz, &zst] {
        let out = logs(&[file.to_str().unwrap()]);
        assert_eq!(names(&out), set(&TEST_PROGRAM_SYSCALLS));
        assert!(stderr(&out).contains(", 0 unparseable"), "{}", stderr(&out));
    }
    let out = logs_stdin(&["-"], &all);
    assert_eq!(names(&out), set(&TEST_PROGRAM_SYSCALLS));
}

#[test]
fn corrupt_compressed_input_is_an_error() {
    let dir = temp_dir();
    let path = dir.path().join("bad.gz");
    fs::write(&path, b"\x1f\x8b\x08\x00garbage-not-deflate").unwrap();
    let out = logs(&[path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("compressed with gzip"),
        "{}",
        stderr(&out)
    );
}

const GOOD: &str = "audit: type=1326 audit(1795441404.826:2): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=19884 comm=\"logchild\" exe=\"/tmp/cap/logchild\" sig=0 arch=c000003e syscall=110 compat=0 ip=0x4313a9 code=0x7ffc0000";

#[test]
fn binary_garbage_is_skipped() {
    let mut input: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    input.extend_from_slice(b"\n");
    input.extend_from_slice(GOOD.as_bytes());
    input.extend_from_slice(b"\n\0\0\0\xff\xfe type=1326 \x01\n");
    let out = logs_stdin(&[], &input);
    assert_eq!(names(&out), set(&["getppid"]));
}

#[test]
fn truncated_lines_are_counted_not_used() {
    let cut = &GOOD[..GOOD.find(" compat=").unwrap()];
    let cut_quote = &GOOD[..GOOD.find("logchild").unwrap() + 3];
    let input = format!("{GOOD}\n{cut}\n{cut_quote}\n");
    let out = logs_stdin(&[], input.as_bytes());
    assert_eq!(names(&out), set(&["getppid"]));
    let err = stderr(&out);
    assert!(err.contains("3 seccomp records: 1 used"), "{err}");
    assert!(
        err.contains("unparseable: 1 truncated (no code= field)"),
        "{err}"
    );
    assert!(err.contains("unparseable: 1 no arch= field"), "{err}");
}

#[test]
fn multi_megabyte_lines_are_skipped() {
    let mut input = Vec::new();
    input.extend_from_slice(b"audit: type=1326 audit(1.0:1): arch=c000003e ");
    input.resize(3 << 20, b'x');
    input.push(b'\n');
    input.extend(std::iter::repeat_n(b'y', 5 << 20));
    input.push(b'\n');
    input.extend_from_slice(GOOD.as_bytes());
    input.push(b'\n');
    let out = logs_stdin(&[], &input);
    assert_eq!(names(&out), set(&["getppid"]));
    let err = stderr(&out);
    assert!(err.contains("read 3 lines (8.0 MiB)"), "{err}");
    assert!(err.contains("unparseable: 1 line too long"), "{err}");
    assert!(err.contains("skipped 1 over-long lines"), "{err}");
}

#[test]
fn invalid_utf8_and_crlf() {
    let (head, tail) = GOOD.split_at(GOOD.find("child\"").unwrap());
    let mut input = head.as_bytes().to_vec();
    input.push(0xff);
    input.extend_from_slice(tail.as_bytes());
    input.extend_from_slice(b"\r\n");
    input.extend_from_slice(GOOD.replace("syscall=110", "syscall=102").as_bytes());
    input.extend_from_slice(b"\r\n");
    let out = logs_stdin(&[], &input);
    assert_eq!(names(&out), set(&["getppid", "getuid"]));
    assert!(stderr(&out).contains("0 unparseable"), "{}", stderr(&out));
}

#[test]
fn filters() {
    let dmesg = data("dmesg.log");
    let dmesg = dmesg.to_str().unwrap();
    // The hex-encoded comm and exe of the second program.
    let out = logs(&[dmesg, "--comm", "my comm", "--exe", "/tmp/cap/my prog"]);
    assert_eq!(names(&out), set(&TEST_PROGRAM_SYSCALLS));
    assert!(stderr(&out).contains("5 used"), "{}", stderr(&out));
    let out = logs(&[dmesg, "--pid", "20197", "--pid", "20199"]);
    assert_eq!(names(&out), set(&["getppid"]));
    assert!(
        stderr(&out).contains("2 used (kill_process 1, errno 1)"),
        "{}",
        stderr(&out)
    );
    let out = logs(&[dmesg, "--action", "errno,kill"]);
    assert!(
        stderr(&out).contains("3 used (kill_process 1, kill_thread 1, errno 1)"),
        "{}",
        stderr(&out)
    );
    let out = logs(&[
        dmesg,
        "--exclude-comm",
        "logchild",
        "--exclude-comm",
        "my comm",
    ]);
    assert_eq!(names(&out), set(&["getppid"]));
    // Stamps run from 1795441404.826 to 1795441415.286.
    let out = logs(&[dmesg, "--since", "@1795441412", "--until", "@1795441413"]);
    assert!(stderr(&out).contains("4 used"), "{}", stderr(&out));
    let out = logs(&[dmesg, "--since", "2026-11-23T13:43:35Z"]);
    assert!(
        stderr(&out).contains("1 used (user_notif 1)"),
        "{}",
        stderr(&out)
    );
    // journald's audit[PID] text form has only the prefix's time.
    let short = data("journal-short-iso.log");
    let out = logs(&[
        short.to_str().unwrap(),
        "--since",
        "2026-11-23T13:43:51Z",
        "--until",
        "@1795441431",
    ]);
    // Each record is there twice (kernel and journald copies): counted once.
    assert!(
        stderr(&out).contains(
            "11 used (kill_process 1, log 10), 0 filtered out, 0 unparseable, 11 duplicates"
        ),
        "{}",
        stderr(&out)
    );
    let mono = data("journal-short-monotonic.log");
    let out = logs(&[mono.to_str().unwrap(), "--since", "@1000"]);
    assert!(stderr(&out).contains("11 used"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("11 no time stamp to compare"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn container_filter_with_exited_pids_is_a_clear_error() {
    let out = logs(&[data("dmesg.log").to_str().unwrap(), "--container", "4f6c9a"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--container 4f6c9a: the processes of all 16 records have exited"),
        "{err}"
    );
}

#[test]
fn rate_limit_evidence_warns_with_the_fix() {
    let mut input = fs::read(data("ratelimit.log")).unwrap();
    input.extend_from_slice(GOOD.as_bytes());
    input.extend_from_slice(b"\n[ 1.0] audit: backlog limit exceeded\n[ 1.1] audit: audit_lost=3 audit_rate_limit=0 audit_backlog_limit=64\n");
    let out = logs_stdin(&[], &input);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("records were lost, the profile may be incomplete"),
        "{err}"
    );
    assert!(
        err.contains("dropped 40 audit lines") && err.contains("audit_lost=3"),
        "{err}"
    );
    assert!(
        err.contains("--source audit") && err.contains("auditd"),
        "{err}"
    );
}

#[test]
fn bad_arguments_and_inputs_are_one_line_errors() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["/nonexistent/audit.log"],
            "recorder: cannot open /nonexistent/audit.log",
        ),
        (
            &["--duration", "10s", "-"],
            "--duration applies to live sources",
        ),
        (
            &["--since", "last tuesday", "-"],
            "--since \"last tuesday\" is neither a duration",
        ),
        (&["--action", "explode", "-"], "unknown action \"explode\""),
        (&["/dev/null"], "no seccomp record was used"),
    ];
    for (args, want) in cases {
        let out = logs(args);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn writes_the_profile_atomically_to_a_file() {
    let dir = temp_dir();
    let path = dir.path().join("p.json");
    let out = logs(&[
        data("kmsg.log").to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let profile = fs::read_to_string(&path).unwrap();
    assert_eq!(allowed_names(&profile), set(&TEST_PROGRAM_SYSCALLS));
    assert!(stderr(&out).contains("wrote"), "{}", stderr(&out));
}

#[test]
fn follow_survives_rotation_and_stops_after_duration() {
    let dir = temp_dir();
    let log = dir.path().join("kern.log");
    fs::write(
        &log,
        format!("{}\n", GOOD.replace("syscall=110", "syscall=0")),
    )
    .unwrap();
    let mut child = recorder()
        .args([
            "logs",
            "--follow",
            log.to_str().unwrap(),
            "--duration",
            "3s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Appends start once the recorder says it is following (it has opened
    // the file and moved to its end), however long it took to start.
    let mut child_stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut child_stderr, &mut first).unwrap();
    assert!(first.contains("following"), "{first}");
    let append = |text: &str| {
        let mut f = fs::OpenOptions::new().append(true).open(&log).unwrap();
        // Written in two parts: a line split across reads.
        let (a, b) = text.split_at(40);
        f.write_all(a.as_bytes()).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(250));
        f.write_all(b.as_bytes()).unwrap();
    };
    append(&format!("{GOOD}\n"));
    std::thread::sleep(Duration::from_millis(300));
    fs::rename(&log, dir.path().join("kern.log.1")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    fs::write(
        &log,
        format!("{}\n", GOOD.replace("syscall=110", "syscall=102")),
    )
    .unwrap();
    let mut out = child.wait_with_output().unwrap();
    std::io::Read::read_to_end(&mut child_stderr, &mut out.stderr).unwrap();
    // syscall 0 (read) was in the file before following started.
    assert_eq!(names(&out), set(&["getppid", "getuid"]), "{}", stderr(&out));
}

#[test]
fn profile_flags_shared_with_record() {
    // Only native records: observed lists x86_64 alone, docker adds x86 and x32.
    let kmsg = data("kmsg.log");
    let kmsg = kmsg.to_str().unwrap();
    let args = [
        kmsg,
        "--exclude-comm",
        "logchild",
        "--exclude-comm",
        "my comm",
    ];
    let out = logs(&args);
    assert_eq!(
        architectures(&String::from_utf8_lossy(&out.stdout)),
        ["SCMP_ARCH_X86_64"]
    );
    let out = logs(&[&args[..], &["--arch-policy", "docker"]].concat());
    assert_eq!(
        architectures(&String::from_utf8_lossy(&out.stdout)),
        ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]
    );
    let out = logs(&[kmsg, "--format", "crd", "--name", "app"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("kind: SeccompProfile") && text.contains("name: app"),
        "{text}"
    );
}

/// printk's rate limit of this host: (burst, interval in seconds).
fn printk_rate_limit() -> (u64, u64) {
    let read = |name: &str| -> u64 {
        let path = format!("/proc/sys/kernel/{name}");
        fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {path}: {e}"))
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let limit = (read("printk_ratelimit_burst"), read("printk_ratelimit"));
    assert!(
        limit.0 > 1 && limit.1 > 0,
        "printk rate limiting is off or odd here ({limit:?}); restore kernel.printk_ratelimit_burst=10 and kernel.printk_ratelimit=5"
    );
    limit
}

/// One record of pid 300 at `secs.ms`, as the kernel log or auditd has it.
fn record_line(kernel_log: bool, secs: u64, ms: u64, serial: u64) -> String {
    let fields = "auid=4294967295 uid=0 gid=0 ses=4294967295 pid=300 comm=\"tar\" exe=\"/usr/bin/tar\" sig=0 arch=c000003e syscall=39 compat=0 ip=0x1 code=0x7ffc0000";
    if kernel_log {
        format!("[  930.{serial:06}] audit: type=1326 audit({secs}.{ms:03}:{serial}): {fields}\n")
    } else {
        format!("type=SECCOMP msg=audit({secs}.{ms:03}:{serial}): {fields}\n")
    }
}

/// printk passes `burst` lines per interval and drops the rest; the
/// "callbacks suppressed" line comes only with the next line after the
/// interval, so a log can end right at the burst with no sign of loss but
/// the count. auditd's records are not rate limited.
#[test]
fn kernel_log_at_printk_burst_warns() {
    let (burst, interval) = printk_rate_limit();
    let at_burst: String = (0..burst)
        .map(|i| record_line(true, 1795441404, 100 + i, 10 + i))
        .collect();
    let out = logs_stdin(&[], at_burst.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let warning = format!(
        "recorder: warning: records may have been dropped: {burst} of the kernel log's seccomp records fall within {interval} s, at or near printk's limit of {burst} per {interval} s (kernel.printk_ratelimit_burst, kernel.printk_ratelimit), past which it drops them without a trace. Record with `recorder logs --source audit`, or with auditd running (records in /var/log/audit/audit.log)"
    );
    assert!(
        stderr(&out).lines().any(|l| l == warning),
        "{}",
        stderr(&out)
    );

    let as_auditd: String = (0..burst)
        .map(|i| record_line(false, 1795441404, 100 + i, 10 + i))
        .collect();
    let out = logs_stdin(&[], as_auditd.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("dropped"), "{}", stderr(&out));

    let spread: String = (0..burst)
        .map(|i| record_line(true, 1795441404 + i * (interval + 1), 100, 10 + i))
        .collect();
    let out = logs_stdin(&[], spread.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("dropped"), "{}", stderr(&out));
}

#[test]
fn summary_counts_read_in_the_singular() {
    let out = logs_stdin(&[], GOOD.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).lines().next(),
        Some(
            "recorder: read 1 line (203 B), 1 seccomp record: 1 used (log 1), 0 filtered out, 0 unparseable"
        ),
        "{}",
        stderr(&out)
    );
}
