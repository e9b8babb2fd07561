//! `cargo xtask bench --only daemon`: what `recorder daemon` costs and how
//! fast it keeps up, with real runc containers (a static busybox rootfs):
//!
//! - the cost per syscall to a host process while the daemon runs with
//!   nothing to record, from the kernel's accounting (bpf_stats), against
//!   an empty program on the same hook measured in the same run;
//! - containers per second, start to recorded: containers started 10 at a
//!   time, until the daemon has written every one, against the same starts
//!   with no daemon;
//! - its CPU over 60 s with 50 containers running and nothing happening;
//! - its resident memory with 1,000 containers recorded at once.

use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};

use crate::bench::{Bench, BpfStats};
use crate::util::describe;

/// Containers started for the throughput figure, and how many at once.
const THROUGHPUT: usize = 100;
const AT_ONCE: usize = 10;
/// Containers running while the idle CPU is measured, and for how long.
const IDLE_CONTAINERS: usize = 50;
const IDLE: Duration = Duration::from_secs(60);
/// Containers recorded at once for the memory figure.
const MANY: usize = 1000;

pub fn run(bench: &Bench, dir: &Path) -> anyhow::Result<()> {
    let dir = dir.join("daemon");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    fs::create_dir_all(&dir)?;
    let rootfs = busybox_rootfs(&dir)?;
    let runc = Runc {
        dir: dir.clone(),
        rootfs,
    };
    let daemon = Daemon::start(&bench.recorder, &dir)?;

    // Syscalls of a host process, nothing to record.
    let (with_daemon, empty) = {
        let _stats = BpfStats::enable()?;
        let before = daemon.program()?;
        for _ in 0..bench.args.runs {
            bench.bare_loop()?;
        }
        let after = daemon.program()?;
        let ours = (after.0 - before.0) / (after.1 - before.1).max(1.0);
        let mut empty_ns = 0.0;
        let mut empty_runs = 0.0;
        for _ in 0..bench.args.runs {
            let (_, rt) = bench.with_empty_program(|| bench.bare_loop())?;
            empty_ns += rt.ns as f64;
            empty_runs += rt.count as f64;
        }
        (ours, empty_ns / empty_runs.max(1.0))
    };

    // Throughput: starts alone, then with the daemon recording.
    let alone_daemon_off = {
        drop(daemon);
        let started = Instant::now();
        runc.run_batches("alone", THROUGHPUT)?;
        started.elapsed()
    };
    let daemon = Daemon::start(&bench.recorder, &dir)?;
    let started = Instant::now();
    runc.run_batches("recorded", THROUGHPUT)?;
    daemon.wait_written("recorded", THROUGHPUT)?;
    let with_daemon_on = started.elapsed();

    // Idle with containers running.
    let idle = runc.start_detached("idle", IDLE_CONTAINERS)?;
    daemon.wait_recording("idle", IDLE_CONTAINERS)?;
    let cpu_before = daemon.cpu_ticks()?;
    std::thread::sleep(IDLE);
    let cpu_after = daemon.cpu_ticks()?;
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let idle_cpu = (cpu_after - cpu_before) as f64 / ticks_per_second / IDLE.as_secs_f64();
    let rss_50 = daemon.rss_kib()?;
    drop(idle);

    // Memory with many recorded at once.
    let many = runc.start_detached("many", MANY)?;
    daemon.wait_recording("many", MANY)?;
    daemon.flush()?;
    let rss_many = daemon.rss_kib()?;
    drop(many);

    println!("\n## recorder daemon\n");
    println!("| figure | value | against | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| host process, daemon with nothing to record: ns/run (bpf_stats) | {with_daemon:.1} | empty program {empty:.1} | {:.2}x |",
        with_daemon / empty
    );
    let per_second = |d: Duration| THROUGHPUT as f64 / d.as_secs_f64();
    println!(
        "| containers/s, started {AT_ONCE} at a time, to recorded and written | {:.1} | runc alone {:.1} | {:.2} |",
        per_second(with_daemon_on),
        per_second(alone_daemon_off),
        per_second(with_daemon_on) / per_second(alone_daemon_off)
    );
    println!(
        "| CPU over {} s idle, {IDLE_CONTAINERS} containers running | {:.3}% of one core | target 0.5% | |",
        IDLE.as_secs(),
        idle_cpu * 100.0
    );
    println!(
        "| RSS, {IDLE_CONTAINERS} containers recorded | {:.1} MiB | | |",
        rss_50 as f64 / 1024.0
    );
    println!(
        "| RSS, {MANY} containers recorded | {:.1} MiB | target 50 MiB | |",
        rss_many as f64 / 1024.0
    );
    Ok(())
}

/// A static busybox root filesystem: /bin/busybox and a link per applet.
fn busybox_rootfs(dir: &Path) -> anyhow::Result<PathBuf> {
    let rootfs = dir.join("rootfs");
    let bin = rootfs.join("bin");
    fs::create_dir_all(&bin)?;
    for d in ["proc", "dev", "sys", "tmp", "etc", "root"] {
        fs::create_dir_all(rootfs.join(d))?;
    }
    fs::copy("/bin/busybox", bin.join("busybox"))
        .context("copying /bin/busybox (install busybox-static)")?;
    let list = Command::new("/bin/busybox").arg("--list").output()?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", bin.join(applet))?;
        }
    }
    Ok(rootfs)
}

/// runc containers on one rootfs.
struct Runc {
    dir: PathBuf,
    rootfs: PathBuf,
}

impl Runc {
    /// A bundle running `args`, in cgroup /recorder-bench/<id>.
    fn bundle(&self, id: &str, args: &[&str]) -> anyhow::Result<PathBuf> {
        let bundle = self.dir.join(format!("bundle-{id}"));
        fs::create_dir_all(&bundle)?;
        let spec = Command::new("runc")
            .arg("spec")
            .current_dir(&bundle)
            .output()
            .context("runc spec (install runc)")?;
        if !spec.status.success() {
            bail!("runc spec failed");
        }
        let path = bundle.join("config.json");
        let mut config: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path)?)?;
        config["root"] = serde_json::json!({ "path": self.rootfs, "readonly": true });
        config["process"]["terminal"] = serde_json::json!(false);
        config["process"]["args"] = serde_json::json!(args);
        config["linux"]["cgroupsPath"] = serde_json::json!(format!("/recorder-bench/{id}"));
        fs::write(&path, serde_json::to_vec(&config)?)?;
        Ok(bundle)
    }

    /// `count` containers running `uname`, each in the foreground,
    /// `AT_ONCE` at a time.
    fn run_batches(&self, label: &str, count: usize) -> anyhow::Result<()> {
        let ids: Vec<String> = (0..count).map(|i| format!("bench-{label}-{i}")).collect();
        in_batches(&ids, |id| {
            let bundle = self.bundle(id, &["sh", "-c", "uname > /dev/null"])?;
            Ok(runc(&["run", "--bundle"], &bundle, id))
        })
    }

    /// `count` long-lived containers (`sleep 600`), started detached,
    /// `AT_ONCE` at a time; deleted when the returned guard drops.
    fn start_detached(&self, label: &str, count: usize) -> anyhow::Result<Detached> {
        let ids: Vec<String> = (0..count).map(|i| format!("bench-{label}-{i}")).collect();
        let detached = Detached { ids: ids.clone() };
        in_batches(&ids, |id| {
            let bundle = self.bundle(id, &["sleep", "600"])?;
            Ok(runc(&["run", "-d", "--bundle"], &bundle, id))
        })?;
        Ok(detached)
    }
}

/// `runc <args> <bundle> <id>`, quiet.
fn runc(args: &[&str], bundle: &Path, id: &str) -> Command {
    let mut cmd = Command::new("runc");
    cmd.args(args)
        .arg(bundle)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Runs the command `make` gives for each id, `AT_ONCE` at a time.
fn in_batches(
    ids: &[String],
    mut make: impl FnMut(&str) -> anyhow::Result<Command>,
) -> anyhow::Result<()> {
    for batch in ids.chunks(AT_ONCE) {
        let mut children = Vec::new();
        for id in batch {
            let mut cmd = make(id)?;
            children.push(cmd.spawn().with_context(|| describe(&cmd))?);
        }
        for mut child in children {
            child.wait()?;
        }
    }
    Ok(())
}

/// Detached containers, deleted on drop.
struct Detached {
    ids: Vec<String>,
}

impl Drop for Detached {
    fn drop(&mut self) {
        let _ = in_batches(&self.ids, |id| {
            let mut cmd = Command::new("runc");
            cmd.args(["delete", "-f", id])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            Ok(cmd)
        });
    }
}

/// A `recorder daemon` for the bench, stopped on drop.
struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    fn start(recorder: &Path, dir: &Path) -> anyhow::Result<Daemon> {
        let socket = dir.join("api/recorder.sock");
        let ready = dir.join("ready");
        let _ = fs::remove_file(&ready);
        let mut cmd = Command::new(recorder);
        cmd.arg("daemon")
            .arg("--output")
            .arg(dir.join("profiles"))
            .arg("--socket")
            .arg(&socket)
            .arg("--ready-file")
            .arg(&ready)
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("daemon.log"))?);
        let child = cmd.spawn().with_context(|| describe(&cmd))?;
        let started = Instant::now();
        while !ready.exists() {
            if started.elapsed() > Duration::from_secs(30) {
                bail!(
                    "the daemon did not get ready (see {})",
                    dir.join("daemon.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Daemon { child, socket })
    }

    fn get(&self, method: &str, path: &str) -> anyhow::Result<String> {
        let mut stream = UnixStream::connect(&self.socket)?;
        write!(stream, "{method} {path} HTTP/1.0\r\nHost: x\r\n\r\n")?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default())
    }

    /// The program's run time (ns) and runs, from the metrics.
    fn program(&self) -> anyhow::Result<(f64, f64)> {
        let text = self.get("GET", "/metrics")?;
        let value = |name: &str| -> anyhow::Result<f64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .ok_or_else(|| anyhow!("no {name} in the daemon's metrics (is bpf_stats on?)"))
        };
        Ok((
            value("recorder_program_run_seconds_total")? * 1e9,
            value("recorder_program_runs_total")?,
        ))
    }

    fn recordings(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        Ok(serde_json::from_str(&self.get("GET", "/v1/recordings")?)?)
    }

    fn count(&self, label: &str, state: &str) -> anyhow::Result<usize> {
        let prefix = format!("bench-{label}-");
        Ok(self
            .recordings()?
            .iter()
            .filter(|r| r["id"].as_str().is_some_and(|id| id.starts_with(&prefix)))
            .filter(|r| r["state"] == state)
            .count())
    }

    fn wait_for(&self, label: &str, state: &str, count: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let n = self.count(label, state)?;
            if n >= count {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(300) {
                bail!("only {n} of {count} {label} containers {state}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_written(&self, label: &str, count: usize) -> anyhow::Result<()> {
        self.wait_for(label, "written", count)
    }

    fn wait_recording(&self, label: &str, count: usize) -> anyhow::Result<()> {
        self.wait_for(label, "recording", count)
    }

    fn flush(&self) -> anyhow::Result<()> {
        self.get("POST", "/v1/flush").map(|_| ())
    }

    /// utime + stime of the daemon, in clock ticks.
    fn cpu_ticks(&self) -> anyhow::Result<u64> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        let after = &stat[stat.rfind(')').ok_or_else(|| anyhow!("bad stat"))? + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 and 15 of stat; `after` starts at field 3.
        Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
    }

    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow!("no VmRSS"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
