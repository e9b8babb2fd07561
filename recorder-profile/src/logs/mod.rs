//! Profiles from seccomp audit records (`SCMP_ACT_LOG` and friends).
//!
//! Where eBPF is not an option, a workload runs under a filter whose default
//! action is `SCMP_ACT_LOG`, and the kernel writes one audit record per
//! syscall. This module turns those records into the same
//! [`crate::capture::SyscallSet`] that eBPF capture produces:
//!
//! Sources (files, `--follow`, /dev/kmsg, audit netlink: in `recorder`, which
//! reads them) -> [`parse`] (one line of any log shape ->
//! [`record::SeccompRecord`]) -> [`filter`] -> [`collect::Collector`] (arch
//! mapping, syscall set, [`summary::Summary`]).

pub mod audit_arch;
pub mod collect;
mod copies;
pub mod filter;
pub mod parse;
pub mod record;
pub mod summary;
pub mod time;

pub use collect::Collector;
pub use filter::{ActionFilter, FilterOptions, FollowProcesses};
pub use parse::{Line, Parser};
pub use summary::Summary;
