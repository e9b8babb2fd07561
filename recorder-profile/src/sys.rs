//! Raw OS calls, each behind a safe, typed wrapper: every `unsafe` libc
//! call of this crate lives here (the recorder's own are in its `sys`).

/// The running kernel's release (`uname -r`), or `None` where uname(2)
/// failed.
pub(crate) fn kernel_release() -> Option<String> {
    // SAFETY: utsname is plain bytes; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname fills the struct it is given.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    // SAFETY: the kernel NUL-terminates release within its array.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) };
    Some(release.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kernel_release_starts_with_its_version() {
        let release = super::kernel_release().expect("uname");
        assert!(
            release
                .split('.')
                .next()
                .is_some_and(|major| major.parse::<u32>().is_ok()),
            "{release}"
        );
    }
}
