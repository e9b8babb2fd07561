//! `recorder install`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::profile_args::{TargetArgs, read_profile, spec_path};
use super::{print_error, report_error};
use crate::profile::oci;
use crate::profile::output::Output;

/// Install a profile where the kubelet looks for Localhost profiles.
///
/// Writes the profile as OCI JSON, atomically, to
/// KUBELET_ROOT/seccomp/profiles/NAME.json, then prints the pod
/// securityContext that uses it and the matching docker run option. The
/// kubelet root must exist (a mistyped one would go unnoticed, as the
/// kubelet never looks there) unless --create-root is given.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  recorder install web.json\n  recorder install profiles.yaml#web --kubelet-root /var/lib/kubelet --as web-v2"
)]
pub struct InstallArgs {
    /// The profile to install (FILE or FILE#NAME).
    #[arg(value_name = "PROFILE")]
    profile: String,

    /// The kubelet's root directory (its --root-dir).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/kubelet")]
    kubelet_root: PathBuf,

    /// Create the kubelet root if it does not exist (e.g. on a node image
    /// being built), instead of refusing it as a likely typo.
    #[arg(long)]
    create_root: bool,

    /// Install under this name (default: the SeccompProfile's name, else the
    /// file name).
    #[arg(long = "as", value_name = "NAME", value_parser = parse_file_name)]
    name: Option<String>,

    #[command(flatten)]
    target: TargetArgs,
}

fn parse_file_name(text: &str) -> Result<String, String> {
    let name = text.strip_suffix(".json").unwrap_or(text);
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(name.to_string())
    } else {
        Err(format!(
            "{text:?} is not a usable file name: use letters, digits, '-', '_' and '.'"
        ))
    }
}

pub fn run(args: InstallArgs) -> i32 {
    if !args.create_root && !args.kubelet_root.is_dir() {
        print_error(format_args!(
            "kubelet root {} {}: check --kubelet-root (the kubelet's --root-dir), or add --create-root to create it",
            args.kubelet_root.display(),
            if args.kubelet_root.exists() {
                "is not a directory"
            } else {
                "does not exist"
            }
        ));
        return 1;
    }
    let document = match read_profile(&args.profile, &args.target.target()) {
        Ok(d) => d,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    // A SeccompProfile's metadata.name comes from the file: it names a file
    // only when it is a safe file name (no '/', no "..").
    let from_document = match document.name.as_deref().map(parse_file_name) {
        Some(Err(e)) if args.name.is_none() => {
            print_error(format_args!(
                "the profile's metadata.name {e}; choose the file's name with --as NAME"
            ));
            return 1;
        }
        Some(Ok(name)) => Some(name),
        _ => None,
    };
    let name = args
        .name
        .or(from_document)
        .or_else(|| {
            spec_path(&args.profile)
                .file_stem()
                .and_then(|s| parse_file_name(&s.to_string_lossy()).ok())
        })
        .unwrap_or_else(|| "profile".to_string());
    let dir = args.kubelet_root.join("seccomp").join("profiles");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        print_error(format_args!(
            "cannot create {}: {e} (check --kubelet-root)",
            dir.display()
        ));
        return 1;
    }
    let path = dir.join(format!("{name}.json"));
    let written =
        Output::prepare(Some(&path)).and_then(|o| o.write(&oci::to_json(&document.profile)));
    if let Err(e) = written {
        report_error(&e);
        return 1;
    }
    crate::notice!("installed {}", path.display());
    print!("{}", usage(&name, &path));
    0
}

/// How to use the installed profile from Kubernetes and Docker.
fn usage(name: &str, path: &Path) -> String {
    format!(
        "# Kubernetes: the pod's or container's securityContext\n\
         securityContext:\n  \
           seccompProfile:\n    \
             type: Localhost\n    \
             localhostProfile: profiles/{name}.json\n\
         \n\
         # Docker\n\
         docker run --security-opt seccomp={} IMAGE\n",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(parse_file_name("web.json"), Ok("web".into()));
        assert!(parse_file_name("../x").is_err());
        assert!(parse_file_name(".hidden").is_err());
        assert!(parse_file_name("").is_err());
    }

    #[test]
    fn usage_text() {
        let text = usage("web", Path::new("/k/seccomp/profiles/web.json"));
        assert!(
            text.contains("    localhostProfile: profiles/web.json\n"),
            "{text}"
        );
        assert!(
            text.contains("docker run --security-opt seccomp=/k/seccomp/profiles/web.json IMAGE")
        );
    }
}
