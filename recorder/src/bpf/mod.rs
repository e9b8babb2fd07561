//! Loads the kernel-side program and drives its maps.
//!
//! First stage of the flow: capture. [`SyscallRecorder::load`] loads the
//! embedded eBPF object, attaches it to `sys_enter` with the cheapest kind the
//! kernel supports ([`AttachKind`]), and then serves any number of recordings:
//! each is a root cgroup (plus everything created below it) with a slot of
//! per-ABI syscall bitmaps in the kernel. Reading a slot yields a [`Seen`].
//!
//! [`SyscallRecorder::record_new_cgroups`] lets the kernel side start
//! recordings by itself, one per cgroup created from then on, at the cgroup's
//! first syscall: the way to record a container whose cgroup does not exist
//! yet without racing its runtime. Each such start reaches userspace as one
//! [`NewCgroup`] ([`NewCgroups`], a ring buffer), while the cgroup's first
//! process still runs: the moment to tell what the cgroup is. A recording
//! that turns out not to matter is dropped ([`SyscallRecorder::drop_new`]),
//! and its cgroup marked so that it never takes a slot again.

pub mod args;
mod attach;
pub mod hot_path;
mod kfunc;
mod mount_ns;
mod new_cgroups;
mod privileges;

use std::collections::BTreeSet;

use std::os::unix::fs::MetadataExt;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use aya::maps::{Array, HashMap, MapData, MapError, Queue};
use aya::{Ebpf, EbpfLoader};
use recorder_common::{
    ArgSets, DEFAULT_SLOTS, ROOT_IGNORED, SLOT_ACTIVE, SLOT_ARM_ON_EXEC, SLOT_IN_CONTAINER, Slot,
    control, global, map,
};

pub use args::{ArgGlobals, ArgUse, ArgValues, ArgsError};
pub use recorder_profile::capture::seen::Seen;

pub use attach::{AttachError, AttachKind, HookFailure, HookFailures};
pub use kfunc::{KfuncError, TaskCast};
pub use mount_ns::{ArgsFields, HotPathFields, MountNsFields, own_pid_level};
pub use new_cgroups::{FirstTask, NewCgroup, NewCgroups};
pub use privileges::check_privileges;

use crate::arch::btf::{Btf, BtfError};
use crate::cgroup::CgroupId;

/// The eBPF object built by `build.rs` from `recorder-ebpf`.
static PROGRAM_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/recorder"));

/// Errors of loading the program and using its maps.
#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    #[error(
        "permission denied loading the eBPF program: run as root, or grant CAP_BPF and CAP_PERFMON (plus CAP_SYS_ADMIN on kernels before 5.8)"
    )]
    PermissionDenied,
    #[error("loading the eBPF program failed")]
    Load(#[source] Box<aya::EbpfError>),
    #[error("the eBPF object lacks {0} (rebuild recorder)")]
    Missing(&'static str),
    #[error("completing the eBPF object's kfunc call (rebuild recorder)")]
    Object(#[source] kfunc::KfuncError),
    #[error("eBPF map {name}")]
    Map {
        name: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error(
        "no usable sys_enter hook: {0}. Needs a kernel with BTF (/sys/kernel/btf/vmlinux) or raw tracepoints, or tracefs mounted at /sys/kernel/tracing (run `cargo xtask setup`)"
    )]
    NoHook(HookFailures),
    #[error("no usable sys_enter hook via {kind} (it needs {})", .kind.needs())]
    Hook {
        kind: AttachKind,
        #[source]
        source: AttachError,
    },
    #[error(
        "all {0} recording slots of this recorder are in use: record fewer cgroups or containers in one run"
    )]
    NoFreeSlot(u32),
    #[error("the cgroup with id {} is already being recorded in this run", .0.0)]
    AlreadyRecorded(CgroupId),
    #[error("reading the host's pid namespace (/proc/self/ns/pid)")]
    PidNamespace(#[source] std::io::Error),
    #[error(transparent)]
    Args(#[from] ArgsError),
}

/// Which recording a [`SyscallRecorder`] slot belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordingId {
    slot: u32,
    root: CgroupId,
}

/// When a recording starts marking syscalls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// From the next syscall on.
    Now,
    /// From the first `execve`/`execveat` of a process in the cgroup (that
    /// exec included): skips the recorder's own work in a child before exec.
    AtFirstExec,
}

/// Which tasks of a recorded cgroup count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every task.
    All,
    /// A container's tasks, not its runtime's before they enter it: tasks
    /// outside the host's pid namespace, or in a mount namespace other than
    /// `runtime_mount_ns` (the inode of the one the container's runtime
    /// works in), which covers containers in the host's pid namespace. With
    /// [`Start::AtFirstExec`] only an exec made by one starts the recording
    /// (see `SLOT_IN_CONTAINER`). For the recordings the kernel side starts
    /// itself ([`SyscallRecorder::record_new_cgroups`]) the runtime's mount
    /// namespace is that of the parent of the new cgroup's first task,
    /// whatever this says; `None` otherwise leaves the pid namespace alone
    /// to decide.
    Container { runtime_mount_ns: Option<u64> },
}

impl Scope {
    fn flags(self, start: Start) -> u64 {
        let start = match start {
            Start::Now => SLOT_ACTIVE,
            Start::AtFirstExec => SLOT_ARM_ON_EXEC,
        };
        match self {
            Scope::All => start,
            Scope::Container { .. } => start | SLOT_IN_CONTAINER,
        }
    }
}

/// The kernel's accounting of the attached program (kept only while
/// `kernel.bpf_stats_enabled` is 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramStats {
    pub run_time_ns: u64,
    pub run_count: u64,
}

/// How to load the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// The hook, or the best the kernel supports for `None`.
    pub attach: Option<AttachKind>,
    /// Recordings the program can hold at once (slots, each
    /// [`Slot`]-sized: about 3 KiB of kernel memory, plus an [`ArgSets`]
    /// of about 6.2 KiB with `args`).
    pub slots: u32,
    /// Capture the arguments of the syscalls [`args`] lists.
    pub args: bool,
    /// Read a remembered task through `bpf_rdonly_cast` where the kernel
    /// has it ([`TaskCast`]); `false` loads the program as on a kernel
    /// without it, which is how the tests check that path here.
    pub task_cast: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            attach: None,
            slots: DEFAULT_SLOTS,
            args: false,
            task_cast: true,
        }
    }
}

/// The loaded, attached program and the recordings it serves.
pub struct SyscallRecorder {
    // Keeps programs and links alive; dropping it detaches.
    ebpf: Ebpf,
    attach: AttachKind,
    roots: HashMap<MapData, u64, u32>,
    slots: Array<MapData, Slot>,
    control: Array<MapData, u64>,
    /// [`map::GENERATION`], written here; [`map::TASK_CHANGES`], read.
    generation_word: Array<MapData, u64>,
    task_changes: Array<MapData, u64>,
    /// One [`ArgSets`] per slot, with `--args`.
    arg_sets: Option<Array<MapData, ArgSets>>,
    free_slots: Queue<MapData, u32>,
    new_cgroups: Option<NewCgroups>,
    capacity: u32,
    /// Slots of userspace's recordings.
    in_use: BTreeSet<u32>,
    /// Slots lent to the kernel side for recordings of new cgroups: in
    /// `FREE_SLOTS`, or taken for a cgroup nobody kept or dropped yet.
    lent: BTreeSet<u32>,
    /// Slots of ended recordings, with when they ended: a CPU that looked
    /// the slot up just before may still mark a syscall in it, so it is
    /// cleared and used again only after [`SLOT_COOLING`].
    cooling: Vec<(u32, Instant)>,
    /// Whether the kernel side starts recordings of new cgroups now.
    lending: bool,
    /// Each slot's epoch as last written (see `Slot::epoch`).
    epochs: Vec<u64>,
    generation: u64,
    reads_mount_ns: bool,
}

/// How long an ended recording's slot rests before it is cleared and used
/// again. A program runs for well under a microsecond: this is ample.
pub const SLOT_COOLING: Duration = Duration::from_millis(20);

/// How the loader completes the program's kfunc call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KfuncFill {
    /// With the kfunc's id in the kernel's BTF.
    Kernel,
    /// With an id the verifier refuses (`task_struct`'s, not a function's),
    /// so that the tests can check what follows a refusal.
    Refused,
}

impl KfuncFill {
    fn apply(self, cast: TaskCast) -> TaskCast {
        match self {
            KfuncFill::Kernel => cast,
            KfuncFill::Refused => TaskCast {
                kfunc: cast.task_struct,
                ..cast
            },
        }
    }
}

/// What loading sets in the object: the values the kernel side reads from
/// its read-only globals, and the size of the slot maps.
struct LoadSettings {
    execve: u64,
    execveat: u64,
    x32_bit: u64,
    arm_private_base: u64,
    mips_bases: [u64; 3],
    compat_offset: u64,
    compat_mask: u64,
    pidns_dev: u64,
    pidns_ino: u64,
    mnt_ns_on: u64,
    mnt_ns: MountNsFields,
    cmdline_on: u64,
    args: ArgsFields,
    /// The hot path's loads through the task pointer (issue 14).
    cgroup_id_on: u64,
    cgroup_id: [u64; 4],
    pid_level_on: u64,
    pid_level: [u64; 2],
    native_entry_on: u64,
    native_entry: [u64; 6],
    /// What completes the program's `bpf_rdonly_cast` call, where the
    /// kernel has the kfunc.
    task_cast: Option<TaskCast>,
    task_cast_on: u64,
    task_struct_btf_id: u64,
    host_pid_level: u64,
    /// Argument capture's constants, with `--args`.
    arg_globals: Option<ArgGlobals>,
    args_on: u64,
    slots: u32,
}

impl LoadSettings {
    /// This machine's values; `kernel` is the kernel's BTF, for the offsets
    /// of the task fields the kernel side reads.
    fn of_host(
        kernel: Result<&Btf, &BtfError>,
        options: &LoadOptions,
        fill: KfuncFill,
    ) -> Result<LoadSettings, BpfError> {
        let (slots, capture_args) = (options.slots.max(1), options.args);
        let host = crate::arch::Arch::host();
        let table = host.table();
        let numbering = host.numbering();
        let compat = crate::arch::compat_field(kernel);
        let mount_ns = MountNsFields::of_kernel(kernel.ok());
        let args = ArgsFields::of_kernel(kernel.ok());
        let hot = HotPathFields::of_kernel(kernel.ok());
        let task_cast = TaskCast::of_kernel(kernel.ok())
            .filter(|_| options.task_cast)
            .map(|cast| fill.apply(cast));
        let arg_globals = if capture_args {
            Some(ArgGlobals::of_host(kernel.ok())?)
        } else {
            None
        };
        let pidns = std::fs::metadata("/proc/self/ns/pid").map_err(BpfError::PidNamespace)?;
        Ok(LoadSettings {
            execve: u64::from(table.number("execve").unwrap_or(u32::MAX)),
            execveat: u64::from(table.number("execveat").unwrap_or(u32::MAX)),
            x32_bit: numbering.x32_bit,
            arm_private_base: numbering.arm_private_base,
            mips_bases: numbering.mips_bases,
            compat_offset: compat.map_or(0, |c| c.offset),
            compat_mask: compat.map_or(0, |c| c.mask),
            pidns_dev: pidns.dev(),
            pidns_ino: pidns.ino(),
            mnt_ns_on: u64::from(mount_ns.is_some()),
            mnt_ns: mount_ns.unwrap_or_default(),
            cmdline_on: u64::from(args.is_some()),
            args: args.unwrap_or_default(),
            cgroup_id_on: u64::from(hot.cgroup_id.is_some()),
            cgroup_id: hot.cgroup_id.unwrap_or_default(),
            pid_level_on: u64::from(hot.pid_level.is_some()),
            pid_level: hot.pid_level.unwrap_or_default(),
            native_entry_on: u64::from(hot.native_entry.is_some()),
            native_entry: hot.native_entry.unwrap_or_default(),
            task_cast,
            task_cast_on: u64::from(task_cast.is_some()),
            task_struct_btf_id: task_cast.map_or(0, |c| u64::from(c.task_struct)),
            host_pid_level: own_pid_level(),
            args_on: u64::from(arg_globals.is_some()),
            arg_globals,
            slots,
        })
    }

    fn apply<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        let [mips_native, mips_compat, mips_third] = &self.mips_bases;
        let (mnt_ns, args) = (&self.mnt_ns, &self.args);
        loader
            .override_global(global::EXECVE_NR, &self.execve, true)
            .override_global(global::EXECVEAT_NR, &self.execveat, true)
            .override_global(global::X32_BIT, &self.x32_bit, true)
            .override_global(global::ARM_PRIVATE_BASE, &self.arm_private_base, true)
            .override_global(global::MIPS_BASE_NATIVE, mips_native, true)
            .override_global(global::MIPS_BASE_COMPAT, mips_compat, true)
            .override_global(global::MIPS_BASE_THIRD, mips_third, true)
            .override_global(global::COMPAT_OFFSET, &self.compat_offset, true)
            .override_global(global::COMPAT_MASK, &self.compat_mask, true)
            .override_global(global::HOST_PIDNS_DEV, &self.pidns_dev, true)
            .override_global(global::HOST_PIDNS_INO, &self.pidns_ino, true)
            .override_global(global::MNT_NS_ON, &self.mnt_ns_on, true)
            .override_global(global::REAL_PARENT_OFFSET, &mnt_ns.real_parent_offset, true)
            .override_global(global::NSPROXY_OFFSET, &mnt_ns.nsproxy_offset, true)
            .override_global(global::MNT_NS_OFFSET, &mnt_ns.mnt_ns_offset, true)
            .override_global(global::NS_INUM_OFFSET, &mnt_ns.inum_offset, true)
            .override_global(global::TGID_OFFSET, &mnt_ns.tgid_offset, true)
            .override_global(global::CMDLINE_ON, &self.cmdline_on, true)
            .override_global(global::MM_OFFSET, &args.mm_offset, true)
            .override_global(global::ARG_START_OFFSET, &args.arg_start_offset, true)
            .override_global(global::ARG_END_OFFSET, &args.arg_end_offset, true)
            .override_global(global::ENV_START_OFFSET, &args.env_start_offset, true)
            .override_global(global::ENV_END_OFFSET, &args.env_end_offset, true)
            .map_max_entries(map::SLOTS, self.slots)
            .map_max_entries(map::FREE_SLOTS, self.slots);
        let [cgroups, dfl_cgrp, cgroup_kn, kn_id] = &self.cgroup_id;
        let [thread_pid, pid_level] = &self.pid_level;
        loader
            .override_global(global::CGROUP_ID_ON, &self.cgroup_id_on, true)
            .override_global(global::CGROUPS_OFFSET, cgroups, true)
            .override_global(global::DFL_CGRP_OFFSET, dfl_cgrp, true)
            .override_global(global::CGROUP_KN_OFFSET, cgroup_kn, true)
            .override_global(global::KN_ID_OFFSET, kn_id, true)
            .override_global(global::PID_LEVEL_ON, &self.pid_level_on, true)
            .override_global(global::THREAD_PID_OFFSET, thread_pid, true)
            .override_global(global::PID_LEVEL_OFFSET, pid_level, true)
            .override_global(global::HOST_PID_LEVEL, &self.host_pid_level, true)
            .override_global(global::NATIVE_ENTRY_ON, &self.native_entry_on, true)
            .override_global(global::NATIVE_ENTRY, &self.native_entry, true)
            .override_global(global::TASK_CAST_ON, &self.task_cast_on, true)
            .override_global(global::TASK_STRUCT_BTF_ID, &self.task_struct_btf_id, true)
            .override_global(global::ARGS_ON, &self.args_on, true);
        if let Some(g) = &self.arg_globals {
            loader
                .override_global(global::ARG_KIND, &*g.kinds, true)
                .override_global(global::ARG_REGS_NATIVE, &g.native, true)
                .override_global(global::ARG_REGS_COMPAT, &g.compat, true)
                .override_global(global::COMPAT_ARG_MASK, &g.compat_mask, true)
                .override_global(global::CLONE_FLAGS_ARG, &g.clone_flags_arg, true);
        }
        // Without --args the sets are never touched: one entry.
        let arg_sets = if self.args_on != 0 { self.slots } else { 1 };
        loader.map_max_entries(map::ARG_SETS, arg_sets);
    }
}

/// Loads the object with the settings received, on a loader made on this
/// thread.
///
/// aya 0.14's loader parses the whole kernel BTF when it is made, for
/// CO-RE relocations this object does not have: the longest step of
/// start-up, and nothing needs the loader before the load itself. So it
/// is made on a thread of its own from the start while the caller reads
/// the kernel's BTF its own way, and it is freed there (tens of megabytes
/// in small allocations) while the caller attaches.
fn load_object(settings: Receiver<LoadSettings>, loaded: SyncSender<Result<Ebpf, BpfError>>) {
    let mut loader = EbpfLoader::new();
    // The caller gave up: nothing to load.
    let Ok(values) = settings.recv() else {
        return;
    };
    values.apply(&mut loader);
    let object = match kfunc::complete(PROGRAM_OBJECT, values.task_cast.map(|c| c.kfunc)) {
        Ok(object) => object,
        Err(e) => {
            let _ = loaded.send(Err(BpfError::Object(e)));
            return;
        }
    };
    let result = loader.load(object.bytes()).map_err(|e| {
        if is_permission_error(&e) {
            BpfError::PermissionDenied
        } else {
            BpfError::Load(Box::new(e))
        }
    });
    let _ = loaded.send(result);
}

impl SyscallRecorder {
    /// Loads and attaches the program with the best hook available.
    pub fn load() -> Result<SyscallRecorder, BpfError> {
        Self::load_with(None)
    }

    /// Loads and attaches with the given hook, or the best one for `None`.
    pub fn load_with(kind: Option<AttachKind>) -> Result<SyscallRecorder, BpfError> {
        Self::load_options(LoadOptions {
            attach: kind,
            ..LoadOptions::default()
        })
    }

    /// Loads and attaches as `options` say. Where the kernel refuses the
    /// program with its `bpf_rdonly_cast` call (which no kernel here did,
    /// but kfuncs are not a stable interface), loads it again without.
    pub fn load_options(options: LoadOptions) -> Result<SyscallRecorder, BpfError> {
        Self::load_falling_back(options, KfuncFill::Kernel)
    }

    /// [`Self::load_options`] as on a kernel that refuses the program's
    /// `bpf_rdonly_cast` call, for the tests of what follows.
    #[doc(hidden)]
    pub fn load_refusing_the_kfunc(options: LoadOptions) -> Result<SyscallRecorder, BpfError> {
        Self::load_falling_back(options, KfuncFill::Refused)
    }

    fn load_falling_back(
        options: LoadOptions,
        fill: KfuncFill,
    ) -> Result<SyscallRecorder, BpfError> {
        // Whether the program held the call: without the kfunc there is
        // nothing to load again without.
        let mut with_task_cast = false;
        match Self::load_once(options, fill, &mut with_task_cast) {
            Err(e @ (BpfError::Hook { .. } | BpfError::NoHook(_))) if with_task_cast => {
                log::debug!(
                    "loading with bpf_rdonly_cast failed ({:#}); loading without it",
                    crate::messages::Chain(&e)
                );
                Self::load_once(
                    LoadOptions {
                        task_cast: false,
                        ..options
                    },
                    fill,
                    &mut with_task_cast,
                )
            }
            result => result,
        }
    }

    /// One load, which says in `with_task_cast` whether the program it
    /// tried held the `bpf_rdonly_cast` call.
    fn load_once(
        options: LoadOptions,
        fill: KfuncFill,
        with_task_cast: &mut bool,
    ) -> Result<SyscallRecorder, BpfError> {
        let kind = options.attach;
        let capacity = options.slots.max(1);
        check_privileges()?;
        raise_memlock_limit();
        let clock = Instant::now();
        let (settings_tx, settings_rx) = sync_channel(1);
        let (loaded_tx, loaded_rx) = sync_channel(1);
        let (mut ebpf, attach, reads_mount_ns) = std::thread::scope(|s| {
            s.spawn(move || load_object(settings_rx, loaded_tx));
            let kernel_types = Btf::kernel();
            let settings = LoadSettings::of_host(kernel_types.as_ref(), &options, fill)?;
            *with_task_cast = settings.task_cast.is_some();
            let reads_mount_ns = settings.mnt_ns_on != 0;
            // On an error above this end is dropped and the loader thread
            // ends without loading, so the scope does not wait for a load.
            let _ = settings_tx.send(settings);
            let btf = attach::hook_btf(kernel_types.as_ref().ok());
            drop(kernel_types);
            log::debug!("load: kernel BTF read after {:.1?}", clock.elapsed());
            // No answer only when the loader thread panicked, which the
            // scope raises again here.
            let mut ebpf = loaded_rx
                .recv()
                .map_err(|_| BpfError::Missing("a loader"))??;
            log::debug!("load: object loaded after {:.1?}", clock.elapsed());
            let attach = attach::attach(&mut ebpf, btf.as_ref(), kind)?;
            log::debug!("load: attached after {:.1?}", clock.elapsed());
            Ok::<_, BpfError>((ebpf, attach, reads_mount_ns))
        })?;
        let roots = take_map(&mut ebpf, map::ROOTS)?;
        let slots = take_map(&mut ebpf, map::SLOTS)?;
        let control = take_map(&mut ebpf, map::CONTROL)?;
        let generation_word = take_map(&mut ebpf, map::GENERATION)?;
        let task_changes = take_map(&mut ebpf, map::TASK_CHANGES)?;
        let arg_sets = if options.args {
            Some(take_map(&mut ebpf, map::ARG_SETS)?)
        } else {
            None
        };
        let free_slots = take_map(&mut ebpf, map::FREE_SLOTS)?;
        let new_cgroups = Some(NewCgroups::new(take_map(&mut ebpf, map::NEW_CGROUPS)?));
        Ok(SyscallRecorder {
            ebpf,
            attach,
            roots,
            slots,
            control,
            generation_word,
            task_changes,
            arg_sets,
            free_slots,
            new_cgroups,
            capacity,
            in_use: BTreeSet::new(),
            lent: BTreeSet::new(),
            cooling: Vec::new(),
            lending: false,
            epochs: vec![0; capacity as usize],
            generation: 0,
            reads_mount_ns,
        })
    }

    /// Recordings this program can hold at once.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The reader of [`NewCgroup`]s, which the caller owns from then on (to
    /// wait on it apart from this recorder, e.g. on an event loop); `None`
    /// when it was taken already.
    pub fn take_new_cgroups(&mut self) -> Option<NewCgroups> {
        self.new_cgroups.take()
    }

    /// The hook the program is attached to.
    pub fn attach_kind(&self) -> AttachKind {
        self.attach
    }

    /// Whether the kernel side reads tasks' mount namespaces, which
    /// [`Scope::Container`] needs for containers in the host's pid
    /// namespace.
    pub fn reads_mount_ns(&self) -> bool {
        self.reads_mount_ns
    }

    /// The kernel's id of the attached program (what `bpftool prog` names).
    pub fn program_id(&self) -> Option<u32> {
        Some(self.ebpf.program(self.attach.program())?.info().ok()?.id())
    }

    /// Run time and count of the attached program so far.
    pub fn program_stats(&self) -> Option<ProgramStats> {
        let info = self.ebpf.program(self.attach.program())?.info().ok()?;
        Some(ProgramStats {
            run_time_ns: u64::try_from(info.run_time().as_nanos()).unwrap_or(u64::MAX),
            run_count: info.run_count(),
        })
    }

    /// Starts recording `root` and every cgroup below it.
    pub fn start(&mut self, root: CgroupId, start: Start) -> Result<RecordingId, BpfError> {
        self.start_scoped(root, start, Scope::All)
    }

    /// Starts recording the `scope` tasks of `root` and every cgroup below it.
    /// Fails with [`BpfError::AlreadyRecorded`] when `root` is a root already
    /// (e.g. one the kernel side started, see [`Self::record_new_cgroups`]).
    pub fn start_scoped(
        &mut self,
        root: CgroupId,
        start: Start,
        scope: Scope,
    ) -> Result<RecordingId, BpfError> {
        let slot = self.unused_slot()?;
        let mut value = Slot::EMPTY;
        value.flags = scope.flags(start);
        if let Scope::Container {
            runtime_mount_ns: Some(ns),
        } = scope
        {
            value.runtime_mnt_ns = ns;
        }
        self.reset_slot(slot, value)?;
        match self.roots.insert(root.0, slot, BPF_NOEXIST) {
            Ok(()) => {}
            Err(e) if is_exists_error(&e) => return Err(BpfError::AlreadyRecorded(root)),
            Err(source) => return Err(map_error(map::ROOTS, source)),
        }
        self.in_use.insert(slot);
        self.bump_generation()?;
        Ok(RecordingId { slot, root })
    }

    /// A slot for a recording of userspace's: one nobody uses, else one
    /// lent to the kernel side that it has not taken yet.
    fn unused_slot(&mut self) -> Result<u32, BpfError> {
        self.recycle()?;
        if let Some(slot) = (0..self.capacity).find(|s| self.is_unused(*s)) {
            return Ok(slot);
        }
        match self.free_slots.pop(0) {
            Ok(slot) => {
                self.lent.remove(&slot);
                Ok(slot)
            }
            Err(MapError::ElementNotFound) => Err(BpfError::NoFreeSlot(self.capacity)),
            Err(source) => Err(map_error(map::FREE_SLOTS, source)),
        }
    }

    fn is_unused(&self, slot: u32) -> bool {
        !self.in_use.contains(&slot)
            && !self.lent.contains(&slot)
            && !self.cooling.iter().any(|(s, _)| *s == slot)
    }

    /// From now on, the first syscall in any cgroup created after `after`
    /// that no recording covers starts a recording of that cgroup (and what is
    /// created below it) with `start` and `scope`, and is announced through
    /// [`NewCgroups`]. The free slots but `keep_free` are lent to the kernel
    /// side for this until [`Self::stop_new_cgroups`]; keep the recordings
    /// that matter with [`Self::keep`], drop the others with
    /// [`Self::drop_new`].
    pub fn record_new_cgroups(
        &mut self,
        after: CgroupId,
        start: Start,
        scope: Scope,
        keep_free: usize,
    ) -> Result<(), BpfError> {
        let free: Vec<u32> = (0..self.capacity)
            .filter(|s| self.is_unused(*s))
            .skip(keep_free)
            .collect();
        for slot in free {
            self.lend(slot)?;
        }
        self.lending = true;
        self.set_control(control::NEW_CGROUP_MISSED, 0)?;
        self.set_control(control::NEW_CGROUP_MIN_ID, after.0)?;
        self.set_control(control::NEW_CGROUP_FLAGS, scope.flags(start))?;
        // Cached "not recorded" answers of new cgroups must go.
        self.bump_generation()
    }

    /// Writes a slot with a new epoch, so that every cached answer that
    /// points at it is stale from now on.
    fn write_slot(&mut self, slot: u32, mut value: Slot) -> Result<(), BpfError> {
        let epoch = self
            .epochs
            .get_mut(slot as usize)
            .ok_or(BpfError::NoFreeSlot(self.capacity))?;
        *epoch += 1;
        value.epoch = *epoch;
        self.slots
            .set(slot, value, 0)
            .map_err(|source| map_error(map::SLOTS, source))
    }

    /// Clears a slot and queues it for the kernel side.
    fn lend(&mut self, slot: u32) -> Result<(), BpfError> {
        self.reset_slot(slot, Slot::EMPTY)?;
        self.free_slots
            .push(slot, 0)
            .map_err(|source| map_error(map::FREE_SLOTS, source))?;
        self.lent.insert(slot);
        Ok(())
    }

    /// Clears the slots that have rested long enough since their recording
    /// ended, and lends them to the kernel side again while it starts
    /// recordings of new cgroups (else they are free for userspace's).
    pub fn recycle(&mut self) -> Result<(), BpfError> {
        let now = Instant::now();
        let (rested, resting): (Vec<_>, Vec<_>) = self
            .cooling
            .drain(..)
            .partition(|(_, since)| now.duration_since(*since) >= SLOT_COOLING);
        self.cooling = resting;
        for (slot, _) in rested {
            if self.lending {
                self.lend(slot)?;
            } else {
                self.reset_slot(slot, Slot::EMPTY)?;
            }
        }
        Ok(())
    }

    /// The earliest moment [`Self::recycle`] has a slot to recycle.
    pub fn next_recycle(&self) -> Option<Instant> {
        self.cooling
            .iter()
            .map(|(_, since)| *since + SLOT_COOLING)
            .min()
    }

    /// Drops a recording the kernel side started for a new cgroup that does
    /// not matter (not a container, not the one waited for, or one there is
    /// no room for): its cgroup is marked so that it never starts another,
    /// and its slot goes back to the pool.
    pub fn drop_new(&mut self, id: RecordingId) -> Result<(), BpfError> {
        self.roots
            .insert(id.root.0, ROOT_IGNORED, 0)
            .map_err(|source| map_error(map::ROOTS, source))?;
        // A new epoch, not a new generation: only the answers that point
        // at this slot go stale, every other cgroup's stay cached.
        self.write_slot(id.slot, Slot::EMPTY)?;
        self.lent.remove(&id.slot);
        self.cooling.push((id.slot, Instant::now()));
        Ok(())
    }

    /// Marks a cgroup so that it never starts a recording of its own (what
    /// the kernel side does itself for a new cgroup it found no slot for).
    pub fn ignore(&mut self, cgroup: CgroupId) -> Result<(), BpfError> {
        match self.roots.insert(cgroup.0, ROOT_IGNORED, BPF_NOEXIST) {
            Ok(()) => Ok(()),
            Err(e) if is_exists_error(&e) => Ok(()),
            Err(source) => Err(map_error(map::ROOTS, source)),
        }
    }

    /// The cgroups marked as not to be recorded.
    pub fn ignored(&self) -> Result<Vec<CgroupId>, BpfError> {
        let mut found = Vec::new();
        for entry in self.roots.iter() {
            let (cgroup, slot) = entry.map_err(|source| map_error(map::ROOTS, source))?;
            if slot == ROOT_IGNORED {
                found.push(CgroupId(cgroup));
            }
        }
        Ok(found)
    }

    /// Removes the mark of a cgroup that is gone (cgroup ids are never
    /// reused, so only the entry's room is at stake).
    pub fn forget_ignored(&mut self, cgroup: CgroupId) -> Result<(), BpfError> {
        match self.roots.remove(&cgroup.0) {
            Ok(()) | Err(MapError::KeyNotFound) => Ok(()),
            Err(source) => Err(map_error(map::ROOTS, source)),
        }
    }

    /// How many [`NewCgroup`]s the ring buffer had no room for, ever: when
    /// it grows, [`Self::new_cgroup_recordings`] finds their recordings.
    pub fn new_cgroups_lost(&self) -> Result<u64, BpfError> {
        self.control
            .get(&control::EVENTS_LOST, 0)
            .map_err(|source| map_error(map::CONTROL, source))
    }

    /// How many tasks were created or moved between cgroups since the
    /// program was loaded, as the kernel side counted them for the hot
    /// path's memory of tasks.
    pub fn task_changes(&self) -> Result<u64, BpfError> {
        self.task_changes
            .get(&0, 0)
            .map_err(|source| map_error(map::TASK_CHANGES, source))
    }

    /// The recording of a slot the kernel side took for `cgroup`, as a
    /// [`NewCgroup`] names it.
    pub fn new_cgroup_recording(&self, cgroup: CgroupId, slot: u32) -> Option<RecordingId> {
        (slot != ROOT_IGNORED && self.lent.contains(&slot))
            .then_some(RecordingId { slot, root: cgroup })
    }

    /// The recordings the kernel side has started for new cgroups so far.
    pub fn new_cgroup_recordings(&self) -> Result<Vec<RecordingId>, BpfError> {
        let mut found = Vec::new();
        for entry in self.roots.iter() {
            let (cgroup, slot) = entry.map_err(|source| map_error(map::ROOTS, source))?;
            if self.lent.contains(&slot) {
                found.push(RecordingId {
                    slot,
                    root: CgroupId(cgroup),
                });
            }
        }
        Ok(found)
    }

    /// How many new cgroups went unrecorded because every slot was taken.
    pub fn new_cgroups_missed(&self) -> Result<u64, BpfError> {
        self.control
            .get(&control::NEW_CGROUP_MISSED, 0)
            .map_err(|source| map_error(map::CONTROL, source))
    }

    /// Makes a recording the kernel side started an ordinary one of this
    /// recorder: it survives [`Self::stop_new_cgroups`] and ends with
    /// [`Self::stop`].
    pub fn keep(&mut self, id: RecordingId) {
        if self.lent.remove(&id.slot) {
            self.in_use.insert(id.slot);
        }
    }

    /// Recordings of userspace's (started or kept) under way.
    pub fn recordings_in_use(&self) -> usize {
        self.in_use.len()
    }

    /// Starts no more recordings for new cgroups, and ends those the kernel
    /// side started and nobody kept.
    pub fn stop_new_cgroups(&mut self) -> Result<(), BpfError> {
        self.lending = false;
        self.set_control(control::NEW_CGROUP_FLAGS, 0)?;
        loop {
            match self.free_slots.pop(0) {
                Ok(_) => {}
                Err(MapError::ElementNotFound) => break,
                Err(source) => return Err(map_error(map::FREE_SLOTS, source)),
            }
        }
        self.remove_unkept_roots()?;
        // A CPU may have taken a slot just before the flag went to 0 and
        // still be inserting its root: programs run for microseconds, so a
        // second sweep after a pause catches it.
        std::thread::sleep(Duration::from_millis(20));
        self.remove_unkept_roots()?;
        self.lent.clear();
        self.bump_generation()
    }

    fn remove_unkept_roots(&mut self) -> Result<(), BpfError> {
        for id in self.new_cgroup_recordings()? {
            self.lent.remove(&id.slot);
            self.cooling.push((id.slot, Instant::now()));
            match self.roots.remove(&id.root.0) {
                Ok(()) | Err(MapError::KeyNotFound) => {}
                Err(source) => return Err(map_error(map::ROOTS, source)),
            }
        }
        Ok(())
    }

    /// Writes a slot, and empties its argument sets: the arguments
    /// first, so that nothing marked before the slot starts is kept.
    fn reset_slot(&mut self, slot: u32, value: Slot) -> Result<(), BpfError> {
        if let Some(arg_sets) = &mut self.arg_sets {
            arg_sets
                .set(slot, ArgSets::EMPTY, 0)
                .map_err(|source| map_error(map::ARG_SETS, source))?;
        }
        self.write_slot(slot, value)
    }

    /// Whether recordings capture arguments (`--args`).
    pub fn captures_args(&self) -> bool {
        self.arg_sets.is_some()
    }

    fn set_control(&mut self, index: u32, value: u64) -> Result<(), BpfError> {
        self.control
            .set(index, value, 0)
            .map_err(|source| map_error(map::CONTROL, source))
    }

    /// What the recording has seen so far.
    pub fn seen(&self, id: RecordingId) -> Result<Seen, BpfError> {
        let slot = self
            .slots
            .get(&id.slot, 0)
            .map_err(|source| map_error(map::SLOTS, source))?;
        let mut seen = Seen::from_slot(&slot);
        if let Some(arg_sets) = &self.arg_sets {
            let sets = arg_sets
                .get(&id.slot, 0)
                .map_err(|source| map_error(map::ARG_SETS, source))?;
            seen.args = Some(ArgValues::from_sets(&sets));
        }
        Ok(seen)
    }

    /// Ends the recording and returns what it saw. Its slot rests for
    /// [`SLOT_COOLING`] before it records anything else.
    pub fn stop(&mut self, id: RecordingId) -> Result<Seen, BpfError> {
        match self.roots.remove(&id.root.0) {
            Ok(()) | Err(MapError::KeyNotFound) => {}
            Err(source) => return Err(map_error(map::ROOTS, source)),
        }
        let seen = self.seen(id)?;
        // A new epoch makes the cached answers that point here stale.
        self.write_slot(id.slot, Slot::EMPTY)?;
        if self.in_use.remove(&id.slot) || self.lent.remove(&id.slot) {
            self.cooling.push((id.slot, Instant::now()));
        }
        Ok(seen)
    }

    /// Invalidates every cached cgroup -> slot answer in the kernel.
    fn bump_generation(&mut self) -> Result<(), BpfError> {
        self.generation += 1;
        self.generation_word
            .set(0, self.generation, 0)
            .map_err(|source| map_error(map::GENERATION, source))
    }
}

impl RecordingId {
    /// The recorded root cgroup.
    pub fn root(&self) -> CgroupId {
        self.root
    }

    /// The slot in the kernel: unique among the recordings under way.
    pub fn slot(&self) -> u32 {
        self.slot
    }
}

/// Slots [`SyscallRecorder::record_new_cgroups`] keeps for recordings
/// userspace starts while the kernel side starts its own.
pub const RESERVED_SLOTS: usize = 8;

/// `BPF_NOEXIST`: insert only when the key is absent.
const BPF_NOEXIST: u64 = 1;

fn is_exists_error(e: &MapError) -> bool {
    matches!(e, MapError::SyscallError(s) if s.io_error.raw_os_error() == Some(libc::EEXIST))
}

fn take_map<T>(ebpf: &mut Ebpf, name: &'static str) -> Result<T, BpfError>
where
    T: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.take_map(name).ok_or(BpfError::Missing(name))?;
    T::try_from(map).map_err(|source| map_error(name, source))
}

fn map_error(name: &'static str, source: aya::maps::MapError) -> BpfError {
    BpfError::Map { name, source }
}

/// Whether the kernel refused a bpf(2) call for lack of privilege (EPERM or
/// EACCES). aya keeps the `io::Error` of every failed syscall on the error's
/// source chain, whichever map, program or BTF step failed.
fn is_permission_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(error) = next {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::PermissionDenied
        {
            return true;
        }
        next = error.source();
    }
    false
}

/// Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK. Raising it is
/// harmless where it is not needed and often not allowed (no
/// CAP_SYS_RESOURCE), so a failure is only worth a debug line.
fn raise_memlock_limit() {
    if let Err(e) = crate::sys::process::unlimit_memlock() {
        log::debug!("could not raise RLIMIT_MEMLOCK ({e}); fine on kernels >= 5.11");
    }
}

#[cfg(test)]
mod permission_tests {
    use super::is_permission_error;

    fn map_create_error(errno: i32) -> aya::EbpfError {
        aya::EbpfError::MapError(aya::maps::MapError::CreateError {
            name: "SLOTS".into(),
            io_error: std::io::Error::from_raw_os_error(errno),
        })
    }

    #[test]
    fn eperm_and_eacces_deep_in_the_chain_are_permission_errors() {
        assert!(is_permission_error(&map_create_error(libc::EPERM)));
        assert!(is_permission_error(&map_create_error(libc::EACCES)));
    }

    #[test]
    fn other_errors_are_not() {
        assert!(!is_permission_error(&map_create_error(libc::EINVAL)));
        assert!(!is_permission_error(&aya::EbpfError::NoBTF));
    }
}
