//! Member offsets from the kernel's BTF (`/sys/kernel/btf/vmlinux`).
//!
//! The compat flag lives in `task_struct`, whose layout depends on the
//! kernel's version and configuration, so its offset comes from the running
//! kernel's own type description. This reads only what that needs: one walk
//! over the type section to index every type, then member look-ups along a
//! path such as `thread_info.status`. (General BTF crates build full type
//! maps with owned names: parsing vmlinux that way took 170 ms and 25 MB on
//! every `recorder record`; this walk takes a few milliseconds.)
//!
//! Format: Documentation/bpf/btf.rst in the kernel sources.

use std::path::Path;

/// Errors of reading BTF.
#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("not BTF in this machine's byte order (magic {0:#06x})")]
    Magic(u16),
    #[error("BTF truncated or malformed at byte {0}")]
    Malformed(usize),
    #[error("unknown BTF type kind {kind} at byte {at}")]
    UnknownKind { kind: u32, at: usize },
}

const MAGIC: u16 = 0xeb9f;

// Type kinds (BTF_KIND_*).
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// One type's header, and where its members start.
#[derive(Clone, Copy, Debug)]
struct TypeEntry {
    name_off: u32,
    kind: u32,
    vlen: usize,
    kind_flag: bool,
    /// `type` for modifiers and typedefs.
    type_id: u32,
    /// Byte position of the data following the header.
    data: usize,
}

/// Parsed BTF: the raw bytes plus an index of type headers (type id i is
/// `types[i - 1]`).
pub struct Btf {
    bytes: Vec<u8>,
    hdr_len: usize,
    types_start: usize,
    types_end: usize,
    strings: usize,
    strings_end: usize,
    types: Vec<TypeEntry>,
}

/// The kernel's BTF, where the running kernel describes its own types.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

impl Btf {
    /// Reads and indexes the running kernel's BTF.
    pub fn kernel() -> Result<Btf, BtfError> {
        Btf::read(Path::new(VMLINUX_BTF))
    }

    /// Reads and indexes a BTF file.
    pub fn read(path: &Path) -> Result<Btf, BtfError> {
        let bytes = std::fs::read(path).map_err(|source| BtfError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Btf::parse(bytes)
    }

    /// Indexes BTF in this machine's byte order.
    pub fn parse(bytes: Vec<u8>) -> Result<Btf, BtfError> {
        let magic = u16::from_ne_bytes([*bytes.first().unwrap_or(&0), *bytes.get(1).unwrap_or(&0)]);
        if magic != MAGIC {
            return Err(BtfError::Magic(magic));
        }
        let hdr_len = u32_at(&bytes, 4)? as usize;
        let type_off = u32_at(&bytes, 8)? as usize;
        let type_len = u32_at(&bytes, 12)? as usize;
        let str_off = u32_at(&bytes, 16)? as usize;
        let str_len = u32_at(&bytes, 20)? as usize;
        let types_start = hdr_len + type_off;
        let types_end = types_start + type_len;
        let strings = hdr_len + str_off;
        let strings_end = strings + str_len;
        if types_end > bytes.len() || strings_end > bytes.len() {
            return Err(BtfError::Malformed(bytes.len()));
        }
        let mut types = Vec::new();
        let mut at = types_start;
        while at < types_end {
            let name_off = u32_at(&bytes, at)?;
            let info = u32_at(&bytes, at + 4)?;
            let type_id = u32_at(&bytes, at + 8)?;
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let data = at + 12;
            let extra = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
                _ => return Err(BtfError::UnknownKind { kind, at }),
            };
            types.push(TypeEntry {
                name_off,
                kind,
                vlen,
                kind_flag: info >> 31 != 0,
                type_id,
                data,
            });
            at = data + extra;
        }
        if at != types_end {
            return Err(BtfError::Malformed(at));
        }
        Ok(Btf {
            bytes,
            hdr_len,
            types_start,
            types_end,
            strings,
            strings_end,
            types,
        })
    }

    /// Byte offset of `path` (`member.member...`, through anonymous structs
    /// and unions) in struct `ty`, or `None` when there is no such member or
    /// it is a bit field.
    pub fn member_offset(&self, ty: &str, path: &str) -> Option<u64> {
        let mut id = self.struct_id(ty)?;
        let mut offset_bits = 0u64;
        for name in path.split('.') {
            let (member_type, bits) = self.find_member(id, name, 0)?;
            offset_bits += bits;
            id = member_type;
        }
        offset_bits.is_multiple_of(8).then_some(offset_bits / 8)
    }

    /// The id of the first typedef named `name`.
    pub fn typedef_id(&self, name: &str) -> Option<u32> {
        self.id_of(KIND_TYPEDEF, name)
    }

    /// This BTF cut after type `id`: the types up to it, each with its own
    /// id, and every string. A library that parses all of a BTF to look
    /// one type up by name (aya, to attach a `tp_btf` program) finds the
    /// same id in it after parsing a fraction of the kernel's 100 000 and
    /// more types.
    pub fn through_type(&self, id: u32) -> Option<Vec<u8>> {
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        self.types.get(index)?;
        // A type ends where the next one's 12-byte header starts.
        let cut = self
            .types
            .get(index + 1)
            .map_or(self.types_end, |next| next.data - 12);
        let types = &self.bytes[self.types_start..cut];
        let strings = &self.bytes[self.strings..self.strings_end];
        let mut out = Vec::with_capacity(self.hdr_len + types.len() + strings.len());
        out.extend_from_slice(&self.bytes[..self.hdr_len]);
        // type_off, type_len, str_off (str_len is unchanged).
        for (at, value) in [(8, 0), (12, types.len()), (16, types.len())] {
            let value = u32::try_from(value).ok()?;
            out[at..at + 4].copy_from_slice(&value.to_ne_bytes());
        }
        out.extend_from_slice(types);
        out.extend_from_slice(strings);
        Some(out)
    }

    /// The id of the struct named `name` with members (not a forward
    /// declaration).
    pub fn struct_id(&self, name: &str) -> Option<u32> {
        self.id_of(KIND_STRUCT, name)
    }

    /// The id of the function named `name` (a kfunc's, for a call).
    pub fn func_id(&self, name: &str) -> Option<u32> {
        self.id_of(KIND_FUNC, name)
    }

    /// The id of the first type of `kind` named `name`.
    fn id_of(&self, kind: u32, name: &str) -> Option<u32> {
        self.types
            .iter()
            .position(|t| t.kind == kind && self.name(t.name_off) == Some(name))
            .map(|i| i as u32 + 1)
    }

    /// The member `name` of struct or union `id` (searching anonymous
    /// members too): its type id and bit offset.
    fn find_member(&self, id: u32, name: &str, depth: u32) -> Option<(u32, u64)> {
        let entry = self.resolve(id)?;
        if !matches!(entry.kind, KIND_STRUCT | KIND_UNION) || depth > 8 {
            return None;
        }
        for i in 0..entry.vlen {
            let at = entry.data + 12 * i;
            let member_name = u32_at(&self.bytes, at).ok()?;
            let member_type = u32_at(&self.bytes, at + 4).ok()?;
            let raw_offset = u32_at(&self.bytes, at + 8).ok()?;
            // With kind_flag set, the top 8 bits hold a bit field's size.
            let bits = u64::from(if entry.kind_flag {
                raw_offset & 0x00ff_ffff
            } else {
                raw_offset
            });
            if member_name == 0 {
                if let Some((t, inner)) = self.find_member(member_type, name, depth + 1) {
                    return Some((t, bits + inner));
                }
            } else if self.name(member_name) == Some(name) {
                let bitfield = entry.kind_flag && raw_offset >> 24 != 0;
                return (!bitfield).then_some((member_type, bits));
            }
        }
        None
    }

    /// The type `id` stands for, through typedefs and qualifiers.
    fn resolve(&self, mut id: u32) -> Option<TypeEntry> {
        for _ in 0..32 {
            let entry = *self.types.get((id as usize).checked_sub(1)?)?;
            match entry.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = entry.type_id;
                }
                _ => return Some(entry),
            }
        }
        None
    }

    fn name(&self, off: u32) -> Option<&str> {
        let start = self.strings + off as usize;
        let tail = self.bytes.get(start..self.strings_end)?;
        let len = tail.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&tail[..len]).ok()
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, BtfError> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(BtfError::Malformed(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a small BTF blob:
    /// 1 int; 2 struct inner { int a; int b; };
    /// 3 typedef inner_t = 2; 4 union (anonymous) { int u; };
    /// 5 struct outer { int x; inner_t in; union { int u; }; int bits:3 };
    fn sample() -> Vec<u8> {
        let strings = b"\0int\0inner\0a\0b\0inner_t\0outer\0x\0in\0u\0bits\0";
        let off = |s: &str| {
            let needle = format!("\0{s}\0");
            strings
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .unwrap() as u32
                + 1
        };
        let mut types: Vec<u32> = Vec::new();
        let info = |kind: u32, vlen: u32, flag: bool| (u32::from(flag) << 31) | (kind << 24) | vlen;
        // 1: int, size 4, encoding word.
        types.extend([off("int"), info(KIND_INT, 0, false), 4, 32]);
        // 2: struct inner, size 8.
        types.extend([off("inner"), info(KIND_STRUCT, 2, false), 8]);
        types.extend([off("a"), 1, 0, off("b"), 1, 32]);
        // 3: typedef inner_t -> 2.
        types.extend([off("inner_t"), info(KIND_TYPEDEF, 0, false), 2]);
        // 4: anonymous union, size 4.
        types.extend([0, info(KIND_UNION, 1, false), 4]);
        types.extend([off("u"), 1, 0]);
        // 5: struct outer, size 20, with a bit field (kind_flag).
        types.extend([off("outer"), info(KIND_STRUCT, 4, true), 20]);
        types.extend([off("x"), 1, 0, off("in"), 3, 32, 0, 4, 96]);
        types.extend([off("bits"), 1, (3 << 24) | 128]);
        let type_bytes: Vec<u8> = types.iter().flat_map(|v| v.to_ne_bytes()).collect();
        let mut blob = Vec::new();
        blob.extend(MAGIC.to_ne_bytes());
        blob.extend([1u8, 0]);
        for v in [
            24u32,
            0,
            type_bytes.len() as u32,
            type_bytes.len() as u32,
            strings.len() as u32,
        ] {
            blob.extend(v.to_ne_bytes());
        }
        blob.extend(type_bytes);
        blob.extend(strings);
        blob
    }

    #[test]
    fn finds_nested_typedef_and_anonymous_members() {
        let btf = Btf::parse(sample()).unwrap();
        assert_eq!(btf.member_offset("outer", "x"), Some(0));
        assert_eq!(btf.member_offset("outer", "in"), Some(4));
        assert_eq!(btf.member_offset("outer", "in.b"), Some(8));
        assert_eq!(btf.member_offset("outer", "u"), Some(12));
        assert_eq!(btf.member_offset("inner", "b"), Some(4));
        // Bit fields have no byte offset; unknown names have none at all.
        assert_eq!(btf.member_offset("outer", "bits"), None);
        assert_eq!(btf.member_offset("outer", "nope"), None);
        assert_eq!(btf.member_offset("missing", "x"), None);
    }

    #[test]
    fn a_cut_keeps_every_id_up_to_it() {
        let btf = Btf::parse(sample()).unwrap();
        assert_eq!(btf.typedef_id("inner_t"), Some(3));
        assert_eq!(btf.typedef_id("inner"), None);
        let cut = Btf::parse(btf.through_type(3).unwrap()).unwrap();
        assert_eq!(cut.types.len(), 3);
        assert_eq!(cut.typedef_id("inner_t"), Some(3));
        assert_eq!(cut.member_offset("inner", "b"), Some(4));
        assert_eq!(cut.member_offset("outer", "x"), None);
        let whole = Btf::parse(btf.through_type(5).unwrap()).unwrap();
        assert_eq!(whole.member_offset("outer", "in.b"), Some(8));
        assert!(btf.through_type(0).is_none());
        assert!(btf.through_type(6).is_none());
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(Btf::parse(vec![0; 32]), Err(BtfError::Magic(0))));
        let mut truncated = sample();
        truncated.truncate(40);
        assert!(Btf::parse(truncated).is_err());
    }

    /// The running kernel's BTF (the test machines' kernels have it).
    #[test]
    fn reads_the_kernels_btf() {
        let btf = Btf::read(Path::new("/sys/kernel/btf/vmlinux"))
            .expect("kernel BTF (CONFIG_DEBUG_INFO_BTF)");
        if cfg!(target_arch = "x86_64") {
            // thread_info opens task_struct; status follows flags and
            // syscall_work.
            assert_eq!(btf.member_offset("task_struct", "thread_info"), Some(0));
            assert_eq!(
                btf.member_offset("task_struct", "thread_info.status"),
                Some(16)
            );
        }
        assert!(btf.member_offset("task_struct", "pid").is_some());
    }
}
