//! `cargo xtask dist`: the release artefacts, in `target/dist/`.
//!
//! - `recorder-<version>-<arch>-linux`: one static executable (glibc with
//!   `+crt-static`, libseccomp's static archive), the eBPF object inside;
//! - `recorder_<version>_<debian arch>.deb`: that binary, man pages and
//!   completions generated from the clap definitions, the shipped profiles
//!   and a copyright file naming everything linked in;
//! - `recorder-<version>-image.tar`: a `FROM scratch` image that `docker
//!   load` (20.10) and `podman load` (4.3) both take: an OCI image layout
//!   that also carries Docker's `manifest.json`, whose `RepoTags` Docker
//!   20.10 needs (it rejects a bare OCI archive);
//! - `SHA256SUMS`, with names relative to `target/dist/`.
//!
//! The build has a target directory of its own, so it never waits on the
//! lock of a test build running beside it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::setup::Purpose;
use crate::util::{capture, cargo, exec, workspace_root};

/// What `dist` made, for the checks that follow it.
pub struct Artefacts {
    pub dir: PathBuf,
    pub binary: PathBuf,
    pub deb: PathBuf,
    pub image: PathBuf,
}

/// The image's name as `docker load` and `podman load` tag it.
fn image_name(version: &str) -> String {
    format!("localhost/recorder:{version}")
}

pub fn run() -> anyhow::Result<()> {
    crate::setup::run_for(&[Purpose::Dist])?;
    let made = build()?;
    eprintln!("dist: made in {}:", made.dir.display());
    for path in [&made.binary, &made.deb, &made.image] {
        eprintln!("  {}", file_name(path));
    }
    eprintln!("  SHA256SUMS");
    Ok(())
}

/// Builds every artefact into `target/dist` (emptied first).
pub fn build() -> anyhow::Result<Artefacts> {
    let root = workspace_root();
    let host = Host::detect()?;
    let version = workspace_version()?;
    let build_dir = root.join("target/dist-build");
    let built = build_static_binary(&host, &build_dir)?;
    check_static(&built)?;

    let dir = root.join("target/dist");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let binary = dir.join(format!("recorder-{version}-{}-linux", host.arch));
    fs::copy(&built, &binary).with_context(|| format!("copying {}", built.display()))?;
    check_version(&binary, &version)?;

    let staging = build_dir.join("staging");
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    let tree = lay_out_tree(&binary, &staging.join("tree"), &host)?;
    let deb = dir.join(format!("recorder_{version}_{}.deb", host.debian_arch));
    build_deb(&tree, &staging.join("deb"), &deb, &version, &host)?;
    let image = dir.join(format!("recorder-{version}-image.tar"));
    build_image(&tree, &image, &version, &host)?;
    write_checksums(&dir, &[&binary, &deb, &image])?;
    Ok(Artefacts {
        dir,
        binary,
        deb,
        image,
    })
}

/// The build machine: the artefacts are for its architecture.
struct Host {
    /// `x86_64-unknown-linux-gnu`.
    triple: String,
    /// `x86_64`.
    arch: String,
    /// `amd64`.
    debian_arch: &'static str,
    /// `/usr/lib/x86_64-linux-gnu`: where Debian's libseccomp.a is.
    multiarch_lib: PathBuf,
}

impl Host {
    fn detect() -> anyhow::Result<Host> {
        let rustc = capture(
            Command::new("rustc")
                .arg("-vV")
                .current_dir(workspace_root()),
        )?;
        let triple = rustc
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .ok_or_else(|| anyhow!("`rustc -vV` names no host"))?
            .trim()
            .to_string();
        let arch = triple.split('-').next().unwrap_or_default().to_string();
        let debian_arch = debian_arch(&arch)
            .ok_or_else(|| anyhow!("no Debian architecture is known for {arch}"))?;
        if !triple.ends_with("-linux-gnu") {
            bail!("the static build links glibc: build on a *-linux-gnu host, not {triple}");
        }
        let multiarch_lib = PathBuf::from(format!("/usr/lib/{arch}-linux-gnu"));
        Ok(Host {
            triple,
            arch,
            debian_arch,
            multiarch_lib,
        })
    }
}

/// Debian's name for a Rust architecture.
fn debian_arch(rust_arch: &str) -> Option<&'static str> {
    Some(match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i686" | "i586" => "i386",
        "armv7" => "armhf",
        "riscv64gc" | "riscv64" => "riscv64",
        "powerpc64le" => "ppc64el",
        "s390x" => "s390x",
        "loongarch64" => "loong64",
        "mips64el" => "mips64el",
        _ => return None,
    })
}

/// The workspace's version (the recorder's).
fn workspace_version() -> anyhow::Result<String> {
    let metadata = capture(cargo().args(["metadata", "--format-version", "1", "--no-deps"]))?;
    let metadata: Value = serde_json::from_str(&metadata).context("reading cargo metadata")?;
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "recorder")
        .and_then(|p| p["version"].as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("cargo metadata names no recorder package"))
}

/// `cargo build --release` for the host's triple with glibc and libseccomp
/// linked in statically. Naming the target keeps `+crt-static` off the
/// build scripts and proc macros, which must stay dynamic.
fn build_static_binary(host: &Host, build_dir: &Path) -> anyhow::Result<PathBuf> {
    let archive = host.multiarch_lib.join("libseccomp.a");
    if !archive.exists() {
        bail!(
            "{} is missing: install libseccomp-dev (`cargo xtask setup`)",
            archive.display()
        );
    }
    let rustflags_var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        host.triple.to_uppercase().replace('-', "_")
    );
    exec(
        cargo()
            .args(["build", "--release", "--locked", "--package", "recorder"])
            .args(["--bin", "recorder", "--target", &host.triple])
            .env("CARGO_TARGET_DIR", build_dir)
            .env(rustflags_var, "-C target-feature=+crt-static")
            .env("LIBSECCOMP_LINK_TYPE", "static")
            .env("LIBSECCOMP_LIB_PATH", &host.multiarch_lib),
    )?;
    Ok(build_dir.join(&host.triple).join("release/recorder"))
}

/// The binary has no program interpreter and needs no shared library: it
/// runs on any Linux of its architecture, in a `FROM scratch` image too.
fn check_static(binary: &Path) -> anyhow::Result<()> {
    let headers = capture(Command::new("readelf").arg("-lW").arg(binary))?;
    if headers.contains("INTERP") {
        bail!(
            "{} has a program interpreter: it is not static",
            binary.display()
        );
    }
    let dynamic = capture(Command::new("readelf").arg("-dW").arg(binary))?;
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    if !needed.is_empty() {
        bail!(
            "{} needs shared libraries: {}",
            binary.display(),
            needed.join("; ")
        );
    }
    Ok(())
}

fn check_version(binary: &Path, version: &str) -> anyhow::Result<()> {
    let printed = capture(Command::new(binary).arg("--version"))?;
    let expected = format!("recorder {version} (");
    if !printed.starts_with(&expected) {
        bail!("{} --version printed {printed:?}", binary.display());
    }
    Ok(())
}

/// The installed tree both packages are made of: `usr/bin/recorder`, man
/// pages, completions, the shipped profiles, the copyright file.
fn lay_out_tree(binary: &Path, tree: &Path, host: &Host) -> anyhow::Result<PathBuf> {
    let bin = tree.join("usr/bin/recorder");
    create_parent(&bin)?;
    fs::copy(binary, &bin)?;
    set_mode(&bin, 0o755)?;

    let man = tree.join("usr/share/man/man1");
    exec(Command::new(&bin).arg("manpages").arg(&man))?;
    for page in fs::read_dir(&man)? {
        let page = page?.path();
        set_mode(&page, 0o644)?;
        // -n: no name or time stamp inside, so the package is reproducible.
        exec(Command::new("gzip").args(["-9", "-n", "-f"]).arg(&page))?;
    }

    for (shell, path) in [
        ("bash", "usr/share/bash-completion/completions/recorder"),
        ("zsh", "usr/share/zsh/vendor-completions/_recorder"),
        ("fish", "usr/share/fish/vendor_completions.d/recorder.fish"),
    ] {
        let script = capture(Command::new(&bin).args(["completions", shell]))?;
        write_file(&tree.join(path), script.as_bytes(), 0o644)?;
    }

    let profiles = workspace_root().join("profiles");
    copy_tree(&profiles, &tree.join("usr/share/recorder"))?;
    // Installed, not enabled: `systemctl enable --now recorder`.
    let unit = workspace_root().join("deploy/systemd/recorder.service");
    let installed_unit = tree.join("usr/lib/systemd/system/recorder.service");
    create_parent(&installed_unit)?;
    fs::copy(&unit, &installed_unit).with_context(|| format!("copying {}", unit.display()))?;
    set_mode(&installed_unit, 0o644)?;

    let copyright = copyright(host)?;
    write_file(
        &tree.join("usr/share/doc/recorder/copyright"),
        copyright.as_bytes(),
        0o644,
    )?;
    Ok(tree.to_path_buf())
}

fn build_deb(
    tree: &Path,
    staging: &Path,
    deb: &Path,
    version: &str,
    host: &Host,
) -> anyhow::Result<()> {
    copy_tree(tree, staging)?;
    let installed_kib = tree_size(tree)?.div_ceil(1024);
    let control = format!(
        "Package: recorder\n\
         Version: {version}\n\
         Architecture: {}\n\
         Maintainer: recorder developers <recorder-dev@invalid>\n\
         Installed-Size: {installed_kib}\n\
         Section: admin\n\
         Priority: optional\n\
         Description: minimal seccomp profiles from what programs and containers do\n \
         recorder watches a command, a container or every container of a node\n \
         (an eBPF program on sys_enter, one bitmap per cgroup in the kernel) and\n \
         writes the seccomp profile that allows exactly the syscalls it made, as\n \
         OCI/Docker JSON, a Kubernetes SeccompProfile or systemd lines. It also\n \
         turns SCMP_ACT_LOG audit records into profiles, and merges, diffs,\n \
         explains and enforces profiles. One static binary: no dependencies.\n",
        host.debian_arch
    );
    write_file(&staging.join("DEBIAN/control"), control.as_bytes(), 0o644)?;
    exec(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(staging)
            .arg(deb),
    )
}

/// Everything below `dir`, in bytes.
fn tree_size(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            tree_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// `/usr/share/doc/recorder/copyright` (Debian's machine-readable format):
/// the recorder's licence, and every piece linked into the static binary.
fn copyright(host: &Host) -> anyhow::Result<String> {
    let glibc = dpkg_version("libc6-dev")?;
    let libseccomp = dpkg_version("libseccomp-dev")?;
    let crates = linked_crates(host)?;
    let zstd = crates
        .iter()
        .find(|c| c.name == "zstd-sys")
        .map(|c| c.version.clone())
        .unwrap_or_else(|| "unknown".into());
    let mut text = format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Upstream-Name: recorder\n\
Comment: recorder is one static executable. Besides its own code it contains,\n \
 linked in statically, the GNU C Library and libseccomp (both LGPL-2.1), the\n \
 zstd library (BSD-3-Clause), and the Rust crates listed below. The eBPF\n \
 program inside it is built from recorder-ebpf and aya-ebpf.\n \
 .\n \
 The LGPL lets you replace glibc or libseccomp with a version of your own and\n \
 relink. recorder's complete source is published with it (Apache-2.0). To\n \
 relink: get the library's source (on Debian: `apt-get source glibc` or\n \
 `apt-get source libseccomp`, or from https://sourceware.org/glibc/ and\n \
 https://github.com/seccomp/libseccomp), build and install your version\n \
 (its libc.a or libseccomp.a), then build recorder from its source with\n \
 `cargo xtask dist`, which links the installed static libraries\n \
 (LIBSECCOMP_LIB_PATH names libseccomp.a's directory).\n\
\n\
Files: *\n\
Copyright: the recorder authors\n\
License: Apache-2.0\n\
\n\
Files: usr/bin/recorder\n\
Copyright: the recorder authors, and the authors of what is listed below\n\
License: Apache-2.0 and LGPL-2.1+ and BSD-3-Clause and MIT and others (below)\n\
Comment: statically linked in: GNU C Library {glibc} (Debian's libc6-dev),\n \
 LGPL-2.1+; libseccomp {libseccomp} (Debian's libseccomp-dev), LGPL-2.1;\n \
 zstd, through the zstd-sys crate {zstd}, BSD-3-Clause (or GPL-2.0).\n\
\n\
Files: usr/share/recorder/*\n\
Copyright: the recorder authors\n\
License: Apache-2.0\n\
Comment: runtime base profiles derived by `recorder derive-base` from runs of\n \
 runc and crun; see usr/share/recorder/base/README.md.\n\
\n"
    );
    text.push_str("Comment: Rust crates linked into usr/bin/recorder (name, version, licence):\n");
    for c in &crates {
        let _ = writeln!(text, " {} {}: {}", c.name, c.version, c.license);
    }
    text.push_str(
        "\nLicense: Apache-2.0\n \
On Debian systems, the full text of the Apache License 2.0 is in\n \
/usr/share/common-licenses/Apache-2.0.\n\
\n\
License: LGPL-2.1+\n \
On Debian systems, the full text of the GNU Lesser General Public License\n \
version 2.1 is in /usr/share/common-licenses/LGPL-2.1.\n\
\n\
License: MIT\n \
Permission is hereby granted, free of charge, to any person obtaining a copy\n \
of this software and associated documentation files (the \"Software\"), to deal\n \
in the Software without restriction, including without limitation the rights\n \
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell\n \
copies of the Software, and to permit persons to whom the Software is\n \
furnished to do so, subject to the following conditions:\n \
.\n \
The above copyright notice and this permission notice shall be included in\n \
all copies or substantial portions of the Software.\n \
.\n \
THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR\n \
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,\n \
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE\n \
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER\n \
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,\n \
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE\n \
SOFTWARE.\n\
\n\
License: BSD-3-Clause\n \
On Debian systems, the full text of the BSD 3-clause licence is in\n \
/usr/share/common-licenses/BSD.\n",
    );
    Ok(text)
}

fn dpkg_version(package: &str) -> anyhow::Result<String> {
    let version = capture(Command::new("dpkg-query").args(["-W", "-f=${Version}", package]))?;
    Ok(version.trim().to_string())
}

/// A crate linked into the binary.
struct LinkedCrate {
    name: String,
    version: String,
    license: String,
}

/// Every crate the binary links: the recorder's normal dependencies on this
/// target, and the eBPF program's (compiled into the object it embeds).
fn linked_crates(host: &Host) -> anyhow::Result<Vec<LinkedCrate>> {
    let metadata = capture(cargo().args([
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--filter-platform",
        &host.triple,
    ]))?;
    let metadata: Value = serde_json::from_str(&metadata).context("reading cargo metadata")?;
    let packages: BTreeMap<&str, &Value> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let roots: Vec<&str> = packages
        .iter()
        .filter(|(_, p)| matches!(p["name"].as_str(), Some("recorder" | "recorder-ebpf")))
        .map(|(id, _)| *id)
        .collect();
    let mut linked = BTreeSet::new();
    let mut queue = roots.clone();
    while let Some(id) = queue.pop() {
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            if let Some(dep_id) = dep["pkg"].as_str()
                && normal
                && linked.insert(dep_id)
            {
                queue.push(dep_id);
            }
        }
    }
    let mut crates: Vec<LinkedCrate> = linked
        .into_iter()
        .filter_map(|id| packages.get(id))
        .filter(|p| p["source"].is_string())
        .map(|p| LinkedCrate {
            name: p["name"].as_str().unwrap_or_default().to_string(),
            version: p["version"].as_str().unwrap_or_default().to_string(),
            license: p["license"]
                .as_str()
                .unwrap_or("see its source")
                .to_string(),
        })
        .collect();
    crates.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(crates)
}

/// The image archive: one layer holding the binary, the shipped profiles
/// and the copyright file (a scratch image has no man), in an OCI image
/// layout with Docker's `manifest.json` beside it.
fn build_image(tree: &Path, image: &Path, version: &str, host: &Host) -> anyhow::Result<()> {
    let mtime = source_date()?;
    let mut layer = Archive::new(mtime);
    layer.dir("tmp", 0o1777)?;
    layer.file(tree, Path::new("usr/bin/recorder"))?;
    layer.tree(tree, Path::new("usr/share/recorder"))?;
    layer.tree(tree, Path::new("usr/share/doc/recorder"))?;
    let layer = layer.finish()?;
    let layer_digest = sha256_hex(&layer);
    let created = rfc3339(mtime);
    let name = image_name(version);
    let config = serde_json::to_vec(&json!({
        "architecture": host.debian_arch,
        "os": "linux",
        "created": created,
        "config": {
            "Entrypoint": ["/usr/bin/recorder"],
            "Env": ["PATH=/usr/bin"],
            "Labels": {
                "org.opencontainers.image.title": "recorder",
                "org.opencontainers.image.version": version,
                "org.opencontainers.image.licenses": "Apache-2.0 AND LGPL-2.1-or-later AND BSD-3-Clause AND MIT",
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]},
        "history": [{"created": created, "created_by": "cargo xtask dist"}],
    }))?;
    let config_digest = sha256_hex(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{config_digest}"),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": format!("sha256:{layer_digest}"),
            "size": layer.len(),
        }],
    }))?;
    let manifest_digest = sha256_hex(&manifest);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
            "annotations": {
                "io.containerd.image.name": name,
                "org.opencontainers.image.ref.name": version,
            },
        }],
    }))?;
    let docker_manifest = serde_json::to_vec(&json!([{
        "Config": format!("blobs/sha256/{config_digest}"),
        "RepoTags": [name],
        "Layers": [format!("blobs/sha256/{layer_digest}")],
    }]))?;

    let mut archive = Archive::new(mtime);
    archive.bytes("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    archive.bytes("index.json", &index)?;
    archive.bytes("manifest.json", &docker_manifest)?;
    for (digest, blob) in [
        (&layer_digest, &layer),
        (&config_digest, &config),
        (&manifest_digest, &manifest),
    ] {
        archive.bytes(&format!("blobs/sha256/{digest}"), blob)?;
    }
    let archive = archive.finish()?;
    fs::write(image, archive).with_context(|| format!("writing {}", image.display()))
}

/// The time stamp of every file in the image: `SOURCE_DATE_EPOCH`, else the
/// commit's time, else 0; the same input gives the same image.
fn source_date() -> anyhow::Result<u64> {
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        return epoch
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={epoch} is not a number"));
    }
    let committed = capture(
        Command::new("git")
            .args(["log", "-1", "--format=%ct"])
            .current_dir(workspace_root()),
    );
    Ok(committed
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0))
}

/// Seconds since the epoch as RFC 3339 (UTC).
fn rfc3339(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) of the proleptic
/// Gregorian calendar (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A tar archive in memory with reproducible entries (root-owned, one time
/// stamp), each file's parent directories written once before it.
struct Archive {
    builder: tar::Builder<Vec<u8>>,
    dirs: BTreeSet<PathBuf>,
    mtime: u64,
}

impl Archive {
    fn new(mtime: u64) -> Archive {
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        Archive {
            builder,
            dirs: BTreeSet::new(),
            mtime,
        }
    }

    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        header
    }

    fn dir(&mut self, path: &str, mode: u32) -> anyhow::Result<()> {
        if !self.dirs.insert(PathBuf::from(path)) {
            return Ok(());
        }
        let mut h = self.header(tar::EntryType::Directory, mode, 0);
        self.builder
            .append_data(&mut h, format!("{path}/"), std::io::empty())
            .with_context(|| format!("adding {path}/ to an archive"))
    }

    fn parents(&mut self, path: &Path) -> anyhow::Result<()> {
        let mut parents: Vec<&Path> = path
            .ancestors()
            .skip(1)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        parents.reverse();
        for parent in parents {
            self.dir(&parent.to_string_lossy(), 0o755)?;
        }
        Ok(())
    }

    fn bytes(&mut self, path: &str, data: &[u8]) -> anyhow::Result<()> {
        self.entry(Path::new(path), data, 0o644)
    }

    fn entry(&mut self, path: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
        self.parents(path)?;
        let mut h = self.header(tar::EntryType::Regular, mode, data.len() as u64);
        self.builder
            .append_data(&mut h, path, data)
            .with_context(|| format!("adding {} to an archive", path.display()))
    }

    /// Adds `relative`, a file of `tree`, with its mode.
    fn file(&mut self, tree: &Path, relative: &Path) -> anyhow::Result<()> {
        let path = tree.join(relative);
        let data = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mode = fs::metadata(&path)?.permissions().mode() & 0o7777;
        self.entry(relative, &data, mode)
    }

    /// Adds every file below `relative`, a directory of `tree`, sorted.
    fn tree(&mut self, tree: &Path, relative: &Path) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = fs::read_dir(tree.join(relative))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for path in entries {
            let rel = path.strip_prefix(tree)?.to_path_buf();
            if path.is_dir() {
                self.tree(tree, &rel)?;
            } else {
                self.file(tree, &rel)?;
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<Vec<u8>> {
        self.builder.into_inner().context("finishing an archive")
    }
}

fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `SHA256SUMS` in `sha256sum`'s format, names relative to `dir`.
fn write_checksums(dir: &Path, files: &[&Path]) -> anyhow::Result<()> {
    let mut sums = String::new();
    for file in files {
        let data = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let _ = writeln!(sums, "{}  {}", sha256_hex(&data), file_name(file));
    }
    fs::write(dir.join("SHA256SUMS"), sums).context("writing SHA256SUMS")
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn create_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

fn write_file(path: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
    create_parent(path)?;
    let mut file =
        fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(data)
        .with_context(|| format!("writing {}", path.display()))?;
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

/// Copies a directory tree (files 0644, executables 0755, dirs 0755).
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    set_mode(to, 0o755)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
            let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
            set_mode(&target, if executable { 0o755 } else { 0o644 })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_436_327), "2026-11-23T12:18:47Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn debian_names_rust_architectures() {
        assert_eq!(debian_arch("x86_64"), Some("amd64"));
        assert_eq!(debian_arch("aarch64"), Some("arm64"));
        assert_eq!(debian_arch("sparc"), None);
    }
}
