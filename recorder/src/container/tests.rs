//! Resolution against hosts laid out the way each engine lays them out, in
//! temporary directories: Docker, podman, containerd, CRI-O (which is not
//! packaged for the test machines) and runc and crun by hand.

use std::fs;
use std::path::Path;

use super::*;

const DOCKER_ID: &str = "8dbd5bd7637fbc7e3981244782948bf2695be9233ed256cf23c02cf60e7ac3fd";
const DOCKER_ID2: &str = "8dbd5bd7637f00000981244782948bf2695be9233ed256cf23c02cf60e7ac3fd";
const PODMAN_ID: &str = "a30988644c5fa42b458d6755dda9add4249e82db185fa166e5a2f0eb257bd5dd";
const CRIO_ID: &str = "c7f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e";
const CTRD_ID: &str = "d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f67";
const KUBE_ID: &str = "e1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f67";

/// A fake host: each engine's files as the real ones look (see
/// the module docs of each reader for where each engine keeps them).
struct FakeHost {
    dir: tempfile::TempDir,
}

impl FakeHost {
    fn new() -> FakeHost {
        FakeHost {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn layout(&self) -> HostLayout {
        HostLayout::under(self.dir.path())
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    /// A live process with a start time and a cgroup.
    fn process(&self, pid: i32, start: u64, cgroup: &str) {
        self.write(
            &format!("proc/{pid}/stat"),
            &format!(
                "{pid} (runc:[2:INIT]) S 1 {pid} {pid} 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 {start} 1 1 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
            ),
        );
        self.write(
            &format!("proc/{pid}/cgroup"),
            &format!("12:pids:{cgroup}\n0::{cgroup}\n"),
        );
    }

    fn cgroup(&self, path: &str, populated: bool) {
        self.write(
            &format!("sys/fs/cgroup{path}/cgroup.events"),
            &format!("populated {}\nfrozen 0\n", u8::from(populated)),
        );
    }

    fn runc_state(&self, root: &str, id: &str, pid: i32, start: u64, cgroup: &str) {
        self.write(
            &format!("{root}/{id}/state.json"),
            &format!(
                r#"{{"id":"{id}","init_process_pid":{pid},"init_process_start":{start},
                    "cgroup_paths":{{"":"{}/sys/fs/cgroup{cgroup}"}},
                    "config":{{"no_new_privileges":false,"cgroups":{{"path":"{cgroup}"}}}}}}"#,
                self.dir.path().display()
            ),
        );
    }

    fn docker(&self, id: &str, name: &str, running: bool) {
        self.write(
            &format!("var/lib/docker/containers/{id}/config.v2.json"),
            &format!(
                r#"{{"ID":"{id}","Name":"/{name}","State":{{"Running":{running},"StartedAt":"2026-11-23T13:51:32Z"}}}}"#
            ),
        );
    }
}

fn names(found: Result<&Container, ResolveError>) -> Result<(String, Engine), ResolveError> {
    found.map(|c| (c.id.clone(), c.engine.clone()))
}

#[test]
fn docker_by_id_name_and_prefix() {
    let host = FakeHost::new();
    let cgroup = format!("/docker/{DOCKER_ID}");
    host.docker(DOCKER_ID, "web", true);
    host.runc_state("run/docker/runtime-runc/moby", DOCKER_ID, 4242, 77, &cgroup);
    host.process(4242, 77, &cgroup);
    host.cgroup(&cgroup, true);
    let all = list(&host.layout());
    assert_eq!(all.len(), 1, "{all:?}");
    let c = &all[0];
    assert_eq!(c.names, ["web"]);
    assert_eq!(c.engine, Engine::Docker);
    assert_eq!(c.runtime, Some(OciRuntime::Runc));
    assert_eq!(c.status, Status::Running);
    assert_eq!(c.pid, Some(4242));
    assert_eq!(c.cgroup.as_deref(), Some(Path::new(&cgroup)));
    for query in [DOCKER_ID, "web", "8dbd", "8"] {
        assert_eq!(
            names(find(&all, query)),
            Ok((DOCKER_ID.to_string(), Engine::Docker)),
            "{query}"
        );
    }
    assert_eq!(
        find(&all, "web2").unwrap_err().to_string(),
        "no container matches web2"
    );
    assert_eq!(
        find(&all, "").unwrap_err(),
        ResolveError::NotFound("\"\"".into())
    );
}

#[test]
fn ambiguous_prefixes_list_distinguishing_ids() {
    let host = FakeHost::new();
    host.docker(DOCKER_ID, "web", true);
    host.docker(DOCKER_ID2, "db", true);
    let all = list(&host.layout());
    let err = find(&all, "8dbd").unwrap_err();
    assert_eq!(
        err.to_string(),
        "8dbd is ambiguous: it matches 8dbd5bd7637f0…, 8dbd5bd7637fb… (use more characters)"
    );
    assert_eq!(
        names(find(&all, "8dbd5bd7637fb")).map(|n| n.0),
        Ok(DOCKER_ID.to_string())
    );
    assert_eq!(
        names(find(&all, "db")).map(|n| n.0),
        Ok(DOCKER_ID2.to_string())
    );
}

#[test]
fn short_ids_are_not_cut() {
    assert_eq!(
        distinguishing_prefixes(["c1", "c2"].into_iter()),
        ["c1", "c2"]
    );
}

#[test]
fn stopped_docker_container_is_exited() {
    let host = FakeHost::new();
    host.docker(DOCKER_ID, "web", false);
    // The runtime state outlives the init: its pid is gone.
    host.runc_state(
        "run/docker/runtime-runc/moby",
        DOCKER_ID,
        4242,
        77,
        &format!("/docker/{DOCKER_ID}"),
    );
    let all = list(&host.layout());
    assert_eq!(all[0].status, Status::Exited);
    assert_eq!(
        ResolveError::Exited("web".into()).to_string(),
        "runtime state says web exited"
    );
}

#[test]
fn reused_pid_is_not_the_init() {
    let host = FakeHost::new();
    host.runc_state("run/runc", "c1", 4242, 77, "/tests/c1");
    host.process(4242, 78, "/user.slice");
    let all = list(&host.layout());
    assert_eq!(all[0].status, Status::Exited);
    assert_eq!(all[0].pid, None);
}

#[test]
fn runc_by_hand_created_and_running() {
    let host = FakeHost::new();
    host.runc_state("run/runc", "c1", 100, 5, "/tests/c1");
    host.write("run/runc/c1/exec.fifo", "");
    host.process(100, 5, "/tests/c1");
    host.runc_state("run/runc", "c2", 200, 6, "/tests/c2");
    host.process(200, 6, "/tests/c2");
    let all = list(&host.layout());
    let summary: Vec<(&str, &Engine, Status)> = all
        .iter()
        .map(|c| (c.id.as_str(), &c.engine, c.status))
        .collect();
    assert_eq!(
        summary,
        [
            ("c1", &Engine::Plain(OciRuntime::Runc), Status::Created),
            ("c2", &Engine::Plain(OciRuntime::Runc), Status::Running)
        ]
    );
    // Ids that are prefixes of others: the exact id wins.
    host.runc_state("run/runc", "c", 300, 7, "/tests/c");
    host.process(300, 7, "/tests/c");
    let all = list(&host.layout());
    assert_eq!(names(find(&all, "c")).map(|n| n.0), Ok("c".to_string()));
}

#[test]
fn podman_with_runc() {
    let host = FakeHost::new();
    let cgroup = format!("/libpod_parent/libpod-{PODMAN_ID}");
    host.write(
        "var/lib/containers/storage/overlay-containers/containers.json",
        &format!(
            r#"[{{"id":"{PODMAN_ID}","names":["pbb"],"metadata":"{{\"image-name\":\"localhost/bb:latest\",\"name\":\"pbb\"}}"}}]"#
        ),
    );
    host.runc_state("run/runc", PODMAN_ID, 300, 9, &cgroup);
    host.process(300, 9, &cgroup);
    host.cgroup(&cgroup, true);
    let all = list(&host.layout());
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].engine, Engine::Podman);
    assert_eq!(all[0].runtime, Some(OciRuntime::Runc));
    assert_eq!(names(find(&all, "pbb")).map(|n| n.1), Ok(Engine::Podman));
    assert_eq!(
        names(find(&all, "a3098")).map(|n| n.0),
        Ok(PODMAN_ID.to_string())
    );
}

#[test]
fn podman_container_not_started_is_not_running() {
    let host = FakeHost::new();
    host.write(
        "var/lib/containers/storage/overlay-containers/containers.json",
        &format!(r#"[{{"id":"{PODMAN_ID}","names":["pbb"],"metadata":"{{}}"}}]"#),
    );
    let all = list(&host.layout());
    assert_eq!(all[0].status, Status::NotRunning);
}

#[test]
fn crio_with_crun_under_kubernetes_systemd_layout() {
    let host = FakeHost::new();
    let cgroup = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f5b8c2e_1d7a_4c55_9a3e_2b1f6f0e9d11.slice/crio-{CRIO_ID}.scope"
    );
    host.write(
        "var/lib/containers/storage/overlay-containers/containers.json",
        &format!(
            r#"[{{"id":"{CRIO_ID}","names":["k8s_web_web-7d9_default_0f5b_0"],
                  "metadata":"{{\"pod-name\":\"web-7d9\",\"pod-id\":\"5e1a\",\"metadata-name\":\"web\"}}"}}]"#
        ),
    );
    host.write(
        &format!("run/crun/{CRIO_ID}/status"),
        &format!(r#"{{"pid":500,"process-start-time":11,"cgroup-path":"{cgroup}"}}"#),
    );
    host.process(500, 11, &cgroup);
    host.cgroup(&cgroup, true);
    // The monitor's scope is not a container.
    host.cgroup(
        &format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f5b8c2e_1d7a_4c55_9a3e_2b1f6f0e9d11.slice/crio-conmon-{CRIO_ID}.scope"),
        true,
    );
    let all = list(&host.layout());
    assert_eq!(all.len(), 1, "{all:?}");
    let c = &all[0];
    assert_eq!(c.engine, Engine::CriO);
    assert_eq!(c.runtime, Some(OciRuntime::Crun));
    assert_eq!(c.status, Status::Running);
    assert_eq!(c.cgroup.as_deref(), Some(Path::new(&cgroup)));
    for query in ["web", "k8s_web_web-7d9_default_0f5b_0", "c7f0a1"] {
        assert_eq!(
            names(find(&all, query)).map(|n| n.0),
            Ok(CRIO_ID.to_string()),
            "{query}"
        );
    }
}

/// runc's state.json as containerd's shim leaves it for a container the
/// kubelet started: the spec's annotations are in config.labels.
fn kubelet_runc_state(host: &FakeHost, id: &str, pid: i32, pod: &str, container: &str) {
    let cgroup = format!("/k8s.io/{id}");
    host.write(
        &format!("run/containerd/runc/k8s.io/{id}/state.json"),
        &format!(
            r#"{{"id":"{id}","init_process_pid":{pid},"init_process_start":7,
                "config":{{"cgroups":{{"path":"{cgroup}"}},"labels":[
                  "io.kubernetes.cri.container-type=container",
                  "io.kubernetes.cri.container-name={container}",
                  "io.kubernetes.cri.sandbox-name={pod}",
                  "io.kubernetes.cri.sandbox-namespace=default",
                  "bundle=/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}"]}}}}"#
        ),
    );
    host.process(pid, 7, &cgroup);
}

#[test]
fn kubernetes_names_of_containerd_containers() {
    let host = FakeHost::new();
    kubelet_runc_state(&host, CTRD_ID, 600, "web-1", "nginx");
    kubelet_runc_state(&host, KUBE_ID, 601, "web-2", "nginx");
    let all = list(&host.layout());
    for (query, id) in [
        ("default/web-1/nginx", CTRD_ID),
        ("web-2/nginx", KUBE_ID),
        ("d1e2", CTRD_ID),
    ] {
        assert_eq!(names(find(&all, query)).map(|n| n.0), Ok(id.to_string()));
    }
    assert_eq!(
        find(&all, "nginx").unwrap_err().to_string(),
        "nginx is ambiguous: it matches d1e2f3a4b5c6… (default/web-1/nginx), e1e2f3a4b5c6… (default/web-2/nginx) (give an id prefix or a fuller name)"
    );
    let c = find(&all, "web-1/nginx").unwrap();
    assert_eq!(
        c.describe(),
        format!(
            "default/web-1/nginx (containerd (namespace k8s.io) {})",
            &CTRD_ID[..12]
        )
    );
}

#[test]
fn kubernetes_names_from_a_crun_bundle() {
    let host = FakeHost::new();
    let bundle = host.dir.path().join("bundle");
    host.write(
        "bundle/config.json",
        r#"{"ociVersion":"1.0.2","annotations":{
             "io.kubernetes.cri-o.ContainerType":"container",
             "io.kubernetes.container.name":"api",
             "io.kubernetes.pod.name":"shop-0",
             "io.kubernetes.pod.namespace":"prod"}}"#,
    );
    host.write(
        &format!("run/crun/{CRIO_ID}/status"),
        &format!(
            r#"{{"pid":500,"process-start-time":11,"cgroup-path":"/crio-{CRIO_ID}.scope","bundle":"{}"}}"#,
            bundle.display()
        ),
    );
    host.process(500, 11, &format!("/crio-{CRIO_ID}.scope"));
    let all = list(&host.layout());
    let c = find(&all, "prod/shop-0/api").unwrap();
    assert_eq!(c.id, CRIO_ID);
    assert_eq!(c.names, ["prod/shop-0/api", "shop-0/api", "api"]);
}

#[test]
fn nerdctl_names() {
    let host = FakeHost::new();
    let cgroup = format!("/default/{CTRD_ID}");
    host.runc_state("run/containerd/runc/default", CTRD_ID, 600, 12, &cgroup);
    host.process(600, 12, &cgroup);
    host.write("var/lib/nerdctl/1935db59/names/default/web", CTRD_ID);
    // Created with `nerdctl create`, never started: no runtime state.
    host.write("var/lib/nerdctl/1935db59/names/default/later", KUBE_ID);
    let all = list(&host.layout());
    let web = find(&all, "web").unwrap();
    assert_eq!((web.id.as_str(), web.status), (CTRD_ID, Status::Running));
    assert_eq!(
        web.describe(),
        format!("web (containerd (namespace default) {})", &CTRD_ID[..12])
    );
    let later = find(&all, "later").unwrap();
    assert_eq!(
        (later.id.as_str(), later.status),
        (KUBE_ID, Status::NotRunning)
    );
}

#[test]
fn containerd_namespaces() {
    let host = FakeHost::new();
    let cgroup = format!("/k8s.io/{CTRD_ID}");
    host.runc_state("run/containerd/runc/k8s.io", CTRD_ID, 600, 12, &cgroup);
    host.process(600, 12, &cgroup);
    host.runc_state(
        "run/containerd/runc/default",
        "job1",
        601,
        13,
        "/default/job1",
    );
    host.process(601, 13, "/default/job1");
    let all = list(&host.layout());
    let engines: Vec<(&str, String)> = all
        .iter()
        .map(|c| (c.id.as_str(), c.engine.to_string()))
        .collect();
    assert_eq!(
        engines,
        [
            (CTRD_ID, "containerd (namespace k8s.io)".to_string()),
            ("job1", "containerd (namespace default)".to_string())
        ]
    );
}

#[test]
fn containers_known_only_by_their_cgroup() {
    let host = FakeHost::new();
    let running = format!("/kubepods/burstable/pod0f5b8c2e-1d7a-4c55-9a3e-2b1f6f0e9d11/{KUBE_ID}");
    let gone = format!("/system.slice/docker-{DOCKER_ID}.scope");
    host.cgroup(&running, true);
    host.cgroup(&gone, false);
    let all = list(&host.layout());
    let summary: Vec<(&str, Engine, Status, PathBuf)> = all
        .iter()
        .map(|c| {
            (
                c.id.as_str(),
                c.engine.clone(),
                c.status,
                c.cgroup.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                DOCKER_ID,
                Engine::Docker,
                Status::Exited,
                PathBuf::from(&gone)
            ),
            (
                KUBE_ID,
                Engine::Unknown,
                Status::Running,
                PathBuf::from(&running)
            ),
        ]
    );
}

#[test]
fn same_name_in_two_engines_is_ambiguous() {
    let host = FakeHost::new();
    host.docker(DOCKER_ID, "web", true);
    host.write(
        "var/lib/containers/storage/overlay-containers/containers.json",
        &format!(r#"[{{"id":"{PODMAN_ID}","names":["web"],"metadata":"{{}}"}}]"#),
    );
    let all = list(&host.layout());
    assert_eq!(
        find(&all, "web").unwrap_err().to_string(),
        "web is ambiguous: it matches 8dbd5bd7637f… (docker), a30988644c5f… (podman) (give an id prefix or a fuller name)"
    );
}

#[test]
fn describe_names_engine_and_short_id() {
    let mut c = Container::new(DOCKER_ID.into(), Engine::Docker);
    assert_eq!(c.describe(), "8dbd5bd7637f (docker)");
    c.names.push("web".into());
    assert_eq!(c.describe(), "web (docker 8dbd5bd7637f)");
}

/// A process's parent comes from its stat line, whose command name may
/// hold spaces and parentheses; its mount namespace is the inode its
/// ns/mnt link leads to.
#[test]
fn parents_and_mount_namespaces_of_processes() {
    let host = FakeHost::new();
    host.write(
        "proc/42/stat",
        "42 (sh (busy) x) S 17 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 600 0 0",
    );
    let proc = host.dir.path().join("proc");
    assert_eq!(parent_of(&proc, 42), Some(17));
    assert_eq!(parent_of(&proc, 43), None);
    host.write("ns-a", "");
    fs::create_dir_all(proc.join("42/ns")).unwrap();
    std::os::unix::fs::symlink(host.dir.path().join("ns-a"), proc.join("42/ns/mnt")).unwrap();
    let inode =
        std::os::unix::fs::MetadataExt::ino(&fs::metadata(host.dir.path().join("ns-a")).unwrap());
    assert_eq!(mount_ns_of(&proc, 42), Some(inode));
    assert_eq!(mount_ns_of(&proc, 43), None);
}
