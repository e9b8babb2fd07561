//! Seccomp audit records, live from the kernel's audit netlink multicast
//! group: every record, with no audit daemon and no printk rate limit.
//!
//! Used to derive the runtimes' base profiles: a container runs under a
//! filter whose default action is `SCMP_ACT_LOG`, and every syscall made
//! under it arrives here as a `SECCOMP` (1326) record.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// `AUDIT_SECCOMP`: a seccomp action was logged.
const AUDIT_SECCOMP: u16 = 1326;
/// `AUDIT_GET`: ask for the audit status.
const AUDIT_GET: u16 = 1000;
/// `AUDIT_NLGRP_READLOG`: the read-only multicast group.
const AUDIT_NLGRP_READLOG: u32 = 1;
const NLMSG_HDRLEN: usize = 16;

/// One seccomp record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeccompRecord {
    /// Thread-group id (the process), in the initial pid namespace.
    pub pid: i32,
    pub comm: String,
    pub exe: String,
    /// `AUDIT_ARCH_*` of the syscall.
    pub arch: u32,
    /// As the kernel reports it (x32 calls keep their 0x40000000 bit).
    pub syscall: u32,
}

/// A socket subscribed to the audit multicast group.
pub struct AuditSocket {
    fd: OwnedFd,
}

impl AuditSocket {
    /// Subscribes; needs CAP_AUDIT_READ.
    pub fn open() -> io::Result<AuditSocket> {
        // SAFETY: plain socket(2); the fd is owned below.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_AUDIT,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh fd.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: zeroed sockaddr_nl is valid; fields set below.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        addr.nl_groups = 1 << (AUDIT_NLGRP_READLOG - 1);
        // SAFETY: addr is a valid sockaddr_nl of the given size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // Records of a busy container come in bursts.
        let size: libc::c_int = 8 << 20;
        // SAFETY: a valid int option; failure leaves the default size.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&raw const size).cast(),
                size_of::<libc::c_int>() as u32,
            )
        };
        Ok(AuditSocket { fd })
    }

    /// The next seccomp record, or `None` when none came within `timeout`.
    /// Other record types are skipped.
    pub fn next_seccomp(&self, timeout: Duration) -> io::Result<Option<SeccompRecord>> {
        let mut buf = vec![0u8; 16384];
        loop {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
            if ready < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if ready == 0 {
                return Ok(None);
            }
            // SAFETY: buf is valid for its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let Some((kind, payload)) = netlink_payload(&buf[..n as usize]) else {
                continue;
            };
            if kind == AUDIT_SECCOMP
                && let Some(record) = parse_seccomp(&String::from_utf8_lossy(payload))
            {
                return Ok(Some(record));
            }
        }
    }
}

/// How many records the kernel has dropped since boot (`lost` of
/// `auditctl -s`), asked on a socket of its own.
pub fn lost_records() -> io::Result<u32> {
    // SAFETY: plain socket(2); the fd is owned below.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_AUDIT,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // nlmsghdr: len, type, flags (NLM_F_REQUEST), seq, pid; no payload.
    let mut request = [0u8; NLMSG_HDRLEN];
    request[0..4].copy_from_slice(&(NLMSG_HDRLEN as u32).to_ne_bytes());
    request[4..6].copy_from_slice(&AUDIT_GET.to_ne_bytes());
    request[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    // SAFETY: zeroed sockaddr_nl addresses the kernel.
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: valid buffer and address.
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            request.as_ptr().cast(),
            request.len(),
            0,
            (&raw const kernel).cast(),
            size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = [0u8; 1024];
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let Some((kind, payload)) = netlink_payload(&buf[..n as usize]) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "short netlink reply",
            ));
        };
        if kind == AUDIT_GET {
            // struct audit_status: mask, enabled, failure, pid, rate_limit,
            // backlog_limit, lost (u32 each).
            return payload
                .get(24..28)
                .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short audit status"));
        }
        if kind == libc::NLMSG_ERROR as u16 {
            let errno = payload
                .get(0..4)
                .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
            if errno != 0 {
                return Err(io::Error::from_raw_os_error(-errno));
            }
        }
    }
}

/// The type and payload of the first netlink message in `buf`.
fn netlink_payload(buf: &[u8]) -> Option<(u16, &[u8])> {
    let len = u32::from_ne_bytes(buf.get(0..4)?.try_into().ok()?) as usize;
    let kind = u16::from_ne_bytes(buf.get(4..6)?.try_into().ok()?);
    let end = len.min(buf.len());
    Some((kind, buf.get(NLMSG_HDRLEN..end)?))
}

/// Parses the text of a seccomp record: `audit(T:S): auid=… pid=…
/// comm="…" exe="…" sig=0 arch=c000003e syscall=59 …`.
pub fn parse_seccomp(text: &str) -> Option<SeccompRecord> {
    let fields = &text[text.find("): ")? + 3..];
    let mut record = SeccompRecord {
        pid: -1,
        comm: String::new(),
        exe: String::new(),
        arch: 0,
        syscall: u32::MAX,
    };
    let mut rest = fields.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, quoted, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], true, &quoted[end + 1..])
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            (&after[..end], false, &after[end..])
        };
        let text = || {
            if quoted {
                value.to_string()
            } else {
                unhex(value)
            }
        };
        match key {
            "pid" => record.pid = value.parse().ok()?,
            "comm" => record.comm = text(),
            "exe" => record.exe = text(),
            "arch" => record.arch = u32::from_str_radix(value, 16).ok()?,
            "syscall" => record.syscall = value.parse().ok()?,
            _ => {}
        }
        rest = next.trim_start();
    }
    (record.pid >= 0 && record.arch != 0 && record.syscall != u32::MAX).then_some(record)
}

/// Audit writes a string with unusual characters (spaces, quotes) as
/// unquoted hex; `(null)` stays as is.
fn unhex(value: &str) -> String {
    let is_hex = value.len() >= 2
        && value.len().is_multiple_of(2)
        && value.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_hex {
        return value.to_string();
    }
    let bytes: Option<Vec<u8>> = (0..value.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&value[i..i + 2], 16).ok())
        .collect();
    bytes.map_or_else(
        || value.to_string(),
        |b| String::from_utf8_lossy(&b).into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_kernel_record() {
        let text = r#"audit(1795436327.504:1220): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=31232 comm="runc:[2:INIT]" exe="/" sig=0 arch=c000003e syscall=59 compat=0 ip=0x47b7a0 code=0x7ffc0000"#;
        assert_eq!(
            parse_seccomp(text),
            Some(SeccompRecord {
                pid: 31232,
                comm: "runc:[2:INIT]".into(),
                exe: "/".into(),
                arch: 0xc000003e,
                syscall: 59,
            })
        );
    }

    #[test]
    fn hex_encoded_exe_and_spaces_in_comm() {
        let text = r#"audit(1.2:3): pid=7 comm="my app" exe=2F746D702F612062 sig=0 arch=40000003 syscall=5 compat=1"#;
        let r = parse_seccomp(text).unwrap();
        assert_eq!(r.comm, "my app");
        assert_eq!(r.exe, "/tmp/a b");
        assert_eq!(r.arch, 0x40000003);
        assert_eq!(r.syscall, 5);
    }

    #[test]
    fn incomplete_records_are_rejected() {
        assert_eq!(parse_seccomp("audit(1.2:3): pid=7 comm=\"x\""), None);
        assert_eq!(parse_seccomp("garbage"), None);
        assert_eq!(
            parse_seccomp("audit(1.2:3): pid=7 comm=\"unterminated"),
            None
        );
    }

    #[test]
    fn netlink_framing() {
        let mut msg = Vec::new();
        msg.extend_from_slice(&(NLMSG_HDRLEN as u32 + 3).to_ne_bytes());
        msg.extend_from_slice(&AUDIT_SECCOMP.to_ne_bytes());
        msg.extend_from_slice(&[0; 10]);
        msg.extend_from_slice(b"abcXYZ");
        assert_eq!(netlink_payload(&msg), Some((AUDIT_SECCOMP, &b"abc"[..])));
        assert_eq!(netlink_payload(&msg[..4]), None);
    }
}
