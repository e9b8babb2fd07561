//! The deployment files: the DaemonSet, run by podman as its manifest says
//! (no Kubernetes API server or kubelet can run here), records three
//! replicas of a Deployment into the host directory the manifest mounts;
//! and the systemd unit verifies. Both run the release artefacts that
//! `cargo xtask dist` made (`cargo xtask test` builds them first).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::containers::*;
use common::*;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The DaemonSet's pod template, as JSON.
fn daemonset() -> Value {
    let text = std::fs::read_to_string(deploy_dir().join("kubernetes/daemonset.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).expect("the DaemonSet manifest is YAML")
}

/// What a kubelet would make of the pod template, as podman flags: the
/// host pid namespace, the security context (capabilities, privilege
/// escalation, user, read-only root, seccomp) and the hostPath volumes
/// (created where the manifest asks for DirectoryOrCreate). Returns the
/// flags, the image and its arguments.
fn podman_flags(manifest: &Value) -> (Vec<String>, String, Vec<String>) {
    let spec = &manifest["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    let mut flags = Vec::new();
    if spec["hostPID"] == true {
        flags.push("--pid=host".to_string());
    }
    let security = &container["securityContext"];
    assert_ne!(security["privileged"], true, "the pod is not privileged");
    for cap in security["capabilities"]["drop"]
        .as_array()
        .into_iter()
        .flatten()
    {
        flags.push(format!(
            "--cap-drop={}",
            cap.as_str().unwrap().to_lowercase()
        ));
    }
    for cap in security["capabilities"]["add"]
        .as_array()
        .into_iter()
        .flatten()
    {
        flags.push(format!("--cap-add=CAP_{}", cap.as_str().unwrap()));
    }
    if security["allowPrivilegeEscalation"] == false {
        flags.push("--security-opt=no-new-privileges".to_string());
    }
    if let Some(user) = security["runAsUser"].as_u64() {
        flags.push(format!("--user={user}"));
    }
    if security["readOnlyRootFilesystem"] == true {
        flags.push("--read-only".to_string());
    }
    match security["seccompProfile"]["type"].as_str() {
        Some("Unconfined") => flags.push("--security-opt=seccomp=unconfined".to_string()),
        Some("RuntimeDefault") | None => {}
        Some(other) => panic!("seccompProfile type {other} has no podman flag here"),
    }
    let volumes = spec["volumes"].as_array().unwrap();
    for mount in container["volumeMounts"].as_array().into_iter().flatten() {
        let name = mount["name"].as_str().unwrap();
        let volume = volumes
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no volume {name}"));
        let host = volume["hostPath"]["path"]
            .as_str()
            .unwrap_or_else(|| panic!("volume {name} is no hostPath"));
        match volume["hostPath"]["type"].as_str() {
            Some("DirectoryOrCreate") => std::fs::create_dir_all(host).unwrap(),
            Some("Directory") => assert!(Path::new(host).is_dir(), "{host} (type Directory)"),
            other => panic!("hostPath type {other:?} of {name}"),
        }
        let ro = if mount["readOnly"] == true { ":ro" } else { "" };
        flags.push(format!(
            "--volume={host}:{}{ro}",
            mount["mountPath"].as_str().unwrap()
        ));
    }
    let image = container["image"].as_str().unwrap().to_string();
    let args = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    (flags, image, args)
}

/// The release image, loaded into podman and removed when the test ends.
struct LoadedImage {
    name: String,
}

impl LoadedImage {
    fn load() -> LoadedImage {
        let image = dist_dir().join(format!("recorder-{}-image.tar", version()));
        let out = run(Command::new("podman").arg("load").arg("-i").arg(&image));
        assert!(
            out.status.success(),
            "podman load: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        LoadedImage {
            name: format!("localhost/recorder:{}", version()),
        }
    }
}

impl Drop for LoadedImage {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rmi", "-f", &self.name])
            .output();
    }
}

/// The DaemonSet's container, run by podman, stopped (SIGTERM) and removed
/// when the test ends.
struct PodContainer {
    name: String,
}

impl Drop for PodContainer {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["stop", "-t", "20", &self.name])
            .output();
        let _ = Command::new("podman")
            .args(["rm", "-f", &self.name])
            .output();
    }
}

/// A directory removed when the test ends.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The first acceptance scenario of the daemon, with the daemon in the
/// release image, run as the DaemonSet manifest says: three replicas of a
/// Deployment `web` give one profile in the host directory the manifest
/// mounts (the kubelet's seccomp directory).
#[test]
fn the_daemonset_runs_as_its_manifest_says() {
    require_root();
    require_program("podman", "podman");
    require_program("runc", "runc");
    let manifest = daemonset();
    let (flags, image, args) = podman_flags(&manifest);
    assert!(flags.contains(&"--pid=host".to_string()), "{flags:?}");
    assert!(flags.contains(&"--read-only".to_string()), "{flags:?}");
    let loaded = LoadedImage::load();
    assert_eq!(
        image, loaded.name,
        "the manifest runs the image dist builds"
    );

    // The bundles of this test's containers go where a CRI runtime keeps
    // them (below /run/containers, which the manifest mounts): the daemon
    // reads a container's annotations from its bundle.
    let bundles = Cleanup(PathBuf::from(format!(
        "/run/containers/recorder-tests-{}",
        std::process::id()
    )));
    std::fs::create_dir_all(&bundles.0).unwrap();
    let dir = temp_dir();
    let rootfs = busybox_rootfs(dir.path());
    let syscaller = build_program(dir.path(), "syscaller", &["-static", "-O1"]);
    std::fs::copy(&syscaller, rootfs.join("bin/syscaller")).unwrap();

    let socket = Path::new("/run/recorder/recorder.sock");
    let _ = std::fs::remove_file(socket);
    let name = format!("recorder-daemonset-{}", std::process::id());
    let out = run(Command::new("podman")
        .args(["--runtime", "runc", "run", "-d", "--name", &name])
        // This host's own needs, not the manifest's: crun cannot run on
        // its hybrid cgroup layout, and root here cannot raise rlimits.
        .args([
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ])
        .args(&flags)
        .arg(&image)
        .args(&args));
    assert!(
        out.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pod = PodContainer { name: name.clone() };
    let logs = || {
        String::from_utf8_lossy(&run(Command::new("podman").args(["logs", &name])).stderr)
            .into_owned()
    };
    let started = Instant::now();
    while !run(recorder().args(["status", "--socket"]).arg(socket))
        .status
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the daemon in the pod did not answer at {}:\n{}",
            socket.display(),
            logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let namespace = format!("rectest-{}", std::process::id());
    let host_dir = Cleanup(PathBuf::from("/var/lib/kubelet/seccomp/recorder").join(&namespace));
    let markers = ["getpgrp", "umask", "sched_yield"];
    let pods = [
        "web-5d8f7c9b4-x7k2p",
        "web-5d8f7c9b4-b9d4f",
        "web-5d8f7c9b4-q2w5z",
    ];
    for (i, (marker, pod_name)) in markers.iter().zip(pods).enumerate() {
        let id = unique(&format!("ds{i}"));
        let bundle = RuncBundle::new(
            &bundles.0,
            &rootfs,
            &id,
            &["/bin/syscaller", marker],
            false,
            None,
        );
        bundle.annotate(&cri_annotations(&namespace, pod_name, "app"));
        let out = bundle.run(&id);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("{marker}=ok")),
            "replica {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let profile = host_dir.0.join("web/app.json");
    let meta_file = host_dir.0.join("web/app.meta.json");
    let started = Instant::now();
    let meta = loop {
        let meta: Option<Value> = std::fs::read_to_string(&meta_file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        if let Some(meta) = meta.filter(|m| m["runs"] == 3) {
            break meta;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{} did not count 3 runs:\n{}",
            meta_file.display(),
            logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let names = allowed_names(&std::fs::read_to_string(&profile).unwrap());
    for marker in markers {
        assert!(names.contains(marker), "{marker} not in {names:?}");
        assert_eq!(meta["syscalls"][marker], 1, "{meta:#}");
    }
    assert_no_runtime_setup(&names, "the DaemonSet's profile");
    drop(pod);
    assert!(
        !socket.exists(),
        "the daemon removes its socket when it stops"
    );
}

/// The systemd unit, installed by the .deb, verifies.
#[test]
fn the_systemd_unit_verifies() {
    require_root();
    require_program("systemd-analyze", "systemd");
    let arch =
        String::from_utf8_lossy(&run(Command::new("dpkg").arg("--print-architecture")).stdout)
            .trim()
            .to_string();
    let deb = dist_dir().join(format!("recorder_{}_{arch}.deb", version()));
    let root = temp_dir();
    let out = run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(root.path()));
    assert!(
        out.status.success(),
        "dpkg-deb -x: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unit = root.path().join("usr/lib/systemd/system/recorder.service");
    assert_eq!(
        std::fs::read_to_string(&unit).unwrap(),
        std::fs::read_to_string(deploy_dir().join("systemd/recorder.service")).unwrap(),
        "the .deb ships deploy/systemd/recorder.service"
    );
    // The units it orders itself against come from this machine's systemd;
    // the unit and its binary from the .deb.
    let out = run(Command::new("cp")
        .arg("-rn")
        .arg("/lib/systemd/system/.")
        .arg(root.path().join("usr/lib/systemd/system")));
    assert!(out.status.success(), "copying this machine's units");
    let out = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", root.path().display()))
        .arg("/usr/lib/systemd/system/recorder.service"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    assert!(
        !said.contains("recorder.service"),
        "systemd-analyze verify: {said}"
    );
}
