//! `ausearch -i` machine names (libaudit's spelling) to libseccomp
//! architectures. Numeric `arch=` values go through
//! [`crate::arch::Arch::from_audit_arch`].

use crate::arch::Arch;

/// The architecture of an `ausearch -i` machine name.
pub fn from_machine_name(name: &[u8]) -> Option<Arch> {
    let name = std::str::from_utf8(name).ok()?;
    match name {
        "i386" | "i486" | "i586" | "i686" => Some(Arch::X86),
        "armeb" | "armv5tejl" | "armv7l" | "armv7hl" => Some(Arch::Arm),
        other => other.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names() {
        assert_eq!(from_machine_name(b"x86_64"), Some(Arch::X86_64));
        assert_eq!(from_machine_name(b"i386"), Some(Arch::X86));
        assert_eq!(from_machine_name(b"aarch64"), Some(Arch::Aarch64));
        assert_eq!(from_machine_name(b"ppc64le"), Some(Arch::Ppc64le));
        assert_eq!(from_machine_name(b"vax"), None);
    }
}
