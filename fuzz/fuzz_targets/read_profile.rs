//! Any text through the profile readers (OCI/Docker JSON, SeccompProfile
//! YAML, systemd lines, chosen by the text as `recorder` chooses), and every
//! profile read through the writers: no panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use recorder_profile::arch::Arch;
use recorder_profile::profile::format::crd::to_yaml;
use recorder_profile::profile::format::systemd::to_dropin;
use recorder_profile::profile::oci::to_json;
use recorder_profile::profile::read::{Target, read_str};
use recorder_profile::profile::systemd_groups::SystemdChoice;

/// A fixed target: a shipped systemd release's groups, so that no run asks
/// the installed systemd.
static TARGET: LazyLock<Target> = LazyLock::new(|| Target {
    systemd: SystemdChoice::Version(257),
    ..Target::for_arch(Arch::X86_64)
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = read_str(text, "fuzz", &TARGET) else {
        return;
    };
    for doc in &file.documents {
        let json = to_json(&doc.profile);
        // What we write, we read.
        let _ = read_str(&json, "again.json", &TARGET);
        let _ = to_yaml(&doc.profile, doc.name.as_deref().unwrap_or("fuzz"), None);
        let _ = to_dropin(&doc.profile);
    }
});
