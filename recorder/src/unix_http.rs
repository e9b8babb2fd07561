//! One HTTP/1.0 request over a Unix socket: how the recorder asks Docker's
//! API and its own daemon. HTTP/1.0 keeps the reply simple: no chunked
//! encoding, and the server closes the connection at the end.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// A reply: its status code and body.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends `method path` to the server at `socket` and reads the whole reply,
/// each read and write bounded by `timeout`.
pub fn request(socket: &Path, method: &str, path: &str, timeout: Duration) -> io::Result<Reply> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    parse_reply(&reply)
}

/// Splits a reply into its status and body.
pub fn parse_reply(reply: &[u8]) -> io::Result<Reply> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of HTTP headers"))?;
    let head = String::from_utf8_lossy(&reply[..split]);
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no HTTP status line"))?;
    Ok(Reply {
        status,
        body: reply[split + 4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_status_and_body() {
        let reply =
            parse_reply(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[1]").unwrap();
        assert_eq!(
            reply,
            Reply {
                status: 200,
                body: b"[1]".to_vec()
            }
        );
        assert_eq!(
            parse_reply(b"HTTP/1.1 404 Not Found\r\n\r\n")
                .unwrap()
                .status,
            404
        );
        assert!(parse_reply(b"garbage").is_err());
    }
}
