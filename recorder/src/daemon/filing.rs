//! Where the daemon files a container's profile: one profile per workload.
//!
//! A container the kubelet started goes to `<namespace>/<workload>/
//! <container>.json`, so that every replica, restart and later run of a
//! Deployment's container adds to one profile, which pods reference as
//! `localhostProfile: recorder/<namespace>/<workload>/<container>.json`.
//! The workload is the pod's owner as the pod's name shows it (the API
//! server's owner references are not on the node); see [`workload_of_pod`]
//! for the rules and what a name alone cannot decide. Any other container
//! goes to `<engine>/<name>.json`, by its name or, where its engine gives
//! none (`runc run`, `ctr run`), its id.
//!
//! Names come from outside (ids, names, annotations anyone can set): each
//! path component is made safe first ([`safe_component`]), so that no name
//! can climb out of the output directory, hide a file, or grow past what a
//! filesystem takes.

use std::path::PathBuf;

use crate::container::{Container, Engine, KubernetesName};

/// The characters of the random suffixes Kubernetes gives names
/// (`rand.String`: no vowels, no digits easily confused).
const SUFFIX_ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";

fn is_suffix(text: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&text.len()) && text.chars().all(|c| SUFFIX_ALPHABET.contains(c))
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The workload a pod belongs to, from the pod's name:
///
/// - Deployment (its ReplicaSet's pods): `NAME-<hash: 1 to 10 suffix
///   characters>-<5 suffix characters>` -> NAME;
/// - CronJob (its Jobs' pods) and indexed Jobs: `NAME-<digits>-<5>` -> NAME;
/// - DaemonSet and Job: `NAME-<5>` -> NAME;
/// - StatefulSet: `NAME-<ordinal>` -> NAME;
/// - any other pod: its own name.
///
/// What a name alone cannot decide: a bare pod whose name happens to end
/// like a suffix (`cache-bdf42`, `db-2`) is taken for a replica of
/// `cache` or `db`; a DaemonSet `my-svc` (whose pods are `my-svc-<5>`) is
/// taken for a Deployment `my` when `svc` is made of suffix characters
/// only; a ReplicaSet made by hand (`NAME-<5>`) counts as NAME. The
/// suffix alphabet has no vowels, so ordinary words rarely look like one.
pub fn workload_of_pod(pod: &str) -> String {
    let parts: Vec<&str> = pod.split('-').collect();
    let owner = match parts.as_slice() {
        [name @ .., middle, last]
            if is_suffix(last, 5..=5) && (is_suffix(middle, 1..=10) || is_number(middle)) =>
        {
            name.join("-")
        }
        [name @ .., last] if is_suffix(last, 5..=5) || is_number(last) => name.join("-"),
        _ => String::new(),
    };
    if owner.is_empty() {
        pod.to_string()
    } else {
        owner
    }
}

/// The engine's name as a directory and in the API: `docker`, `podman`,
/// `containerd`, `crio`, `runc`, `crun` (`unknown` when only a cgroup name
/// told).
pub fn engine_name(engine: &Engine) -> &'static str {
    match engine {
        Engine::Docker => "docker",
        Engine::Podman => "podman",
        Engine::Containerd { .. } => "containerd",
        Engine::CriO => "crio",
        Engine::Plain(runtime) => runtime.name(),
        Engine::Unknown => "unknown",
    }
}

/// Where a container's workload profile lives, relative to the output
/// directory: `<namespace>/<workload>/<container>.json` or
/// `<engine>/<name>.json`.
pub fn profile_path(container: &Container) -> PathBuf {
    match &container.kubernetes {
        Some(k) => kubernetes_path(k),
        None => {
            let name = container
                .names
                .iter()
                .find(|n| **n != container.id)
                .unwrap_or(&container.id);
            [engine_name(&container.engine), name.as_str()]
                .iter()
                .map(|c| safe_component(c))
                .collect::<PathBuf>()
                .with_extension("json")
        }
    }
}

fn kubernetes_path(k: &KubernetesName) -> PathBuf {
    let namespace = if k.namespace.is_empty() {
        "default"
    } else {
        &k.namespace
    };
    let mut path: PathBuf = [namespace, &workload_of_pod(&k.pod), &k.container]
        .iter()
        .map(|c| safe_component(c))
        .collect();
    path.set_extension("json");
    path
}

/// Longest path component written; with `.meta.json` and a temporary
/// file's prefix and suffix it stays well under the 255 bytes filesystems
/// take.
const MAX_COMPONENT: usize = 160;

/// A name made safe as one path component: `/`, NUL and control characters
/// become `_`, a leading `.` (`.`, `..`, hidden and temporary files) gets a
/// `_` before it, an empty name is `_`, and an over-long name is cut,
/// with a hash of the whole name after the cut so that two long names stay
/// apart. Names that are safe already are kept as they are.
pub fn safe_component(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\0' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if safe.is_empty() || safe.starts_with('.') {
        safe.insert(0, '_');
    }
    if safe.len() > MAX_COMPONENT {
        let mut cut = MAX_COMPONENT - 17;
        while !safe.is_char_boundary(cut) {
            cut -= 1;
        }
        safe = format!("{}-{:016x}", &safe[..cut], fnv1a(name.as_bytes()));
    }
    safe
}

/// FNV-1a, 64 bits: a hash that stays the same across builds and
/// machines, so a long name maps to one file on every node and release.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::OciRuntime;
    use std::path::{Component, Path};

    #[test]
    fn workloads_from_pod_names() {
        for (pod, workload) in [
            ("web-5d8f7c9b4-x7k2p", "web"),
            ("api-v2-5d8f7c9b4-x7k2p", "api-v2"),
            ("web-7f9-bcdfg", "web"),
            ("fluentd-x7k2p", "fluentd"),
            ("backup-28730400-x7k2p", "backup"),
            ("db-0", "db"),
            ("db-12", "db"),
            ("my-app-x7k2p", "my-app"),
            ("standalone", "standalone"),
            ("a-b", "a-b"),
            ("web-abcde", "web-abcde"),
            ("web-5d8f7c9b4a-x7k2p", "web-5d8f7c9b4a"),
            ("-x7k2p", "-x7k2p"),
        ] {
            assert_eq!(workload_of_pod(pod), workload, "{pod}");
        }
    }

    fn kube(namespace: &str, pod: &str, container: &str) -> Container {
        let mut c = Container::new(
            "3f2a".into(),
            Engine::Containerd {
                namespace: "k8s.io".into(),
            },
        );
        c.kubernetes = Some(KubernetesName {
            namespace: namespace.into(),
            pod: pod.into(),
            container: container.into(),
        });
        c
    }

    #[test]
    fn kubernetes_containers_by_workload() {
        assert_eq!(
            profile_path(&kube("default", "web-5d8f7c9b4-x7k2p", "app")),
            Path::new("default/web/app.json")
        );
        assert_eq!(
            profile_path(&kube("", "db-0", "pg")),
            Path::new("default/db/pg.json")
        );
    }

    #[test]
    fn other_containers_by_engine_and_name_or_id() {
        let mut docker = Container::new("8dbd".into(), Engine::Docker);
        docker.names = vec!["api".into()];
        assert_eq!(profile_path(&docker), Path::new("docker/api.json"));
        let mut podman = Container::new("a309".into(), Engine::Podman);
        podman.names = vec!["api".into()];
        assert_eq!(profile_path(&podman), Path::new("podman/api.json"));
        let runc = Container::new("quick1".into(), Engine::Plain(OciRuntime::Runc));
        assert_eq!(profile_path(&runc), Path::new("runc/quick1.json"));
        let ctr = Container::new(
            "box".into(),
            Engine::Containerd {
                namespace: "default".into(),
            },
        );
        assert_eq!(profile_path(&ctr), Path::new("containerd/box.json"));
    }

    #[test]
    fn no_name_leaves_the_directory() {
        let long = "x".repeat(5000);
        let hostile = [
            "..",
            ".",
            "",
            "../../etc/passwd",
            "/abs",
            "a\0b",
            "line\nbreak",
            ".hidden",
            long.as_str(),
        ];
        for bad in hostile {
            let mut c = kube(bad, bad, bad);
            for path in [profile_path(&c), {
                c.kubernetes = None;
                c.names = vec![bad.to_string()];
                profile_path(&c)
            }] {
                assert!(
                    path.components().all(|p| matches!(p, Component::Normal(_))),
                    "{bad:?} -> {path:?}"
                );
                for part in path.iter() {
                    let part = part.to_string_lossy();
                    assert!(part.len() <= MAX_COMPONENT + 5, "{bad:?} -> {part}");
                    assert!(!part.starts_with('.'), "{bad:?} -> {part}");
                    assert!(!part.contains(['\0', '\n']), "{bad:?} -> {part:?}");
                }
            }
        }
        // Long names stay apart.
        let other = format!("{long}y");
        assert_ne!(safe_component(&long), safe_component(&other));
        assert_eq!(safe_component("web"), "web");
    }
}
