//! The daemon's workload profiles: each the union of every run filed under
//! it (replicas, restarts, later runs, earlier daemons' runs), kept in
//! memory and written beside its meta file.
//!
//! A profile is read from disk the first time the daemon files a run under
//! it, and everything written after is that profile merged with what this
//! daemon recorded ([`crate::profile::merge`]): runs only ever add names.
//! The meta file (`<container>.meta.json`) counts runs and, per syscall,
//! the runs that made it; runs still going are listed under `running` with
//! their names so far, so that a restarted daemon that finds the same
//! container again goes on with its run instead of counting it twice.
//!
//! Files are written atomically (temporary file, then rename), so a daemon
//! killed at any moment leaves every profile whole. A write that fails (an
//! unwritable or full directory) keeps the profile in memory, marked for the
//! next attempt.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::arch::{Arch, ArchPolicy};
use crate::capture::{ProfileOptions, SyscallSet};
use crate::container::OciRuntime;
use crate::container::base::BaseProfile;
use crate::profile::Profile;
use crate::profile::format::crd;
use crate::profile::merge::{Prefer, merge};
use crate::profile::oci;
use crate::profile::output::write_atomically;
use crate::profile::read::{Target, read_one};

/// What a workload's meta file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Runs filed under the profile, those still going included.
    pub runs: u64,
    /// Of those, the runs recorded from their middle (the container ran
    /// before the daemon saw it, or while it was down).
    pub partial_runs: u64,
    /// Per syscall, how many runs made it (the runtime's base profile, which
    /// every profile holds, is not counted).
    pub syscalls: BTreeMap<String, u64>,
    /// RFC 3339.
    pub first_seen: String,
    pub last_seen: String,
    /// Host names of the nodes whose runs are in.
    pub nodes: BTreeSet<String>,
    /// Runs still going when the meta was written, by container id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub running: BTreeMap<String, RunningRun>,
}

/// A run still going: its names so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningRun {
    pub syscalls: BTreeSet<String>,
    #[serde(default)]
    pub partial: bool,
}

/// One run in this daemon's memory.
#[derive(Clone, Debug, Default)]
struct Run {
    set: SyscallSet,
    /// Names a daemon before this one saw the run make.
    before: BTreeSet<String>,
    partial: bool,
}

impl Run {
    fn names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> =
            self.set.names().0.into_iter().map(String::from).collect();
        names.extend(self.before.iter().cloned());
        names
    }
}

/// One workload's profile.
struct Workload {
    /// What the file held when this daemon first filed a run under it.
    on_disk: Option<Profile>,
    /// The meta of runs that ended (the file's, then this daemon's).
    ended: Meta,
    /// The union of the runs that ended under this daemon.
    ended_set: SyscallSet,
    /// Runs going on, by container id.
    live: BTreeMap<String, Run>,
    /// Runtimes whose base profiles are in.
    runtimes: BTreeSet<OciRuntime>,
    /// The texts last written, to skip writes that change nothing.
    written: Option<Rendered>,
    /// Why the last write failed, while it does.
    error: Option<String>,
}

/// A workload profile's files, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub profile: String,
    pub meta: String,
    /// The SeccompProfile object, with `--crd`.
    pub crd: Option<String>,
}

/// How the daemon writes profiles.
#[derive(Clone, Debug)]
pub struct BookOptions {
    pub dir: PathBuf,
    pub errno: u32,
    pub arch_policy: ArchPolicy,
    /// Also write `<container>.yaml`, a SeccompProfile object.
    pub crd: bool,
    pub hostname: String,
}

/// Every workload profile the daemon has filed a run under.
pub struct ProfileBook {
    options: BookOptions,
    workloads: BTreeMap<PathBuf, Workload>,
}

/// A write that failed.
#[derive(Debug, thiserror::Error)]
#[error("writing {path}")]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl ProfileBook {
    pub fn new(options: BookOptions) -> ProfileBook {
        ProfileBook {
            options,
            workloads: BTreeMap::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.options.dir
    }

    /// Starts a run of container `id` under `path` (relative to the output
    /// directory). A run the meta file lists as still going (a daemon before
    /// this one recorded it) goes on, partial since the daemon was away.
    pub fn start_run(
        &mut self,
        path: &Path,
        id: &str,
        runtime: Option<OciRuntime>,
        partial: bool,
        now: &str,
    ) {
        let hostname = self.options.hostname.clone();
        let workload = self.workload(path);
        let mut run = Run {
            partial,
            ..Run::default()
        };
        if let Some(before) = workload.ended.running.remove(id) {
            run.before = before.syscalls;
            run.partial = true;
        }
        workload.live.insert(id.to_string(), run);
        workload.runtimes.extend(runtime);
        if workload.ended.first_seen.is_empty() {
            workload.ended.first_seen = now.to_string();
        }
        workload.ended.last_seen = now.to_string();
        workload.ended.nodes.insert(hostname);
    }

    /// What a run going on has made so far.
    pub fn update_run(&mut self, path: &Path, id: &str, set: SyscallSet) {
        if let Some(run) = self
            .workloads
            .get_mut(path)
            .and_then(|w| w.live.get_mut(id))
        {
            run.set = set;
        }
    }

    /// Ends a run with what it made.
    pub fn end_run(&mut self, path: &Path, id: &str, set: SyscallSet, now: &str) {
        let Some(workload) = self.workloads.get_mut(path) else {
            return;
        };
        let Some(mut run) = workload.live.remove(id) else {
            return;
        };
        run.set = set;
        count_run(&mut workload.ended, &run);
        workload.ended_set.extend(&run.set);
        workload.ended.last_seen = now.to_string();
    }

    /// The workload at `path`, read from disk the first time.
    fn workload(&mut self, path: &Path) -> &mut Workload {
        let dir = self.options.dir.clone();
        self.workloads
            .entry(path.to_path_buf())
            .or_insert_with(|| load(&dir.join(path)))
    }

    /// The paths of every workload, and whether its last write failed.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.workloads.keys().cloned().collect()
    }

    /// Why writes of any profile fail, while some do.
    pub fn failing(&self) -> Option<String> {
        self.workloads.values().find_map(|w| w.error.clone())
    }

    /// Profiles whose last write failed.
    pub fn pending(&self) -> usize {
        self.workloads
            .values()
            .filter(|w| w.error.is_some())
            .count()
    }

    /// The profile at `path` as it would be written now.
    pub fn profile(&self, path: &Path) -> Option<Profile> {
        self.workloads.get(path).map(|w| self.merged_profile(w))
    }

    fn merged_profile(&self, w: &Workload) -> Profile {
        let mut set = w.ended_set.clone();
        for run in w.live.values() {
            set.extend(&run.set);
        }
        let host = Arch::host();
        let table = host.table();
        for runtime in &w.runtimes {
            for name in &BaseProfile::builtin(*runtime).names {
                if let Some(nr) = table.number(name) {
                    set.insert_unconditional(host, nr);
                }
            }
        }
        let recorded = set
            .build_profile(&ProfileOptions {
                errno: self.options.errno,
                arch_policy: self.options.arch_policy,
                libseccomp: None,
            })
            .profile;
        match &w.on_disk {
            Some(before) => {
                let merged = merge(
                    &[("on disk", before), ("recorded", &recorded)],
                    Prefer::Deny,
                );
                for conflict in &merged.conflicts {
                    log::warn!("merging a recording into a profile on disk: {conflict}");
                }
                merged.profile
            }
            None => recorded,
        }
    }

    fn render(&self, path: &Path, w: &Workload) -> Rendered {
        let profile = self.merged_profile(w);
        let mut meta = w.ended.clone();
        for (id, run) in &w.live {
            count_run(&mut meta, run);
            meta.running.insert(
                id.clone(),
                RunningRun {
                    syscalls: run.names(),
                    partial: run.partial,
                },
            );
        }
        let crd = self.options.crd.then(|| {
            let name = crd_name(path);
            crd::to_yaml(&profile, &name, None).text
        });
        Rendered {
            profile: oci::to_json(&profile),
            meta: serde_json::to_string_pretty(&meta)
                .expect("a meta record always serialises: strings and numbers"),
            crd,
        }
    }

    /// Writes the profile at `path` when it changed since its last write.
    /// `Ok(true)` when something was written.
    pub fn write(&mut self, path: &Path) -> Result<bool, WriteError> {
        let Some(w) = self.workloads.get(path) else {
            return Ok(false);
        };
        let rendered = self.render(path, w);
        if w.written.as_ref() == Some(&rendered) {
            return Ok(false);
        }
        let file = self.options.dir.join(path);
        let result = write_files(&file, &rendered);
        let w = self
            .workloads
            .get_mut(path)
            .expect("the workload was looked up above");
        match result {
            Ok(()) => {
                w.written = Some(rendered);
                w.error = None;
                Ok(true)
            }
            Err(e) => {
                w.error = Some(crate::messages::Chain(&e).to_string());
                Err(e)
            }
        }
    }
}

/// Adds one run to a meta record.
fn count_run(meta: &mut Meta, run: &Run) {
    meta.runs += 1;
    if run.partial {
        meta.partial_runs += 1;
    }
    for name in run.names() {
        *meta.syscalls.entry(name).or_default() += 1;
    }
}

/// The meta file beside a profile: `app.json` -> `app.meta.json`.
pub fn meta_path(profile: &Path) -> PathBuf {
    profile.with_extension("meta.json")
}

/// A SeccompProfile name for a workload profile: its path below the
/// output directory, made a valid object name (`default-web-app`).
fn crd_name(path: &Path) -> String {
    let raw = path.with_extension("").to_string_lossy().to_lowercase();
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches(['-', '.']).to_string();
    name.truncate(253);
    if crd::is_valid_name(&name) {
        name
    } else {
        "recorded".to_string()
    }
}

fn write_files(file: &Path, rendered: &Rendered) -> Result<(), WriteError> {
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError { path, source }
    };
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir).map_err(failed(dir))?;
    }
    write_atomically(file, rendered.profile.as_bytes()).map_err(failed(file))?;
    if let Some(crd) = &rendered.crd {
        let yaml = file.with_extension("yaml");
        write_atomically(&yaml, crd.as_bytes()).map_err(failed(&yaml))?;
    }
    let meta = meta_path(file);
    write_atomically(&meta, rendered.meta.as_bytes()).map_err(failed(&meta))
}

/// A workload as its files hold it, or a new one. A file that cannot be
/// read as a profile is moved aside (never written over) and said so.
fn load(file: &Path) -> Workload {
    let on_disk = if file.exists() {
        match read_one(&file.to_string_lossy(), &Target::host()) {
            Ok((document, _)) => Some(document.profile),
            Err(e) => {
                let aside = file.with_extension(format!(
                    "json.unreadable-{}",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs())
                ));
                log::warn!(
                    "{e}: moved it to {} and starting the profile afresh",
                    aside.display(),
                    e = crate::messages::Chain(&e),
                );
                let _ = fs::rename(file, &aside);
                None
            }
        }
    } else {
        None
    };
    let meta_file = meta_path(file);
    let ended = fs::read_to_string(&meta_file)
        .ok()
        .and_then(|text| {
            serde_json::from_str::<Meta>(&text)
                .inspect_err(|e| {
                    log::warn!(
                        "{}: {e}: counting runs afresh",
                        meta_file.display(),
                        e = crate::messages::Chain(&e)
                    );
                })
                .ok()
        })
        .map(finished_part)
        .unwrap_or_default();
    Workload {
        on_disk,
        ended,
        ended_set: SyscallSet::default(),
        live: BTreeMap::new(),
        runtimes: BTreeSet::new(),
        written: None,
        error: None,
    }
}

/// A meta record as written (runs going on counted in) to the part of
/// runs that ended, with the runs going on kept apart under `running`.
fn finished_part(mut meta: Meta) -> Meta {
    for run in meta.running.values() {
        meta.runs = meta.runs.saturating_sub(1);
        if run.partial {
            meta.partial_runs = meta.partial_runs.saturating_sub(1);
        }
        for name in &run.syscalls {
            if let Some(count) = meta.syscalls.get_mut(name) {
                *count = count.saturating_sub(1);
            }
        }
    }
    meta.syscalls.retain(|_, count| *count > 0);
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> SyscallSet {
        let host = Arch::host();
        let table = host.table();
        let mut set = SyscallSet::default();
        for name in names {
            set.insert(host, table.number(name).unwrap());
        }
        set
    }

    fn book(dir: &Path) -> ProfileBook {
        ProfileBook::new(BookOptions {
            dir: dir.to_path_buf(),
            errno: 38,
            arch_policy: ArchPolicy::Observed,
            crd: true,
            hostname: "node1".into(),
        })
    }

    fn allowed(dir: &Path, path: &str) -> BTreeSet<String> {
        let text = fs::read_to_string(dir.join(path)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["syscalls"][0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    }

    fn meta(dir: &Path, path: &str) -> Meta {
        let text = fs::read_to_string(dir.join(meta_path(Path::new(path)))).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn replicas_fold_into_one_profile_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = Path::new("default/web/app.json");
        let mut book = book(dir.path());
        for (id, marker) in [("r1", "getcpu"), ("r2", "sysinfo"), ("r3", "uname")] {
            book.start_run(path, id, None, false, "2026-12-01T00:00:00Z");
            book.end_run(path, id, set(&["read", marker]), "2026-12-01T00:00:01Z");
        }
        assert!(book.write(path).unwrap());
        assert!(!book.write(path).unwrap(), "nothing changed");
        let names = allowed(dir.path(), "default/web/app.json");
        for name in ["read", "getcpu", "sysinfo", "uname"] {
            assert!(names.contains(name), "{name}: {names:?}");
        }
        let m = meta(dir.path(), "default/web/app.json");
        assert_eq!((m.runs, m.partial_runs), (3, 0));
        assert_eq!(m.syscalls["read"], 3);
        assert_eq!(m.syscalls["getcpu"], 1);
        assert_eq!(m.nodes, BTreeSet::from(["node1".to_string()]));
        assert!(m.running.is_empty());
        assert!(dir.path().join("default/web/app.yaml").exists());
    }

    #[test]
    fn a_restarted_daemon_adds_to_what_is_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = Path::new("docker/api.json");
        let mut first = book(dir.path());
        first.start_run(path, "a", Some(OciRuntime::Runc), false, "t0");
        first.end_run(path, "a", set(&["getcpu"]), "t1");
        // A run still going when the daemon is killed.
        first.start_run(path, "b", Some(OciRuntime::Runc), false, "t1");
        first.update_run(path, "b", set(&["sysinfo"]));
        first.write(path).unwrap();
        let m = meta(dir.path(), "docker/api.json");
        assert_eq!(m.runs, 2);
        assert_eq!(
            m.running["b"].syscalls,
            BTreeSet::from(["sysinfo".to_string()])
        );
        assert!(
            allowed(dir.path(), "docker/api.json").contains("capset"),
            "runc's base"
        );

        let mut second = book(dir.path());
        // b goes on: one run, partial now; c is new.
        second.start_run(path, "b", Some(OciRuntime::Runc), false, "t2");
        second.end_run(path, "b", set(&["uname"]), "t3");
        second.start_run(path, "c", Some(OciRuntime::Runc), true, "t3");
        second.end_run(path, "c", set(&["getppid"]), "t4");
        second.write(path).unwrap();
        let names = allowed(dir.path(), "docker/api.json");
        for name in ["getcpu", "sysinfo", "uname", "getppid"] {
            assert!(names.contains(name), "{name}: {names:?}");
        }
        let m = meta(dir.path(), "docker/api.json");
        assert_eq!((m.runs, m.partial_runs), (3, 2));
        assert_eq!(m.syscalls["sysinfo"], 1);
        assert_eq!(m.syscalls["uname"], 1);
        assert_eq!(m.first_seen, "t0");
        assert!(m.running.is_empty());
    }

    #[test]
    fn a_failed_write_is_kept_for_later() {
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("blocked");
        fs::write(&blocked, "a file where a directory should be").unwrap();
        let mut book = book(&blocked);
        let path = Path::new("runc/x.json");
        book.start_run(path, "x", None, false, "t0");
        book.end_run(path, "x", set(&["getcpu"]), "t1");
        assert!(book.write(path).is_err());
        assert_eq!(book.pending(), 1);
        fs::remove_file(&blocked).unwrap();
        assert!(book.write(path).unwrap());
        assert_eq!(book.pending(), 0);
        assert!(allowed(&blocked, "runc/x.json").contains("getcpu"));
    }

    #[test]
    fn names_of_objects() {
        assert_eq!(
            crd_name(Path::new("default/web/app.json")),
            "default-web-app"
        );
        assert_eq!(crd_name(Path::new("docker/My_Api.json")), "docker-my-api");
    }
}
