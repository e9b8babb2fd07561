//! Names of containers made with nerdctl, containerd's Docker-compatible
//! CLI. containerd keeps no names of its own (nerdctl's `nerdctl/name` is a
//! label in containerd's database); nerdctl also keeps a name store on disk,
//! which is read here: `<data root>/<ADDRHASH>/names/<NAMESPACE>/<NAME>`, a
//! file holding the container's id, with the data root `/var/lib/nerdctl`
//! and ADDRHASH the first 8 hex digits of the SHA-256 of containerd's socket
//! path (the layout nerdctl documents in its docs/dir.md). Every address's
//! store is read, so a containerd on a non-default socket is covered too.

use std::fs;
use std::path::Path;

/// One name in nerdctl's store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NerdctlName {
    pub id: String,
    pub name: String,
    /// containerd's namespace (`default` for nerdctl's own containers).
    pub namespace: String,
}

/// Every name under `data_root`, sorted by namespace and name. Unreadable
/// entries (nerdctl writing one right now) are skipped.
pub fn list(data_root: &Path) -> Vec<NerdctlName> {
    let mut found = Vec::new();
    for store in entries(data_root) {
        for namespace_dir in entries(&store.join("names")) {
            let Some(namespace) = file_name(&namespace_dir) else {
                continue;
            };
            for name_file in entries(&namespace_dir) {
                let (Some(name), Ok(id)) = (file_name(&name_file), fs::read_to_string(&name_file))
                else {
                    continue;
                };
                let id = id.trim();
                if is_container_id(id) {
                    found.push(NerdctlName {
                        id: id.to_string(),
                        name,
                        namespace: namespace.clone(),
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    found
}

fn entries(dir: &Path) -> impl Iterator<Item = std::path::PathBuf> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
}

/// containerd ids are what its clients chose; nerdctl's are 64 hex digits.
/// Anything else in the store is not a name file.
fn is_container_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 76
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "c4ed811cc361d26faffdee8d696ddbc45a9d93c571b5b3c54d3da01cb29caeb1";

    #[test]
    fn reads_every_store_and_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let names = dir.path().join("1935db59/names");
        fs::create_dir_all(names.join("default")).unwrap();
        fs::create_dir_all(names.join("k8s.io")).unwrap();
        fs::write(names.join("default/web"), ID).unwrap();
        fs::write(names.join("k8s.io/job"), "job-1\n").unwrap();
        fs::write(names.join("default/broken"), "not an id at all").unwrap();
        fs::create_dir_all(dir.path().join("5f2b1e7a/names/default")).unwrap();
        fs::write(dir.path().join("5f2b1e7a/names/default/db"), "db1").unwrap();
        let got: Vec<(String, String, String)> = list(dir.path())
            .into_iter()
            .map(|n| (n.namespace, n.name, n.id))
            .collect();
        assert_eq!(
            got,
            [
                ("default".into(), "db".into(), "db1".into()),
                ("default".into(), "web".into(), ID.into()),
                ("k8s.io".into(), "job".into(), "job-1".into()),
            ]
        );
    }

    #[test]
    fn no_store_is_no_names() {
        assert!(list(Path::new("/nonexistent/nerdctl")).is_empty());
    }
}
