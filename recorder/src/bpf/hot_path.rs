//! How many calls the program makes on its warm paths, counted on the
//! instructions the kernel runs (the verifier's translation, as `bpftool
//! prog dump xlated` prints them): a figure that is the same on every
//! machine, where timings are not. On CPUs that mitigate with retpolines
//! and SRSO "Safe RET", every call and return goes through a thunk and costs
//! more than the rest of the program, so calls are what to count.
//!
//! - The unrecorded warm path: a syscall of a process whose cgroup is in no
//!   recording and cached on its CPU (what every process of a node pays
//!   while the daemon runs). Counted to the check of the cached answer.
//! - The recorded warm path: a syscall of a recorded process whose cgroup
//!   is cached. Counted to the store that marks the syscall.
//!
//! Each is the number of call sites on the paths from the entry to its
//! instruction, through the warm part of the program (the slow paths start
//! at a call of a hash map, ring buffer or cgroup-ancestor helper, or where
//! the warm paths need no task, a call of the subprogram
//! `current_task_cold`). The
//! load-time constants (`.rodata`, which aya does not mark read-only to
//! programs, so the verifier keeps the branches they decide) are read from
//! the loaded map, and the branches they decide are followed one way only:
//! what is counted is what runs.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde::Deserialize;

/// One translated instruction, as `bpftool -j prog dump xlated` gives it.
#[derive(Clone, Debug, Deserialize)]
pub struct XlatedInsn {
    pub disasm: String,
    /// The source line the instruction starts, from the program's line
    /// info.
    #[serde(default)]
    pub src: Option<String>,
}

/// Calls on the warm paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HotPathCalls {
    pub unrecorded: u32,
    pub recorded: u32,
}

/// Counting failed.
#[derive(Debug, thiserror::Error)]
pub enum HotPathError {
    #[error("running bpftool (apt-get install bpftool): {0}")]
    Bpftool(#[source] std::io::Error),
    #[error("bpftool {what} failed: {message}")]
    Failed { what: String, message: String },
    #[error("bpftool's {what} does not parse: {source}")]
    Parse {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the dump of program {0} has no line info marking the warm paths (was the eBPF object built with debug info?)"
    )]
    NoMarks(u32),
}

/// The source lines that mark the end of each warm path in
/// recorder-ebpf's `record` and `mark`.
const UNRECORDED_MARK: &str = "slot_plus_one == NOT_RECORDED";
const RECORDED_MARK: &str = "*byte = 1";

/// Runs `bpftool -j ARGS` and parses its output.
fn bpftool<T: serde::de::DeserializeOwned>(args: &[&str]) -> Result<T, HotPathError> {
    let what = args.join(" ");
    let out = Command::new("bpftool")
        .arg("-j")
        .args(args)
        .output()
        .map_err(HotPathError::Bpftool)?;
    if !out.status.success() {
        return Err(HotPathError::Failed {
            what,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    serde_json::from_slice(&out.stdout).map_err(|source| HotPathError::Parse { what, source })
}

#[derive(Deserialize)]
struct ProgShow {
    #[serde(default)]
    map_ids: Vec<u32>,
}

#[derive(Deserialize)]
struct MapShow {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct MapEntry {
    value: Vec<String>,
}

/// Counts the warm paths' calls of loaded program `id`.
pub fn hot_path_calls(id: u32) -> Result<HotPathCalls, HotPathError> {
    let id_text = id.to_string();
    let insns: Vec<XlatedInsn> = bpftool(&["prog", "dump", "xlated", "id", &id_text])?;
    let prog: ProgShow = bpftool(&["prog", "show", "id", &id_text])?;
    let mut rodata = BTreeMap::new();
    for map in prog.map_ids {
        let map_text = map.to_string();
        let shown: MapShow = bpftool(&["map", "show", "id", &map_text])?;
        if !shown.name.starts_with(".rodata") {
            continue;
        }
        let entries: Vec<MapEntry> = bpftool(&["map", "dump", "id", &map_text])?;
        if let Some(entry) = entries.first() {
            let bytes = entry
                .value
                .iter()
                .filter_map(|b| u8::from_str_radix(b.trim_start_matches("0x"), 16).ok())
                .collect();
            rodata.insert(map, bytes);
        }
    }
    analyse(&insns, &rodata).ok_or(HotPathError::NoMarks(id))
}

/// What is known of a register: an address in a read-only map, or a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Known {
    Rodata { map: u32, offset: i64 },
    Value(u64),
}

type State = [Option<Known>; 11];

/// One instruction, decoded as far as the count needs.
#[derive(Debug)]
struct Decoded {
    /// Slots it takes (2 for a 64-bit immediate load).
    width: usize,
    call: bool,
    /// A call that starts a slow path.
    slow: bool,
    exit: bool,
    /// `goto pc+N`: (N, whether it has a condition).
    jump: Option<(i64, bool)>,
    /// `if rX == IMM` / `!= IMM`: (register, is-equal, immediate).
    condition: Option<(usize, bool, u64)>,
    /// The register written, and how.
    write: Option<(usize, Written)>,
}

#[derive(Debug)]
enum Written {
    Known(Known),
    Copy(usize),
    /// A load of `size` bytes at `offset` from a register.
    Load {
        from: usize,
        offset: i64,
        size: usize,
    },
    Unknown,
}

fn register(text: &str) -> Option<usize> {
    let digits = text.strip_prefix('r').or_else(|| text.strip_prefix('w'))?;
    digits.parse().ok().filter(|r| *r <= 10)
}

fn number(text: &str) -> Option<i64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("-0x")) {
        Some(hex) => {
            let value = u64::from_str_radix(hex, 16).ok()? as i64;
            Some(if text.starts_with('-') { -value } else { value })
        }
        None => text.parse().ok(),
    }
}

fn decode(disasm: &str) -> Decoded {
    let body = disasm.split_once(") ").map_or(disasm, |(_, b)| b);
    let mut d = Decoded {
        width: if disasm.starts_with("(18)") { 2 } else { 1 },
        call: disasm.starts_with("(85)"),
        slow: false,
        exit: body == "exit",
        jump: None,
        condition: None,
        write: None,
    };
    if d.call {
        d.slow = [
            "htab",
            "ancestor",
            "queue",
            "ringbuf",
            "update_elem",
            "lookup_elem",
            // recorder-ebpf's subprogram for the current task off the warm
            // paths.
            "current_task_cold",
        ]
        .iter()
        .any(|n| body.contains(n));
        return d;
    }
    if let Some(at) = body.find("goto pc") {
        let offset = &body[at + "goto pc".len()..];
        let end = offset[1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(offset.len(), |e| e + 1);
        let conditional = body.starts_with("if ");
        d.jump = offset[..end].parse().ok().map(|n| (n, conditional));
        if conditional {
            let words: Vec<&str> = body.split_whitespace().collect();
            if let [_, reg, op, imm, ..] = words.as_slice()
                && let (Some(r), Some(v)) = (register(reg), number(imm))
                && (*op == "==" || *op == "!=")
            {
                d.condition = Some((r, *op == "==", v as u64));
            }
        }
        return d;
    }
    let Some((dest, rest)) = body.split_once(' ') else {
        return d;
    };
    let Some(dest) = register(dest) else {
        return d;
    };
    let written = if let Some(value) = rest.strip_prefix("= ") {
        if let Some(map) = value.strip_prefix("map[id:") {
            // `map[id:M][0]+OFF`: an address in map M's value.
            match map.split_once("][0]+") {
                Some((m, off)) => match (m.parse(), number(off)) {
                    (Ok(map), Some(offset)) => Written::Known(Known::Rodata { map, offset }),
                    _ => Written::Unknown,
                },
                None => Written::Unknown,
            }
        } else if let Some(load) = value.strip_prefix("*(u") {
            // `*(u64 *)(rS +K)`.
            let size = load
                .split_once(' ')
                .and_then(|(bits, _)| bits.parse::<usize>().ok());
            let inner = load.split_once("(").map(|(_, r)| r.trim_end_matches(')'));
            match (size, inner.and_then(|i| i.split_once(' '))) {
                (Some(bits), Some((reg, off))) => match (register(reg), number(off)) {
                    (Some(from), Some(offset)) => Written::Load {
                        from,
                        offset,
                        size: bits / 8,
                    },
                    _ => Written::Unknown,
                },
                _ => Written::Unknown,
            }
        } else if let Some(r) = register(value) {
            Written::Copy(r)
        } else if let Some(v) = number(value) {
            Written::Known(Known::Value(v as u64))
        } else {
            Written::Unknown
        }
    } else {
        Written::Unknown
    };
    d.write = Some((dest, written));
    d
}

/// The state after instruction `d`.
fn step(d: &Decoded, state: &State, rodata: &BTreeMap<u32, Vec<u8>>) -> State {
    let mut out = *state;
    if d.call {
        for r in out.iter_mut().take(6) {
            *r = None;
        }
    }
    if let Some((dest, written)) = &d.write {
        out[*dest] = match written {
            Written::Known(k) => Some(*k),
            Written::Copy(r) => state[*r],
            Written::Load { from, offset, size } => match state[*from] {
                Some(Known::Rodata { map, offset: base }) => rodata.get(&map).and_then(|bytes| {
                    let at = usize::try_from(base + offset).ok()?;
                    let field = bytes.get(at..at + size)?;
                    let mut value = [0u8; 8];
                    value[..*size].copy_from_slice(field);
                    Some(Known::Value(u64::from_le_bytes(value)))
                }),
                _ => None,
            },
            Written::Unknown => None,
        };
    }
    out
}

/// What two paths meeting at an instruction both know.
fn join(a: &State, b: &State) -> State {
    let mut out = [None; 11];
    for (i, r) in out.iter_mut().enumerate() {
        if a[i] == b[i] {
            *r = a[i];
        }
    }
    out
}

/// The warm paths' calls of a translated program, `.rodata` maps' bytes by
/// map id; `None` when its line info does not mark the paths.
pub fn analyse(insns: &[XlatedInsn], rodata: &BTreeMap<u32, Vec<u8>>) -> Option<HotPathCalls> {
    let decoded: Vec<Decoded> = insns.iter().map(|i| decode(&i.disasm)).collect();
    let mut slot_of = Vec::with_capacity(insns.len());
    let mut slot = 0usize;
    for d in &decoded {
        slot_of.push(slot);
        slot += d.width;
    }
    let index_of = |slot: i64| {
        usize::try_from(slot)
            .ok()
            .and_then(|s| slot_of.binary_search(&s).ok())
    };
    // Forward, through the warm part, with what is known of registers.
    let mut states: Vec<Option<State>> = vec![None; insns.len()];
    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
    states[0] = Some([None; 11]);
    let mut work = vec![0usize];
    while let Some(at) = work.pop() {
        let d = &decoded[at];
        let Some(state) = states[at] else { continue };
        if d.exit || d.slow {
            continue;
        }
        let out = step(d, &state, rodata);
        let next = index_of((slot_of[at] + d.width) as i64);
        let mut successors = Vec::new();
        match d.jump {
            Some((offset, conditional)) => {
                let target = index_of((slot_of[at] + d.width) as i64 + offset);
                let decided = d.condition.and_then(|(r, equal, imm)| match state[r] {
                    Some(Known::Value(v)) => Some((v == imm) == equal),
                    _ => None,
                });
                match (conditional, decided) {
                    (false, _) | (true, Some(true)) => successors.extend(target),
                    (true, Some(false)) => successors.extend(next),
                    (true, None) => successors.extend(target.into_iter().chain(next)),
                }
            }
            None => successors.extend(next),
        }
        for s in successors {
            edges.insert((at, s));
            let merged = match &states[s] {
                Some(old) => join(old, &out),
                None => out,
            };
            if states[s] != Some(merged) {
                states[s] = Some(merged);
                work.push(s);
            }
        }
    }
    // Backward from each mark, along the edges taken.
    let calls_to = |mark: &str| -> Option<u32> {
        let targets: Vec<usize> = insns
            .iter()
            .enumerate()
            .filter(|(i, insn)| {
                states[*i].is_some() && insn.src.as_deref().is_some_and(|s| s.contains(mark))
            })
            .map(|(i, _)| i)
            .collect();
        if targets.is_empty() {
            return None;
        }
        let mut before: BTreeSet<usize> = targets.iter().copied().collect();
        let mut work = targets;
        while let Some(at) = work.pop() {
            for &(from, to) in &edges {
                if to == at && before.insert(from) {
                    work.push(from);
                }
            }
        }
        Some(before.iter().filter(|i| decoded[**i].call).count() as u32)
    };
    Some(HotPathCalls {
        unrecorded: calls_to(UNRECORDED_MARK)?,
        recorded: calls_to(RECORDED_MARK)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(disasm: &str, src: Option<&str>) -> XlatedInsn {
        XlatedInsn {
            disasm: disasm.into(),
            src: src.map(String::from),
        }
    }

    #[test]
    fn counts_the_calls_that_run_to_each_mark() {
        // A load-time switch (8 bytes at .rodata+8, here 1) chooses loads
        // over a helper; the slow path starts at a hash lookup.
        let rodata = BTreeMap::from([(7u32, [0u64.to_le_bytes(), 1u64.to_le_bytes()].concat())]);
        let program = [
            insn("(85) call bpf_get_current_task_btf#1", None),
            insn("(18) r1 = map[id:7][0]+8", None),
            insn("(79) r1 = *(u64 *)(r1 +0)", None),
            insn("(55) if r1 != 0x0 goto pc+1", None),
            insn("(85) call bpf_get_current_cgroup_id#2", None),
            insn(
                "(61) r2 = *(u32 *)(r0 +0)",
                Some("if cache.slot_plus_one == NOT_RECORDED {"),
            ),
            insn("(15) if r2 == 0x0 goto pc+3", None),
            insn("(05) goto pc+1", None),
            insn("(85) call __htab_map_lookup_elem#3", None),
            insn("(72) *(u8 *)(r0 +24) = 1", Some("*byte = 1;")),
            insn("(95) exit", None),
        ];
        assert_eq!(
            analyse(&program, &rodata),
            Some(HotPathCalls {
                unrecorded: 1,
                recorded: 1,
            })
        );
        // With the switch off, the helper runs too.
        let off = BTreeMap::from([(7u32, vec![0u8; 16])]);
        assert_eq!(
            analyse(&program, &off),
            Some(HotPathCalls {
                unrecorded: 2,
                recorded: 2,
            })
        );
        assert_eq!(analyse(&program[..2], &rodata), None);
    }

    #[test]
    fn decodes_instructions() {
        let d = decode("(15) if r0 == 0x0 goto pc+1022");
        assert_eq!(
            (d.jump, d.condition),
            (Some((1022, true)), Some((0, true, 0)))
        );
        assert_eq!(decode("(05) goto pc-7").jump, Some((-7, false)));
        assert!(decode("(85) call pc+865#bpf_prog_x_memset").jump.is_none());
        assert!(decode("(85) call __htab_map_lookup_elem#330864").slow);
        assert!(matches!(
            decode("(18) r1 = map[id:12759][0]+160").write,
            Some((
                1,
                Written::Known(Known::Rodata {
                    map: 12759,
                    offset: 160
                })
            ))
        ));
        assert!(matches!(
            decode("(79) r1 = *(u64 *)(r6 +8)").write,
            Some((
                1,
                Written::Load {
                    from: 6,
                    offset: 8,
                    size: 8
                }
            ))
        ));
        assert!(decode("(95) exit").exit);
    }
}
