//! Seccomp audit records of the processes `recorder run --complain` (and
//! `derive-base`) watch: the live audit socket ([`crate::audit_netlink`])
//! parsed by the log parser ([`crate::logs::parse::parse_audit_message`]),
//! reduced to the fields these callers need.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use crate::arch::Arch;
use crate::audit_netlink::{AUDIT_SECCOMP, AuditSocket, Received};
use crate::logs::Line;
use crate::logs::parse::parse_audit_message;
use crate::logs::record::{ArchField, SyscallField};

pub use crate::audit_netlink::AuditSocketError as AuditError;

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

    /// The record in the text of an `AUDIT_SECCOMP` message (`audit(…): auid=…
    /// pid=… arch=c000003e syscall=1 compat=0 ip=… code=0x7ffc0000`), when it
    /// has the kernel's numeric fields.
    pub fn parse(body: &[u8]) -> Option<SeccompRecord> {
        let Line::Record(record) = parse_audit_message(body) else {
            return None;
        };
        let (ArchField::Audit(audit_arch), SyscallField::Number(syscall)) =
            (record.arch, record.syscall)
        else {
            return None;
        };
        Some(SeccompRecord {
            pid: record.pid?,
            audit_arch,
            syscall,
            code: record.code?,
        })
    }
}

/// A subscription to the kernel's seccomp records.
pub struct SeccompLog {
    socket: AuditSocket,
    buf: Vec<u8>,
    /// Records were dropped because the queue was full.
    pub lost_records: bool,
}

impl SeccompLog {
    /// Joins the read-only multicast group; records from now on are queued.
    pub fn open() -> Result<SeccompLog, AuditError> {
        Ok(SeccompLog {
            socket: AuditSocket::open()?,
            buf: vec![0u8; 16 * 1024],
            lost_records: false,
        })
    }

    /// Reads every queued record without blocking and appends the seccomp
    /// ones to `out`. Records lost to a full queue set [`Self::lost_records`].
    pub fn read_pending(&mut self, out: &mut Vec<SeccompRecord>) -> io::Result<()> {
        loop {
            match self.socket.receive(&mut self.buf)? {
                Received::Record { kind, body } => {
                    if kind == AUDIT_SECCOMP
                        && let Some(record) = SeccompRecord::parse(body)
                    {
                        out.push(record);
                    }
                }
                Received::Overrun => self.lost_records = true,
                Received::Empty => return Ok(()),
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
        let text = b"audit(1795436327.504:1220): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=31232 comm=\"mkdir\" exe=\"/bin/busybox\" sig=0 arch=c000003e syscall=83 compat=0 ip=0x47b7a0 code=0x7ffc0000";
        let r = SeccompRecord::parse(text).unwrap();
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
        assert_eq!(SeccompRecord::parse(b"audit(1.2:3): pid=1"), None);
    }
}
