//! Kubernetes `SeccompProfile` objects of the Security Profiles Operator
//! (`security-profiles-operator.x-k8s.io`), any number per YAML file.
//!
//! Other objects in the same file (a Pod, a ConfigMap) are skipped. A
//! `baseProfileName` naming another profile of the same file is unioned in as
//! the operator does; the operator's `errnoRet` is a string (a name or a
//! number). The object has no `defaultErrnoRet`: [`super::super::format`]
//! keeps it in the annotation [`DEFAULT_ERRNO_ANNOTATION`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::docker::{ArchName, Errno, Named, RawArg};
use super::{Document, InputFormat, Location, ReadError, ReadWarning, located};
use crate::profile::{Action, Profile, SyscallRule};

/// The API group of the operator's objects.
pub const API_GROUP: &str = "security-profiles-operator.x-k8s.io";

/// Annotation holding `defaultErrnoRet`, which the object lacks.
pub const DEFAULT_ERRNO_ANNOTATION: &str = "recorder.seccomp/default-errno-ret";

/// The kind and API version of any Kubernetes object, to pick ours.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeMeta {
    kind: Option<String>,
    api_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeccompProfileObject {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    #[serde(default)]
    metadata: ObjectMeta,
    spec: Spec,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectMeta {
    name: Option<String>,
    namespace: Option<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Spec {
    base_profile_name: Option<String>,
    disabled: Option<bool>,
    default_action: Named<Action>,
    architectures: Option<Vec<ArchName>>,
    listener_path: Option<String>,
    listener_metadata: Option<String>,
    syscalls: Option<Vec<Rule>>,
    flags: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Rule {
    names: Vec<String>,
    action: Named<Action>,
    errno_ret: Option<Errno>,
    args: Option<Vec<RawArg>>,
}

fn yaml_error(path: &str, e: &serde_yaml_ng::Error) -> ReadError {
    let location = e.location().map_or(Location::START, |l| Location {
        line: l.line(),
        column: l.column(),
    });
    located(path, location, &e.to_string())
}

fn is_seccomp_profile(meta: &TypeMeta) -> bool {
    meta.kind.as_deref() == Some("SeccompProfile")
        && meta
            .api_version
            .as_deref()
            .is_some_and(|v| v.split('/').next() == Some(API_GROUP))
}

/// Reads every SeccompProfile object of a YAML stream.
pub(super) fn read(
    text: &str,
    path: &str,
    warnings: &mut Vec<ReadWarning>,
) -> Result<Vec<Document>, ReadError> {
    // First pass: which documents are SeccompProfile objects. Second pass:
    // read those into typed values, so that errors carry their location.
    let mut kinds = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let value = serde_yaml_ng::Value::deserialize(doc).map_err(|e| yaml_error(path, &e))?;
        let meta = match &value {
            serde_yaml_ng::Value::Null => None,
            serde_yaml_ng::Value::Mapping(_) => {
                Some(TypeMeta::deserialize(value).map_err(|e| yaml_error(path, &e))?)
            }
            _ => {
                return Err(ReadError::At {
                    path: path.to_string(),
                    location: Location::START,
                    message: "expected a seccomp profile: a JSON object, SeccompProfile YAML objects, or systemd SystemCallFilter= lines".into(),
                });
            }
        };
        kinds.push(meta);
    }
    let mut objects = Vec::new();
    for (doc, meta) in serde_yaml_ng::Deserializer::from_str(text).zip(&kinds) {
        match meta {
            Some(meta) if is_seccomp_profile(meta) => {
                let object =
                    SeccompProfileObject::deserialize(doc).map_err(|e| yaml_error(path, &e))?;
                objects.push(object);
            }
            _ => {
                serde::de::IgnoredAny::deserialize(doc).map_err(|e| yaml_error(path, &e))?;
            }
        }
    }
    if objects.is_empty() {
        let found: Vec<String> = kinds
            .iter()
            .flatten()
            .map(|m| m.kind.clone().unwrap_or_else(|| "no kind".into()))
            .collect();
        return Err(ReadError::Invalid {
            path: path.to_string(),
            message: format!(
                "no SeccompProfile object ({API_GROUP}) in the file{}",
                if found.is_empty() {
                    String::new()
                } else {
                    format!(" (found: {})", found.join(", "))
                }
            ),
        });
    }
    let mut documents: Vec<Document> = Vec::with_capacity(objects.len());
    let mut bases = Vec::with_capacity(objects.len());
    for object in objects {
        bases.push(object.spec.base_profile_name.clone());
        documents.push(to_document(object, text, path, warnings)?);
    }
    union_base_profiles(&mut documents, &bases, path, text, warnings);
    Ok(documents)
}

fn to_document(
    object: SeccompProfileObject,
    text: &str,
    path: &str,
    warnings: &mut Vec<ReadWarning>,
) -> Result<Document, ReadError> {
    let spec = object.spec;
    let name = object.metadata.name;
    if spec.disabled == Some(true) {
        warnings.push(ReadWarning {
            path: path.to_string(),
            location: name.as_deref().and_then(|n| Location::of_token(text, n)),
            message: format!(
                "profile {} is marked disabled; reading it anyway",
                name.as_deref().unwrap_or("unnamed")
            ),
        });
    }
    let default_errno_ret = match object.metadata.annotations.get(DEFAULT_ERRNO_ANNOTATION) {
        Some(value) => Some(
            crate::errno::parse_errno(value).map_err(|message| ReadError::At {
                path: path.to_string(),
                location: Location::of_token(text, DEFAULT_ERRNO_ANNOTATION)
                    .unwrap_or(Location::START),
                message,
            })?,
        ),
        None => None,
    };
    Ok(Document {
        profile: Profile {
            default_action: spec.default_action.0,
            default_errno_ret,
            architectures: spec
                .architectures
                .unwrap_or_default()
                .into_iter()
                .map(|a| a.0)
                .collect(),
            flags: spec.flags,
            listener_path: spec.listener_path,
            listener_metadata: spec.listener_metadata,
            syscalls: spec
                .syscalls
                .unwrap_or_default()
                .into_iter()
                .map(|r| SyscallRule {
                    errno_ret: r.errno_ret.map(|e| e.0),
                    args: r
                        .args
                        .unwrap_or_default()
                        .into_iter()
                        .map(RawArg::into_condition)
                        .collect(),
                    ..SyscallRule::new(r.names, r.action.0)
                })
                .collect(),
            unknown_fields: Default::default(),
        },
        format: InputFormat::Crd,
        name,
        namespace: object.metadata.namespace,
    })
}

/// Appends the rules of each profile's base profile (when the same file has
/// it), as the operator does.
fn union_base_profiles(
    documents: &mut [Document],
    bases: &[Option<String>],
    path: &str,
    text: &str,
    warnings: &mut Vec<ReadWarning>,
) {
    for (i, base) in bases.iter().enumerate() {
        let Some(base) = base else { continue };
        let found = documents
            .iter()
            .position(|d| d.name.as_deref() == Some(base.as_str()));
        match found {
            Some(j) if j != i => {
                let rules = documents[j].profile.syscalls.clone();
                documents[i].profile.syscalls.extend(rules);
            }
            _ => warnings.push(ReadWarning {
                path: path.to_string(),
                location: Location::of_token(text, base),
                message: format!(
                    "base profile {base:?} is not in this file: its syscalls are not included"
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::profile::read::{Target, read_str};

    fn read(text: &str) -> Result<super::super::ReadFile, ReadError> {
        read_str(text, "p.yaml", &Target::for_arch(Arch::X86_64))
    }

    #[test]
    fn reads_objects_and_skips_others() {
        let text = "\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec: {containers: []}
---
apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: web
  namespace: shop
  annotations:
    recorder.seccomp/default-errno-ret: \"38\"
spec:
  defaultAction: SCMP_ACT_ERRNO
  architectures: [SCMP_ARCH_X86_64]
  syscalls:
  - action: SCMP_ACT_ERRNO
    errnoRet: EACCES
    names: [mkdir]
    args:
    - {index: 1, op: SCMP_CMP_EQ}
";
        let file = read(text).unwrap();
        assert_eq!(file.documents.len(), 1);
        let doc = &file.documents[0];
        assert_eq!(doc.name.as_deref(), Some("web"));
        assert_eq!(doc.namespace.as_deref(), Some("shop"));
        assert_eq!(doc.profile.default_errno_ret, Some(38));
        assert_eq!(doc.profile.syscalls[0].errno_ret, Some(13));
        assert_eq!(doc.profile.syscalls[0].args[0].value, 0);
    }

    #[test]
    fn base_profiles_in_the_same_file_are_unioned() {
        let text = "\
kind: SeccompProfile
apiVersion: security-profiles-operator.x-k8s.io/v1beta1
metadata: {name: base}
spec:
  defaultAction: SCMP_ACT_ERRNO
  syscalls: [{action: SCMP_ACT_ALLOW, names: [read]}]
---
kind: SeccompProfile
apiVersion: security-profiles-operator.x-k8s.io/v1beta1
metadata: {name: app}
spec:
  baseProfileName: base
  defaultAction: SCMP_ACT_ERRNO
  syscalls: [{action: SCMP_ACT_ALLOW, names: [write]}]
---
kind: SeccompProfile
apiVersion: security-profiles-operator.x-k8s.io/v1beta1
metadata: {name: other}
spec:
  baseProfileName: runc-v1.2.0
  defaultAction: SCMP_ACT_ERRNO
";
        let file = read(text).unwrap();
        let app = &file.documents[1].profile;
        assert_eq!(app.syscalls.len(), 2);
        assert_eq!(file.warnings.len(), 1);
        assert!(
            file.warnings[0]
                .to_string()
                .starts_with("p.yaml:20:20: base profile \"runc-v1.2.0\""),
            "{}",
            file.warnings[0]
        );
    }

    #[test]
    fn malformed_yaml_is_located() {
        let head = "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata: {name: x}\n";
        let cases = [
            (
                format!("{head}spec:\n  defaultAction: [unclosed\n"),
                "p.yaml:6:1: did not find expected",
            ),
            (
                format!("{head}spec:\n  defaultAction: SCMP_ACT_NOPE\n"),
                "p.yaml:5:18: spec.defaultAction: unknown variant `SCMP_ACT_NOPE`",
            ),
            (
                format!(
                    "{head}spec:\n  defaultAction: SCMP_ACT_LOG\n  syscalls: {{names: [read]}}\n"
                ),
                "p.yaml:6:13: spec.syscalls: invalid type: map, expected a sequence",
            ),
            (
                format!(
                    "{head}spec:\n  defaultAction: SCMP_ACT_LOG\n  architectures: [SCMP_ARCH_VAX]\n"
                ),
                "p.yaml:6:19: spec.architectures[0]: unknown variant `SCMP_ARCH_VAX`",
            ),
            (
                format!("{head}spec:\n  defaultAction: SCMP_ACT_LOG\n  sycalls: []\n"),
                "p.yaml:6:3: spec: unknown field `sycalls`",
            ),
            (
                "kind: Pod\napiVersion: v1\n".to_string(),
                "p.yaml: no SeccompProfile object (security-profiles-operator.x-k8s.io) in the file (found: Pod)",
            ),
            (
                "just some words\n".to_string(),
                "p.yaml:1:1: expected a seccomp profile",
            ),
        ];
        for (text, expected) in cases {
            let err = read(&text).unwrap_err().to_string();
            assert!(
                err.starts_with(expected),
                "{text}\n got: {err}\nwant: {expected}"
            );
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
