//! recorder: minimal seccomp profiles from what a program or container really
//! does.
//!
//! Data flows one way: [`bpf`] captures syscall numbers per cgroup in the
//! kernel -> [`capture`] maps them through the [`arch`] tables to names ->
//! [`profile`] models the result and writes it in a format. [`record`] and
//! [`cgroup`] run a command in its own cgroup; [`container`] finds containers
//! and [`trace`] records them; [`triage`] tells new cgroups apart for
//! `trace --wait` and the daemon; [`cli`] is the command line.

pub mod arch;
pub mod audit_netlink;
pub mod bpf;
pub mod cgroup;
pub mod cli;
pub mod confine;
pub mod container;
pub mod daemon;
pub mod logs;
pub mod messages;
mod netlink;
pub mod profile;
pub mod record;
pub mod self_confine;
mod session;
pub mod spawn;
mod sys;
pub mod trace;
pub mod triage;
mod unix_http;

pub use recorder_profile::{capture, errno, explain, seccomp};
