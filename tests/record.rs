//! End-to-end tests of `recorder record` against the real kernel.

mod common;

use common::*;

#[test]
fn records_true() {
    require_root();
    let out = run(recorder().args(["record", "--", "true"]));
    assert!(out.status.success());
    let names = allowed_names(&String::from_utf8_lossy(&out.stdout));
    assert!(
        names.contains("execve") && names.contains("exit_group"),
        "{names:?}"
    );
}
