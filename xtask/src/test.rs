//! `cargo xtask test`: the README's second command and what CI runs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::setup::EBPF_TOOLCHAIN;
use crate::util::{cargo, describe, exec, is_root, print_log_tail, workspace_root};

/// How long CI runs each fuzz target.
const FUZZ_SECONDS: u32 = 30;

pub fn run() -> anyhow::Result<()> {
    crate::setup::run_for(&[crate::setup::Purpose::Test, crate::setup::Purpose::Dist])?;
    exec(cargo().args(["fmt", "--all", "--", "--check"]))?;
    exec(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    // The release artefacts, checked by tests/dist.rs.
    let dist = crate::dist::build().context("dist")?;
    // --no-fail-fast: one failing suite must not hide the results of the others.
    let all = [
        "test",
        "--workspace",
        "--exclude",
        "recorder-ebpf",
        "--no-fail-fast",
    ];
    let counts = if is_root() {
        run_counted(cargo().args(all).env("RECORDER_DIST_DIR", &dist.dir))?
    } else {
        eprintln!(
            "\n*** SKIPPED: the end-to-end tests that load eBPF programs, create cgroups and \
             run containers need root. Only unit tests and the file-based tests run now; run \
             `cargo xtask test` as root for the full suite. ***\n"
        );
        let mut counts = run_counted(
            cargo()
                .args(all)
                .args(["--lib", "--bins", "--test", "logs", "--test", "syscalls"])
                .args(["--test", "repository"]),
        )?;
        counts.skipped_suites = Some("end-to-end tests that need root (not root)");
        counts
    };
    // The suites' totals first: a fuzz failure must not hide them.
    counts.print_summary();
    fuzz_targets()?;
    Ok(())
}

/// Totals over every `test result:` line of a cargo test run.
#[derive(Default)]
struct Counts {
    passed: u64,
    failed: u64,
    ignored: u64,
    skipped_suites: Option<&'static str>,
}

impl Counts {
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(['.', ';']) {
            let mut words = part.split_whitespace();
            if let (Some(n), Some(what)) = (words.next(), words.next())
                && let Ok(n) = n.parse::<u64>()
            {
                match what {
                    "passed" => self.passed += n,
                    "failed" => self.failed += n,
                    "ignored" => self.ignored += n,
                    _ => {}
                }
            }
        }
    }

    fn print_summary(&self) {
        if let Some(what) = self.skipped_suites {
            println!("\n*** SKIPPED: {what} ***");
        }
        println!(
            "\nxtask test: {} passed, {} failed, {} skipped",
            self.passed, self.failed, self.ignored
        );
    }
}

/// Runs cargo test, passing its output through and adding up its results.
fn run_counted(cmd: &mut Command) -> anyhow::Result<Counts> {
    eprintln!("+ {}", describe(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", describe(cmd)))?;
    let mut counts = Counts::default();
    let stdout = child.stdout.take().context("cargo test's stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test's output")?;
        println!("{line}");
        counts.add_line(&line);
    }
    let status = child.wait()?;
    if !status.success() {
        counts.print_summary();
        bail!("{} failed: {status}", describe(cmd));
    }
    Ok(counts)
}

/// A fuzz target CI runs.
struct FuzzTarget {
    name: &'static str,
    /// The directories of real inputs that seed it (beside the corpus it
    /// grows under target/).
    seeds: &'static [&'static str],
}

const FUZZ_TARGETS: &[FuzzTarget] = &[
    FuzzTarget {
        name: "parse_line",
        seeds: &["tests/data/logs"],
    },
    FuzzTarget {
        name: "read_profile",
        seeds: &["tests/data/corpus", "tests/data/reference", "profiles/base"],
    },
    FuzzTarget {
        name: "runtime_state",
        seeds: &[],
    },
];

/// Runs each fuzz target for a fixed time. libFuzzer's progress goes to
/// target/fuzz-NAME.log; its tail is shown when it fails.
fn fuzz_targets() -> anyhow::Result<()> {
    for target in FUZZ_TARGETS {
        fuzz(target)?;
    }
    Ok(())
}

fn fuzz(target: &FuzzTarget) -> anyhow::Result<()> {
    let FuzzTarget { name, seeds } = *target;
    let root = workspace_root();
    let corpus = root.join("target/fuzz-corpus").join(name);
    std::fs::create_dir_all(&corpus).context("creating the fuzz corpus directory")?;
    let log_path = root.join(format!("target/fuzz-{name}.log"));
    let log = std::fs::File::create(&log_path).context("creating the fuzz log")?;
    // Files a target writes (runtime_state's state files) stay in target/.
    let scratch = root.join("target/fuzz-tmp").join(name);
    std::fs::create_dir_all(&scratch).context("creating the fuzz scratch directory")?;
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&root)
        .arg(format!("+{EBPF_TOOLCHAIN}"))
        .args(["fuzz", "run"])
        .arg(name)
        .arg(&corpus)
        .args(seeds.iter().map(|s| root.join(s)))
        .arg("--")
        .arg(format!("-max_total_time={FUZZ_SECONDS}"))
        .env("TMPDIR", &scratch)
        .stdout(log.try_clone()?)
        .stderr(log);
    eprintln!("+ {} (output in {})", describe(&cmd), log_path.display());
    let status = cmd.status().with_context(|| describe(&cmd))?;
    if !status.success() {
        print_log_tail(&log_path, 60);
        // The panic's message sits above a long backtrace the tail cuts off.
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains("panicked at") {
                eprintln!("fuzz {name}: {line}");
                if let Some(message) = lines.get(i + 1) {
                    eprintln!("fuzz {name}: {message}");
                }
            }
        }
        bail!("fuzzing {name} failed: {status}");
    }
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    if let Some(done) = text.lines().find(|l| l.starts_with("Done ")) {
        eprintln!("fuzz {name}: {done}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_up_cargo_test_results() {
        let mut c = Counts::default();
        c.add_line("test result: ok. 53 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.05s");
        c.add_line("test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured");
        c.add_line("running 4 tests");
        assert_eq!((c.passed, c.failed, c.ignored), (56, 1, 2));
    }
}
