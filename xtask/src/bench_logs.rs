//! `cargo xtask bench` part: `recorder logs` throughput against grep.
//!
//! Generates a log of at least 1 GiB in a temp dir, half of its lines
//! seccomp records in mixed shapes (dmesg, kmsg, auditd enriched, syslog,
//! journald text and JSON) and half other kernel and daemon lines, then
//! times `grep -c -E 'type=1326|type=SECCOMP'` and `recorder logs` on it, each
//! once after the file is in the page cache. Target: recorder at least half
//! of grep's throughput.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};

const TARGET_BYTES: u64 = 1 << 30;

/// Runs the benchmark with the given `recorder` binary and prints figures.
pub fn run(recorder_bin: &Path) -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    let log = dir.0.join("bench.log");
    let started = Instant::now();
    let (bytes, records) = generate(&log)?;
    println!(
        "logs bench: generated {:.0} MiB ({records} seccomp records) in {:.1}s",
        bytes as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );
    // Warm the page cache so both tools read from memory.
    let _ = fs::read(&log).map(drop);

    let started = Instant::now();
    let grep = Command::new("grep")
        .args(["-c", "-E", "type=1326|type=SECCOMP"])
        .arg(&log)
        .output()
        .context("running grep")?;
    let grep_secs = started.elapsed().as_secs_f64();
    let grep_count: u64 = String::from_utf8_lossy(&grep.stdout)
        .trim()
        .parse()
        .context("grep -c output")?;

    let started = Instant::now();
    let out = Command::new(recorder_bin)
        .args(["logs", "-o", "/dev/null"])
        .arg(&log)
        .output()
        .with_context(|| format!("running {}", recorder_bin.display()))?;
    let recorder_secs = started.elapsed().as_secs_f64();
    let summary = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("recorder logs failed: {summary}");
    }

    let mb = bytes as f64 / 1e6;
    let grep_rate = mb / grep_secs;
    let recorder_rate = mb / recorder_secs;
    let ratio = recorder_rate / grep_rate;
    println!("logs bench: grep -c -E: {grep_secs:.2}s, {grep_rate:.0} MB/s ({grep_count} lines)");
    println!("logs bench: recorder logs: {recorder_secs:.2}s, {recorder_rate:.0} MB/s");
    println!(
        "logs bench: {}",
        summary.lines().next().unwrap_or("(no summary)")
    );
    println!(
        "logs bench: ratio recorder/grep = {ratio:.2}x (target >= 0.50x){}",
        if ratio >= 0.5 { "" } else { "  BELOW TARGET" }
    );
    Ok(())
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
