//! Telling 32-bit compat syscalls apart in the kernel.
//!
//! The kernel side needs the offset of the task_struct word that marks a
//! compat syscall (x86_64: `thread_info.status & TS_COMPAT`). Offsets differ
//! between kernels, so they come from the running kernel's BTF.

/// Where the compat bit lives in `struct task_struct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompatField {
    /// Byte offset of a 32-bit word in task_struct.
    pub offset: u64,
    /// Bit mask of the compat flag in that word.
    pub mask: u64,
}

/// The compat field of the running kernel, or `None` when the host has no
/// compat ABI or it cannot be located (compat syscalls are then recorded as
/// native ones). Issue #3 reads it from BTF.
pub fn compat_field() -> Option<CompatField> {
    None
}
