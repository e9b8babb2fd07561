//! Calls on paths and file handles that std has no wrapper for.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::check;

/// Opens the directory whose kernfs file handle is `id` (a cgroup's id)
/// on the filesystem mounted at `mount`: open_by_handle_at(2) with a
/// handle of type `handle_type` and 8 bytes. Needs CAP_DAC_READ_SEARCH.
pub fn open_kernfs_dir(mount: &File, handle_type: i32, id: u64) -> io::Result<OwnedFd> {
    /// `struct file_handle` with 8 bytes of `f_handle`.
    #[repr(C)]
    struct KernfsHandle {
        handle_bytes: u32,
        handle_type: i32,
        id: u64,
    }
    let mut handle = KernfsHandle {
        handle_bytes: 8,
        handle_type,
        id,
    };
    // SAFETY: a valid directory fd and a handle laid out as the kernel's
    // struct file_handle with 8 bytes of f_handle.
    let fd = check(unsafe {
        libc::open_by_handle_at(
            mount.as_raw_fd(),
            (&mut handle as *mut KernfsHandle).cast::<libc::file_handle>(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: a fresh fd from the kernel, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Whether the caller may execute `path` (access(2) with X_OK, which
/// counts root's override as the kernel's exec does).
pub fn executable(path: &CStr) -> bool {
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::access(path.as_ptr(), libc::X_OK) == 0 }
}

/// linkat(2) of `from` to `to`, following `from` if it is a symlink
/// (`AT_SYMLINK_FOLLOW`: how an unnamed `O_TMPFILE` file gets a name
/// through `/proc/self/fd/N`).
pub fn link_following(from: &CStr, to: &CStr) -> io::Result<()> {
    // SAFETY: two valid NUL-terminated paths, alive for the call.
    check(unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    })?;
    Ok(())
}

/// An anonymous memory file (memfd_create(2)), closed on exec.
pub fn memfd(name: &CStr) -> io::Result<File> {
    // SAFETY: memfd_create with a NUL-terminated name.
    let fd = check(unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) })?;
    // SAFETY: a fresh fd, owned by nobody else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}
