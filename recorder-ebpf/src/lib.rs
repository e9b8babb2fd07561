//! Host-compilable stub: the program itself is the `recorder` binary target,
//! built for `bpfel-unknown-none` by `recorder/build.rs`. This library target
//! exists so that `recorder` can list this crate as a build dependency and be
//! rebuilt whenever the kernel-side code changes.
#![no_std]
