//! The repository is self-contained: nothing it holds reads a file beside
//! it. Our own machines keep reference data and notes in a `shared/`
//! folder next to the clone; a user's clone has none, so a build, test or
//! benchmark that reached for it would pass here and fail there.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// The workspace root (this file's crate is `recorder/`).
fn repository_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().expect("the workspace root exists")
}

/// The files of the checkout: git's list where this is a git clone, else
/// every file outside build output (a source tarball).
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output();
    match listed {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|&b| b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| root.join(String::from_utf8_lossy(name).as_ref()))
            .collect(),
        _ => {
            let mut files = Vec::new();
            walk(root, &mut files);
            files
        }
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if matches!(
            name.to_str(),
            Some("target" | ".git" | "corpus" | "artifacts")
        ) {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Lexically resolves `relative` against `dir`; `None` when it climbs
/// above the filesystem root.
fn resolve(dir: &Path, relative: &str) -> Option<PathBuf> {
    let mut resolved = dir.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::ParentDir if !resolved.pop() => return None,
            Component::ParentDir => {}
            Component::Normal(part) => resolved.push(part),
            _ => {}
        }
    }
    Some(resolved)
}

/// Every relative path in `text` that starts by climbing (`../`), up to the
/// first character no path of ours holds.
fn climbing_paths(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("../") {
        // Only where a path starts: `a/../b` is inside another path.
        let starts = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "./_-".contains(c)))
            .unwrap_or(tail.len());
        if starts && !rest[..at].ends_with('.') {
            found.push(&tail[..end]);
        }
        rest = &tail[end.max(3)..];
    }
    found
}

/// Where a file of the repository names a path outside it.
fn escapes(root: &Path, file: &Path, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    // Built from parts so that this file does not name it itself.
    let beside = ["..", "shared"].join("/");
    if text.contains(&beside) {
        problems.push(format!("names {beside}"));
    }
    let dir = file.parent().unwrap_or(root);
    for path in climbing_paths(text) {
        match resolve(dir, path) {
            Some(target) if target.starts_with(root) => {}
            _ => problems.push(format!("{path} resolves outside the repository")),
        }
    }
    problems
}

#[test]
fn no_file_reaches_outside_the_repository() {
    let root = repository_root();
    let mut problems = Vec::new();
    let files = tracked_files(&root);
    assert!(
        files.len() > 50,
        "found only {} files in {}",
        files.len(),
        root.display()
    );
    for file in files {
        if file.file_name().is_some_and(|n| n == "Cargo.lock") {
            continue;
        }
        // Binary files and files deleted in the work tree hold no paths.
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for problem in escapes(&root, &file, &text) {
            let shown = file.strip_prefix(&root).unwrap_or(&file);
            problems.push(format!("{}: {problem}", shown.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "files that reach outside the repository (copy what they need into it):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_finds_what_it_looks_for() {
    let root = Path::new("/clone");
    let file = Path::new("/clone/tests/t.rs");
    let beside = ["..", "shared"].join("/");
    assert!(!escapes(root, file, &format!("join(\"../{beside}/data\")")).is_empty());
    let two_up = ["..", "..", "elsewhere", "data"].join("/");
    assert!(!escapes(root, file, &format!("join(\"{two_up}\")")).is_empty());
    assert!(escapes(root, file, "join(\"../tests/data/logs\")").is_empty());
    assert!(escapes(root, file, "a/../b and 1...3").is_empty());
    assert_eq!(climbing_paths("x ../a/b, \"../c\""), vec!["../a/b", "../c"]);
}
