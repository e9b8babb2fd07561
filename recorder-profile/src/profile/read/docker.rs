//! JSON profiles: the OCI runtime-spec object and Docker's superset of it.
//!
//! Docker's format adds `archMap` (architectures per host), rules that apply
//! only for some architectures, capabilities or kernel versions
//! (`includes`/`excludes`), a `comment`, and the old form with one `name`
//! per rule. Docker resolves all of that for the container it starts; the
//! same resolution here ([`Target`]) turns the file into a plain [`Profile`].
//! containers-common (podman, buildah, CRI-O) adds `defaultErrno`/`errno`,
//! errno names it writes beside the numbers; both must agree.
//!
//! Fields no engine knows are read as the engines read them, by ignoring
//! them, with a warning; those of the profile and of its rules are kept in
//! [`Profile::unknown_fields`] for JSON output.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;

use super::{Document, InputFormat, Location, ReadError, ReadWarning, located};
use crate::arch::Arch;
use crate::errno::{errno_name, parse_errno};
use crate::profile::systemd_groups::SystemdChoice;
use crate::profile::{Action, ArgCondition, ArgOp, Profile, SyscallRule, UnknownFields};

/// The capabilities Docker gives a container unless told otherwise.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// Every Linux capability (6.18), by bit number.
pub const ALL_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A kernel version as Docker compares it: major and minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
}

impl KernelVersion {
    /// The running kernel's version.
    pub fn host() -> KernelVersion {
        crate::sys::kernel_release()
            .and_then(|release| release.parse().ok())
            .unwrap_or(KernelVersion { major: 0, minor: 0 })
    }
}

impl std::str::FromStr for KernelVersion {
    type Err = String;

    /// Accepts `6.1`, `6.1.0` and `6.1.0-13-amd64`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid kernel version {s:?}: expected MAJOR.MINOR such as 5.8");
        let mut parts = s.trim().splitn(3, '.');
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let minor: String = parts
            .next()
            .ok_or_else(bad)?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let minor = minor.parse().map_err(|_| bad())?;
        Ok(KernelVersion { major, minor })
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What a profile is resolved for: the container's architecture,
/// capabilities and kernel (Docker's conditional rules), and the systemd
/// whose syscall groups a unit means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub arch: Arch,
    /// `CAP_*` names.
    pub caps: BTreeSet<String>,
    pub kernel: KernelVersion,
    pub systemd: SystemdChoice,
}

/// A `--caps` list that names no capability.
#[derive(Debug, thiserror::Error)]
#[error("unknown capability {0:?}: use names such as CAP_SYS_ADMIN or sys_admin, or ALL")]
pub struct TargetError(pub String);

impl Target {
    /// This host, Docker's default capabilities.
    pub fn host() -> Target {
        Target {
            arch: Arch::host(),
            caps: DEFAULT_CAPABILITIES.map(String::from).into(),
            kernel: KernelVersion::host(),
            systemd: SystemdChoice::Installed,
        }
    }

    /// `arch`, Docker's default capabilities, this host's kernel.
    pub fn for_arch(arch: Arch) -> Target {
        Target {
            arch,
            ..Target::host()
        }
    }

    /// Parses a comma-separated capability list (`CAP_SYS_ADMIN,net_admin`,
    /// `ALL`, or empty for none).
    pub fn parse_caps(list: &str) -> Result<BTreeSet<String>, TargetError> {
        let mut caps = BTreeSet::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item.eq_ignore_ascii_case("all") {
                caps.extend(ALL_CAPABILITIES.map(String::from));
                continue;
            }
            let upper = item.to_ascii_uppercase();
            let name = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            if !ALL_CAPABILITIES.contains(&name.as_str()) {
                return Err(TargetError(item.to_string()));
            }
            caps.insert(name);
        }
        Ok(caps)
    }

    /// The names `includes.arches`/`excludes.arches` use for this
    /// architecture: Go's GOARCH, which Docker compares, and libseccomp's
    /// short name.
    fn arch_names(&self) -> [&'static str; 2] {
        let go = match self.arch {
            Arch::X86_64 => "amd64",
            Arch::X86 => "386",
            Arch::Aarch64 => "arm64",
            Arch::Loongarch64 => "loong64",
            Arch::Mipsel => "mipsle",
            Arch::Mipsel64 => "mips64le",
            Arch::Mips64n32 => "mips64p32",
            Arch::Mipsel64n32 => "mips64p32le",
            other => other.short_name(),
        };
        [go, self.arch.short_name()]
    }
}

/// An architecture name as profiles spell it; `SCMP_ARCH_NATIVE` is the host.
#[derive(Clone, Copy, Debug)]
pub(super) struct ArchName(pub Arch);

const ARCH_NAMES: [&str; 24] = [
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

impl<'de> Deserialize<'de> for ArchName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(NameVisitor(|name: &str| {
            if name == "SCMP_ARCH_NATIVE" {
                return Ok(ArchName(Arch::host()));
            }
            Arch::ALL
                .into_iter()
                .find(|a| a.scmp_name() == name)
                .map(ArchName)
                .ok_or_else(|| {
                    <serde::de::value::Error as serde::de::Error>::unknown_variant(
                        name,
                        &ARCH_NAMES,
                    )
                    .to_string()
                })
        }))
    }
}

/// An enum value given by name (`SCMP_ACT_ALLOW`, `SCMP_CMP_EQ`): a string
/// first, so that a number or a list is reported as "expected a string".
#[derive(Clone, Copy, Debug)]
pub(super) struct Named<T>(pub T);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Named<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(NameVisitor(|name: &str| {
            T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name))
                .map(Named)
                .map_err(|e| e.to_string())
        }))
    }
}

/// Reads a string and maps it with the function; errors raised inside the
/// visitor get the string's location from serde_json and serde_yaml.
struct NameVisitor<F>(F);

impl<'de, T, F: FnOnce(&str) -> Result<T, String>> serde::de::Visitor<'de> for NameVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }
}

/// One argument condition as written in a file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawArg {
    index: u32,
    #[serde(default)]
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: Named<ArgOp>,
}

impl RawArg {
    pub(super) fn into_condition(self) -> ArgCondition {
        ArgCondition {
            index: self.index,
            value: self.value,
            value_two: self.value_two,
            op: self.op.0,
        }
    }
}

/// An errno given as a number or a name (`38`, `"ENOSYS"`, `"38"`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Errno(pub u32);

impl<'de> Deserialize<'de> for Errno {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ErrnoVisitor;
        impl serde::de::Visitor<'_> for ErrnoVisitor {
            type Value = Errno;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an errno number or a name such as EPERM")
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Errno, E> {
                u32::try_from(v)
                    .map(Errno)
                    .map_err(|_| E::custom(format!("errno {v} is out of range")))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Errno, E> {
                u32::try_from(v)
                    .map(Errno)
                    .map_err(|_| E::custom(format!("errno {v} is out of range")))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Errno, E> {
                parse_errno(v).map(Errno).map_err(E::custom)
            }
        }
        d.deserialize_any(ErrnoVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProfile {
    default_action: Named<Action>,
    default_errno_ret: Option<u32>,
    default_errno: Option<Errno>,
    architectures: Option<Vec<ArchName>>,
    arch_map: Option<Vec<RawArchMap>>,
    flags: Option<Vec<String>>,
    listener_path: Option<String>,
    listener_metadata: Option<String>,
    syscalls: Option<Vec<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArchMap {
    architecture: ArchName,
    sub_architectures: Option<Vec<ArchName>>,
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "RawRuleFields")]
struct RawRule {
    names: Vec<String>,
    action: Action,
    errno_ret: Option<u32>,
    args: Vec<ArgCondition>,
    includes: Condition,
    excludes: Condition,
    /// Uses Docker-only fields: the old one-`name` form or a `comment`.
    docker_only: bool,
    unknown_fields: UnknownFields,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRuleFields {
    name: Option<String>,
    names: Option<Vec<String>>,
    action: Named<Action>,
    errno_ret: Option<u32>,
    errno: Option<Errno>,
    args: Option<Vec<RawArg>>,
    comment: Option<String>,
    includes: Option<RawCondition>,
    excludes: Option<RawCondition>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCondition {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

/// A resolved `includes`/`excludes` object.
#[derive(Debug, Default)]
struct Condition {
    caps: Vec<String>,
    arches: Vec<String>,
    min_kernel: Option<KernelVersion>,
}

impl Condition {
    fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

impl TryFrom<RawCondition> for Condition {
    type Error = String;

    fn try_from(raw: RawCondition) -> Result<Self, String> {
        let min_kernel = raw
            .min_kernel
            .map(|k| k.parse::<KernelVersion>())
            .transpose()?;
        Ok(Condition {
            caps: raw.caps.unwrap_or_default(),
            arches: raw.arches.unwrap_or_default(),
            min_kernel,
        })
    }
}

impl TryFrom<RawRuleFields> for RawRule {
    type Error = String;

    fn try_from(raw: RawRuleFields) -> Result<Self, String> {
        let docker_only = raw.name.is_some() || raw.comment.is_some();
        let names = match (raw.name, raw.names) {
            (Some(_), Some(names)) if !names.is_empty() => {
                return Err("a rule has both \"name\" and \"names\": use one of them".into());
            }
            (Some(name), _) => vec![name],
            (None, Some(names)) => names,
            (None, None) => {
                return Err(
                    "a rule has neither \"names\" nor \"name\": list the syscalls it applies to"
                        .into(),
                );
            }
        };
        let errno_ret = agreeing_errno(raw.errno_ret, raw.errno, "errnoRet", "errno")?;
        Ok(RawRule {
            names,
            action: raw.action.0,
            errno_ret,
            args: raw
                .args
                .unwrap_or_default()
                .into_iter()
                .map(RawArg::into_condition)
                .collect(),
            includes: raw.includes.unwrap_or_default().try_into()?,
            excludes: raw.excludes.unwrap_or_default().try_into()?,
            docker_only,
            unknown_fields: UnknownFields::new(),
        })
    }
}

/// The errno of a number field and of containers-common's name field
/// beside it, which must agree.
fn agreeing_errno(
    number: Option<u32>,
    name: Option<Errno>,
    number_key: &str,
    name_key: &str,
) -> Result<Option<u32>, String> {
    match (number, name) {
        (Some(n), Some(Errno(e))) if n != e => {
            let shown = |v: u32| match errno_name(v) {
                Some(name) => format!("{v} ({name})"),
                None => v.to_string(),
            };
            Err(format!(
                "\"{number_key}\" is {} but \"{name_key}\" is {}: make them agree or keep one",
                shown(n),
                shown(e)
            ))
        }
        (Some(n), _) => Ok(Some(n)),
        (None, name) => Ok(name.map(|e| e.0)),
    }
}

/// The fields each kind of object in an OCI or Docker profile has (moby's,
/// containers-common's and the runtime-spec's, together).
const PROFILE_FIELDS: [&str; 9] = [
    "defaultAction",
    "defaultErrnoRet",
    "defaultErrno",
    "architectures",
    "archMap",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "syscalls",
];
const RULE_FIELDS: [&str; 9] = [
    "names", "name", "action", "errnoRet", "errno", "args", "comment", "includes", "excludes",
];
const ARG_FIELDS: [&str; 4] = ["index", "value", "valueTwo", "op"];
const CONDITION_FIELDS: [&str; 3] = ["caps", "arches", "minKernel"];
const ARCH_MAP_FIELDS: [&str; 2] = ["architecture", "subArchitectures"];

/// The fields of `object` not in `known`, with their values.
fn unknown_of(object: &serde_json::Value, known: &[&str]) -> UnknownFields {
    object
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Finds the unknown fields of a profile: returns those of the profile and
/// of each rule (kept), and warns once about each name, kept or not.
fn unknown_fields(
    value: &serde_json::Value,
    text: &str,
    path: &str,
    warnings: &mut Vec<ReadWarning>,
) -> (UnknownFields, Vec<UnknownFields>) {
    let top = unknown_of(value, &PROFILE_FIELDS);
    let rules: Vec<UnknownFields> = value["syscalls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| unknown_of(r, &RULE_FIELDS))
        .collect();
    // (where, field, the fields it should have been, kept)
    let mut found: BTreeMap<(&str, String), (&[&str], bool)> = BTreeMap::new();
    for key in top.keys() {
        found.insert(("", key.clone()), (&PROFILE_FIELDS, true));
    }
    for key in rules.iter().flat_map(|r| r.keys()) {
        found.insert((" of a rule", key.clone()), (&RULE_FIELDS, true));
    }
    let nested: [(&str, &[&str], Vec<&serde_json::Value>); 3] = [
        (
            " of an argument condition",
            &ARG_FIELDS,
            value["syscalls"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| r["args"].as_array().into_iter().flatten())
                .collect(),
        ),
        (
            " of an includes/excludes object",
            &CONDITION_FIELDS,
            value["syscalls"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| [&r["includes"], &r["excludes"]])
                .collect(),
        ),
        (
            " of an archMap entry",
            &ARCH_MAP_FIELDS,
            value["archMap"].as_array().into_iter().flatten().collect(),
        ),
    ];
    for (place, known, objects) in nested {
        for object in objects {
            for key in unknown_of(object, known).into_keys() {
                found.entry((place, key)).or_insert((known, false));
            }
        }
    }
    for ((place, key), (known, kept)) in found {
        let lower = key.to_ascii_lowercase();
        let lowered: Vec<String> = known.iter().map(|k| k.to_ascii_lowercase()).collect();
        let hint = crate::arch::suggest::closest(&lower, lowered.iter().map(String::as_str))
            .and_then(|close| known.iter().find(|k| k.eq_ignore_ascii_case(close)))
            .map_or_else(String::new, |k| format!(" (did you mean \"{k}\"?)"));
        let fate = if kept {
            "; kept in JSON output"
        } else {
            "; left out"
        };
        warnings.push(ReadWarning {
            path: path.to_string(),
            location: Location::of_token(text, &key),
            message: format!(
                "unknown field \"{key}\"{place}{hint}: runc, crun, Docker and podman ignore it{fate}"
            ),
        });
    }
    (top, rules)
}

/// Reads an OCI or Docker JSON profile and resolves it for `target`.
pub(super) fn read(
    text: &str,
    path: &str,
    target: &Target,
    warnings: &mut Vec<ReadWarning>,
) -> Result<Document, ReadError> {
    let json_error = |e: serde_json::Error| {
        let location = Location {
            line: e.line().max(1),
            column: e.column().max(1),
        };
        located(path, location, &e.to_string())
    };
    let mut raw: RawProfile = serde_json::from_str(text).map_err(json_error)?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(json_error)?;
    let (unknown_top, unknown_rules) = unknown_fields(&value, text, path, warnings);
    for (rule, unknown) in raw.syscalls.iter_mut().flatten().zip(unknown_rules) {
        rule.unknown_fields = unknown;
    }
    let is_docker = raw.arch_map.is_some()
        || raw
            .syscalls
            .iter()
            .flatten()
            .any(|r| r.docker_only || !r.includes.is_empty() || !r.excludes.is_empty());
    let at = |token: &str| Location::of_token(text, token).unwrap_or(Location::START);
    for cap in raw
        .syscalls
        .iter()
        .flatten()
        .flat_map(|r| r.includes.caps.iter().chain(&r.excludes.caps))
    {
        if !ALL_CAPABILITIES.contains(&cap.as_str()) {
            warnings.push(ReadWarning {
                path: path.to_string(),
                location: Some(at(cap)),
                message: format!("unknown capability {cap:?}: the condition never matches"),
            });
        }
    }
    let mut profile = resolve(raw, target).map_err(|(token, message)| ReadError::At {
        path: path.to_string(),
        location: at(token),
        message,
    })?;
    profile.unknown_fields = unknown_top;
    Ok(Document {
        profile,
        format: if is_docker {
            InputFormat::Docker
        } else {
            InputFormat::Oci
        },
        name: None,
        namespace: None,
    })
}

/// Docker's resolution of a profile for a container; errors name the key
/// they are about.
fn resolve(raw: RawProfile, target: &Target) -> Result<Profile, (&'static str, String)> {
    let default_errno_ret = agreeing_errno(
        raw.default_errno_ret,
        raw.default_errno,
        "defaultErrnoRet",
        "defaultErrno",
    )
    .map_err(|message| ("defaultErrno", message))?;
    let listed: Vec<Arch> = raw
        .architectures
        .unwrap_or_default()
        .iter()
        .map(|a| a.0)
        .collect();
    let architectures = match raw.arch_map {
        Some(map) if !map.is_empty() => {
            if !listed.is_empty() {
                return Err((
                    "archMap",
                    "both \"architectures\" and \"archMap\" are set: use one of them".into(),
                ));
            }
            map.iter()
                .filter(|m| m.architecture.0 == target.arch)
                .flat_map(|m| {
                    std::iter::once(m.architecture.0)
                        .chain(m.sub_architectures.iter().flatten().map(|a| a.0))
                })
                .collect()
        }
        _ => listed,
    };
    let arch_names = target.arch_names();
    let in_arches = |arches: &[String]| arches.iter().any(|a| arch_names.contains(&a.as_str()));
    let mut syscalls = Vec::new();
    for rule in raw.syscalls.into_iter().flatten() {
        let ex = &rule.excludes;
        let inc = &rule.includes;
        let excluded = in_arches(&ex.arches)
            || ex.caps.iter().any(|c| target.caps.contains(c))
            || ex.min_kernel.is_some_and(|k| target.kernel >= k);
        let included = (inc.arches.is_empty() || in_arches(&inc.arches))
            && inc.caps.iter().all(|c| target.caps.contains(c))
            && inc.min_kernel.is_none_or(|k| target.kernel >= k);
        if excluded || !included {
            continue;
        }
        syscalls.push(SyscallRule {
            names: rule.names,
            action: rule.action,
            errno_ret: rule.errno_ret,
            args: rule.args,
            unknown_fields: rule.unknown_fields,
        });
    }
    Ok(Profile {
        default_action: raw.default_action.0,
        default_errno_ret,
        architectures,
        flags: raw.flags,
        listener_path: raw.listener_path,
        listener_metadata: raw.listener_metadata,
        syscalls,
        unknown_fields: UnknownFields::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::read::read_str;

    fn target(arch: Arch, caps: &str) -> Target {
        Target {
            arch,
            caps: Target::parse_caps(caps).unwrap(),
            kernel: KernelVersion { major: 6, minor: 1 },
            systemd: SystemdChoice::Installed,
        }
    }

    fn read_with(text: &str, target: &Target) -> Result<Document, ReadError> {
        read_str(text, "p.json", target).map(|f| f.single().unwrap())
    }

    fn names(doc: &Document) -> Vec<&str> {
        doc.profile
            .syscalls
            .iter()
            .flat_map(|r| r.names.iter().map(String::as_str))
            .collect()
    }

    const CONDITIONAL: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "archMap": [
    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
  ],
  "syscalls": [
    {"names": ["read"], "action": "SCMP_ACT_ALLOW", "comment": "always"},
    {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
    {"names": ["syslog"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYSLOG"]}},
    {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"name": "kcmp", "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "6.0"}}
  ]
}"#;

    #[test]
    fn docker_conditions_resolve_per_target() {
        let doc = read_with(CONDITIONAL, &target(Arch::X86_64, "")).unwrap();
        assert_eq!(doc.format, InputFormat::Docker);
        assert_eq!(
            doc.profile.architectures,
            [Arch::X86_64, Arch::X86, Arch::X32]
        );
        assert_eq!(names(&doc), ["read", "arch_prctl", "ptrace", "clone3"]);
        assert_eq!(doc.profile.syscalls[3].errno_ret, Some(38));

        let arm = read_with(CONDITIONAL, &target(Arch::Aarch64, "sys_admin,CAP_SYSLOG")).unwrap();
        assert_eq!(arm.profile.architectures, [Arch::Aarch64, Arch::Arm]);
        assert_eq!(names(&arm), ["read", "syslog", "ptrace"]);

        let old = Target {
            kernel: KernelVersion { major: 4, minor: 4 },
            ..target(Arch::Riscv64, "")
        };
        let doc = read_with(CONDITIONAL, &old).unwrap();
        assert!(doc.profile.architectures.is_empty());
        assert_eq!(names(&doc), ["read", "clone3", "kcmp"]);
    }

    #[test]
    fn oci_profiles_are_read_as_is() {
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "op": "SCMP_CMP_EQ"}]}]}"#;
        let doc = read_with(text, &target(Arch::Aarch64, "")).unwrap();
        assert_eq!(doc.format, InputFormat::Oci);
        assert_eq!(doc.profile.architectures, [Arch::X86_64]);
        assert_eq!(doc.profile.default_errno_ret, Some(38));
        assert_eq!(doc.profile.syscalls[0].args[0].value, 0);
    }

    #[test]
    fn containers_common_writes_both_errno_fields() {
        // As /usr/share/containers/seccomp.json has them.
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "defaultErrno": "ENOSYS",
            "syscalls": [{"names": ["bpf"], "action": "SCMP_ACT_ERRNO", "args": [], "comment": "",
                          "includes": {}, "excludes": {"caps": ["CAP_SYS_ADMIN"]},
                          "errnoRet": 1, "errno": "EPERM"}]}"#;
        let file = read_str(text, "p.json", &target(Arch::X86_64, "")).unwrap();
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
        let doc = file.single().unwrap();
        assert_eq!(doc.format, InputFormat::Docker);
        assert_eq!(doc.profile.default_errno_ret, Some(38));
        assert_eq!(doc.profile.syscalls[0].errno_ret, Some(1));
    }

    #[test]
    fn unknown_fields_are_kept_or_left_out_with_a_warning() {
        let text = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x-owner\": \"team\", \"sycalls\": [],\n \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArches\": []}],\n \"syscalls\": [{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"arg\": [],\n   \"excludes\": {\"minkernel\": \"4.8\"}, \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\", \"why\": 1}]}]}";
        let file = read_str(text, "p.json", &target(Arch::X86_64, "")).unwrap();
        let warnings: Vec<String> = file.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            warnings,
            [
                "p.json:1:57: unknown field \"sycalls\" (did you mean \"syscalls\"?): runc, crun, Docker and podman ignore it; kept in JSON output",
                "p.json:1:38: unknown field \"x-owner\": runc, crun, Docker and podman ignore it; kept in JSON output",
                "p.json:3:65: unknown field \"arg\" of a rule (did you mean \"args\"?): runc, crun, Docker and podman ignore it; kept in JSON output",
                "p.json:2:52: unknown field \"subArches\" of an archMap entry: runc, crun, Docker and podman ignore it; left out",
                "p.json:4:94: unknown field \"why\" of an argument condition: runc, crun, Docker and podman ignore it; left out",
                "p.json:4:18: unknown field \"minkernel\" of an includes/excludes object (did you mean \"minKernel\"?): runc, crun, Docker and podman ignore it; left out",
            ]
        );
        let p = file.single().unwrap().profile;
        assert_eq!(
            p.unknown_fields.keys().collect::<Vec<_>>(),
            ["sycalls", "x-owner"]
        );
        assert_eq!(
            p.syscalls[0].unknown_fields.keys().collect::<Vec<_>>(),
            ["arg"]
        );
        let json = crate::profile::oci::to_json(&p);
        assert!(json.contains("\"x-owner\": \"team\""), "{json}");
        assert!(json.contains("\"arg\": []"), "{json}");
    }

    #[test]
    fn podman_errno_names() {
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOSYS",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errno": "EACCES"}]}"#;
        let doc = read_with(text, &target(Arch::X86_64, "")).unwrap();
        assert_eq!(doc.profile.default_errno_ret, Some(38));
        assert_eq!(doc.profile.syscalls[0].errno_ret, Some(13));
    }

    #[test]
    fn malformed_json_is_located() {
        let cases = [
            (
                "{\"defaultAction\": \"SCMP_ACT_ERRNO\",",
                "p.json:1:35: EOF while parsing a value",
            ),
            (
                "{\n  \"defaultAction\": \"SCMP_ACT_FOO\"\n}",
                "p.json:2:33: unknown variant `SCMP_ACT_FOO`, expected one of",
            ),
            (
                "{\"defaultAction\": 3}",
                "p.json:1:19: invalid type: integer `3`, expected a string",
            ),
            (
                "{\"syscalls\": []}",
                "p.json:1:16: missing field `defaultAction`",
            ),
            (
                "{\"defaultAction\": \"SCMP_ACT_LOG\", \"architectures\": [\"SCMP_ARCH_VAX\"]}",
                "p.json:1:67: unknown variant `SCMP_ARCH_VAX`, expected one of `SCMP_ARCH_NATIVE`",
            ),
            (
                "{\"defaultAction\": \"SCMP_ACT_LOG\",\n \"syscalls\": [{\"name\": \"a\", \"names\": [\"b\"], \"action\": \"SCMP_ACT_LOG\"}]}",
                "p.json:2:70: a rule has both \"name\" and \"names\"",
            ),
            (
                "{\"defaultAction\": \"SCMP_ACT_LOG\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"errno\": \"EWHAT\"}]}",
                "p.json:1:111: unknown errno \"EWHAT\"",
            ),
            (
                "{\"defaultAction\": \"SCMP_ACT_LOG\", \"syscalls\": [\n {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1, \"errno\": \"EACCES\"}]}",
                "p.json:2:83: \"errnoRet\" is 1 (EPERM) but \"errno\" is 13 (EACCES): make them agree or keep one",
            ),
            (
                "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"defaultErrnoRet\": 38,\n \"defaultErrno\": \"EPERM\"}",
                "p.json:3:3: \"defaultErrnoRet\" is 38 (ENOSYS) but \"defaultErrno\" is 1 (EPERM): make them agree or keep one",
            ),
            (
                "{\"defaultAction\": \"SCMP_ACT_LOG\", \"architectures\": [\"SCMP_ARCH_X86\"],\n \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\"}]}",
                "p.json:2:3: both \"architectures\" and \"archMap\" are set",
            ),
        ];
        for (text, expected) in cases {
            let err = read_with(text, &target(Arch::X86_64, ""))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(expected),
                "{text}\n got: {err}\nwant: {expected}"
            );
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn caps_and_kernels_parse() {
        assert_eq!(
            Target::parse_caps("sys_admin, CAP_NET_RAW").unwrap(),
            BTreeSet::from(["CAP_NET_RAW".to_string(), "CAP_SYS_ADMIN".to_string()])
        );
        assert_eq!(Target::parse_caps("all").unwrap().len(), 41);
        assert!(Target::parse_caps("cap_fly").is_err());
        assert_eq!(
            "6.18.44-amd64".parse::<KernelVersion>(),
            Ok(KernelVersion {
                major: 6,
                minor: 18
            })
        );
        assert!("six".parse::<KernelVersion>().is_err());
    }
}
