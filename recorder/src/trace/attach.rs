//! Attaching to what runs already: a running container (from now on), a
//! created one (from its start), a process's cgroup or a cgroup; or handing
//! over to [`super::wait`] when it does not run yet.

use std::path::Path;

use super::{Attached, Session, TraceError};
use crate::bpf::{Scope, Start};
use crate::container::{self, ResolveError, Status};

impl Session<'_> {
    pub(super) fn attach_container(&mut self, query: &str) -> Result<Attached, TraceError> {
        let containers = container::list(self.layout);
        let found = match container::find(&containers, query) {
            Ok(c) => Some(c.clone()),
            Err(ResolveError::NotFound(_)) if self.options.wait => None,
            Err(e) => return Err(e.into()),
        };
        match found {
            Some(c) if c.status == Status::Running => {
                let cgroup = c
                    .cgroup
                    .clone()
                    .ok_or_else(|| TraceError::NoCgroup(query.to_string()))?;
                let scope = c.pid.map_or(
                    Scope::Container {
                        runtime_mount_ns: None,
                    },
                    |pid| self.scope_of(pid),
                );
                let id = self.existing_cgroup(&cgroup)?;
                let recording = self.recorder.start_scoped(id, Start::Now, scope)?;
                self.note(format_args!(
                    "{} is already running: recording from now on (what it did before is not in the profile)",
                    c.describe()
                ));
                Ok(Attached {
                    recordings: vec![recording],
                    cgroup: Some(cgroup),
                    container: Some(c),
                    from_start: false,
                    process: None,
                    populated: false,
                })
            }
            // runc/crun `create`d it: the init waits to exec the workload.
            Some(c) if c.status == Status::Created && c.pid.is_some() && c.cgroup.is_some() => {
                let cgroup = c.cgroup.clone().unwrap_or_default();
                let id = self.existing_cgroup(&cgroup)?;
                let scope = Scope::Container {
                    runtime_mount_ns: c.pid.and_then(|pid| self.runtime_mount_ns_of(pid)),
                };
                let recording = self.recorder.start_scoped(id, Start::AtFirstExec, scope)?;
                self.announce_waiting(&format!("container {query}"))?;
                Ok(Attached {
                    recordings: vec![recording],
                    cgroup: Some(cgroup),
                    container: Some(c),
                    from_start: true,
                    process: None,
                    populated: false,
                })
            }
            Some(c) if !self.options.wait => Err(match c.status {
                Status::Exited => ResolveError::Exited(query.to_string()).into(),
                _ => TraceError::NotStarted(query.to_string()),
            }),
            _ => self.wait_for_container(query),
        }
    }

    pub(super) fn attach_pid(&mut self, pid: i32) -> Result<Attached, TraceError> {
        let cgroup = container::cgroup_of_pid(&self.layout.proc, pid)
            .ok_or(TraceError::NoSuchProcess(pid))?;
        if cgroup == Path::new("/") {
            return Err(TraceError::RootCgroup(format!(
                "process {pid} is in the root cgroup"
            )));
        }
        let id = self.existing_cgroup(&cgroup)?;
        let scope = self.scope_of(pid);
        let recording = self.recorder.start_scoped(id, Start::Now, scope)?;
        let container = self.container_in(&cgroup);
        self.note(format_args!(
            "recording cgroup {} (process {pid}{}) from now on",
            cgroup.display(),
            container
                .as_ref()
                .map(|c| format!(", container {}", c.describe()))
                .unwrap_or_default()
        ));
        Ok(Attached {
            recordings: vec![recording],
            cgroup: Some(cgroup),
            container,
            from_start: false,
            process: Some(pid),
            populated: false,
        })
    }

    pub(super) fn attach_cgroup(&mut self, path: &Path) -> Result<Attached, TraceError> {
        let cgroup = self.relative_cgroup(path);
        if cgroup == Path::new("/") {
            return Err(TraceError::RootCgroup("/ is the root cgroup".into()));
        }
        let dir = self.layout.cgroup_dir(&cgroup);
        if dir.is_dir() {
            let id = self.existing_cgroup(&cgroup)?;
            let recording = self.recorder.start_scoped(id, Start::Now, Scope::All)?;
            self.note(format_args!(
                "recording cgroup {} from now on",
                cgroup.display()
            ));
            return Ok(Attached {
                recordings: vec![recording],
                container: self.container_in(&cgroup),
                cgroup: Some(cgroup),
                from_start: false,
                process: None,
                populated: false,
            });
        }
        if !self.options.wait {
            return Err(TraceError::NoSuchCgroup {
                path: cgroup,
                mount: self.mount.root.clone(),
            });
        }
        self.wait_for_cgroup(cgroup)
    }
}
