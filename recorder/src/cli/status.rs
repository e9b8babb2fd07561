//! `recorder status`.

use std::io::{self, Write as _};
use std::path::PathBuf;

use clap::Args;

use super::{print_error, report_error};
use crate::daemon::client::{DEFAULT_SOCKET, DaemonClient};
use crate::daemon::recordings::{RecordingState, RecordingView};

/// List the recordings of a running `recorder daemon`.
///
/// One line per container: its id, engine, name (NAMESPACE/POD/CONTAINER
/// for those the kubelet started), state (recording, written, pending:
/// written once the output directory takes it, unrecorded: with why), the
/// distinct syscalls so far, and its workload profile.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The daemon's API socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,

    /// Print the recordings as a JSON array (what GET /v1/recordings gives).
    #[arg(long)]
    json: bool,
}

pub fn run(args: StatusArgs) -> i32 {
    let client = DaemonClient::new(&args.socket);
    let recordings = match client.recordings() {
        Ok(r) => r,
        Err(e) => {
            report_error(&e);
            return 1;
        }
    };
    let text = if args.json {
        match serde_json::to_string_pretty(&recordings) {
            Ok(text) => text + "\n",
            Err(e) => {
                report_error(&e);
                return 1;
            }
        }
    } else {
        table(&recordings)
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            print_error(format_args!("writing to standard output: {e}"));
            1
        }
    }
}

/// The recordings as an aligned table; names from outside are shown
/// without control characters, so none can break a line.
fn table(recordings: &[RecordingView]) -> String {
    let header = [
        "CONTAINER",
        "ENGINE",
        "NAME",
        "STATE",
        "SYSCALLS",
        "STARTED",
        "PROFILE",
    ];
    let rows: Vec<[String; 7]> = recordings
        .iter()
        .map(|r| {
            let name = match &r.kubernetes {
                Some(k) => format!("{}/{}/{}", k.namespace, k.pod, k.container),
                None => r.name.clone(),
            };
            let mut state = match r.state {
                RecordingState::Recording => "recording",
                RecordingState::Written => "written",
                RecordingState::Pending => "pending",
                RecordingState::Unrecorded => "unrecorded",
            }
            .to_string();
            if let Some(reason) = r.reason {
                state = format!("{state} ({})", reason.label());
            } else if r.partial {
                state.push_str(" (partial)");
            }
            [
                short(&r.id),
                r.engine.clone(),
                name,
                state,
                r.syscalls.to_string(),
                r.started.clone(),
                r.profile
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ]
            .map(|cell| printable(&cell))
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push('\n');
    };
    line(&header.map(String::from));
    for row in &rows {
        line(row);
    }
    out
}

/// Engines' 64-hex-digit ids cut to 12, as they print them.
fn short(id: &str) -> String {
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        id[..12].to_string()
    } else {
        id.to_string()
    }
}

/// A cell without control characters (a newline in a container name must
/// not start a row of its own), and at most 80 characters.
fn printable(cell: &str) -> String {
    let mut shown: String = cell
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if shown.chars().count() > 80 {
        shown = shown.chars().take(79).collect::<String>() + "…";
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::recordings::{KubernetesView, Unrecorded};

    fn view(id: &str, name: &str) -> RecordingView {
        RecordingView {
            id: id.into(),
            engine: "docker".into(),
            name: name.into(),
            kubernetes: None,
            profile: Some(PathBuf::from("/p/docker/api.json")),
            state: RecordingState::Recording,
            reason: None,
            partial: false,
            syscalls: 42,
            started: "2026-12-01T10:00:00Z".into(),
            ended: None,
            recording: 1,
            runtime: Some("runc".into()),
        }
    }

    #[test]
    fn one_line_per_recording_whatever_the_names() {
        let mut evil = view("x\ny", "line\nbreak\u{1b}[2J");
        evil.state = RecordingState::Unrecorded;
        evil.reason = Some(Unrecorded::NoSlot);
        let mut kube = view(&"a".repeat(64), "app");
        kube.kubernetes = Some(KubernetesView {
            namespace: "default".into(),
            pod: "web-5d8f7c9b4-x7k2p".into(),
            container: "app".into(),
            workload: "web".into(),
        });
        kube.partial = true;
        let text = table(&[view("8dbd", "api"), evil, kube]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("CONTAINER"));
        assert!(lines[2].contains("unrecorded (no-slot)"), "{text}");
        assert!(
            lines[3].contains("default/web-5d8f7c9b4-x7k2p/app"),
            "{text}"
        );
        assert!(lines[3].contains("recording (partial)"), "{text}");
        assert!(lines[3].starts_with("aaaaaaaaaaaa "), "{text}");
        assert!(!text.contains('\u{1b}'));
    }
}
