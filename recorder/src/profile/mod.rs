//! The one profile model and its formats.
//!
//! Everything that reads or writes a profile goes through [`Profile`]: capture
//! builds one from a [`crate::capture::SyscallSet`], output formats are
//! functions of it, and readers parse into it.

mod model;
pub mod oci;
pub mod output;

pub use model::{Action, ArgCondition, ArgOp, Profile, SyscallRule};
