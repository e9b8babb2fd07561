//! `cargo xtask setup`: installs what a fresh Debian 12 machine lacks, and is
//! a quick no-op when everything is present.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::util::{capture, exec, is_root, print_log_tail, workspace_root};

/// The nightly that builds the eBPF object: its LLVM (22) matches
/// bpf-linker's. Keep in step with `recorder/build.rs`.
pub const EBPF_TOOLCHAIN: &str = "nightly-2026-05-20";
const BPF_LINKER_VERSION: &str = "0.13.0";

/// What a set of tools is installed for: `cargo xtask setup` installs what
/// building and running the recorder needs, and each other command adds
/// what it needs on top, so that a user who only builds (or runs the demo)
/// gets no container engine or test tool on their machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Building the recorder and running it (`setup`, `demo`).
    Build,
    /// The test suite (`test`): container engines, peers, cross headers.
    Test,
    /// The benchmarks (`bench`): the peers measured side by side.
    Bench,
    /// Release artefacts (`dist`): the static binary, the .deb, the image.
    Dist,
}

/// Debian packages, each with the purposes it serves and why.
const APT_PACKAGES: &[(&str, &[Purpose], &str)] = &[
    (
        "gcc",
        &[Purpose::Build],
        "C code in crates (zstd), C test programs",
    ),
    ("libc6-dev", &[Purpose::Build], "linking the recorder"),
    ("llvm-22-dev", &[Purpose::Build], "building bpf-linker"),
    ("libpolly-22-dev", &[Purpose::Build], "building bpf-linker"),
    ("libzstd-dev", &[Purpose::Build], "building bpf-linker"),
    ("zlib1g-dev", &[Purpose::Build], "building bpf-linker"),
    (
        "libseccomp-dev",
        &[Purpose::Build],
        "the libseccomp crate (profile enforcement); its libseccomp.a for the static binary",
    ),
    (
        "gcc-multilib",
        &[Purpose::Test],
        "32-bit (ia32) test programs",
    ),
    (
        "seccomp",
        &[Purpose::Test],
        "scmp_sys_resolver, to check the syscall tables",
    ),
    (
        "linux-libc-dev-m68k-cross",
        &[Purpose::Test],
        "the kernel's m68k syscall table, to check ours",
    ),
    (
        "linux-libc-dev-sh4-cross",
        &[Purpose::Test],
        "the kernel's sh syscall table, to check ours",
    ),
    (
        "strace",
        &[Purpose::Test, Purpose::Bench],
        "comparing recorded sets with strace -f; benchmark peer",
    ),
    (
        "bpftrace",
        &[Purpose::Test, Purpose::Bench],
        "benchmark peer; tracefs checks",
    ),
    ("util-linux", &[Purpose::Bench], "taskset for benchmarks"),
    (
        "bpftool",
        &[Purpose::Test, Purpose::Bench],
        "counting the calls on the program's warm paths",
    ),
    (
        "busybox-static",
        &[Purpose::Test],
        "container root filesystems",
    ),
    ("runc", &[Purpose::Test], "real containers in tests"),
    (
        "crun",
        &[Purpose::Test],
        "real containers in tests, and its base profile",
    ),
    (
        "podman",
        &[Purpose::Test],
        "real containers in tests (run with --runtime runc); loading the release image",
    ),
    (
        "docker.io",
        &[Purpose::Test],
        "real containers in tests (dockerd started by the test); loading the release image",
    ),
    (
        "containerd",
        &[Purpose::Test],
        "real containers in tests (containerd and ctr, started by the test)",
    ),
    (
        "binutils",
        &[Purpose::Dist, Purpose::Test],
        "readelf, to check the binary is static",
    ),
];

/// Installs what building and running the recorder needs.
pub fn run() -> anyhow::Result<()> {
    run_for(&[Purpose::Build])
}

/// Installs what building needs plus what `purposes` add.
pub fn run_for(purposes: &[Purpose]) -> anyhow::Result<()> {
    stable_toolchain()?;
    apt_packages(purposes)?;
    ebpf_toolchain()?;
    bpf_linker()?;
    if purposes.contains(&Purpose::Test) {
        cargo_fuzz()?;
    }
    tracefs()?;
    eprintln!("setup: everything is in place");
    Ok(())
}

/// The packages for `purposes` (building always included), with why.
fn packages_for(purposes: &[Purpose]) -> Vec<(&'static str, &'static str)> {
    APT_PACKAGES
        .iter()
        .filter(|(_, serves, _)| {
            serves.contains(&Purpose::Build) || serves.iter().any(|p| purposes.contains(p))
        })
        .map(|(name, _, why)| (*name, *why))
        .collect()
}

fn apt_packages(purposes: &[Purpose]) -> anyhow::Result<()> {
    let wanted = packages_for(purposes);
    let missing: Vec<&str> = wanted
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !dpkg_installed(name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    for (name, why) in wanted.iter().filter(|(n, _)| missing.contains(n)) {
        eprintln!("setup: installing {name} ({why})");
    }
    if !is_root() {
        bail!(
            "packages missing: {}; run `cargo xtask setup` as root",
            missing.join(" ")
        );
    }
    exec(Command::new("apt-get").args(["update", "-qq"]))?;
    // dpkg's per-package chatter would bury the test output in CI logs: it
    // is kept in a file and shown only when the install fails.
    let log_path = workspace_root().join("target/apt-install.log");
    std::fs::create_dir_all(workspace_root().join("target"))?;
    let log = std::fs::File::create(&log_path).context("creating the apt log")?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(log.try_clone()?)
        .stderr(log);
    let result = exec(&mut install);
    if result.is_err() {
        print_log_tail(&log_path, 40);
    } else {
        eprintln!("setup: installed ({} has apt's output)", log_path.display());
    }
    result
}

/// The oldest rustc the userspace side is built and tested with (aya 0.14,
/// edition 2024): the stable of this project's Debian 12 machines.
const MIN_STABLE: (u32, u32) = (1, 95);

/// rust-toolchain.toml names "stable" (see there why); a machine whose
/// stable is older gets told so here rather than by a compile error.
fn stable_toolchain() -> anyhow::Result<()> {
    let version = capture(
        Command::new("rustc")
            .arg("--version")
            .current_dir(workspace_root()),
    )?;
    let Some((major, minor)) = parse_rustc_version(&version) else {
        bail!("cannot read the Rust version from `rustc --version`: {version:?}");
    };
    if (major, minor) < MIN_STABLE {
        bail!(
            "Rust {major}.{minor} is too old: the userspace side needs {}.{} or newer (`rustup update stable`)",
            MIN_STABLE.0,
            MIN_STABLE.1
        );
    }
    Ok(())
}

/// `rustc 1.95.0 (59807616e 2026-04-14)` -> (1, 95).
fn parse_rustc_version(text: &str) -> Option<(u32, u32)> {
    let mut numbers = text.split_whitespace().nth(1)?.split(['.', '-']);
    Some((numbers.next()?.parse().ok()?, numbers.next()?.parse().ok()?))
}

fn dpkg_installed(name: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Abbrev}", name])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"ii"))
}

fn ebpf_toolchain() -> anyhow::Result<()> {
    let installed = capture(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        EBPF_TOOLCHAIN,
    ]))
    .unwrap_or_default();
    if installed.lines().any(|l| l.starts_with("rust-src")) {
        return Ok(());
    }
    eprintln!("setup: installing Rust {EBPF_TOOLCHAIN} with rust-src (builds the eBPF object)");
    exec(Command::new("rustup").args([
        "toolchain",
        "install",
        EBPF_TOOLCHAIN,
        "--profile",
        "minimal",
        "--component",
        "rust-src",
    ]))
}

fn bpf_linker() -> anyhow::Result<()> {
    let version = capture(Command::new("bpf-linker").arg("--version")).unwrap_or_default();
    if version.trim() == format!("bpf-linker {BPF_LINKER_VERSION}") {
        return Ok(());
    }
    eprintln!("setup: building bpf-linker {BPF_LINKER_VERSION} for LLVM 22 (about 2 minutes)");
    exec(
        Command::new("cargo")
            .args([
                "install",
                "bpf-linker",
                "--version",
                BPF_LINKER_VERSION,
                "--locked",
                "--no-default-features",
                "--features",
                "llvm-22,llvm-link-static",
            ])
            .env("LLVM_PREFIX", "/usr/lib/llvm-22"),
    )
    .context("installing bpf-linker")
}

const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// cargo-fuzz runs the log parser's fuzz target in `cargo xtask test`.
fn cargo_fuzz() -> anyhow::Result<()> {
    let version = capture(Command::new("cargo").args(["fuzz", "--version"])).unwrap_or_default();
    if version.trim() == format!("cargo-fuzz {CARGO_FUZZ_VERSION}") {
        return Ok(());
    }
    eprintln!("setup: installing cargo-fuzz {CARGO_FUZZ_VERSION} (about 1.5 minutes)");
    exec(Command::new("cargo").args([
        "install",
        "cargo-fuzz",
        "--version",
        CARGO_FUZZ_VERSION,
        "--locked",
    ]))
    .context("installing cargo-fuzz")
}

/// The classic tracepoint hook (the last fallback) and bpftrace need tracefs.
fn tracefs() -> anyhow::Result<()> {
    if Path::new("/sys/kernel/tracing/events").exists()
        || Path::new("/sys/kernel/debug/tracing/events").exists()
    {
        return Ok(());
    }
    if !is_root() {
        eprintln!("setup: warning: tracefs is not mounted and mounting it needs root");
        return Ok(());
    }
    eprintln!("setup: mounting tracefs at /sys/kernel/tracing");
    exec(Command::new("mount").args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn building_needs_no_container_engine_or_test_tool() {
        let build: Vec<&str> = packages_for(&[Purpose::Build])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        for test_only in [
            "docker.io",
            "podman",
            "containerd",
            "crun",
            "runc",
            "bpftrace",
        ] {
            assert!(!build.contains(&test_only), "{test_only}");
        }
        let test: Vec<&str> = packages_for(&[Purpose::Test])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert!(test.contains(&"docker.io") && test.contains(&"libseccomp-dev"));
    }

    #[test]
    fn reads_rustc_versions() {
        assert_eq!(
            parse_rustc_version("rustc 1.95.0 (59807616e 2026-04-14)\n"),
            Some((1, 95))
        );
        assert_eq!(
            parse_rustc_version("rustc 1.97.0-nightly (e50aa6fba 2026-05-19)"),
            Some((1, 97))
        );
        assert_eq!(parse_rustc_version("error"), None);
    }
}
