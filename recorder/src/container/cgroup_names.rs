//! Container ids in cgroup paths.
//!
//! Every engine puts a container in a cgroup whose name holds the container's
//! id, in one of two layouts: the cgroupfs driver's plain directories
//! (`/docker/<id>`, `/libpod_parent/libpod-<id>`, `/kubepods/burstable/pod<uid>/<id>`,
//! CRI-O's `/kubepods/burstable/pod<uid>/crio-<id>`)
//! and the systemd driver's scopes (`docker-<id>.scope`, `cri-containerd-<id>.scope`,
//! `crio-<id>.scope`, `libpod-<id>.scope`, `runc-<id>.scope`). The conmon
//! monitors of podman and CRI-O have scopes of their own
//! (`libpod-conmon-<id>.scope`, `crio-conmon-<id>.scope`) that hold no
//! container process and are not containers.

use std::path::{Path, PathBuf};

/// The engine a cgroup name points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CgroupEngine {
    Docker,
    Podman,
    /// containerd's CRI plugin (Kubernetes), `cri-containerd-<id>.scope`.
    Containerd,
    CriO,
    /// runc started by hand with its systemd driver (`runc-<id>.scope`).
    Runc,
    /// A 64-hex-digit directory under a parent that names no engine
    /// (`/kubepods/.../pod<uid>/<id>`, `/<containerd namespace>/<id>`, a
    /// custom `--cgroup-parent`).
    Unknown,
}

/// A container cgroup recognised by its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerCgroup {
    pub id: String,
    pub engine: CgroupEngine,
    /// Relative to the cgroup2 mount, starting with `/`.
    pub path: PathBuf,
}

/// Scope prefixes of the systemd layout, longest first so that
/// `cri-containerd-` is not read as something else.
const SCOPE_PREFIXES: [(&str, CgroupEngine); 5] = [
    ("cri-containerd-", CgroupEngine::Containerd),
    ("docker-", CgroupEngine::Docker),
    ("libpod-", CgroupEngine::Podman),
    ("crio-", CgroupEngine::CriO),
    ("runc-", CgroupEngine::Runc),
];

/// The container a cgroup path belongs to: the deepest component that names
/// one. `/machine.slice/libpod-<id>.scope/container` belongs to `<id>` too.
pub fn container_of(path: &Path) -> Option<ContainerCgroup> {
    let mut found = None;
    let mut prefix = PathBuf::from("/");
    let mut parent: Option<String> = None;
    for component in path.components() {
        let std::path::Component::Normal(name) = component else {
            continue;
        };
        let name = name.to_string_lossy();
        prefix.push(name.as_ref());
        if let Some((id, engine)) = id_in_name(&name, parent.as_deref()) {
            found = Some(ContainerCgroup {
                id,
                engine,
                path: prefix.clone(),
            });
        }
        parent = Some(name.into_owned());
    }
    found
}

/// The container id one cgroup directory name holds, given its parent's name.
fn id_in_name(name: &str, parent: Option<&str>) -> Option<(String, CgroupEngine)> {
    if let Some(unit) = name.strip_suffix(".scope") {
        if unit.starts_with("libpod-conmon-") || unit.starts_with("crio-conmon-") {
            return None;
        }
        return SCOPE_PREFIXES.iter().find_map(|(prefix, engine)| {
            let id = unit.strip_prefix(prefix)?;
            is_container_id(id).then(|| (id.to_string(), *engine))
        });
    }
    for (prefix, engine) in [
        ("libpod-", CgroupEngine::Podman),
        ("crio-", CgroupEngine::CriO),
    ] {
        if let Some(id) = name.strip_prefix(prefix)
            && is_hex_id(id)
        {
            return Some((id.to_string(), engine));
        }
    }
    if is_hex_id(name) {
        let engine = match parent {
            Some("docker") => CgroupEngine::Docker,
            _ => CgroupEngine::Unknown,
        };
        return Some((name.to_string(), engine));
    }
    None
}

/// Engines use 64 hex digits; a scope name can carry any id runc accepts.
fn is_container_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'.'))
}

fn is_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every container cgroup below `mount` (the cgroup2 mount), nested ones
/// (a container engine inside a container) included. Unreadable directories
/// are skipped: cgroups come and go while the tree is walked.
pub fn scan(mount: &Path) -> Vec<ContainerCgroup> {
    let mut found = Vec::new();
    walk(mount, Path::new("/"), None, &mut found);
    found
}

fn walk(dir: &Path, relative: &Path, parent: Option<&str>, found: &mut Vec<ContainerCgroup>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = relative.join(&name);
        if let Some((id, engine)) = id_in_name(&name, parent) {
            found.push(ContainerCgroup {
                id,
                engine,
                path: path.clone(),
            });
        }
        walk(&entry.path(), &path, Some(&name), found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "8dbd5bd7637fbc7e3981244782948bf2695be9233ed256cf23c02cf60e7ac3fd";

    fn of(path: &str) -> Option<(String, CgroupEngine, String)> {
        container_of(Path::new(path)).map(|c| (c.id, c.engine, c.path.display().to_string()))
    }

    #[test]
    fn cgroupfs_layouts() {
        assert_eq!(
            of(&format!("/docker/{ID}")),
            Some((ID.into(), CgroupEngine::Docker, format!("/docker/{ID}")))
        );
        assert_eq!(
            of(&format!("/libpod_parent/libpod-{ID}")),
            Some((
                ID.into(),
                CgroupEngine::Podman,
                format!("/libpod_parent/libpod-{ID}")
            ))
        );
        assert_eq!(
            of(&format!(
                "/kubepods/burstable/pod0f5b8c2e-1d7a-4c55-9a3e-2b1f6f0e9d11/{ID}"
            )),
            Some((
                ID.into(),
                CgroupEngine::Unknown,
                format!("/kubepods/burstable/pod0f5b8c2e-1d7a-4c55-9a3e-2b1f6f0e9d11/{ID}")
            ))
        );
        assert_eq!(
            of(&format!("/k8s.io/{ID}")).map(|c| c.1),
            Some(CgroupEngine::Unknown)
        );
        assert_eq!(
            of(&format!("/kubepods/besteffort/pod0f5b8c2e/crio-{ID}")).map(|c| c.1),
            Some(CgroupEngine::CriO)
        );
        assert_eq!(
            of(&format!(
                "/kubepods/besteffort/pod0f5b8c2e/crio-conmon-{ID}"
            )),
            None
        );
    }

    #[test]
    fn systemd_layouts() {
        for (unit, engine) in [
            (format!("docker-{ID}.scope"), CgroupEngine::Docker),
            (
                format!("cri-containerd-{ID}.scope"),
                CgroupEngine::Containerd,
            ),
            (format!("crio-{ID}.scope"), CgroupEngine::CriO),
            (format!("libpod-{ID}.scope"), CgroupEngine::Podman),
            ("runc-web.scope".to_string(), CgroupEngine::Runc),
        ] {
            let path = format!("/system.slice/{unit}");
            let got = of(&path).unwrap_or_else(|| panic!("{path} not recognised"));
            assert_eq!(got.1, engine, "{path}");
            assert_eq!(got.2, path);
        }
        let kube = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f5b8c2e_1d7a_4c55_9a3e_2b1f6f0e9d11.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(of(&kube).map(|c| c.0), Some(ID.to_string()));
    }

    #[test]
    fn podman_container_subgroup_belongs_to_the_scope() {
        let got = of(&format!("/machine.slice/libpod-{ID}.scope/container")).unwrap();
        assert_eq!(got.2, format!("/machine.slice/libpod-{ID}.scope"));
    }

    #[test]
    fn monitors_and_services_are_not_containers() {
        assert_eq!(
            of(&format!("/machine.slice/libpod-conmon-{ID}.scope")),
            None
        );
        assert_eq!(of(&format!("/system.slice/crio-conmon-{ID}.scope")), None);
        assert_eq!(of("/system.slice/docker.service"), None);
        assert_eq!(of("/docker"), None);
        assert_eq!(of("/docker/abc"), None);
        assert_eq!(of("/"), None);
    }

    #[test]
    fn scans_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in [
            format!("docker/{ID}"),
            format!("libpod_parent/libpod-{ID}"),
            format!("machine.slice/libpod-{ID}.scope/container"),
            format!("machine.slice/libpod-conmon-{ID}.scope"),
            "system.slice/cron.service".to_string(),
        ] {
            std::fs::create_dir_all(root.join(p)).unwrap();
        }
        let mut got: Vec<String> = scan(root)
            .into_iter()
            .map(|c| c.path.display().to_string())
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                format!("/docker/{ID}"),
                format!("/libpod_parent/libpod-{ID}"),
                format!("/machine.slice/libpod-{ID}.scope"),
            ]
        );
    }
}
