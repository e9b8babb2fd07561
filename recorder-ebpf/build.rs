use which::which;

/// bpf-linker links the eBPF object; say so early with the fix instead of a
/// linker error deep inside the nested build.
fn main() {
    let linker = which("bpf-linker")
        .expect("bpf-linker not found on PATH: run `cargo xtask setup` (installs bpf-linker 0.13.0 for LLVM 22)");
    println!("cargo:rerun-if-changed={}", linker.display());
}
