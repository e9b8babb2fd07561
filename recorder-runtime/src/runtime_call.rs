//! How an OCI runtime was asked to create or run a container, from its
//! command line (`/proc/PID/cmdline` of the runtime while it runs, or what
//! the kernel kept of it).
//!
//! A container's state directory can be gone within milliseconds of its
//! start; the runtime's command line names the container's id, its state
//! root (whose place tells Docker's and containerd's containers apart) and
//! its bundle (whose config.json holds the spec) while the container's
//! first process runs.

use std::path::{Path, PathBuf};

use crate::OciRuntime;

/// How an OCI runtime was asked to create or run a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeCall {
    pub runtime: OciRuntime,
    /// `--root`: where it keeps the state (its default when `None`).
    pub root: Option<PathBuf>,
    /// `--bundle`/`-b` (the runtime's working directory when `None`).
    pub bundle: Option<PathBuf>,
    pub id: String,
}

/// Options of runc's and crun's global and create/run flags that take a
/// value, so that a value is never taken for the container id.
const VALUE_OPTIONS: [&str; 14] = [
    "--root",
    "--log",
    "--log-format",
    "--log-level",
    "--criu",
    "--cgroup-manager",
    "--bundle",
    "-b",
    "--pid-file",
    "--console-socket",
    "--preserve-fds",
    "--notify-socket",
    "--config",
    "-f",
];

/// Reads a runtime's command line: runc or crun (by its program's name),
/// asked to `create` or `run` a container. The id is the first operand
/// after the subcommand, as both runtimes take it.
pub fn parse_runtime_call(argv: &[String]) -> Option<RuntimeCall> {
    let program = Path::new(argv.first()?).file_name()?.to_string_lossy();
    let runtime = if program.contains("runc") {
        OciRuntime::Runc
    } else if program.contains("crun") {
        OciRuntime::Crun
    } else {
        return None;
    };
    let mut root = None;
    let mut bundle = None;
    let mut subcommand = None;
    let mut id = None;
    let mut args = argv[1..].iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with('-') => (name, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        if name.starts_with('-') && name.len() > 1 {
            let value = if VALUE_OPTIONS.contains(&name) {
                inline.or_else(|| args.next().cloned())
            } else {
                None
            };
            match name {
                "--root" => root = value.map(PathBuf::from),
                "--bundle" | "-b" => bundle = value.map(PathBuf::from),
                _ => {}
            }
            continue;
        }
        match subcommand {
            None => subcommand = Some(arg.as_str()),
            Some(_) if id.is_none() => id = Some(arg.clone()),
            Some(_) => {}
        }
    }
    if !matches!(subcommand, Some("create" | "run")) {
        return None;
    }
    Some(RuntimeCall {
        runtime,
        root,
        bundle,
        id: id.filter(|i| !i.is_empty())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn reads_runtime_command_lines() {
        assert_eq!(
            parse_runtime_call(&argv(
                "runc --root /run/containerd/runc/k8s.io --log /x/log.json --log-format json create --bundle /run/containerd/io.containerd.runtime.v2.task/k8s.io/3f2a --pid-file /x/init.pid 3f2a"
            )),
            Some(RuntimeCall {
                runtime: OciRuntime::Runc,
                root: Some("/run/containerd/runc/k8s.io".into()),
                bundle: Some("/run/containerd/io.containerd.runtime.v2.task/k8s.io/3f2a".into()),
                id: "3f2a".into(),
            })
        );
        assert_eq!(
            parse_runtime_call(&argv(
                "/usr/bin/crun --cgroup-manager=cgroupfs run -b=/b -d box1"
            )),
            Some(RuntimeCall {
                runtime: OciRuntime::Crun,
                root: None,
                bundle: Some("/b".into()),
                id: "box1".into(),
            })
        );
        assert_eq!(
            parse_runtime_call(&argv("runc run --detach quick")).map(|c| c.id),
            Some("quick".into())
        );
        for other in [
            "runc init",
            "runc exec -t box sh",
            "runc create",
            "/usr/bin/conmon --api-version 1 -c abc",
            "sh -c runc",
        ] {
            assert_eq!(parse_runtime_call(&argv(other)), None, "{other}");
        }
    }
}
