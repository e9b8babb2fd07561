//! recorder-profile: seccomp profiles as data, with libseccomp's syscall
//! names on every architecture.
//!
//! The part of `recorder` that needs no eBPF toolchain and no kernel
//! privileges: the architecture and syscall tables ([`arch`]), the one
//! profile model ([`profile::Profile`]) with its readers, formats, merge and
//! diff, [`explain`] (what a syscall is for), [`capture`] (from syscall
//! numbers to a profile), and the seccomp audit log parser ([`logs`]).
//!
//! Data flows one way: syscall numbers (from the kernel, or from audit
//! records through [`logs`]) -> [`capture::SyscallSet`] -> [`profile::Profile`]
//! -> an output format ([`profile::oci`], [`profile::format`]).
//!
//! # Example
//!
//! Read a profile, merge another into it, and write the result as a
//! Kubernetes `SeccompProfile`:
//!
//! ```
//! use recorder_profile::arch::Arch;
//! use recorder_profile::profile::format::crd::to_yaml;
//! use recorder_profile::profile::merge::{Prefer, merge};
//! use recorder_profile::profile::read::{Target, read_str};
//!
//! let target = Target::for_arch(Arch::X86_64);
//! let web = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
//!     "architectures": ["SCMP_ARCH_X86_64"],
//!     "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}"#;
//! let worker = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
//!     "architectures": ["SCMP_ARCH_X86_64"],
//!     "syscalls": [{"names": ["openat"], "action": "SCMP_ACT_ALLOW"}]}"#;
//! let web = read_str(web, "web.json", &target)?.documents.remove(0).profile;
//! let worker = read_str(worker, "worker.json", &target)?.documents.remove(0).profile;
//!
//! let merged = merge(&[("web", &web), ("worker", &worker)], Prefer::Deny);
//! assert!(merged.conflicts.is_empty());
//! let yaml = to_yaml(&merged.profile, "web-and-worker", None).text;
//! assert!(yaml.contains("kind: SeccompProfile"));
//! assert!(yaml.contains("- openat"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod arch;
pub mod capture;
pub mod choice;
pub mod errno;
pub mod explain;
pub mod logs;
pub mod profile;
pub mod seccomp;
mod sys;

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
