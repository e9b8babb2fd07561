//! Telling 32-bit compat syscalls apart in the kernel.
//!
//! The kernel side needs the offset of the task_struct word that marks a
//! compat syscall (x86_64: `thread_info.status & TS_COMPAT`; aarch64:
//! `thread_info.flags & TIF_32BIT`). Offsets differ between kernels and
//! configurations, so they come from the running kernel's BTF
//! (`/sys/kernel/btf/vmlinux`), never from constants.

use std::path::Path;

use btfparse::{Offset, Readable, TypeInformation};

use super::{Arch, aarch64, x86};

/// Where the compat bit lives in `struct task_struct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompatField {
    /// Byte offset of a 32-bit word in task_struct.
    pub offset: u64,
    /// Bit mask of the compat flag in that word; never 0.
    pub mask: u64,
}

/// The kernel's BTF, where the running kernel describes its own types.
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The compat field of the running kernel, or `None` when the host has no
/// compat ABI or it cannot be located (compat syscalls are then recorded as
/// native ones, and a warning says so).
pub fn compat_field() -> Option<CompatField> {
    let host = Arch::host();
    host.compat()?;
    let btf = match KernelBtf::read(Path::new(VMLINUX_BTF)) {
        Ok(btf) => btf,
        Err(e) => {
            log::warn!(
                "cannot read {VMLINUX_BTF} ({e}); {} syscalls will be recorded as {host} ones",
                host.compat().map_or("compat", Arch::short_name)
            );
            return None;
        }
    };
    let offset_of = |ty: &str, path: &str| btf.byte_offset(ty, path);
    let field = match host {
        Arch::X86_64 => x86::compat_field(offset_of),
        Arch::Aarch64 => aarch64::compat_field(kernel_release(), offset_of),
        _ => None,
    };
    if field.is_none() {
        log::warn!(
            "no compat flag found for {host}; 32-bit syscalls will be recorded as {host} ones"
        );
    }
    field
}

/// The running kernel's (major, minor) release.
fn kernel_release() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    parse_release(&release)
}

fn parse_release(release: &str) -> (u32, u32) {
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Parsed BTF of the running kernel.
struct KernelBtf {
    types: TypeInformation,
}

/// BTF bytes held in memory (one read of the file instead of many small
/// reads while parsing).
struct Bytes(Vec<u8>);

impl Readable for Bytes {
    fn read(&self, offset: u64, buffer: &mut [u8]) -> btfparse::Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        match start
            .checked_add(buffer.len())
            .and_then(|end| self.0.get(start..end))
        {
            Some(src) => {
                buffer.copy_from_slice(src);
                Ok(())
            }
            None => Err(btfparse::Error::new(
                btfparse::ErrorKind::IOError,
                "read past the end of the BTF data",
            )),
        }
    }
}

impl KernelBtf {
    fn read(path: &Path) -> Result<KernelBtf, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        let types = TypeInformation::new(&Bytes(bytes)).map_err(|e| format!("{e:?}"))?;
        Ok(KernelBtf { types })
    }

    /// Byte offset of `path` (`member.member`) in struct `ty`, or `None` when
    /// the kernel has no such member or it is a bit field.
    fn byte_offset(&self, ty: &str, path: &str) -> Option<u64> {
        let id = self.types.id_of(ty)?;
        match self.types.offset_of(id, path) {
            Ok((_, Offset::ByteOffset(offset))) => Some(u64::from(offset)),
            Ok((_, Offset::BitOffsetAndSize(bits, _))) if bits % 8 == 0 => {
                Some(u64::from(bits / 8))
            }
            Ok(_) => None,
            Err(e) => {
                log::debug!("BTF: {ty}.{path}: {e:?}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_releases() {
        assert_eq!(parse_release("6.18.44-cloud-amd64\n"), (6, 18));
        assert_eq!(parse_release("7.1.0"), (7, 1));
        assert_eq!(parse_release(""), (0, 0));
    }

    /// Reads this machine's BTF: the test machines' kernels have it.
    #[test]
    fn host_compat_field_comes_from_btf() {
        if Arch::host() != Arch::X86_64 {
            return;
        }
        let btf =
            KernelBtf::read(Path::new(VMLINUX_BTF)).expect("kernel BTF (CONFIG_DEBUG_INFO_BTF)");
        // thread_info is task_struct's first member on x86_64; status
        // follows flags and syscall_work.
        assert_eq!(
            btf.byte_offset("task_struct", "thread_info.status"),
            Some(16)
        );
        assert_eq!(btf.byte_offset("task_struct", "no_such_member"), None);
        let field = compat_field().expect("x86_64 compat field");
        assert_eq!(
            field,
            CompatField {
                offset: 16,
                mask: 2
            }
        );
    }
}
