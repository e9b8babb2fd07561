//! The release artefacts `cargo xtask dist` made: the static binary runs
//! here, the .deb installs into an empty root with every file in place, the
//! image loads into podman and Docker and runs, and the checksums hold.
//! `cargo xtask test` builds them first and names their directory in
//! `RECORDER_DIST_DIR`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use clap::CommandFactory as _;
use common::containers::{Dockerd, require_program};
use common::*;

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn artefact(name: &str) -> PathBuf {
    let path = dist_dir().join(name);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

fn static_binary() -> PathBuf {
    artefact(&format!(
        "recorder-{}-{}-linux",
        version(),
        std::env::consts::ARCH
    ))
}

fn stdout_of(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_binary_is_static_and_records() {
    require_root();
    let binary = static_binary();
    let headers = stdout_of(Command::new("readelf").arg("-lW").arg(&binary));
    assert!(
        !headers.contains("INTERP"),
        "a program interpreter:\n{headers}"
    );
    let dynamic = stdout_of(Command::new("readelf").arg("-dW").arg(&binary));
    assert!(
        !dynamic.contains("(NEEDED)"),
        "shared libraries:\n{dynamic}"
    );
    // ldd says "statically linked" of a static PIE (kept for ASLR), "not a
    // dynamic executable" of a static non-PIE one; either way, no library.
    let ldd = run(Command::new("ldd").arg(&binary));
    let said =
        String::from_utf8_lossy(&ldd.stdout).to_string() + &String::from_utf8_lossy(&ldd.stderr);
    assert!(
        said.contains("statically linked") || said.contains("not a dynamic executable"),
        "ldd: {said}"
    );
    let printed = stdout_of(Command::new(&binary).arg("--version"));
    assert!(
        printed.starts_with(&format!("recorder {} (", version())),
        "--version: {printed}"
    );

    let dir = temp_dir();
    let profile = dir.path().join("true.json");
    let out = run(Command::new(&binary)
        .args(["record", "-q", "-o"])
        .arg(&profile)
        .args(["--", "true"]));
    assert!(
        out.status.success(),
        "record -- true: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = allowed_names(&std::fs::read_to_string(&profile).unwrap());
    for name in ["execve", "exit_group"] {
        assert!(names.contains(name), "{name} not in {names:?}");
    }
}

#[test]
fn checksums_hold() {
    let out = run(Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(dist_dir()));
    assert!(
        out.status.success(),
        "sha256sum -c: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let sums = std::fs::read_to_string(dist_dir().join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 3, "{sums}");
    assert!(!sums.contains('/'), "names are relative: {sums}");
}

/// The Debian architecture of this machine.
fn debian_arch() -> String {
    stdout_of(Command::new("dpkg").arg("--print-architecture"))
        .trim()
        .to_string()
}

#[test]
fn the_deb_installs_into_an_empty_root() {
    require_root();
    let deb = artefact(&format!("recorder_{}_{}.deb", version(), debian_arch()));
    let info = stdout_of(Command::new("dpkg-deb").arg("--info").arg(&deb));
    for field in [
        "Package: recorder".to_string(),
        format!("Version: {}", version()),
        format!("Architecture: {}", debian_arch()),
    ] {
        assert!(info.contains(&field), "{field} not in:\n{info}");
    }
    assert!(!info.contains("Depends:"), "no dependencies:\n{info}");

    let root = temp_dir();
    let admin = root.path().join("var/lib/dpkg");
    std::fs::create_dir_all(admin.join("info")).unwrap();
    std::fs::create_dir_all(admin.join("updates")).unwrap();
    std::fs::write(admin.join("status"), "").unwrap();
    let out = run(Command::new("dpkg")
        .arg(format!("--root={}", root.path().display()))
        .args(["--log=/dev/null", "--force-script-chrootless", "-i"])
        .arg(&deb));
    assert!(
        out.status.success(),
        "dpkg --root -i: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected: Vec<String> = vec![
        "usr/bin/recorder".into(),
        "usr/share/man/man1/recorder.1.gz".into(),
        "usr/share/bash-completion/completions/recorder".into(),
        "usr/share/zsh/vendor-completions/_recorder".into(),
        "usr/share/fish/vendor_completions.d/recorder.fish".into(),
        "usr/share/recorder/base/runc.json".into(),
        "usr/share/recorder/base/crun.json".into(),
        "usr/share/doc/recorder/copyright".into(),
    ];
    for sub in recorder::cli::Cli::command().get_subcommands() {
        if !sub.is_hide_set() {
            expected.push(format!(
                "usr/share/man/man1/recorder-{}.1.gz",
                sub.get_name()
            ));
        }
    }
    for file in &expected {
        assert!(root.path().join(file).is_file(), "{file} not installed");
    }
    let copyright =
        std::fs::read_to_string(root.path().join("usr/share/doc/recorder/copyright")).unwrap();
    for named in [
        "GNU C Library",
        "libseccomp",
        "LGPL-2.1",
        "zstd",
        "relink",
        " aya ",
        " clap ",
    ] {
        assert!(
            copyright.contains(named),
            "{named:?} not in the copyright file"
        );
    }
    let installed = stdout_of(Command::new(root.path().join("usr/bin/recorder")).arg("--version"));
    assert!(installed.starts_with("recorder "), "{installed}");
}

/// An image loaded into an engine, removed when the test ends.
struct LoadedImage {
    engine: &'static str,
    name: String,
}

impl LoadedImage {
    fn load(engine: &'static str) -> LoadedImage {
        let image = artefact(&format!("recorder-{}-image.tar", version()));
        let name = format!("localhost/recorder:{}", version());
        let loaded = stdout_of(Command::new(engine).arg("load").arg("-i").arg(&image));
        assert!(loaded.contains(&name), "{engine} load said: {loaded}");
        LoadedImage { engine, name }
    }
}

impl Drop for LoadedImage {
    fn drop(&mut self) {
        let _ = Command::new(self.engine)
            .args(["rmi", "-f", &self.name])
            .output();
    }
}

#[test]
fn podman_loads_and_runs_the_image() {
    require_root();
    require_program("podman", "podman");
    let image = LoadedImage::load("podman");
    // crun cannot run on this hybrid cgroup host, and root here cannot
    // raise its rlimits: the flags tests/trace_engines.rs runs podman with.
    let printed = stdout_of(Command::new("podman").args([
        "run",
        "--rm",
        "--runtime",
        "runc",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        &image.name,
        "syscalls",
        "getppid",
    ]));
    assert_eq!(printed, format!("{}\tgetppid\n", getppid_number()));
}

#[test]
fn docker_loads_and_runs_the_image() {
    require_root();
    let _dockerd = Dockerd::ensure();
    let image = LoadedImage::load("docker");
    let printed =
        stdout_of(Command::new("docker").args(["run", "--rm", &image.name, "syscalls", "getppid"]));
    assert_eq!(printed, format!("{}\tgetppid\n", getppid_number()));
}

/// getppid's number on this host (110 on x86_64).
fn getppid_number() -> u32 {
    recorder::arch::Arch::host()
        .table()
        .number("getppid")
        .expect("getppid has a number")
}
