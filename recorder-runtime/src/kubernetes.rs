//! Kubernetes names of containers, from the annotations the CRI runtimes
//! write into each container's OCI spec, which the OCI runtime keeps in its
//! state (runc: `config.labels` of state.json; crun: the bundle's
//! config.json). This is how a container started by the kubelet through
//! containerd or CRI-O is found by the names `kubectl` shows, without the
//! engine's database.
//!
//! - containerd's CRI plugin: `io.kubernetes.cri.container-name`,
//!   `io.kubernetes.cri.sandbox-name` (the pod), `...sandbox-namespace`, and
//!   `io.kubernetes.cri.container-type` (`container` or `sandbox`).
//! - CRI-O: `io.kubernetes.container.name`, `io.kubernetes.pod.name`,
//!   `io.kubernetes.pod.namespace`, and `io.kubernetes.cri-o.ContainerType`.
//!
//! A pod's sandbox (pause) container gets no name: the user means one of
//! the pod's containers.

/// One engine's annotation keys.
struct Keys {
    container: &'static str,
    pod: &'static str,
    namespace: &'static str,
    kind: &'static str,
}

const CONTAINERD: Keys = Keys {
    container: "io.kubernetes.cri.container-name",
    pod: "io.kubernetes.cri.sandbox-name",
    namespace: "io.kubernetes.cri.sandbox-namespace",
    kind: "io.kubernetes.cri.container-type",
};

const CRI_O: Keys = Keys {
    container: "io.kubernetes.container.name",
    pod: "io.kubernetes.pod.name",
    namespace: "io.kubernetes.pod.namespace",
    kind: "io.kubernetes.cri-o.ContainerType",
};

/// CRI-O's name for a pod's infrastructure container.
const CRI_O_INFRA_NAME: &str = "POD";

/// A container the kubelet started, by the names `kubectl` shows.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubernetesName {
    /// Empty when the annotations do not name it.
    pub namespace: String,
    pub pod: String,
    pub container: String,
}

impl KubernetesName {
    /// `NAMESPACE/POD/CONTAINER`, `POD/CONTAINER`, `CONTAINER`: the names
    /// it is found by, most specific first.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if !self.pod.is_empty() {
            if !self.namespace.is_empty() {
                names.push(format!(
                    "{}/{}/{}",
                    self.namespace, self.pod, self.container
                ));
            }
            names.push(format!("{}/{}", self.pod, self.container));
        }
        names.push(self.container.clone());
        names
    }
}

/// What a container's annotations say of it in Kubernetes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubernetesRole {
    /// Not started by the kubelet (no CRI annotations).
    None,
    /// A pod's sandbox (pause, infra) container: no workload of its own.
    Sandbox,
    /// One of a pod's containers.
    Container(KubernetesName),
}

/// Reads the CRI annotations of containerd or CRI-O.
pub fn role<'a>(annotation: impl Fn(&str) -> Option<&'a str>) -> KubernetesRole {
    for keys in [CONTAINERD, CRI_O] {
        let Some(container) = annotation(keys.container).filter(|n| !n.is_empty()) else {
            if annotation(keys.kind) == Some("sandbox") {
                return KubernetesRole::Sandbox;
            }
            continue;
        };
        if annotation(keys.kind) == Some("sandbox") || container == CRI_O_INFRA_NAME {
            return KubernetesRole::Sandbox;
        }
        let text = |key| annotation(key).unwrap_or_default().to_string();
        let name = KubernetesName {
            namespace: text(keys.namespace),
            pod: text(keys.pod),
            container: container.to_string(),
        };
        // Annotations anyone can write (a plain `runc run` with a crafted
        // spec): a name Kubernetes would refuse ('/', "..", control
        // characters, thousands of characters) names nothing, so that it
        // can break no line and no path.
        let valid = |n: &str| n.is_empty() || is_kubernetes_name(n);
        if !(is_kubernetes_name(&name.container) && valid(&name.pod) && valid(&name.namespace)) {
            log::debug!(
                "CRI annotations with names Kubernetes would refuse: not a Kubernetes name"
            );
            return KubernetesRole::None;
        }
        return KubernetesRole::Container(name);
    }
    KubernetesRole::None
}

/// A name Kubernetes accepts for a namespace, pod or container (a DNS-1123
/// subdomain: lower-case letters, digits, '-' and '.', starting and ending
/// with a letter or digit, at most 253 characters).
fn is_kubernetes_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 253
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes.iter().all(|b| alnum(b) || *b == b'-' || *b == b'.')
}

/// The names a container is known by in Kubernetes, most specific first:
/// `NAMESPACE/POD/CONTAINER`, `POD/CONTAINER`, `CONTAINER`. Empty when the
/// annotations are not a CRI runtime's or name a sandbox.
pub fn names<'a>(annotation: impl Fn(&str) -> Option<&'a str>) -> Vec<String> {
    match role(annotation) {
        KubernetesRole::Container(name) => name.names(),
        _ => Vec::new(),
    }
}

/// An annotation from runc's labels: the spec's annotations as
/// `KEY=VALUE`.
fn label<'a>(labels: &'a [String], key: &str) -> Option<&'a str> {
    labels.iter().find_map(|label| {
        label
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

/// [`role`] from runc's labels.
pub fn role_from_labels(labels: &[String]) -> KubernetesRole {
    role(|key| label(labels, key))
}

/// [`names`] from runc's labels.
pub fn names_from_labels(labels: &[String]) -> Vec<String> {
    names(|key| label(labels, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn names_kubernetes_would_refuse_name_nothing() {
        let long = "a".repeat(300);
        for bad in [
            "../x",
            "a/b",
            "web\nINFO forged",
            "nul\0x",
            "..",
            "Web",
            long.as_str(),
        ] {
            for key in [
                "io.kubernetes.cri.container-name",
                "io.kubernetes.cri.sandbox-name",
                "io.kubernetes.cri.sandbox-namespace",
            ] {
                let mut pairs = vec![
                    ("io.kubernetes.cri.container-name", "app"),
                    ("io.kubernetes.cri.sandbox-name", "web-5d8f7c9b4-x7k2p"),
                    ("io.kubernetes.cri.sandbox-namespace", "default"),
                ];
                for pair in &mut pairs {
                    if pair.0 == key {
                        pair.1 = bad;
                    }
                }
                assert_eq!(names_of(&pairs), Vec::<String>::new(), "{key}={bad:?}");
            }
        }
        assert!(is_kubernetes_name("web-5d8f7c9b4-x7k2p"));
        assert!(is_kubernetes_name("kube-system"));
    }

    fn names_of(pairs: &[(&str, &str)]) -> Vec<String> {
        let map: BTreeMap<&str, &str> = pairs.iter().copied().collect();
        names(|key| map.get(key).copied())
    }

    #[test]
    fn containerd_cri_container() {
        assert_eq!(
            names_of(&[
                ("io.kubernetes.cri.container-type", "container"),
                ("io.kubernetes.cri.container-name", "nginx"),
                ("io.kubernetes.cri.sandbox-name", "web-7d9"),
                ("io.kubernetes.cri.sandbox-namespace", "default"),
                ("io.kubernetes.cri.sandbox-id", "5e1a"),
            ]),
            ["default/web-7d9/nginx", "web-7d9/nginx", "nginx"]
        );
    }

    #[test]
    fn crio_container() {
        assert_eq!(
            names_of(&[
                ("io.kubernetes.cri-o.ContainerType", "container"),
                ("io.kubernetes.container.name", "web"),
                ("io.kubernetes.pod.name", "web-7d9"),
                ("io.kubernetes.pod.namespace", "shop"),
            ]),
            ["shop/web-7d9/web", "web-7d9/web", "web"]
        );
    }

    #[test]
    fn sandboxes_and_other_containers_have_no_kubernetes_name() {
        assert!(
            names_of(&[
                ("io.kubernetes.cri.container-type", "sandbox"),
                ("io.kubernetes.cri.container-name", "pause"),
                ("io.kubernetes.cri.sandbox-name", "web-7d9"),
            ])
            .is_empty()
        );
        assert!(
            names_of(&[
                ("io.kubernetes.container.name", "POD"),
                ("io.kubernetes.pod.name", "web-7d9"),
            ])
            .is_empty()
        );
        assert!(names_of(&[("org.opencontainers.image.title", "x")]).is_empty());
    }

    #[test]
    fn runc_labels_hold_the_annotations() {
        let labels: Vec<String> = [
            "bundle=/run/containerd/io.containerd.runtime.v2.task/k8s.io/3f2a",
            "io.kubernetes.cri.container-name-extra=not-this",
            "io.kubernetes.cri.container-name=app",
            "io.kubernetes.cri.sandbox-name=web-5d8f7c9b4-x7k2p",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            names_from_labels(&labels),
            ["web-5d8f7c9b4-x7k2p/app", "app"]
        );
    }
}
