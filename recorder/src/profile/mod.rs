//! The profile model, its readers and formats ([`recorder_profile::profile`],
//! re-exported here), and [`output`]: writing a profile where the command
//! line says, atomically and under the recorder's own confinement.

pub use recorder_profile::profile::*;

pub mod output;
