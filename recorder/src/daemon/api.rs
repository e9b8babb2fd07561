//! The daemon's API: JSON over HTTP on a Unix socket, root only.
//!
//! - `GET /v1/recordings`: every recording ([`RecordingView`]);
//! - `GET /v1/recordings/<container id>`: the newest recording of that
//!   container with what it saw ([`RecordingDetail`]): what `recorder
//!   trace` takes instead of recording the container itself;
//! - `GET /v1/profiles/<path below the output directory>`: a workload's
//!   profile as it would be written now;
//! - `POST /v1/flush`: writes every profile that changed now;
//! - `GET /v1/daemon`: how the daemon records ([`DaemonInfo`]);
//! - `GET /metrics`: Prometheus text (also on `--metrics ADDR`).
//!
//! The socket is mode 0600 in a directory of its own, and a peer that is
//! not root (by its credentials, `SO_PEERCRED`) is refused: the recordings
//! name every container of the node.
//!
//! [`RecordingView`]: super::recordings::RecordingView
//! [`RecordingDetail`]: super::recordings::RecordingDetail
//! [`DaemonInfo`]: DaemonInfo

use std::fs;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Path as UrlPath, Request, State as Axum};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use tokio::net::UnixListener;

use super::recordings::RecordingView;
use super::{DaemonError, Shared, io_error, lock};
use crate::profile::oci;

/// Binds the API socket: refuses when another daemon answers there,
/// replaces a socket file nobody listens on, and makes it mode 0600 in a
/// directory only root enters (made 0700 when the daemon creates it).
pub(super) fn bind(socket: &Path) -> Result<UnixListener, DaemonError> {
    if std::os::unix::net::UnixStream::connect(socket).is_ok() {
        return Err(DaemonError::AlreadyRunning(socket.to_path_buf()));
    }
    if let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error(format!("creating {}", dir.display())))?;
    }
    match fs::remove_file(socket) {
        Ok(()) => log::debug!("removed {}, where nothing listened", socket.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(format!("replacing {}", socket.display()))(e)),
    }
    let listener = UnixListener::bind(socket)
        .map_err(io_error(format!("listening on {}", socket.display())))?;
    fs::set_permissions(socket, fs::Permissions::from_mode(0o600))
        .map_err(io_error(format!("making {} private", socket.display())))?;
    Ok(listener)
}

/// Who is on the other end of a connection.
#[derive(Clone, Debug)]
struct Peer {
    uid: Option<u32>,
}

impl Connected<IncomingStream<'_, UnixListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        Peer {
            uid: stream.io().peer_cred().ok().map(|c| c.uid()),
        }
    }
}

/// Refuses every peer but root.
async fn root_only(ConnectInfo(peer): ConnectInfo<Peer>, request: Request, next: Next) -> Response {
    if peer.uid == Some(0) {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "the recorder daemon answers root only\n",
        )
            .into_response()
    }
}

fn routes(shared: Shared) -> Router {
    Router::new()
        .route("/v1/recordings", get(recordings))
        .route("/v1/recordings/{id}", get(recording))
        .route("/v1/profiles/{*path}", get(profile))
        .route("/v1/flush", post(flush))
        .route("/v1/daemon", get(daemon))
        .route("/metrics", get(metrics))
        .with_state(shared)
}

pub(super) async fn serve_socket(listener: UnixListener, shared: Shared) {
    let app = routes(shared).layer(middleware::from_fn(root_only));
    if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<Peer>()).await {
        log::warn!("the API stopped: {e}", e = crate::messages::Chain(&e));
    }
}

pub(super) async fn serve_metrics(listener: tokio::net::TcpListener, shared: Shared) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(shared);
    if let Err(e) = axum::serve(listener, app).await {
        log::warn!(
            "the metrics endpoint stopped: {e}",
            e = crate::messages::Chain(&e)
        );
    }
}

fn json<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_vec_pretty(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn recordings(Axum(shared): Axum<Shared>) -> Response {
    let mut state = lock(&shared);
    state.read_live();
    let views: Vec<&RecordingView> = state.recordings.all().map(|r| &r.view).collect();
    json(&views)
}

async fn recording(Axum(shared): Axum<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    let mut state = lock(&shared);
    state.read_live();
    match state.recordings.find(&id) {
        Some(r) => json(&r.detail()),
        None => (
            StatusCode::NOT_FOUND,
            format!("no recording of container {id}\n"),
        )
            .into_response(),
    }
}

async fn profile(Axum(shared): Axum<Shared>, UrlPath(path): UrlPath<String>) -> Response {
    let state = lock(&shared);
    match state.book.profile(&PathBuf::from(&path)) {
        Some(profile) => (
            [(header::CONTENT_TYPE, "application/json")],
            oci::to_json(&profile),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            format!("no profile {path} below {}\n", state.book.dir().display()),
        )
            .into_response(),
    }
}

/// How the daemon records, for a `trace` that needs more than names.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DaemonInfo {
    /// It captures the arguments that matter (`--args`).
    pub args: bool,
}

async fn daemon(Axum(shared): Axum<Shared>) -> Response {
    let state = lock(&shared);
    json(&DaemonInfo {
        args: state.recorder.captures_args(),
    })
}

async fn flush(Axum(shared): Axum<Shared>) -> Response {
    let report = lock(&shared).flush();
    json(&report)
}

async fn metrics(Axum(shared): Axum<Shared>) -> Response {
    let state = lock(&shared);
    let text = state.metrics.render(&state.gauges());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
