//! `cargo xtask demo`: the README's first command.

use std::process::Command;

use anyhow::Context as _;

use crate::util::{cargo, exec, workspace_root};

pub fn run() -> anyhow::Result<()> {
    crate::setup::run()?;
    exec(cargo().args(["build", "--release", "--package", "recorder"]))?;
    let root = workspace_root();
    let out_dir = root.join("target").join("demo");
    std::fs::create_dir_all(&out_dir).context("creating target/demo")?;
    let profile = out_dir.join("ls.json");
    eprintln!("demo: recording `ls -l /` (its own output goes to /dev/null)");
    exec(
        Command::new(root.join("target/release/recorder"))
            .args(["record", "-o"])
            .arg(&profile)
            .args(["--", "sh", "-c", "ls -l / > /dev/null"]),
    )?;
    let text = std::fs::read_to_string(&profile)
        .with_context(|| format!("reading {}", profile.display()))?;
    eprintln!("demo: the profile ({}):", profile.display());
    print!("{text}");
    Ok(())
}
