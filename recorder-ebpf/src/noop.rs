//! The floor of what any recorder on `sys_enter` can cost: a program that
//! does nothing. Never attached by the recorder; `cargo xtask bench` loads it
//! to compare against the real program's per-syscall run time.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::generated::bpf_get_current_task_btf,
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

/// The floor of any program that must know whose syscall it sees: nothing
/// but the one helper call that gives the current task (the recorder's
/// warm path makes exactly this call). On CPUs whose mitigations make
/// calls and returns dear, the gap between this and [`sys_enter_noop`] is
/// what knowing the task costs.
#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter_noop_task(_ctx: BtfTracePointContext) -> i32 {
    // SAFETY: a helper without arguments.
    let task = unsafe { bpf_get_current_task_btf() };
    // SAFETY: a volatile read of a local keeps the call and its result.
    let _ = unsafe { core::ptr::read_volatile(&task) };
    0
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
