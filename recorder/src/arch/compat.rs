//! Telling 32-bit compat syscalls apart in the kernel.
//!
//! The kernel side needs the offset of the task_struct word that marks a
//! compat syscall (x86_64: `thread_info.status & TS_COMPAT`; aarch64:
//! `thread_info.flags & TIF_32BIT`). Offsets differ between kernels and
//! configurations, so they come from the running kernel's BTF
//! (`/sys/kernel/btf/vmlinux`), never from constants.

use super::btf::{Btf, BtfError, VMLINUX_BTF};
use super::{Arch, CompatField};

/// The compat field of the running kernel (whose BTF `kernel` holds, or
/// failed to be read), or `None` when the host has no compat ABI or it
/// cannot be located (compat syscalls are then recorded as native ones, and
/// a warning says so).
pub fn compat_field(kernel: Result<&Btf, &BtfError>) -> Option<CompatField> {
    let host = Arch::host();
    host.compat()?;
    let btf = match kernel {
        Ok(btf) => btf,
        Err(e) => {
            log::warn!(
                "cannot read {VMLINUX_BTF} ({e}); {} syscalls will be recorded as {host} ones",
                host.compat().map_or("compat", Arch::short_name)
            );
            return None;
        }
    };
    let offset_of = |ty: &str, path: &str| btf.member_offset(ty, path);
    let field = host.compat_field(kernel_release(), offset_of);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_releases() {
        assert_eq!(parse_release("6.18.44-cloud-amd64\n"), (6, 18));
        assert_eq!(parse_release("7.1.0"), (7, 1));
        assert_eq!(parse_release(""), (0, 0));
    }

    #[test]
    fn host_compat_field_comes_from_btf() {
        if Arch::host() != Arch::X86_64 {
            return;
        }
        let kernel = Btf::kernel();
        let field =
            compat_field(kernel.as_ref()).expect("x86_64 compat field from the kernel's BTF");
        assert_eq!(
            field,
            CompatField {
                offset: 16,
                mask: 2
            }
        );
    }
}
