//! Architectures and their syscall tables ([`recorder_profile::arch`],
//! re-exported here), and what of them only the running kernel says: its
//! BTF ([`btf`]) and where its compat flag lives ([`compat_field`]).

pub use recorder_profile::arch::*;

pub mod btf;
mod compat;

pub use compat::compat_field;
