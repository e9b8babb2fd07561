//! Builds the kernel-side program (`recorder-ebpf`) for the BPF target with the
//! pinned nightly, so that a plain `cargo build` builds both sides. The object
//! lands in OUT_DIR and is embedded by `recorder::bpf`.

use anyhow::{Context as _, anyhow};
use aya_build::{Package, Toolchain};

/// The nightly whose LLVM (22) matches bpf-linker's; `cargo xtask setup`
/// installs it with rust-src. Keep in step with xtask's `EBPF_TOOLCHAIN`.
const EBPF_TOOLCHAIN: &str = "nightly-2026-05-20";

fn main() -> anyhow::Result<()> {
    git_commit();
    let metadata = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let ebpf = metadata
        .packages
        .iter()
        .find(|p| p.name.as_str() == "recorder-ebpf")
        .ok_or_else(|| anyhow!("recorder-ebpf package not found in the workspace"))?;
    let root_dir = ebpf
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("recorder-ebpf manifest has no parent directory"))?;
    aya_build::build_ebpf(
        [Package {
            name: ebpf.name.as_str(),
            root_dir: root_dir.as_str(),
            ..Default::default()
        }],
        Toolchain::Custom(EBPF_TOOLCHAIN),
    )
    .context("building the eBPF program (run `cargo xtask setup` if tools are missing)")
}

/// Sets `RECORDER_GIT_COMMIT` for `--version`: the commit the build comes
/// from, or `unknown` outside a git checkout (a source tarball), and reruns
/// this script when HEAD moves.
fn git_commit() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    println!(
        "cargo:rustc-env=RECORDER_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
    // Where git keeps each file that names the commit: a worktree has its
    // own HEAD but shares the branches' refs, which `--git-path` finds. A
    // path that does not exist would make cargo rerun this script (and the
    // eBPF build) on every build, so only those that exist are named.
    let reference = git(&["symbolic-ref", "-q", "HEAD"]);
    let files = ["HEAD", "packed-refs"]
        .into_iter()
        .chain(reference.as_deref());
    for file in files {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", file])
            && std::path::Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
