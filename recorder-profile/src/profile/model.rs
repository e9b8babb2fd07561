//! The seccomp profile model: the OCI runtime-spec `linux.seccomp` object,
//! which Docker's and podman's `--security-opt seccomp=FILE` also accept.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::arch::Arch;

/// A seccomp profile as runc, crun, Docker and podman load it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: Action,
    /// errno for an `SCMP_ACT_ERRNO` default action (EPERM when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<Arch>,
    /// `None` when the file has no `flags`: runc then sets
    /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`, which an empty list turns off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    #[serde(default)]
    pub syscalls: Vec<SyscallRule>,
    /// Fields this model has no place for (a newer runtime-spec's, a tool's
    /// own). Every engine ignores them; JSON output keeps them so that a
    /// round trip loses nothing.
    #[serde(flatten)]
    pub unknown_fields: UnknownFields,
}

/// Fields of a profile or rule that no engine reads, by name.
pub type UnknownFields = BTreeMap<String, serde_json::Value>;

/// One rule: these syscalls get this action (when the argument conditions hold).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyscallRule {
    pub names: Vec<String>,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgCondition>,
    /// See [`Profile::unknown_fields`].
    #[serde(flatten)]
    pub unknown_fields: UnknownFields,
}

/// A condition on one syscall argument (`linux.seccomp.syscalls[].args[]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgCondition {
    pub index: u32,
    pub value: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub value_two: u64,
    pub op: ArgOp,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Comparison operators of an [`ArgCondition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ArgOp {
    #[serde(rename = "SCMP_CMP_NE")]
    NotEqual,
    #[serde(rename = "SCMP_CMP_LT")]
    LessThan,
    #[serde(rename = "SCMP_CMP_LE")]
    LessOrEqual,
    #[serde(rename = "SCMP_CMP_EQ")]
    Equal,
    #[serde(rename = "SCMP_CMP_GE")]
    GreaterOrEqual,
    #[serde(rename = "SCMP_CMP_GT")]
    GreaterThan,
    #[serde(rename = "SCMP_CMP_MASKED_EQ")]
    MaskedEqual,
}

impl ArgOp {
    /// The comparison as people write it (`!=`, `<`, ...); MASKED_EQ, which
    /// also masks, shows as `==` here and needs its mask said beside it.
    pub fn symbol(self) -> &'static str {
        match self {
            ArgOp::NotEqual => "!=",
            ArgOp::LessThan => "<",
            ArgOp::LessOrEqual => "<=",
            ArgOp::Equal | ArgOp::MaskedEqual => "==",
            ArgOp::GreaterOrEqual => ">=",
            ArgOp::GreaterThan => ">",
        }
    }
}

/// What the kernel does when a rule (or the default) matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "SCMP_ACT_KILL", alias = "SCMP_ACT_KILL_THREAD")]
    KillThread,
    #[serde(rename = "SCMP_ACT_KILL_PROCESS")]
    KillProcess,
    #[serde(rename = "SCMP_ACT_TRAP")]
    Trap,
    #[serde(rename = "SCMP_ACT_ERRNO")]
    Errno,
    #[serde(rename = "SCMP_ACT_TRACE")]
    Trace,
    #[serde(rename = "SCMP_ACT_NOTIFY")]
    Notify,
    #[serde(rename = "SCMP_ACT_LOG")]
    Log,
    #[serde(rename = "SCMP_ACT_ALLOW")]
    Allow,
}

impl Action {
    /// The `SCMP_ACT_*` name profiles use.
    pub fn scmp_name(self) -> &'static str {
        match self {
            Action::KillThread => "SCMP_ACT_KILL",
            Action::KillProcess => "SCMP_ACT_KILL_PROCESS",
            Action::Trap => "SCMP_ACT_TRAP",
            Action::Errno => "SCMP_ACT_ERRNO",
            Action::Trace => "SCMP_ACT_TRACE",
            Action::Notify => "SCMP_ACT_NOTIFY",
            Action::Log => "SCMP_ACT_LOG",
            Action::Allow => "SCMP_ACT_ALLOW",
        }
    }

    /// Whether the syscall runs (`SCMP_ACT_ALLOW`, `SCMP_ACT_LOG`).
    pub fn lets_run(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }

    /// Whether `errnoRet` means something for this action (the errno of
    /// `SCMP_ACT_ERRNO`, the message of `SCMP_ACT_TRACE`).
    pub fn takes_errno(self) -> bool {
        matches!(self, Action::Errno | Action::Trace)
    }
}

impl SyscallRule {
    /// A rule without errno, conditions or unknown fields.
    pub fn new(names: impl IntoIterator<Item = String>, action: Action) -> SyscallRule {
        SyscallRule {
            names: names.into_iter().collect(),
            action,
            errno_ret: None,
            args: Vec::new(),
            unknown_fields: UnknownFields::new(),
        }
    }
}

impl Profile {
    /// An allow-list: `names` are allowed on `architectures`; everything else
    /// fails with `errno`.
    pub fn allow_list(
        architectures: impl IntoIterator<Item = Arch>,
        names: impl IntoIterator<Item = String>,
        errno: u32,
    ) -> Profile {
        let architectures: BTreeSet<Arch> = architectures.into_iter().collect();
        let names: BTreeSet<String> = names.into_iter().collect();
        Profile {
            default_action: Action::Errno,
            default_errno_ret: Some(errno),
            architectures: architectures.into_iter().collect(),
            flags: None,
            listener_path: None,
            listener_metadata: None,
            syscalls: if names.is_empty() {
                Vec::new()
            } else {
                vec![SyscallRule::new(names, Action::Allow)]
            },
            unknown_fields: UnknownFields::new(),
        }
    }

    /// Names with an `SCMP_ACT_ALLOW` rule that has argument conditions.
    pub fn conditionally_allowed_names(&self) -> BTreeSet<&str> {
        let always = self.allowed_names();
        self.syscalls
            .iter()
            .filter(|r| r.action == Action::Allow && !r.args.is_empty())
            .flat_map(|r| r.names.iter().map(String::as_str))
            .filter(|n| !always.contains(n))
            .collect()
    }

    /// Names with an unconditional `SCMP_ACT_ALLOW` rule.
    pub fn allowed_names(&self) -> BTreeSet<&str> {
        self.syscalls
            .iter()
            .filter(|r| r.action == Action::Allow && r.args.is_empty())
            .flat_map(|r| r.names.iter().map(String::as_str))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_sorts_and_dedups() {
        let p = Profile::allow_list(
            [Arch::X86_64],
            ["write", "read", "write"].map(String::from),
            38,
        );
        assert_eq!(p.syscalls.len(), 1);
        assert_eq!(p.syscalls[0].names, ["read", "write"]);
        assert_eq!(p.default_errno_ret, Some(38));
    }

    #[test]
    fn empty_allow_list_has_no_rule() {
        let p = Profile::allow_list([Arch::X86_64], Vec::<String>::new(), 1);
        assert!(p.syscalls.is_empty());
    }
}
