//! Tracing a container through a running `recorder daemon`: the daemon
//! records every container already, so `trace` takes that container's own
//! recording (its set, not its workload's union) instead of loading a
//! second program. Same boundary, same base profile, same output.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Target, TraceEnd, TraceError, TraceOptions, TraceOutcome};
use crate::bpf::Seen;
use crate::container::{self, Container, Engine, KubernetesName, OciRuntime, ResolveError, Status};
use crate::daemon::client::{ClientError, DaemonClient};
use crate::daemon::recordings::{RecordingState, RecordingView};
use crate::self_confine::{self, Role};
use crate::session::catch_signals;

/// How often the daemon is asked while waiting and following.
const ASK_EVERY: Duration = Duration::from_millis(100);

/// Traces `options.target` (a container) through the daemon; `Ok(None)`
/// when the daemon does not record it (it runs outside the daemon's
/// filters, or there was no slot for it): trace it without the daemon.
pub fn trace_via_daemon(
    client: &DaemonClient,
    options: &TraceOptions,
) -> Result<Option<TraceOutcome>, TraceError> {
    let Target::Container(query) = &options.target else {
        return Ok(None);
    };
    let confinement = self_confine::prepare(Role::TraceThroughDaemon, &options.confinement)?;
    let signals = catch_signals();
    let listed = client.recordings().map_err(daemon_error)?;
    let found = match find(&listed, query) {
        Ok(view) => Some(view.clone()),
        Err(ResolveError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let found = match found {
        Some(v) if v.state == RecordingState::Recording => Some(v),
        Some(v) if v.state == RecordingState::Unrecorded => return Ok(None),
        Some(_) if !options.wait => return Err(ResolveError::Exited(query.clone()).into()),
        _ if !options.wait => return Ok(None),
        _ => None,
    };
    // The daemon has it: from here on this process only asks it, over its
    // socket, and writes the profile.
    confinement.apply(&options.writes);
    let signals = signals.forward();
    let view = match found {
        Some(v) => {
            if v.partial && !options.quiet {
                crate::notice!(
                    "{} ran before the daemon saw it: its recording starts then",
                    describe(&v)
                );
            }
            v
        }
        None => {
            // Only recordings that begin from now on count.
            let newest = listed.iter().map(|r| r.recording).max().unwrap_or(0);
            if !options.quiet {
                crate::notice!("waiting for container {query} (through the recorder daemon)");
            }
            if let Some(path) = &options.ready_file {
                std::fs::write(path, "").map_err(|source| TraceError::ReadyFile {
                    path: path.clone(),
                    source,
                })?;
            }
            let started = Instant::now();
            loop {
                if signals.try_recv().is_ok() {
                    return Err(TraceError::InterruptedWaiting(format!("container {query}")));
                }
                if let Some(timeout) = options.timeout
                    && started.elapsed() >= timeout
                {
                    return Err(TraceError::WaitTimedOut {
                        what: format!("container {query}"),
                        after: timeout,
                    });
                }
                let listed = client.recordings().map_err(daemon_error)?;
                let newer: Vec<RecordingView> = listed
                    .into_iter()
                    .filter(|r| r.recording > newest)
                    .collect();
                if let Ok(v) = find(&newer, query) {
                    if v.state == RecordingState::Unrecorded {
                        return Err(TraceError::Missed(query.clone()));
                    }
                    break v.clone();
                }
                std::thread::sleep(ASK_EVERY);
            }
        }
    };
    follow(client, options, &signals, view).map(Some)
}

/// Follows a recording until its container ends, a signal comes or the
/// duration passes, and takes what it saw.
fn follow(
    client: &DaemonClient,
    options: &TraceOptions,
    signals: &std::sync::mpsc::Receiver<crate::session::ForwardedSignal>,
    view: RecordingView,
) -> Result<TraceOutcome, TraceError> {
    let started = Instant::now();
    let id = view.recording.to_string();
    let end = loop {
        if signals.try_recv().is_ok() {
            break TraceEnd::Interrupted;
        }
        if options.duration.is_some_and(|d| started.elapsed() >= d) {
            break TraceEnd::DurationElapsed;
        }
        let detail = client.recording(&id).map_err(daemon_error)?;
        if detail.is_none_or(|d| d.view.state != RecordingState::Recording) {
            break TraceEnd::Exited;
        }
        std::thread::sleep(ASK_EVERY);
    };
    let detail = client
        .recording(&id)
        .map_err(daemon_error)?
        .ok_or_else(|| ResolveError::NotFound(view.id.clone()))?;
    let container = container_of(&detail.view);
    Ok(TraceOutcome {
        seen: Seen::from(&detail.seen),
        cgroup: detail.cgroup.clone().unwrap_or_default(),
        container: Some(container),
        from_start: !detail.view.partial,
        end,
        confined: None,
    })
}

/// The daemon's recordings as containers, to resolve a query the way
/// `trace` resolves it: id, unique id prefix, name, Kubernetes names. The
/// newest recording of a container stands for it.
fn find<'a>(views: &'a [RecordingView], query: &str) -> Result<&'a RecordingView, ResolveError> {
    let mut newest: Vec<&RecordingView> = Vec::new();
    for v in views {
        match newest.iter_mut().find(|n| n.id == v.id) {
            Some(n) if n.recording < v.recording => *n = v,
            Some(_) => {}
            None => newest.push(v),
        }
    }
    let containers: Vec<Container> = newest.iter().map(|v| container_of(v)).collect();
    let found = container::find(&containers, query)?;
    newest
        .into_iter()
        .find(|v| v.id == found.id)
        .ok_or_else(|| ResolveError::NotFound(query.to_string()))
}

fn container_of(v: &RecordingView) -> Container {
    let engine = match v.engine.as_str() {
        "docker" => Engine::Docker,
        "podman" => Engine::Podman,
        "containerd" => Engine::Containerd {
            namespace: String::new(),
        },
        "crio" => Engine::CriO,
        "runc" => Engine::Plain(OciRuntime::Runc),
        "crun" => Engine::Plain(OciRuntime::Crun),
        _ => Engine::Unknown,
    };
    let mut c = Container::new(v.id.clone(), engine);
    c.runtime = match v.runtime.as_deref() {
        Some("runc") => Some(OciRuntime::Runc),
        Some("crun") => Some(OciRuntime::Crun),
        _ => None,
    };
    c.status = match v.state {
        RecordingState::Recording => Status::Running,
        _ => Status::Exited,
    };
    if v.name != v.id {
        c.names.push(v.name.clone());
    }
    if let Some(k) = &v.kubernetes {
        let name = KubernetesName {
            namespace: k.namespace.clone(),
            pod: k.pod.clone(),
            container: k.container.clone(),
        };
        c.names = name.names();
        c.kubernetes = Some(name);
    }
    c.cgroup = None::<PathBuf>;
    c
}

fn describe(v: &RecordingView) -> String {
    container_of(v).describe()
}

fn daemon_error(e: ClientError) -> TraceError {
    TraceError::Daemon(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::recordings::KubernetesView;

    fn view(recording: u64, id: &str, name: &str, state: RecordingState) -> RecordingView {
        RecordingView {
            id: id.into(),
            engine: "docker".into(),
            name: name.into(),
            kubernetes: None,
            profile: None,
            state,
            reason: None,
            partial: false,
            syscalls: 0,
            started: String::new(),
            ended: None,
            recording,
            runtime: Some("runc".into()),
        }
    }

    #[test]
    fn resolves_like_trace() {
        let mut kube = view(3, "3f2a", "app", RecordingState::Recording);
        kube.kubernetes = Some(KubernetesView {
            namespace: "default".into(),
            pod: "web-1".into(),
            container: "app".into(),
            workload: "web".into(),
        });
        let views = vec![
            view(1, "8dbd5bd7637f", "api", RecordingState::Written),
            // The same container again (Docker keeps ids over restarts).
            view(2, "8dbd5bd7637f", "api", RecordingState::Recording),
            kube,
        ];
        assert_eq!(find(&views, "api").unwrap().recording, 2);
        assert_eq!(find(&views, "8dbd").unwrap().recording, 2);
        assert_eq!(find(&views, "default/web-1/app").unwrap().recording, 3);
        assert!(matches!(
            find(&views, "nosuch"),
            Err(ResolveError::NotFound(_))
        ));
        let c = container_of(&views[1]);
        assert_eq!(
            (c.engine, c.runtime),
            (Engine::Docker, Some(OciRuntime::Runc))
        );
    }
}
