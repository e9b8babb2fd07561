//! Docker's containers: names and states through the daemon's API socket,
//! or from its container store when the daemon does not answer.
//!
//! Ids, pids and cgroups come from the runtime state (`oci_state`); Docker is
//! asked only for what only it knows: names, and whether a container exited.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// What Docker says about one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerContainer {
    pub id: String,
    /// Without Docker's leading `/`.
    pub names: Vec<String>,
    pub state: DockerState,
}

/// Docker's container states, folded to what matters here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DockerState {
    /// Created, never started.
    Created,
    /// Running, paused or restarting.
    Running,
    /// Exited, dead or being removed.
    Exited,
}

impl DockerState {
    fn from_api(state: &str) -> DockerState {
        match state {
            "created" => DockerState::Created,
            "running" | "paused" | "restarting" => DockerState::Running,
            _ => DockerState::Exited,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiContainer {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    state: String,
}

/// How long Docker may take to list its containers. A daemon that is up
/// answers in milliseconds; one still starting, or stuck waiting for its
/// containerd, accepts the connection and says nothing, and `recorder trace
/// --wait` lists the containers of every engine many times a second.
const API_TIMEOUT: Duration = Duration::from_secs(1);

/// After Docker's API failed to answer in time, it is not asked again for
/// this long (its container store is read instead), so that a silent daemon
/// costs a wait for containers one [`API_TIMEOUT`] now and then rather than
/// on every look.
const API_BACKOFF: Duration = Duration::from_secs(10);

/// Docker API sockets that accepted a connection but did not answer in time,
/// with when that last happened.
static SILENT_SOCKETS: Mutex<Vec<(PathBuf, Instant)>> = Mutex::new(Vec::new());

/// Lists every container (running or not) through the API socket, or `None`
/// when nothing answers there (or it was silent a moment ago).
pub fn list_from_api(socket: &Path) -> Option<Vec<DockerContainer>> {
    if silent_recently(socket) {
        return None;
    }
    let body = match http_get(socket, "/containers/json?all=1") {
        Ok(body) => body,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            mark_silent(socket);
            return None;
        }
        Err(e) => {
            log::debug!("docker API at {}: {e}", socket.display());
            return None;
        }
    };
    let list: Vec<ApiContainer> = serde_json::from_slice(&body)
        .inspect_err(|e| {
            log::debug!(
                "docker API at {}: bad container list: {e}",
                socket.display()
            )
        })
        .ok()?;
    Some(
        list.into_iter()
            .map(|c| DockerContainer {
                id: c.id,
                names: c
                    .names
                    .into_iter()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .collect(),
                state: DockerState::from_api(&c.state),
            })
            .collect(),
    )
}

/// Whether `socket` failed to answer within the last [`API_BACKOFF`].
fn silent_recently(socket: &Path) -> bool {
    let silent = SILENT_SOCKETS.lock().unwrap_or_else(|e| e.into_inner());
    silent
        .iter()
        .any(|(s, when)| s == socket && when.elapsed() < API_BACKOFF)
}

/// Notes that `socket` did not answer; warns the first time.
fn mark_silent(socket: &Path) {
    let mut silent = SILENT_SOCKETS.lock().unwrap_or_else(|e| e.into_inner());
    match silent.iter_mut().find(|(s, _)| s == socket) {
        Some((_, when)) => *when = Instant::now(),
        None => {
            log::warn!(
                "Docker's API at {} did not answer within {} s: Docker's names are read from its container store until it does",
                socket.display(),
                API_TIMEOUT.as_secs()
            );
            silent.push((socket.to_path_buf(), Instant::now()));
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredConfig {
    #[serde(rename = "ID")]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    state: StoredState,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredState {
    #[serde(default)]
    running: bool,
    #[serde(default)]
    started_at: String,
}

/// Reads `<store>/<id>/config.v2.json` of every container in Docker's store
/// (`/var/lib/docker/containers`).
pub fn list_from_store(store: &Path) -> Vec<DockerContainer> {
    let Ok(entries) = std::fs::read_dir(store) else {
        return Vec::new();
    };
    let mut found: Vec<DockerContainer> = entries
        .flatten()
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path().join("config.v2.json")).ok()?;
            let config: StoredConfig = serde_json::from_str(&text)
                .inspect_err(|err| log::debug!("skipping {}: {err}", e.path().display()))
                .ok()?;
            let never_started = config.state.started_at.is_empty()
                || config.state.started_at.starts_with("0001-01-01");
            let state = if config.state.running {
                DockerState::Running
            } else if never_started {
                DockerState::Created
            } else {
                DockerState::Exited
            };
            Some(DockerContainer {
                id: config.id,
                names: vec![config.name.trim_start_matches('/').to_string()],
                state,
            })
        })
        .collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

/// The name of container `id` in Docker's store (written when Docker
/// creates the container, so it is there before the container starts).
pub fn name_from_store(store: &Path, id: &str) -> Option<String> {
    if id.contains('/') || id.starts_with('.') {
        return None;
    }
    let path = store.join(id).join("config.v2.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let config: StoredConfig = serde_json::from_str(&text)
        .inspect_err(|e| log::debug!("skipping {}: {e}", path.display()))
        .ok()?;
    let name = config.name.trim_start_matches('/');
    (!name.is_empty()).then(|| name.to_string())
}

/// One GET of Docker's API; anything but 200 is an error.
fn http_get(socket: &Path, path: &str) -> std::io::Result<Vec<u8>> {
    let reply = crate::unix_http::request(socket, "GET", path, API_TIMEOUT)?;
    if reply.status != 200 {
        return Err(std::io::Error::new(
            ErrorKind::InvalidData,
            format!("HTTP status {}", reply.status),
        ));
    }
    Ok(reply.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_api_listing() {
        let body = br#"[{"Id":"8dbd","Names":["/web"],"State":"running"},{"Id":"aa11","Names":["/old"],"State":"exited"}]"#;
        let list: Vec<ApiContainer> = serde_json::from_slice(body).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].names, ["/web"]);
    }

    /// A daemon that accepts connections but never answers (the listener
    /// never accepts; the kernel's backlog does) is given up on, and not
    /// asked again at once.
    #[test]
    fn a_silent_daemon_is_not_asked_again_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert!(!silent_recently(&socket));
        assert_eq!(list_from_api(&socket), None);
        assert!(silent_recently(&socket));
        assert_eq!(list_from_api(&socket), None);
        // A refused connection is no silence: nothing listens there.
        let refused = dir.path().join("gone.sock");
        drop(std::os::unix::net::UnixListener::bind(&refused).unwrap());
        assert_eq!(list_from_api(&refused), None);
        assert!(!silent_recently(&refused));
    }

    #[test]
    fn reads_the_store() {
        let dir = tempfile::tempdir().unwrap();
        for (id, name, running, started) in [
            ("aa", "/web", true, "2026-11-23T13:51:32Z"),
            ("bb", "/done", false, "2026-11-23T13:51:32Z"),
            ("cc", "/fresh", false, "0001-01-01T00:00:00Z"),
        ] {
            std::fs::create_dir_all(dir.path().join(id)).unwrap();
            std::fs::write(
                dir.path().join(id).join("config.v2.json"),
                format!(
                    r#"{{"ID":"{id}","Name":"{name}","State":{{"Running":{running},"Pid":0,"StartedAt":"{started}"}}}}"#
                ),
            )
            .unwrap();
        }
        let got = list_from_store(dir.path());
        let states: Vec<(&str, &str, DockerState)> = got
            .iter()
            .map(|c| (c.id.as_str(), c.names[0].as_str(), c.state))
            .collect();
        assert_eq!(
            states,
            [
                ("aa", "web", DockerState::Running),
                ("bb", "done", DockerState::Exited),
                ("cc", "fresh", DockerState::Created)
            ]
        );
    }
}
