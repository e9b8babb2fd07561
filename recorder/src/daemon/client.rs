//! Asking a running daemon, for `recorder status` and for `recorder trace`,
//! which takes a container's recording from the daemon rather than loading
//! a second program.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::recordings::{RecordingDetail, RecordingView};
use super::{DaemonInfo, FlushReport};
use crate::unix_http::request;

/// Where `recorder daemon` listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/recorder/recorder.sock";

/// How long the daemon may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Asking the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "no recorder daemon answers at {socket}: {source} (start one with `recorder daemon`, or give its --socket)"
    )]
    Unreachable {
        socket: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the recorder daemon at {socket} refused {what}: HTTP {status}: {message}")]
    Refused {
        socket: PathBuf,
        what: String,
        status: u16,
        message: String,
    },
    #[error("the recorder daemon at {socket} sent {what} that does not parse")]
    BadReply {
        socket: PathBuf,
        what: String,
        #[source]
        source: serde_json::Error,
    },
}

/// A daemon's API socket.
#[derive(Clone, Debug)]
pub struct DaemonClient {
    socket: PathBuf,
}

impl DaemonClient {
    pub fn new(socket: &Path) -> DaemonClient {
        DaemonClient {
            socket: socket.to_path_buf(),
        }
    }

    /// A client of the daemon at `socket` when one answers there.
    pub fn answering(socket: &Path) -> Option<DaemonClient> {
        let client = DaemonClient::new(socket);
        (socket.exists() && client.recordings().is_ok()).then_some(client)
    }

    fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
    ) -> Result<Option<T>, ClientError> {
        let reply = request(&self.socket, method, path, TIMEOUT).map_err(|source| {
            ClientError::Unreachable {
                socket: self.socket.clone(),
                source,
            }
        })?;
        if reply.status == 404 {
            return Ok(None);
        }
        if reply.status != 200 {
            return Err(ClientError::Refused {
                socket: self.socket.clone(),
                what: format!("{method} {path}"),
                status: reply.status,
                message: String::from_utf8_lossy(&reply.body).trim().to_string(),
            });
        }
        serde_json::from_slice(&reply.body)
            .map(Some)
            .map_err(|source| ClientError::BadReply {
                socket: self.socket.clone(),
                what: path.to_string(),
                source,
            })
    }

    /// Every recording the daemon lists.
    pub fn recordings(&self) -> Result<Vec<RecordingView>, ClientError> {
        Ok(self.call("GET", "/v1/recordings")?.unwrap_or_default())
    }

    /// The newest recording of container `id`, with what it saw.
    pub fn recording(&self, id: &str) -> Result<Option<RecordingDetail>, ClientError> {
        self.call("GET", &format!("/v1/recordings/{id}"))
    }

    /// How the daemon records; a daemon from before this call existed
    /// captures no arguments.
    pub fn info(&self) -> Result<DaemonInfo, ClientError> {
        Ok(self.call("GET", "/v1/daemon")?.unwrap_or_default())
    }

    /// Writes every profile that changed now.
    pub fn flush(&self) -> Result<FlushReport, ClientError> {
        Ok(self.call("POST", "/v1/flush")?.unwrap_or_default())
    }
}
