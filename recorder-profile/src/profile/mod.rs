//! The one profile model and its formats.
//!
//! Everything that reads or writes a profile goes through [`Profile`]: capture
//! builds one from a [`crate::capture::SyscallSet`], output formats are
//! functions of it, and readers parse into it.

pub mod diff;
pub mod effective;
pub mod format;
pub mod loading;
pub mod merge;
mod model;
pub mod oci;
pub mod read;
pub mod syscall_names;
pub mod systemd_groups;
pub mod templates;
pub mod values;

pub use model::{Action, ArgCondition, ArgOp, Profile, SyscallRule, UnknownFields};
