//! Profiles from seccomp audit records (`SCMP_ACT_LOG` and friends): the
//! parser, filter and collector of [`recorder_profile::logs`], re-exported
//! here, and the sources that read the kernel's live interfaces.
//!
//! [`source`] (files, `--follow`, /dev/kmsg, audit netlink) -> [`parse`] ->
//! [`filter`] (with [`FollowedProcesses`] for `--container` during a live
//! read) -> [`collect::Collector`].

pub use recorder_profile::logs::*;

mod followed;
pub mod source;

pub use followed::FollowedProcesses;
