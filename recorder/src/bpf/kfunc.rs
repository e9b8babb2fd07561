//! The kfunc call the eBPF object holds as a placeholder, completed before
//! the object is loaded.
//!
//! Every hook reads a remembered task's compat flag through
//! `bpf_rdonly_cast` (see `recorder_common::global::TASK_CAST_ON`), which
//! the verifier turns into a move: no call on the recorded warm path. aya 0.14 cannot relocate kfunc calls, so the program writes the
//! instruction itself with a marker for the kfunc's BTF id
//! ([`RDONLY_CAST_PLACEHOLDER`]), and [`complete`] puts the kernel's id in
//! the marker's place, or, on a kernel without the kfunc, the move the
//! verifier would have made of it (unreached there: the program only takes
//! that path with `TASK_CAST_ON`). The kernel checks the kfunc's id when it
//! loads the program, so an id that is wrong fails the load; it cannot
//! run.

use object::{Object, ObjectSection, SectionKind};
use recorder_common::{RDONLY_CAST_FALLBACK, RDONLY_CAST_PLACEHOLDER};
use thiserror::Error;

use crate::arch::btf::Btf;

/// The kernel BTF ids the placeholder needs: `bpf_rdonly_cast`'s and
/// `struct task_struct`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskCast {
    pub kfunc: u32,
    pub task_struct: u32,
}

impl TaskCast {
    /// The ids in the kernel's BTF, or `None` where the kernel lacks the
    /// kfunc (before 6.2) or its BTF.
    pub fn of_kernel(kernel: Option<&Btf>) -> Option<TaskCast> {
        let btf = kernel?;
        Some(TaskCast {
            kfunc: btf.func_id("bpf_rdonly_cast")?,
            task_struct: btf.struct_id("task_struct")?,
        })
    }
}

#[derive(Debug, Error)]
pub enum KfuncError {
    #[error("the eBPF object cannot be read as ELF")]
    Elf(#[source] object::Error),
}

/// The eBPF object with its placeholders completed, at an address aligned
/// for the ELF reader (which reads 8-byte fields in place).
pub struct CompletedObject {
    buffer: Vec<u8>,
    start: usize,
    len: usize,
}

impl CompletedObject {
    pub fn bytes(&self) -> &[u8] {
        &self.buffer[self.start..self.start + self.len]
    }
}

/// `object` with every `bpf_rdonly_cast` placeholder in its code sections
/// calling the kfunc `kfunc` (its id in the kernel's BTF), or turned into
/// `r0 = r1` for `None`.
pub fn complete(object: &[u8], kfunc: Option<u32>) -> Result<CompletedObject, KfuncError> {
    const ALIGN: usize = 8;
    let mut buffer = vec![0u8; object.len() + ALIGN];
    let start = buffer.as_ptr().align_offset(ALIGN).min(ALIGN);
    buffer[start..start + object.len()].copy_from_slice(object);
    let completed = match kfunc {
        Some(id) => (RDONLY_CAST_PLACEHOLDER & 0xffff_ffff) | (u64::from(id) << 32),
        None => RDONLY_CAST_FALLBACK,
    };
    let code: Vec<(usize, usize)> = {
        let file = object::File::parse(object).map_err(KfuncError::Elf)?;
        file.sections()
            .filter(|s| s.kind() == SectionKind::Text)
            .filter_map(|s| s.file_range())
            .filter_map(|(at, len)| Some((usize::try_from(at).ok()?, usize::try_from(len).ok()?)))
            .collect()
    };
    for (at, len) in code {
        let Some(section) = buffer.get_mut(start + at..start + at + len) else {
            continue;
        };
        // BPF instructions are 8 bytes and a code section starts aligned.
        for insn in section.chunks_exact_mut(8) {
            if insn == RDONLY_CAST_PLACEHOLDER.to_le_bytes() {
                insn.copy_from_slice(&completed.to_le_bytes());
            }
        }
    }
    Ok(CompletedObject {
        buffer,
        start,
        len: object.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholders in the object this build embeds.
    fn placeholders(object: &[u8]) -> usize {
        object
            .chunks_exact(8)
            .filter(|i| *i == RDONLY_CAST_PLACEHOLDER.to_le_bytes())
            .count()
    }

    #[test]
    fn the_placeholder_is_a_kfunc_call() {
        let insn = RDONLY_CAST_PLACEHOLDER.to_le_bytes();
        // BPF_JMP | BPF_CALL, dst r0, src BPF_PSEUDO_KFUNC_CALL, offset 0.
        assert_eq!(&insn[..4], &[0x85, 0x20, 0, 0]);
        assert_eq!(
            RDONLY_CAST_FALLBACK.to_le_bytes(),
            [0xbf, 0x10, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn completes_every_placeholder_of_the_embedded_object() {
        let object = super::super::PROGRAM_OBJECT;
        assert!(placeholders(object) >= 2, "raw_tp's and the tracepoint's");
        for kfunc in [Some(0x1234_5678), None] {
            let done = complete(object, kfunc).expect("the embedded object is ELF");
            let bytes = done.bytes();
            assert_eq!(bytes.as_ptr().align_offset(8), 0);
            assert_eq!(bytes.len(), object.len());
            assert_eq!(placeholders(bytes), 0);
            let changed: Vec<[u8; 8]> = object
                .chunks_exact(8)
                .zip(bytes.chunks_exact(8))
                .filter(|(a, b)| a != b)
                .map(|(_, b)| b.try_into().expect("8 bytes"))
                .collect();
            assert_eq!(changed.len(), placeholders(object));
            let expected = match kfunc {
                Some(_) => [0x85, 0x20, 0, 0, 0x78, 0x56, 0x34, 0x12],
                None => RDONLY_CAST_FALLBACK.to_le_bytes(),
            };
            assert!(changed.iter().all(|c| *c == expected), "{changed:x?}");
        }
    }

    #[test]
    fn rejects_what_is_not_elf() {
        assert!(matches!(
            complete(b"not an object", None),
            Err(KfuncError::Elf(_))
        ));
    }

    #[test]
    fn this_kernel_has_the_kfunc_when_new_enough() {
        let btf = Btf::kernel().expect("kernel BTF (CONFIG_DEBUG_INFO_BTF)");
        let cast = TaskCast::of_kernel(Some(&btf));
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut parts = release.trim().split(['.', '-']);
        let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if (major, minor) >= (6, 2) {
            let cast = cast.expect("bpf_rdonly_cast and task_struct in the BTF of 6.2+");
            assert_ne!(cast.kfunc, cast.task_struct);
        }
    }
}
