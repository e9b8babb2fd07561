//! The kernel's seccomp audit records, read from the audit netlink socket's
//! read-only multicast group (the one `journald` and `auditd` readers join).
//!
//! Kept small on purpose: it receives every record the kernel emits from
//! the moment [`SeccompLog::open`] returns, with or without an audit daemon
//! and without the kernel log's rate limit, and parses the few fields
//! `recorder run --complain` needs. The full log parser (files, journald,
//! ausearch) lives in the logs module; [`parse_seccomp_record`] is the one
//! function to swap for it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::arch::Arch;

/// `AUDIT_SECCOMP`, the record type of a seccomp action that logs.
const AUDIT_SECCOMP: u16 = 1326;
/// `AUDIT_NLGRP_READLOG`, the multicast group of all audit records.
const AUDIT_NLGRP_READLOG: u32 = 1;

/// Why the audit records cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "cannot read the kernel's audit records ({0}): run as root (CAP_AUDIT_READ) on a kernel with audit support"
    )]
    Open(#[source] io::Error),
}

/// One seccomp record: a process made a syscall the filter logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeccompRecord {
    pub pid: u32,
    /// The kernel's `arch=` (an `AUDIT_ARCH_*` value).
    pub audit_arch: u32,
    /// The syscall number as the kernel reports it.
    pub syscall: u32,
    /// The filter's return value (`code=`), e.g. 0x7ffc0000 for LOG.
    pub code: u32,
}

impl SeccompRecord {
    /// The libseccomp architecture of the call.
    pub fn arch(&self) -> Option<Arch> {
        Arch::from_audit_arch(self.audit_arch, self.syscall)
    }
}

/// Parses the text of an `AUDIT_SECCOMP` record (`audit(…): auid=… pid=…
/// arch=c000003e syscall=1 compat=0 ip=… code=0x7ffc0000`).
pub fn parse_seccomp_record(text: &str) -> Option<SeccompRecord> {
    let mut pid = None;
    let mut audit_arch = None;
    let mut syscall = None;
    let mut code = None;
    for field in text.split_ascii_whitespace() {
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        match key {
            "pid" => pid = value.parse().ok(),
            "arch" => audit_arch = u32::from_str_radix(value, 16).ok(),
            "syscall" => syscall = value.parse().ok(),
            "code" => code = u32::from_str_radix(value.trim_start_matches("0x"), 16).ok(),
            _ => {}
        }
    }
    Some(SeccompRecord {
        pid: pid?,
        audit_arch: audit_arch?,
        syscall: syscall?,
        code: code?,
    })
}

/// A subscription to the kernel's audit records.
pub struct SeccompLog {
    socket: OwnedFd,
    /// Records were dropped because the queue was full.
    pub lost_records: bool,
}

impl SeccompLog {
    /// Joins the read-only multicast group; records from now on are queued.
    pub fn open() -> Result<SeccompLog, AuditError> {
        // SAFETY: plain socket(2); the fd is owned below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::NETLINK_AUDIT,
            )
        };
        if fd < 0 {
            return Err(AuditError::Open(io::Error::last_os_error()));
        }
        // SAFETY: a fresh fd we own.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        super::netlink::grow_receive_buffer(&socket);
        super::netlink::bind_group(&socket, AUDIT_NLGRP_READLOG).map_err(AuditError::Open)?;
        Ok(SeccompLog {
            socket,
            lost_records: false,
        })
    }

    /// Reads every queued record without blocking and appends the seccomp
    /// ones to `out`. Records lost to a full queue set [`Self::lost_records`].
    pub fn read_pending(&mut self, out: &mut Vec<SeccompRecord>) -> io::Result<()> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // SAFETY: recv into a buffer we own.
            let n = unsafe {
                libc::recv(
                    self.socket.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EAGAIN) => return Ok(()),
                    Some(libc::EINTR) => continue,
                    Some(libc::ENOBUFS) => {
                        self.lost_records = true;
                        continue;
                    }
                    _ => return Err(err),
                }
            }
            let n = n as usize;
            if n < 16 {
                continue;
            }
            // The kernel sets nlmsg_len of audit records to the payload
            // length, so the datagram size is what counts: one record each.
            let kind = u16::from_ne_bytes([buf[4], buf[5]]);
            if kind != AUDIT_SECCOMP {
                continue;
            }
            let text = String::from_utf8_lossy(&buf[16..n]);
            if let Some(record) = parse_seccomp_record(text.trim_end_matches('\0')) {
                out.push(record);
            }
        }
    }
}

impl AsFd for SeccompLog {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_records() {
        let text = "audit(1795436327.504:1220): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=31232 comm=\"mkdir\" exe=\"/bin/busybox\" sig=0 arch=c000003e syscall=83 compat=0 ip=0x47b7a0 code=0x7ffc0000";
        let r = parse_seccomp_record(text).unwrap();
        assert_eq!(
            r,
            SeccompRecord {
                pid: 31232,
                audit_arch: 0xc000_003e,
                syscall: 83,
                code: 0x7ffc_0000
            }
        );
        assert_eq!(r.arch(), Some(Arch::X86_64));
        let x32 = SeccompRecord {
            syscall: 0x4000_0000,
            ..r
        };
        assert_eq!(x32.arch(), Some(Arch::X32));
        let ia32 = SeccompRecord {
            audit_arch: 0x4000_0003,
            ..r
        };
        assert_eq!(ia32.arch(), Some(Arch::X86));
        assert_eq!(parse_seccomp_record("audit(1.2:3): pid=1"), None);
    }
}
