//! Capabilities, no_new_privs and the seccomp mode of the calling thread
//! (capget/capset, prctl).

use std::io;

use super::{check, check_long};

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's permitted set, one bit per capability.
pub fn permitted() -> io::Result<u64> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget(2) with a version-3 header and room for two words.
    check_long(unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) })?;
    Ok(u64::from(data[0].permitted) | (u64::from(data[1].permitted) << 32))
}

/// Makes `set` the calling thread's effective and permitted sets, and
/// empties its inheritable set (capset(2)).
pub fn set_effective_and_permitted(set: u64) -> io::Result<()> {
    let word = |shift: u32| (set >> shift) as u32;
    let data = [
        Data {
            effective: word(0),
            permitted: word(0),
            inheritable: 0,
        },
        Data {
            effective: word(32),
            permitted: word(32),
            inheritable: 0,
        },
    ];
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    // SAFETY: capset(2) on the calling thread with a version-3 header and
    // two words of data.
    check_long(unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) })?;
    Ok(())
}

/// Drops capability `cap` from the bounding set (EINVAL for one this
/// kernel lacks).
pub fn drop_bounding(cap: u32) -> io::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) })?;
    Ok(())
}

/// Clears the ambient set (EINVAL on kernels before 4.3, which have none).
pub fn clear_ambient() -> io::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    })?;
    Ok(())
}

/// Sets no_new_privs on the calling thread.
pub fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })?;
    Ok(())
}

/// The calling thread's seccomp mode (PR_GET_SECCOMP); EINVAL when the
/// kernel has no seccomp.
pub fn seccomp_mode() -> io::Result<libc::c_int> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) })
}

/// seccomp(SECCOMP_SET_MODE_FILTER, `flags`, `program`): the kernel's
/// answer, which with `SECCOMP_FILTER_FLAG_TSYNC` is the id of a thread
/// that could not take the filter (positive) rather than an error. Makes
/// no allocation: callable between fork and exec.
pub fn set_seccomp_filter(
    program: &[libc::sock_filter],
    flags: libc::c_ulong,
) -> io::Result<libc::c_long> {
    let fprog = libc::sock_fprog {
        len: program.len() as libc::c_ushort,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: seccomp(2) with a program that outlives the call; the kernel
    // copies it and never writes through the pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    super::check_long(rc)
}
