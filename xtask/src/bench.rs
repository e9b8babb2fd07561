//! `cargo xtask bench`: what recording costs, side by side in one run.
//!
//! A small C program makes N `getppid()` calls and prints the mean ns per
//! call, timed inside the program (vDSO clock, no syscalls), so start-up of
//! the tools around it is not counted. Every case is pinned to one CPU: this
//! VM's timings wander otherwise. Each case runs several times; the median
//! is reported. The kernel's own per-program accounting
//! (`kernel.bpf_stats_enabled`) is far less noisy than wall time and is
//! reported for our program and for an empty program on the same hook.
//!
//! The report opens with the machine (CPU, mitigations: [`Machine`]), then
//! each part: `--only` runs one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use aya::programs::{BtfTracePoint, RawTracePoint, TracePoint};
use aya::{Btf, Ebpf};

use crate::bench_machine::Machine;
use crate::util::{cargo, describe, exec, is_root, workspace_root};

#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// getppid() calls per run (strace gets a twentieth of it: it is slow).
    #[arg(long, default_value_t = 5_000_000)]
    syscalls: u64,
    /// Runs per case; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub(crate) runs: usize,
    /// The CPU every case is pinned to.
    #[arg(long, default_value_t = 1)]
    cpu: usize,
    /// Run only one part.
    #[arg(long, value_enum)]
    only: Option<Part>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// Cost per syscall, kernel run time, start-up.
    Syscalls,
    /// Only the kernel run time (bpf_stats) on every hook and the warm
    /// paths' calls: the quick check of a change to the eBPF program.
    Kernel,
    /// `recorder logs` against grep on a generated 1 GiB log.
    Logs,
    /// `recorder daemon`: its cost to host processes, containers per
    /// second, idle CPU and memory, with real runc containers.
    Daemon,
    /// `record --args` against name-only recording, on a getppid loop and
    /// an ioctl loop.
    Args,
}

const LOOP_SOURCE: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <string.h>
#include <sys/ioctl.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    /* "ioctl": FIONREAD on a pipe, a syscall whose argument --args keeps. */
    int ioctls = argc > 2 && !strcmp(argv[2], "ioctl");
    int fds[2], pending;
    if (pipe(fds) != 0) return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (ioctls)
        for (long i = 0; i < n; i++) ioctl(fds[0], FIONREAD, &pending);
    else
        for (long i = 0; i < n; i++) syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("ns_per_syscall=%.2f\n", ns / n);
    return 0;
}
"#;

pub(crate) struct Bench {
    pub(crate) args: BenchArgs,
    pub(crate) recorder: PathBuf,
    looper: PathBuf,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if !is_root() {
        bail!("the benchmark loads eBPF programs: run `cargo xtask bench` as root");
    }
    crate::setup::run_for(&[crate::setup::Purpose::Bench])?;
    exec(cargo().args(["build", "--release", "--package", "recorder"]))?;
    let root = workspace_root();
    let dir = root.join("target").join("bench");
    fs::create_dir_all(&dir).context("creating target/bench")?;
    let src = dir.join("getppid_loop.c");
    fs::write(&src, LOOP_SOURCE)?;
    let looper = dir.join("getppid_loop");
    exec(
        Command::new("gcc")
            .args(["-O2", "-o"])
            .arg(&looper)
            .arg(&src),
    )?;
    let recorder = root.join("target/release/recorder");
    println!("{}", Machine::read());
    let only = args.only;
    if matches!(only, None | Some(Part::Logs)) {
        crate::bench_logs::run(&recorder, args.runs)?;
    }
    let bench = Bench {
        args,
        recorder,
        looper,
    };
    if matches!(only, None | Some(Part::Args)) {
        bench.args_costs()?;
    }
    if matches!(only, None | Some(Part::Syscalls)) {
        bench.syscall_costs()?;
    }
    if matches!(only, None | Some(Part::Syscalls | Part::Kernel)) {
        bench.kernel_run_times()?;
    }
    if matches!(only, None | Some(Part::Syscalls)) {
        bench.start_up_cost()?;
    }
    if matches!(only, None | Some(Part::Daemon)) {
        crate::bench_daemon::run(&bench, &dir)?;
    }
    Ok(())
}

/// Turns `kernel.bpf_stats_enabled` on and restores it on drop.
pub(crate) struct BpfStats {
    previous: String,
}

const BPF_STATS: &str = "/proc/sys/kernel/bpf_stats_enabled";

impl BpfStats {
    pub(crate) fn enable() -> anyhow::Result<BpfStats> {
        let previous = fs::read_to_string(BPF_STATS).context("reading bpf_stats_enabled")?;
        fs::write(BPF_STATS, "1").context("enabling bpf stats")?;
        Ok(BpfStats { previous })
    }
}

impl Drop for BpfStats {
    fn drop(&mut self) {
        let _ = fs::write(BPF_STATS, self.previous.trim());
    }
}

/// Mean kernel run time per invocation of a program.
#[derive(Clone, Copy, Default)]
pub(crate) struct RunTime {
    pub(crate) ns: u64,
    pub(crate) count: u64,
}

/// The hooks the program attaches to, as `record --attach` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hook {
    TpBtf,
    RawTp,
    Tracepoint,
}

impl Hook {
    const ALL: [Hook; 3] = [Hook::TpBtf, Hook::RawTp, Hook::Tracepoint];

    fn name(self) -> &'static str {
        match self {
            Hook::TpBtf => "tp-btf",
            Hook::RawTp => "raw-tp",
            Hook::Tracepoint => "tracepoint",
        }
    }

    /// The empty program on the same hook (recorder-ebpf/src/noop.rs).
    fn noop_program(self) -> &'static str {
        match self {
            Hook::TpBtf => "sys_enter_noop",
            Hook::RawTp => "sys_enter_noop_raw",
            Hook::Tracepoint => "sys_enter_noop_tp",
        }
    }
}

impl RunTime {
    fn add(&mut self, other: RunTime) {
        self.ns += other.ns;
        self.count += other.count;
    }

    fn per_call(self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.ns as f64 / self.count as f64
        }
    }
}

impl Bench {
    fn pinned(&self, program: &Path) -> Command {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", &self.args.cpu.to_string()]).arg(program);
        cmd
    }

    fn looper_args(&self, divisor: u64) -> Vec<String> {
        vec![(self.args.syscalls / divisor).max(1000).to_string()]
    }

    /// One pinned run of the loop on its own.
    pub(crate) fn bare_loop(&self) -> anyhow::Result<f64> {
        loop_result(self.pinned(&self.looper).args(self.looper_args(1)))
    }

    /// Runs `make` `runs` times and returns the median ns/syscall.
    fn median(
        &self,
        runs: usize,
        mut make: impl FnMut() -> anyhow::Result<f64>,
    ) -> anyhow::Result<f64> {
        let mut values = Vec::with_capacity(runs);
        for _ in 0..runs {
            values.push(make()?);
        }
        values.sort_by(f64::total_cmp);
        Ok(values[values.len() / 2])
    }

    fn syscall_costs(&self) -> anyhow::Result<()> {
        let runs = self.args.runs;
        eprintln!(
            "bench: {} getppid() per run, {runs} runs per case, pinned to CPU {}",
            self.args.syscalls, self.args.cpu
        );
        let bare = self.median(runs, || self.bare_loop())?;

        let recorded = self.median(runs, || {
            let mut cmd = self.pinned(&self.recorder);
            cmd.args(["record", "--quiet", "-o", "/dev/null", "--"])
                .arg(&self.looper)
                .args(self.looper_args(1));
            loop_result(&mut cmd)
        })?;

        let empty = self.median(runs, || {
            let (ns, _) = self.with_empty_program(|| self.bare_loop())?;
            Ok(ns)
        })?;

        let (other, _) = self.other_cgroup(runs, false)?;

        let bpftrace = self.median(runs.min(3), || {
            // bpftrace is pinned, and its child inherits the affinity.
            let inner = format!("{} {}", self.looper.display(), self.looper_args(1)[0]);
            let mut cmd = self.pinned(Path::new("bpftrace"));
            cmd.args([
                "-e",
                "tracepoint:raw_syscalls:sys_enter /pid == cpid/ { @[args->id] = count(); }",
                "-c",
                &inner,
            ]);
            loop_result(&mut cmd)
        })?;

        let strace = self.median(runs.min(3), || {
            let mut cmd = self.pinned(Path::new("strace"));
            cmd.args(["-f", "-o", "/dev/null"])
                .arg(&self.looper)
                .args(self.looper_args(20));
            loop_result(&mut cmd)
        })?;

        println!("\n## Cost per syscall (getppid, ns, median of runs)\n");
        println!("| case | ns/syscall | added vs bare | x bare |");
        println!("|---|---:|---:|---:|");
        for (name, value) in [
            ("bare", bare),
            ("recorder record (recorded)", recorded),
            ("empty BPF program, same hook", empty),
            ("other cgroup while recording", other),
            ("bpftrace, same job", bpftrace),
            ("strace -f", strace),
        ] {
            println!(
                "| {name} | {value:.1} | {:+.1} | {:.2} |",
                value - bare,
                value / bare
            );
        }
        let ratio_bpftrace = (recorded - bare) / (bpftrace - bare);
        println!(
            "\nrecorder's added cost / bpftrace's added cost: {ratio_bpftrace:.2} (target <= 0.70)"
        );
        println!(
            "recorder's added cost / strace's added cost: {:.4}",
            (recorded - bare) / (strace - bare)
        );

        Ok(())
    }

    /// `record --args` against name-only recording, side by side: the
    /// kernel program's run time per syscall (bpf_stats, runs interleaved
    /// so that drift hits both alike) and the loops' wall time, for a
    /// syscall `--args` does not capture (getppid: one more compare) and
    /// one it does (ioctl: a lookup in the recording's value set).
    fn args_costs(&self) -> anyhow::Result<()> {
        let runs = self.args.runs;
        println!("\n## --args against names only\n");
        println!("{}", machine());
        println!(
            "\n| loop | bare ns/syscall | names only: added | --args: added | bpf_stats ns/run, names only | bpf_stats ns/run, --args | --args / names only |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for syscall in ["getppid", "ioctl"] {
            let looper_args = || vec![self.looper_args(1)[0].clone(), syscall.to_string()];

            let recorded = |args: bool, stats: bool| -> anyhow::Result<(f64, RunTime)> {
                let mut cmd = self.pinned(&self.recorder);
                cmd.args(["record", "--quiet", "-o", "/dev/null"])
                    .args(args.then_some("--args"))
                    .args(stats.then_some("--bpf-stats"))
                    .arg("--")
                    .arg(&self.looper)
                    .args(looper_args());
                let out = cmd.output().with_context(|| describe(&cmd))?;
                if !out.status.success() {
                    bail!(
                        "{} failed: {}",
                        describe(&cmd),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                let ns = parse_loop(&String::from_utf8_lossy(&out.stdout))?;
                let rt = if stats {
                    parse_bpf_stats(&String::from_utf8_lossy(&out.stderr))?
                } else {
                    RunTime::default()
                };
                Ok((ns, rt))
            };
            // Interleaved, like the kernel figures below: this VM's wall
            // times drift by more than what is measured.
            let (mut bare, mut names_wall, mut args_wall) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..runs {
                bare.push(loop_result(self.pinned(&self.looper).args(looper_args()))?);
                names_wall.push(recorded(false, false)?.0);
                args_wall.push(recorded(true, false)?.0);
            }
            let (bare, names_wall, args_wall) =
                (median(bare), median(names_wall), median(args_wall));
            let _stats = BpfStats::enable()?;
            let (mut names_rt, mut args_rt) = (RunTime::default(), RunTime::default());
            for _ in 0..runs {
                for (args, total) in [(false, &mut names_rt), (true, &mut args_rt)] {
                    let (_, rt) = recorded(args, true)?;
                    total.ns += rt.ns;
                    total.count += rt.count;
                }
            }
            println!(
                "| {syscall} | {bare:.1} | {:+.1} | {:+.1} | {:.1} | {:.1} | {:.3} |",
                names_wall - bare,
                args_wall - bare,
                names_rt.per_call(),
                args_rt.per_call(),
                args_rt.per_call() / names_rt.per_call()
            );
        }
        println!("(target: getppid --args / names only <= 1.05)");
        Ok(())
    }

    /// The kernel's accounting per program run, with bpf stats on (which
    /// adds its own timing cost, so wall times above are taken with it off).
    /// bpf_stats of our program against the empty one on the same hook,
    /// for every hook: each run measures the empty program, a recorded
    /// process and another cgroup's process one right after the other, and
    /// the ratios are taken within the run (their median is reported), so
    /// that the machine's speed, which wanders in a VM by more than the
    /// differences measured here, touches each ratio's two sides alike.
    /// Then the calls on each warm path.
    fn kernel_run_times(&self) -> anyhow::Result<()> {
        let runs = self.args.runs.max(7);
        let _stats = BpfStats::enable()?;
        println!("\n## Kernel run time per invocation (bpf_stats), every hook\n");
        println!(
            "Medians of {runs} runs (the lowest and highest ratio in brackets); each run measures the three one after the other, and its ratios are its own.\n"
        );
        println!(
            "| hook | empty program, ns/run | recorded process, ns/run | x empty | process in another cgroup, ns/run | x empty |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        for hook in Hook::ALL {
            let (mut empty, mut recorded, mut other) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..runs {
                let (_, rt) = self.with_empty_program_on(hook, || self.bare_loop())?;
                empty.push(rt.per_call());
                let mut cmd = self.pinned(&self.recorder);
                cmd.args(["record", "--quiet", "--bpf-stats", "-o", "/dev/null"])
                    .args(["--attach", hook.name(), "--"])
                    .arg(&self.looper)
                    .args(self.looper_args(1));
                let out = cmd.output().with_context(|| describe(&cmd))?;
                recorded.push(parse_bpf_stats(&String::from_utf8_lossy(&out.stderr))?.per_call());
                other.push(self.other_cgroup_on(Some(hook), 1, true)?.1.per_call());
            }
            // The median ratio, with the lowest and highest runs' beside it.
            let ratios = |ours: &[f64]| {
                let mut r: Vec<f64> = ours.iter().zip(&empty).map(|(o, e)| o / e).collect();
                r.sort_by(f64::total_cmp);
                let (low, high) = (r[0], r[r.len() - 1]);
                format!("{:.2} ({low:.2}-{high:.2})", median(r))
            };
            println!(
                "| {} | {:.1} | {:.1} | {} | {:.1} | {} |",
                hook.name(),
                median(empty.clone()),
                median(recorded.clone()),
                ratios(&recorded),
                median(other.clone()),
                ratios(&other),
            );
        }
        println!(
            "(target: recorder <= 1.25x empty for a recorded process, <= 1.20x for others, on every hook)"
        );
        // The floor of a program that must ask for the current task: the
        // one call the recorded warm path makes (and a task the CPU does not
        // remember), and nothing else.
        let mut empty = RunTime::default();
        let mut one_call = RunTime::default();
        for _ in 0..runs {
            empty.add(
                self.with_empty_program_on(Hook::TpBtf, || self.bare_loop())?
                    .1,
            );
            one_call.add(
                self.with_program("sys_enter_noop_task", Hook::TpBtf, || self.bare_loop())?
                    .1,
            );
        }
        println!(
            "\nThe one call alone (bpf_get_current_task_btf, tp-btf, runs interleaved): {:.1} ns/run against the empty program's {:.1}, {:.2}x: the floor of any program that asks for the current task, as the recorded warm path does (its compat flag and namespaces).",
            one_call.per_call(),
            empty.per_call(),
            one_call.per_call() / empty.per_call()
        );
        let mut cmd = Command::new(&self.recorder);
        cmd.arg("debug-hot-path");
        let out = cmd.output().with_context(|| describe(&cmd))?;
        println!(
            "\n## Calls on each warm path (bpftool prog dump xlated; the same on every machine)\n"
        );
        println!("| hook | process in another cgroup | recorded process |");
        println!("|---|---:|---:|");
        for line in String::from_utf8_lossy(&out.stdout).lines().skip(1) {
            let cells: Vec<&str> = line.split('\t').collect();
            if let [hook, unrecorded, recorded] = cells[..] {
                println!("| {hook} | {unrecorded} | {recorded} |");
            }
        }
        if !out.status.success() {
            eprintln!(
                "bench: counting the hot path's calls failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// The cost to a process outside the recording while a recording runs,
    /// and the recorder program's run time on such unrecorded syscalls.
    fn other_cgroup(&self, runs: usize, stats: bool) -> anyhow::Result<(f64, RunTime)> {
        self.other_cgroup_on(None, runs, stats)
    }

    /// [`Self::other_cgroup`] with the program on `hook` (the best one for
    /// `None`).
    fn other_cgroup_on(
        &self,
        hook: Option<Hook>,
        runs: usize,
        stats: bool,
    ) -> anyhow::Result<(f64, RunTime)> {
        let recorder = Command::new(&self.recorder)
            .args(["record", "--quiet", "-o", "/dev/null"])
            .args(stats.then_some("--bpf-stats"))
            .args(hook.map(|h| format!("--attach={}", h.name())))
            .args(["--", "sleep", "3600"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting a background recording")?;
        wait_for_recording(&recorder)?;
        let result = self.median(runs, || self.bare_loop());
        let stats = stop_recording(recorder, stats);
        Ok((result?, stats?))
    }

    /// Attaches the empty program on tp_btf while `f` runs and returns its
    /// run time.
    pub(crate) fn with_empty_program<T>(
        &self,
        f: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<(T, RunTime)> {
        self.with_empty_program_on(Hook::TpBtf, f)
    }

    /// Attaches the empty program on `hook` while `f` runs and returns its
    /// run time.
    pub(crate) fn with_empty_program_on<T>(
        &self,
        hook: Hook,
        f: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<(T, RunTime)> {
        self.with_program(hook.noop_program(), hook, f)
    }

    /// Attaches program `name` of the noop object on `hook` while `f`
    /// runs and returns its run time.
    fn with_program<T>(
        &self,
        name: &str,
        hook: Hook,
        f: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<(T, RunTime)> {
        let object = find_noop_object()?;
        let mut ebpf =
            Ebpf::load_file(&object).with_context(|| format!("loading {}", object.display()))?;
        let program = ebpf
            .program_mut(name)
            .ok_or_else(|| anyhow!("{name} missing from {}", object.display()))?;
        match hook {
            Hook::TpBtf => {
                let btf = Btf::from_sys_fs().context("kernel BTF")?;
                let prog: &mut BtfTracePoint = program.try_into()?;
                prog.load("sys_enter", &btf)?;
                prog.attach()?;
            }
            Hook::RawTp => {
                let prog: &mut RawTracePoint = program.try_into()?;
                prog.load()?;
                prog.attach("sys_enter")?;
            }
            Hook::Tracepoint => {
                let prog: &mut TracePoint = program.try_into()?;
                prog.load()?;
                prog.attach("raw_syscalls", "sys_enter")?;
            }
        }
        let before = run_time(&ebpf, name)?;
        let value = f()?;
        let after = run_time(&ebpf, name)?;
        Ok((
            value,
            RunTime {
                ns: after.ns - before.ns,
                count: after.count - before.count,
            },
        ))
    }

    /// Wall time of `recorder record -- true` against `true`.
    fn start_up_cost(&self) -> anyhow::Result<()> {
        let runs = 20;
        let time = |cmd: &mut Command| -> anyhow::Result<Duration> {
            let mut total = Duration::ZERO;
            for _ in 0..runs {
                let start = Instant::now();
                let status = cmd.stdout(Stdio::null()).status()?;
                total += start.elapsed();
                if !status.success() {
                    bail!("{} failed", describe(cmd));
                }
            }
            Ok(total / runs)
        };
        let bare = time(&mut Command::new("true"))?;
        let recorded = time(Command::new(&self.recorder).args([
            "record",
            "--quiet",
            "-o",
            "/dev/null",
            "--",
            "true",
        ]))?;
        println!("\n## Wall time (mean of {runs})\n");
        println!("| command | ms |");
        println!("|---|---:|");
        println!("| true | {:.2} |", bare.as_secs_f64() * 1e3);
        println!(
            "| recorder record -- true | {:.2} |",
            recorded.as_secs_f64() * 1e3
        );
        Ok(())
    }
}

fn run_time(ebpf: &Ebpf, program: &str) -> anyhow::Result<RunTime> {
    let info = ebpf
        .program(program)
        .ok_or_else(|| anyhow!("program vanished"))?
        .info()?;
    Ok(RunTime {
        ns: info.run_time().as_nanos() as u64,
        count: info.run_count(),
    })
}

/// The empty program's object, built by recorder's build script.
fn find_noop_object() -> anyhow::Result<PathBuf> {
    let build = workspace_root().join("target/release/build");
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in fs::read_dir(&build).with_context(|| format!("reading {}", build.display()))? {
        let path = entry?.path().join("out").join("noop");
        if let Ok(meta) = fs::metadata(&path) {
            let modified = meta.modified()?;
            if newest.as_ref().is_none_or(|(t, _)| modified > *t) {
                newest = Some((modified, path));
            }
        }
    }
    newest.map(|(_, p)| p).ok_or_else(|| {
        anyhow!(
            "no noop eBPF object under {}: build recorder first",
            build.display()
        )
    })
}

fn loop_result(cmd: &mut Command) -> anyhow::Result<f64> {
    let out = cmd.output().with_context(|| describe(cmd))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            describe(cmd),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse_loop(&String::from_utf8_lossy(&out.stdout))
}

fn parse_loop(stdout: &str) -> anyhow::Result<f64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("ns_per_syscall="))
        .ok_or_else(|| anyhow!("no ns_per_syscall line in {stdout:?}"))?
        .trim()
        .parse()
        .context("parsing ns_per_syscall")
}

fn parse_bpf_stats(stderr: &str) -> anyhow::Result<RunTime> {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("bpf-stats: "))
        .ok_or_else(|| anyhow!("recorder printed no bpf-stats line: {stderr}"))?;
    let mut rt = RunTime::default();
    for field in line.split_whitespace() {
        if let Some(v) = field.strip_prefix("run_time_ns=") {
            rt.ns = v.parse()?;
        } else if let Some(v) = field.strip_prefix("run_count=") {
            rt.count = v.parse()?;
        }
    }
    Ok(rt)
}

/// Waits until the background recorder has created its cgroup (it attaches
/// the program before that).
fn wait_for_recording(child: &Child) -> anyhow::Result<()> {
    let dir = Path::new("/sys/fs/cgroup/unified/recorder").join(format!("rec-{}", child.id()));
    let alt = Path::new("/sys/fs/cgroup/recorder").join(format!("rec-{}", child.id()));
    let start = Instant::now();
    while !dir.exists() && !alt.exists() {
        if start.elapsed() > Duration::from_secs(30) {
            bail!("the background recording did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the child reach exec.
    std::thread::sleep(Duration::from_millis(200));
    Ok(())
}

fn stop_recording(child: Child, stats: bool) -> anyhow::Result<RunTime> {
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child
        .wait_with_output()
        .context("waiting for the background recording")?;
    if !stats {
        return Ok(RunTime::default());
    }
    parse_bpf_stats(&String::from_utf8_lossy(&out.stderr))
}

/// The CPU and the kernel's mitigations, on which these figures depend
/// (retpolines and SRSO's safe return make every call and return dearer).
fn machine() -> String {
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut text = format!("CPU: {model}; kernel {}", kernel.trim());
    for name in ["spectre_v2", "spec_rstack_overflow", "retbleed"] {
        let state = fs::read_to_string(format!("/sys/devices/system/cpu/vulnerabilities/{name}"))
            .unwrap_or_else(|_| "unknown".into());
        text.push_str(&format!("\n{name}: {}", state.trim()));
    }
    text
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
