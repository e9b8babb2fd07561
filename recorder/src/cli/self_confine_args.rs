//! `--no-self-confine`, shared by the long-running commands.

use std::path::PathBuf;

use clap::Args;

use crate::self_confine::Confinement;

/// How a long-running command lowers itself once set up (see the README's
/// Security section).
#[derive(Clone, Debug, Args)]
pub struct SelfConfineArgs {
    /// Keep every privilege after setup: no seccomp filter of the
    /// recorder's own, capabilities not lowered, no_new_privs not set (for
    /// debugging the recorder itself).
    #[arg(long)]
    no_self_confine: bool,

    /// Instead of loading its own filter, move into cgroup DIR at the point
    /// where it would, so that a recorder watching DIR records what it does
    /// from then on (how profiles/self/ is made; see tests/self_profiles.rs).
    #[arg(
        long,
        value_name = "DIR",
        hide = true,
        conflicts_with = "no_self_confine"
    )]
    self_profile_cgroup: Option<PathBuf>,
}

impl SelfConfineArgs {
    pub fn confinement(&self) -> Confinement {
        match (&self.self_profile_cgroup, self.no_self_confine) {
            (Some(dir), _) => Confinement::RecordInto(dir.clone()),
            (None, true) => Confinement::Off,
            (None, false) => Confinement::On,
        }
    }
}
