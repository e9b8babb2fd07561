//! OCI runtime-spec / Docker JSON: the default output format.

use super::Profile;

/// Serialises `profile` as 2-space indented JSON with a trailing newline.
/// Deterministic: the model keeps names sorted and fields in spec order.
pub fn to_json(profile: &Profile) -> String {
    let mut text = serde_json::to_string_pretty(profile)
        .expect("a Profile always serialises: it has only strings, numbers and lists");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;

    #[test]
    fn exact_json() {
        let p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        assert_eq!(
            to_json(&p),
            r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 38,
  "architectures": [
    "SCMP_ARCH_X86_64"
  ],
  "syscalls": [
    {
      "names": [
        "read"
      ],
      "action": "SCMP_ACT_ALLOW"
    }
  ]
}
"#
        );
    }

    #[test]
    fn round_trips() {
        let p = Profile::allow_list(
            [Arch::X86_64, Arch::X86],
            ["read".into(), "mmap2".into()],
            1,
        );
        let back: Profile = serde_json::from_str(&to_json(&p)).unwrap();
        assert_eq!(back, p);
    }
}
