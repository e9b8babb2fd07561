//! `cargo xtask test`: the README's second command and what CI runs.

use crate::util::{cargo, exec, is_root};

pub fn run() -> anyhow::Result<()> {
    crate::setup::run()?;
    exec(cargo().args(["fmt", "--all", "--", "--check"]))?;
    exec(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    if is_root() {
        exec(cargo().args(["test", "--workspace", "--exclude", "recorder-ebpf"]))?;
    } else {
        eprintln!(
            "\n*** SKIPPED: the end-to-end tests load eBPF programs, create cgroups and run \
             containers, which needs root. Only unit tests run now; run `cargo xtask test` as \
             root for the full suite. ***\n"
        );
        exec(cargo().args([
            "test",
            "--workspace",
            "--exclude",
            "recorder-ebpf",
            "--lib",
            "--bins",
        ]))?;
        eprintln!("\n*** SKIPPED: end-to-end tests (not root) ***");
    }
    Ok(())
}
