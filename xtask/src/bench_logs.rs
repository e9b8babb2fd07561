//! `cargo xtask bench` part: `recorder logs` throughput against grep.
//!
//! Generates a log of at least 1 GiB in a temp dir, half of its lines
//! seccomp records in mixed shapes (dmesg, kmsg, auditd enriched, syslog,
//! journald text and JSON) and half other kernel and daemon lines, then
//! times `grep -c -E 'type=1326|type=SECCOMP'`, `recorder logs --threads 1`
//! and `recorder logs` (one parsing thread per CPU) on it from the page
//! cache, in turn, round after round: each round's ratios are taken side by
//! side, so that a machine whose speed drifts (other jobs) moves both sides
//! of a ratio alike. Reported: the median of each figure over the rounds.
//! Target: recorder at least half of grep's throughput on one thread.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::util::describe;

const TARGET_BYTES: u64 = 1 << 30;

/// Runs the benchmark with the given `recorder` binary, `rounds` times,
/// and prints figures.
pub fn run(recorder_bin: &Path, rounds: usize) -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    let log = dir.0.join("bench.log");
    let started = Instant::now();
    let (bytes, records) = generate(&log)?;
    println!(
        "logs bench: generated {:.0} MiB ({records} seccomp records) in {:.1}s",
        bytes as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );
    // Warm the page cache so that every tool reads from memory.
    let _ = fs::read(&log).map(drop);

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let mut grep = Command::new("grep");
    grep.args(["-c", "-E", "type=1326|type=SECCOMP"]).arg(&log);
    let recorder = |threads: usize| {
        let mut cmd = Command::new(recorder_bin);
        cmd.args(["logs", "--threads", &threads.to_string(), "-o", "/dev/null"])
            .arg(&log);
        cmd
    };
    let mut one = recorder(1);
    let mut all = recorder(threads);

    let mut rounds_taken = Vec::with_capacity(rounds);
    let mut summary = String::new();
    let mut grep_count = 0u64;
    for _ in 0..rounds.max(1) {
        let (grep_run, grep_out) = timed(&mut grep)?;
        grep_count = String::from_utf8_lossy(&grep_out.stdout)
            .trim()
            .parse()
            .context("grep -c output")?;
        let (one_run, out) = timed(&mut one)?;
        summary = String::from_utf8_lossy(&out.stderr).into_owned();
        let (all_run, _) = timed(&mut all)?;
        rounds_taken.push([grep_run, one_run, all_run]);
    }

    let mb = bytes as f64 / 1e6;
    let median_of = |f: &dyn Fn(&[Run; 3]) -> f64| median(rounds_taken.iter().map(f).collect());
    println!(
        "\n## `recorder logs` against `grep -c -E` on the 1 GiB log (median of {} rounds)\n",
        rounds_taken.len()
    );
    println!("| command | wall s | CPU s | MB/s | throughput x grep (per round) |");
    println!("|---|---:|---:|---:|---:|");
    for (i, name) in [
        "grep -c -E".to_string(),
        "recorder logs --threads 1".to_string(),
        format!("recorder logs --threads {threads}"),
    ]
    .iter()
    .enumerate()
    {
        let wall = median_of(&|r| r[i].wall);
        println!(
            "| {name} | {wall:.2} | {:.2} | {:.0} | {:.2} |",
            median_of(&|r| r[i].cpu),
            mb / wall,
            median_of(&|r| r[0].wall / r[i].wall),
        );
    }
    let one_ratio = median_of(&|r| r[0].wall / r[1].wall);
    println!(
        "\n{threads} threads against 1: {:.2}x the throughput for {:.2}x the CPU time",
        median_of(&|r| r[1].wall / r[2].wall),
        median_of(&|r| r[2].cpu / r[1].cpu),
    );
    println!("grep counted {grep_count} lines");
    println!(
        "recorder: {}",
        summary
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("recorder: "))
            .unwrap_or("(no summary)")
    );
    println!(
        "one thread: {one_ratio:.2}x grep (target >= 0.50x){}",
        if one_ratio >= 0.5 {
            ""
        } else {
            "  BELOW TARGET"
        }
    );
    Ok(())
}

/// One timed run of a command: wall and CPU (user + system) seconds.
#[derive(Clone, Copy)]
struct Run {
    wall: f64,
    cpu: f64,
}

/// Runs `cmd` to its end; fails when it fails.
fn timed(cmd: &mut Command) -> anyhow::Result<(Run, Output)> {
    let cpu_before = children_cpu();
    let started = Instant::now();
    let out = cmd.output().with_context(|| describe(cmd))?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = (children_cpu() - cpu_before).as_secs_f64();
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            describe(cmd),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((Run { wall, cpu }, out))
}

/// User and system time of this process's waited-for children so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage(2) writes into the struct it is given, nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Writes the log; returns its size and the number of seccomp records.
fn generate(path: &Path) -> anyhow::Result<(u64, u64)> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut bytes = 0u64;
    let mut records = 0u64;
    let mut serial = 1000u64;
    let mut line = String::with_capacity(1024);
    let mut i = 0u64;
    while bytes < TARGET_BYTES {
        line.clear();
        i += 1;
        let pid = 1000 + (i * 7919) % 60000;
        let nr = (i * 31) % 335;
        let secs = 1_795_441_404 + i / 1000;
        let ms = i % 1000;
        if i.is_multiple_of(2) {
            serial += 1;
            records += 1;
            let fields = format!(
                "auid=4294967295 uid=0 gid=0 ses=4294967295 pid={pid} comm=\"worker\" exe=\"/usr/bin/worker\" sig=0 arch=c000003e syscall={nr} compat=0 ip=0x7f3a4c2b1e4d code=0x7ffc0000"
            );
            match (i / 2) % 6 {
                0 => line.push_str(&format!(
                    "[{:>5}.{:06}] audit: type=1326 audit({secs}.{ms:03}:{serial}): {fields}\n",
                    i / 1000,
                    i % 1_000_000
                )),
                1 => line.push_str(&format!(
                    "5,{serial},{i},-;audit: type=1326 audit({secs}.{ms:03}:{serial}): {fields}\n"
                )),
                2 => line.push_str(&format!(
                    "type=SECCOMP msg=audit({secs}.{ms:03}:{serial}): {fields}\x1dAUID=\"unset\" UID=\"root\" GID=\"root\" ARCH=x86_64 SYSCALL=read\n"
                )),
                3 => line.push_str(&format!(
                    "Nov 23 13:44:15 host kernel: [{:>5}.{:06}] audit: type=1326 audit({secs}.{ms:03}:{serial}): {fields}\n",
                    i / 1000,
                    i % 1_000_000
                )),
                4 => line.push_str(&format!(
                    "Nov 23 13:43:51 host audit[{pid}]: SECCOMP {fields}\n"
                )),
                _ => line.push_str(&format!(
                    "{{\"_TRANSPORT\":\"audit\",\"_AUDIT_TYPE\":\"1326\",\"_AUDIT_ID\":\"{serial}\",\"_SOURCE_REALTIME_TIMESTAMP\":\"{secs}{ms:03}000\",\"MESSAGE\":\"SECCOMP {}\"}}\n",
                    fields.replace('"', "\\\"")
                )),
            }
        } else {
            match (i / 2) % 4 {
                0 => line.push_str(&format!(
                    "[{:>5}.{:06}] EXT4-fs (vda1): mounted filesystem {pid:08x}-0000-0000-0000-000000000000 r/w with ordered data mode. Quota mode: none.\n",
                    i / 1000,
                    i % 1_000_000
                )),
                1 => line.push_str(&format!(
                    "Nov 23 13:44:15 host sshd[{pid}]: Accepted publickey for deploy from 192.0.2.{} port {} ssh2: ED25519 SHA256:abcdefghijklmnop\n",
                    i % 250,
                    20000 + i % 40000
                )),
                2 => line.push_str(&format!(
                    "type=SYSCALL msg=audit({secs}.{ms:03}:{serial}): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=1 pid={pid} comm=\"sh\"\n"
                )),
                _ => line.push_str(&format!(
                    "Nov 23 13:44:15 host containerd[{pid}]: time=\"2026-11-23T13:44:15Z\" level=info msg=\"loading plugin\" id=io.containerd.snapshotter.v1.overlayfs n={i}\n"
                )),
            }
        }
        out.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
    }
    out.flush()?;
    Ok((bytes, records))
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("recorder-bench-logs-{}", std::process::id()));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
