//! The OCI runtime an engine starts containers with unless told otherwise:
//! what `trace` falls back on when a container's own runtime could not be
//! read (its state was gone before it was looked at), so that its profile
//! still holds the runtime's base profile.
//!
//! - Docker: `default-runtime` in /etc/docker/daemon.json, else runc (its
//!   built-in default).
//! - podman: `runtime` in the `[engine]` table of containers.conf (/etc's,
//!   else /usr/share's), else crun when it is installed, else runc (as
//!   podman picks).
//! - containerd: its runc shim (`io.containerd.runc.v2`) runs runc.
//!
//! CRI-O and runtimes run by hand have no default to read: `None`.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Engine, HostLayout, OciRuntime};

/// The runtime `engine` runs containers with by default, when it can be
/// told.
pub fn default_runtime(layout: &HostLayout, engine: &Engine) -> Option<OciRuntime> {
    match engine {
        Engine::Docker => Some(docker(layout).unwrap_or(OciRuntime::Runc)),
        Engine::Podman => Some(podman(layout).unwrap_or_else(|| {
            if installed("crun") {
                OciRuntime::Crun
            } else {
                OciRuntime::Runc
            }
        })),
        Engine::Containerd { .. } => Some(OciRuntime::Runc),
        Engine::Plain(runtime) => Some(*runtime),
        Engine::CriO | Engine::Unknown => None,
    }
}

/// A runtime by the name or path an engine's configuration gives.
fn runtime_named(name: &str) -> Option<OciRuntime> {
    let base = Path::new(name).file_name()?.to_string_lossy().into_owned();
    if base.contains("runc") {
        Some(OciRuntime::Runc)
    } else if base.contains("crun") {
        Some(OciRuntime::Crun)
    } else {
        None
    }
}

fn docker(layout: &HostLayout) -> Option<OciRuntime> {
    let text = fs::read_to_string(layout.etc.join("docker/daemon.json")).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let name = config.get("default-runtime")?.as_str()?;
    // A runtime Docker was told of by name: its path says which it is.
    let path = config
        .get("runtimes")
        .and_then(|r| r.get(name))
        .and_then(|r| r.get("path"))
        .and_then(|p| p.as_str())
        .unwrap_or(name);
    runtime_named(path)
}

fn podman(layout: &HostLayout) -> Option<OciRuntime> {
    [
        layout.etc.join("containers/containers.conf"),
        layout.usr_share.join("containers/containers.conf"),
    ]
    .iter()
    .find_map(|file| engine_runtime(file))
}

/// `runtime = "..."` of the `[engine]` table of a containers.conf (TOML;
/// only this one key is read, so a line reader does).
fn engine_runtime(file: &Path) -> Option<OciRuntime> {
    let text = fs::read_to_string(file).ok()?;
    let mut in_engine = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_engine = line == "[engine]";
            continue;
        }
        if !in_engine {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "runtime"
        {
            let value = value.split('#').next().unwrap_or_default().trim();
            return runtime_named(value.trim_matches(['"', '\'']));
        }
    }
    None
}

fn installed(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d: PathBuf| d.join(program).is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> (tempfile::TempDir, HostLayout) {
        let dir = tempfile::tempdir().unwrap();
        let layout = HostLayout::under(dir.path());
        (dir, layout)
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn docker_runs_runc_unless_configured() {
        let (_dir, layout) = host();
        assert_eq!(
            default_runtime(&layout, &Engine::Docker),
            Some(OciRuntime::Runc)
        );
        write(
            &layout.etc.join("docker/daemon.json"),
            r#"{"default-runtime":"fast","runtimes":{"fast":{"path":"/usr/local/bin/crun"}}}"#,
        );
        assert_eq!(
            default_runtime(&layout, &Engine::Docker),
            Some(OciRuntime::Crun)
        );
    }

    #[test]
    fn podman_reads_containers_conf() {
        let (_dir, layout) = host();
        write(
            &layout.usr_share.join("containers/containers.conf"),
            "[containers]\nruntime = \"crun\"\n[engine]\n# runtime = \"crun\"\nruntime = \"runc\" # here\n",
        );
        assert_eq!(
            default_runtime(&layout, &Engine::Podman),
            Some(OciRuntime::Runc)
        );
        write(
            &layout.etc.join("containers/containers.conf"),
            "[engine]\nruntime=\"/usr/bin/crun\"\n",
        );
        assert_eq!(
            default_runtime(&layout, &Engine::Podman),
            Some(OciRuntime::Crun)
        );
    }

    #[test]
    fn others() {
        let (_dir, layout) = host();
        let containerd = Engine::Containerd {
            namespace: "k8s.io".into(),
        };
        assert_eq!(
            default_runtime(&layout, &containerd),
            Some(OciRuntime::Runc)
        );
        assert_eq!(default_runtime(&layout, &Engine::CriO), None);
        assert_eq!(default_runtime(&layout, &Engine::Unknown), None);
    }
}
