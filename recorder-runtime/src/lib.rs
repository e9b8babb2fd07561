//! recorder-runtime: what OCI runtimes and container engines leave on disk,
//! read without their help.
//!
//! In the recorder's flow, its `container` module resolves containers (from
//! a name, id or new cgroup to the container's cgroup, init process and
//! runtime) before capture; this crate reads the runtimes' files it does
//! that from, and nothing else: no engine's API, no `/proc`, no eBPF
//! toolchain, no `unsafe`.
//!
//! - [`oci_state`]: the OCI runtime's state directory (runc's `state.json`,
//!   crun's `status`) and a bundle's `config.json`;
//! - [`storage`]: containers/storage's `containers.json`, shared by podman
//!   and CRI-O;
//! - [`kubernetes`]: the Kubernetes names in the CRI annotations of a
//!   container's spec;
//! - [`runtime_call`]: a runtime's command line (`runc create`, `crun run`).
//!
//! A file being written, missing or malformed is skipped, never a panic:
//! runtimes write these files while they are read, and anyone who can run
//! `runc` can write them.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//!
//! use recorder_runtime::OciRuntime;
//! use recorder_runtime::oci_state::read_root;
//! use recorder_runtime::runtime_call::parse_runtime_call;
//!
//! // Every container runc keeps state for by default (none on a host
//! // without runc).
//! for state in read_root(Path::new("/run/runc"), Path::new("/sys/fs/cgroup")) {
//!     println!("{} ({}): pid {:?}", state.id, state.runtime, state.pid);
//! }
//!
//! // containerd's shim asking runc to create a container.
//! let argv: Vec<String> = "runc --root /run/containerd/runc/k8s.io create --bundle /b 3f2a"
//!     .split(' ')
//!     .map(String::from)
//!     .collect();
//! let call = parse_runtime_call(&argv).expect("a runtime's create");
//! assert_eq!((call.runtime, call.id.as_str()), (OciRuntime::Runc, "3f2a"));
//! assert_eq!(call.root.as_deref(), Some(Path::new("/run/containerd/runc/k8s.io")));
//! ```

#![forbid(unsafe_code)]

pub mod kubernetes;
pub mod oci_state;
pub mod runtime_call;
pub mod storage;

use std::fmt;

/// The OCI runtime that sets a container up and installs its seccomp filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OciRuntime {
    Runc,
    Crun,
}

impl OciRuntime {
    pub fn name(self) -> &'static str {
        match self {
            OciRuntime::Runc => "runc",
            OciRuntime::Crun => "crun",
        }
    }
}

impl fmt::Display for OciRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
