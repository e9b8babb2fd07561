//! A Kubernetes `SeccompProfile` object (Security Profiles Operator,
//! `security-profiles-operator.x-k8s.io/v1`).
//!
//! The object has no `defaultErrnoRet`: the operator's runtimes return EPERM
//! for the default action. A different errno is kept in an annotation so that
//! the file reads back unchanged, and a warning says that the operator will
//! not apply it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::Rendered;
use crate::arch::Arch;
use crate::errno::errno_name;
use crate::profile::effective::EPERM;
use crate::profile::read::{CRD_API_GROUP, DEFAULT_ERRNO_ANNOTATION};
use crate::profile::{Action, ArgCondition, Profile};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<'a> {
    api_version: String,
    kind: &'static str,
    metadata: Metadata<'a>,
    spec: Spec<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    default_action: Action,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    architectures: &'a [Arch],
    #[serde(skip_serializing_if = "Option::is_none")]
    listener_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    listener_metadata: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    syscalls: Vec<Rule<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<&'a [String]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    names: &'a [String],
    action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    errno_ret: Option<u32>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    args: &'a [ArgCondition],
}

/// Writes `profile` as a SeccompProfile object named `name`.
pub fn to_yaml(profile: &Profile, name: &str, namespace: Option<&str>) -> Rendered {
    let mut warnings = Vec::new();
    let mut annotations = BTreeMap::new();
    if profile.default_action == Action::Errno
        && let Some(errno) = profile.default_errno_ret.filter(|&e| e != EPERM)
    {
        let shown = errno_name(errno).map_or_else(|| errno.to_string(), String::from);
        warnings.push(format!(
            "SeccompProfile objects have no defaultErrnoRet: the operator's runtimes return EPERM instead of {shown} for denied syscalls (kept in annotation {DEFAULT_ERRNO_ANNOTATION})"
        ));
        annotations.insert(DEFAULT_ERRNO_ANNOTATION, errno.to_string());
    }
    let unknown: BTreeSet<&str> = profile
        .unknown_fields
        .keys()
        .chain(
            profile
                .syscalls
                .iter()
                .flat_map(|r| r.unknown_fields.keys()),
        )
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        warnings.push(format!(
            "SeccompProfile objects have no place for unknown fields (the API server refuses them): left out {}",
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let object = Object {
        api_version: format!("{CRD_API_GROUP}/v1"),
        kind: "SeccompProfile",
        metadata: Metadata {
            name,
            namespace,
            annotations,
        },
        spec: Spec {
            default_action: profile.default_action,
            architectures: &profile.architectures,
            listener_path: profile.listener_path.as_deref(),
            listener_metadata: profile.listener_metadata.as_deref(),
            syscalls: profile
                .syscalls
                .iter()
                .map(|r| Rule {
                    names: &r.names,
                    action: r.action,
                    errno_ret: r.errno_ret.filter(|_| r.action.takes_errno()),
                    args: &r.args,
                })
                .collect(),
            flags: profile.flags.as_deref(),
        },
    };
    let mut text = String::from("---\n");
    text.push_str(
        &serde_yaml_ng::to_string(&object)
            .expect("a SeccompProfile always serialises: strings, numbers and lists"),
    );
    Rendered { text, warnings }
}

/// Whether `name` is a valid Kubernetes object name (RFC 1123 subdomain).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A valid object name from a file name: `My_App.json` -> `my-app`.
pub fn name_from_path(path: Option<&Path>) -> String {
    let stem = path
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mapped: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "recorded-profile".to_string()
    } else {
        trimmed.chars().take(253).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::read::{Target, read_str};

    #[test]
    fn writes_and_reads_back() {
        let mut p = Profile::allow_list(
            [Arch::X86_64, Arch::X86],
            ["read", "write"].map(String::from),
            38,
        );
        p.syscalls.push(crate::profile::SyscallRule {
            errno_ret: Some(13),
            args: vec![ArgCondition {
                index: 1,
                value: 0,
                value_two: 0,
                op: crate::profile::ArgOp::Equal,
            }],
            ..crate::profile::SyscallRule::new(["mkdir".into()], Action::Errno)
        });
        p.flags = Some(Vec::new());
        let out = to_yaml(&p, "web", Some("shop"));
        assert_eq!(out.warnings.len(), 1);
        assert!(out.text.contains("\n  flags: []\n"), "{}", out.text);
        assert!(
            out.text
                .contains("recorder.seccomp/default-errno-ret: '38'"),
            "{}",
            out.text
        );
        let back = read_str(&out.text, "web.yaml", &Target::for_arch(Arch::X86_64))
            .unwrap()
            .single()
            .unwrap();
        assert_eq!(back.name.as_deref(), Some("web"));
        assert_eq!(back.namespace.as_deref(), Some("shop"));
        assert_eq!(back.profile, p);
    }

    #[test]
    fn unknown_fields_are_left_out_with_a_warning() {
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 1);
        p.unknown_fields
            .insert("x-owner".into(), serde_json::json!("team"));
        p.syscalls[0]
            .unknown_fields
            .insert("x-why".into(), serde_json::json!(1));
        let out = to_yaml(&p, "web", None);
        assert_eq!(
            out.warnings,
            [
                "SeccompProfile objects have no place for unknown fields (the API server refuses them): left out x-owner, x-why"
            ]
        );
        assert!(
            !out.text.contains("x-owner") && !out.text.contains("x-why"),
            "{}",
            out.text
        );
    }

    #[test]
    fn names_from_files() {
        assert_eq!(
            name_from_path(Some(Path::new("/x/My_App.v2.json"))),
            "my-app.v2"
        );
        assert_eq!(
            name_from_path(Some(Path::new("__.json"))),
            "recorded-profile"
        );
        assert_eq!(name_from_path(None), "recorded-profile");
        assert!(is_valid_name("my-app.v2"));
        assert!(!is_valid_name("My-App"));
        assert!(!is_valid_name("-a"));
    }
}
