//! The floor of what any recorder on `sys_enter` can cost: a program that
//! does nothing. Never attached by the recorder; `cargo xtask bench` loads it
//! to compare against the real program's per-syscall run time.
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{btf_tracepoint, raw_tracepoint, tracepoint},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};

#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter_noop(_ctx: BtfTracePointContext) -> i32 {
    0
}

/// The same on a raw tracepoint, for the `raw-tp` hook's floor.
#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter_noop_raw(_ctx: RawTracePointContext) -> i32 {
    0
}

/// The same on the classic tracepoint, for the `tracepoint` hook's floor.
#[tracepoint(category = "raw_syscalls", name = "sys_enter")]
pub fn sys_enter_noop_tp(_ctx: TracePointContext) -> i32 {
    0
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
