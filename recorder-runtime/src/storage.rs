//! Names of podman's and CRI-O's containers, from the containers/storage
//! library they share: `<graph root>/overlay-containers/containers.json`
//! (`/var/lib/containers/storage` for root) lists every container with its
//! names, and a JSON `metadata` string whose keys tell the two engines apart
//! (CRI-O's carry the pod: `pod-name`, `pod-id`, the Kubernetes container
//! name as `metadata-name`, and `pod: true` on a pod's infrastructure
//! container, whose `metadata-name` is the pod's).

use std::path::Path;

use serde::Deserialize;

/// Which engine created a containers/storage container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageEngine {
    Podman,
    CriO,
}

/// One container in containers/storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredContainer {
    pub id: String,
    pub names: Vec<String>,
    pub engine: StorageEngine,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    metadata: String,
}

#[derive(Default, Deserialize)]
struct Metadata {
    /// A pod's infrastructure (pause) container.
    #[serde(default)]
    pod: bool,
    #[serde(default, rename = "pod-id")]
    pod_id: Option<String>,
    #[serde(default, rename = "metadata-name")]
    kubernetes_name: Option<String>,
}

/// Reads `containers.json` (and the transient store's
/// `volatile-containers.json`) of the graph root `root`.
pub fn list(root: &Path) -> Vec<StoredContainer> {
    let dir = root.join("overlay-containers");
    let mut found = Vec::new();
    for file in ["containers.json", "volatile-containers.json"] {
        let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
            continue;
        };
        let Ok(entries) = serde_json::from_str::<Vec<Entry>>(&text) else {
            log::debug!(
                "{}: not a containers/storage list",
                dir.join(file).display()
            );
            continue;
        };
        found.extend(entries.into_iter().map(|e| {
            let metadata: Metadata = serde_json::from_str(&e.metadata).unwrap_or_default();
            let mut names = e.names;
            // A pause container's metadata-name is its pod's: a pod and
            // its container are often named alike, and the user means the
            // container.
            if !metadata.pod {
                names.extend(metadata.kubernetes_name);
            }
            StoredContainer {
                id: e.id,
                names,
                engine: if metadata.pod_id.is_some() {
                    StorageEngine::CriO
                } else {
                    StorageEngine::Podman
                },
            }
        }));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_and_crio_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("overlay-containers")).unwrap();
        std::fs::write(
            dir.path().join("overlay-containers/containers.json"),
            r#"[{"id":"a309","names":["pbb"],"image":"93e2","layer":"97e1",
                 "metadata":"{\"image-name\":\"localhost/bb:latest\",\"name\":\"pbb\",\"created-at\":1795441881}"},
                {"id":"c7f0","names":["k8s_web_web-7d9_default_0f5b_0"],
                 "metadata":"{\"pod-name\":\"web-7d9\",\"pod-id\":\"5e1a\",\"image-name\":\"nginx\",\"name\":\"k8s_web_web-7d9_default_0f5b_0\",\"metadata-name\":\"web\"}"},
                {"id":"5e1a","names":["k8s_POD_web_default_0f5b_0"],
                 "metadata":"{\"pod\":true,\"pod-name\":\"web\",\"pod-id\":\"5e1a\",\"name\":\"k8s_POD_web_default_0f5b_0\",\"metadata-name\":\"web\"}"}]"#,
        )
        .unwrap();
        assert_eq!(
            list(dir.path()),
            [
                StoredContainer {
                    id: "a309".into(),
                    names: vec!["pbb".into()],
                    engine: StorageEngine::Podman
                },
                StoredContainer {
                    id: "c7f0".into(),
                    names: vec!["k8s_web_web-7d9_default_0f5b_0".into(), "web".into()],
                    engine: StorageEngine::CriO
                },
                StoredContainer {
                    id: "5e1a".into(),
                    names: vec!["k8s_POD_web_default_0f5b_0".into()],
                    engine: StorageEngine::CriO
                }
            ]
        );
    }

    #[test]
    fn missing_or_broken_store_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list(dir.path()).is_empty());
        std::fs::create_dir_all(dir.path().join("overlay-containers")).unwrap();
        std::fs::write(
            dir.path().join("overlay-containers/containers.json"),
            "{oops",
        )
        .unwrap();
        assert!(list(dir.path()).is_empty());
    }
}
