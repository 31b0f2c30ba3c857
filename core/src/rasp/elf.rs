//! Just enough ELF to find where a function's bytes live in its file: the program headers (32 and
//! 64-bit, little-endian), the virtual address → file offset translation through the `PT_LOAD`
//! segment containing it, the GNU build ID that tells whether a file on disk is the one mapped, and
//! whether a loaded image really exports a symbol (its `PT_DYNAMIC` hash table and `.dynsym`).
//!
//! Every offset and size comes from memory or a file an attacker may have crafted: all arithmetic is
//! checked (an overflow is `None`, never a panic across the FFI in builds with overflow checks).

pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_NOTE: u32 = 4;
pub const PF_X: u32 = 1;
const NT_GNU_BUILD_ID: u32 = 3;

/// Size of a program header entry: exactly these, or the table is not one this code understands.
const PHENT64: u16 = 56;
const PHENT32: u16 = 32;

/// One program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub kind: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// Where the program header table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub is64: bool,
    pub phoff: u64,
    pub phentsize: u16,
    pub phnum: u16,
}

impl Header {
    /// Byte range of the program header table in the file (it is mapped at the same offset).
    pub fn table_len(&self) -> u64 {
        u64::from(self.phentsize) * u64::from(self.phnum)
    }
}

fn field<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}
fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(field(b, at)?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(field(b, at)?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(field(b, at)?))
}

/// The ELF identification and header: `None` unless a little-endian ELF32/ELF64 (every Android and
/// desktop Linux ABI the SDK ships on) with program header entries of exactly the standard size.
pub fn header(b: &[u8]) -> Option<Header> {
    if b.get(..4)? != b"\x7fELF" || *b.get(5)? != 1 {
        return None;
    }
    let is64 = match b.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let (phoff, phentsize, phnum) = if is64 {
        (u64_at(b, 32)?, u16_at(b, 54)?, u16_at(b, 56)?)
    } else {
        (u64::from(u32_at(b, 28)?), u16_at(b, 42)?, u16_at(b, 44)?)
    };
    let expected = if is64 { PHENT64 } else { PHENT32 };
    if phentsize != expected || phnum == 0 || phnum > 512 {
        return None;
    }
    Some(Header {
        is64,
        phoff,
        phentsize,
        phnum,
    })
}

/// Parses the program header table (`table` = the `table_len` bytes at `phoff`).
pub fn segments(h: &Header, table: &[u8]) -> Option<Vec<Segment>> {
    let size = usize::from(h.phentsize);
    (0..usize::from(h.phnum))
        .map(|i| {
            let at = i.checked_mul(size)?;
            let e = table.get(at..at.checked_add(size)?)?;
            Some(if h.is64 {
                Segment {
                    kind: u32_at(e, 0)?,
                    flags: u32_at(e, 4)?,
                    offset: u64_at(e, 8)?,
                    vaddr: u64_at(e, 16)?,
                    filesz: u64_at(e, 32)?,
                    memsz: u64_at(e, 40)?,
                }
            } else {
                Segment {
                    kind: u32_at(e, 0)?,
                    offset: u64::from(u32_at(e, 4)?),
                    vaddr: u64::from(u32_at(e, 8)?),
                    filesz: u64::from(u32_at(e, 16)?),
                    memsz: u64::from(u32_at(e, 20)?),
                    flags: u32_at(e, 24)?,
                }
            })
        })
        .collect()
}

/// The load bias of an object: its run-time address minus its link-time virtual address, from the
/// address at which file offset 0 is mapped (the object's first mapping). The first `PT_LOAD` maps
/// its page-aligned file offset at its page-aligned address, so `base + offset - vaddr` holds.
pub fn load_bias(segs: &[Segment], base: u64) -> Option<u64> {
    let first = segs
        .iter()
        .filter(|s| s.kind == PT_LOAD)
        .min_by_key(|s| s.vaddr)?;
    // A first segment not starting at file offset 0 is rejected rather than guessed: every linker
    // puts the ELF header in the first PT_LOAD, so offset 0 is mapped at its (page-aligned) vaddr.
    if first.offset != 0 {
        return None;
    }
    base.checked_sub(first.vaddr)
}

/// The file offset holding the byte at link-time address `vaddr`, if an executable `PT_LOAD` maps it
/// from the file (not from its zero-filled tail), with `len` bytes available in the segment.
pub fn exec_file_offset(segs: &[Segment], vaddr: u64, len: u64) -> Option<u64> {
    let end = vaddr.checked_add(len)?;
    segs.iter()
        .filter(|s| s.kind == PT_LOAD && s.flags & PF_X != 0)
        .find(|s| vaddr >= s.vaddr && s.vaddr.checked_add(s.filesz).is_some_and(|e| end <= e))
        .and_then(|s| s.offset.checked_add(vaddr.checked_sub(s.vaddr)?))
}

/// The GNU build ID in a `PT_NOTE` segment's bytes.
pub fn build_id(note: &[u8]) -> Option<&[u8]> {
    let mut pos = 0usize;
    while pos.checked_add(12)? <= note.len() {
        let namesz = usize::try_from(u32_at(note, pos)?).ok()?;
        let descsz = usize::try_from(u32_at(note, pos.checked_add(4)?)?).ok()?;
        let kind = u32_at(note, pos.checked_add(8)?)?;
        let name_at = pos.checked_add(12)?;
        let desc_at = name_at.checked_add(namesz.checked_next_multiple_of(4)?)?;
        let next = desc_at.checked_add(descsz.checked_next_multiple_of(4)?)?;
        if kind == NT_GNU_BUILD_ID && note.get(name_at..name_at.checked_add(namesz)?)? == b"GNU\0" {
            return note.get(desc_at..desc_at.checked_add(descsz)?);
        }
        pos = next;
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Dynamic symbols of a loaded image.

const DT_NULL: u64 = 0;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_STRSZ: u64 = 10;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const SHN_UNDEF: u16 = 0;
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;
/// Chain steps followed per lookup: a hash chain longer than this is not a real one.
const MAX_CHAIN: usize = 4096;
/// `PT_DYNAMIC` entries read.
const MAX_DYNAMIC: u64 = 512;

/// A loaded image, as far as a symbol lookup needs it: where it is and how to read it.
pub struct Loaded<'a> {
    pub is64: bool,
    /// Run-time address minus link-time address.
    pub bias: u64,
    /// `[start, end)` of the image in memory: every address used must lie inside.
    pub span: (u64, u64),
    pub segs: &'a [Segment],
    /// Reads memory at an address, filling the whole buffer or failing.
    pub read: &'a dyn Fn(u64, &mut [u8]) -> bool,
}

impl Loaded<'_> {
    fn bytes<const N: usize>(&self, addr: u64) -> Option<[u8; N]> {
        let end = addr.checked_add(N as u64)?;
        if addr < self.span.0 || end > self.span.1 {
            return None;
        }
        let mut b = [0u8; N];
        (self.read)(addr, &mut b).then_some(b)
    }
    /// `len` bytes at `addr`, all inside the image.
    fn slice(&self, addr: u64, len: u64) -> Option<Vec<u8>> {
        let end = addr.checked_add(len)?;
        if addr < self.span.0 || end > self.span.1 || len > 4096 {
            return None;
        }
        let mut b = vec![0u8; usize::try_from(len).ok()?];
        (self.read)(addr, &mut b).then_some(b)
    }
    fn u32(&self, addr: u64) -> Option<u32> {
        self.bytes::<4>(addr).map(u32::from_le_bytes)
    }
    fn word(&self, addr: u64) -> Option<u64> {
        if self.is64 {
            self.bytes::<8>(addr).map(u64::from_le_bytes)
        } else {
            self.u32(addr).map(u64::from)
        }
    }
    fn word_size(&self) -> u64 {
        if self.is64 { 8 } else { 4 }
    }

    /// A `d_ptr` value as a run-time address. The bionic linker leaves `.dynamic` as linked
    /// (link-time addresses); glibc's ld.so rewrites most pointers in place to run-time ones. A value
    /// inside the image is taken as already relocated; otherwise the bias is added.
    fn pointer(&self, v: u64) -> Option<u64> {
        let at = if (self.span.0..self.span.1).contains(&v) {
            v
        } else {
            self.bias.checked_add(v)?
        };
        (self.span.0..self.span.1).contains(&at).then_some(at)
    }

    /// Whether the image's dynamic symbol table defines `name` as a global or weak symbol (found
    /// through `DT_GNU_HASH` or `DT_HASH`, as the dynamic linker finds it): `None` when the image
    /// has no usable dynamic section or hash table.
    pub fn exports(&self, name: &[u8]) -> Option<bool> {
        let dynamic = self.segs.iter().find(|s| s.kind == PT_DYNAMIC)?;
        let mut at = self.bias.checked_add(dynamic.vaddr)?;
        let entry = self.word_size().checked_mul(2)?;
        let count = (dynamic.memsz / entry).min(MAX_DYNAMIC);
        let (mut strtab, mut strsz, mut symtab, mut gnu, mut sysv) = (None, None, None, None, None);
        for _ in 0..count {
            let tag = self.word(at)?;
            let val = self.word(at.checked_add(self.word_size())?)?;
            match tag {
                DT_NULL => break,
                DT_STRTAB => strtab = Some(val),
                DT_STRSZ => strsz = Some(val),
                DT_SYMTAB => symtab = Some(val),
                DT_GNU_HASH => gnu = Some(val),
                DT_HASH => sysv = Some(val),
                _ => {}
            }
            at = at.checked_add(entry)?;
        }
        let table = Symbols {
            image: self,
            strtab: self.pointer(strtab?)?,
            strsz: strsz?,
            symtab: self.pointer(symtab?)?,
        };
        if let Some(gnu) = gnu.and_then(|g| self.pointer(g)) {
            return table.gnu_lookup(gnu, name);
        }
        table.sysv_lookup(self.pointer(sysv?)?, name)
    }
}

struct Symbols<'a, 'b> {
    image: &'a Loaded<'b>,
    strtab: u64,
    strsz: u64,
    symtab: u64,
}

impl Symbols<'_, '_> {
    /// Whether symbol `index` is a defined global/weak symbol called `name`.
    fn is_definition(&self, index: u64, name: &[u8]) -> Option<bool> {
        let img = self.image;
        let size: u64 = if img.is64 { 24 } else { 16 };
        let sym = self.symtab.checked_add(index.checked_mul(size)?)?;
        let st_name = u64::from(img.u32(sym)?);
        let (info, shndx) = if img.is64 {
            let b = img.bytes::<4>(sym.checked_add(4)?)?;
            (b[0], u16::from_le_bytes([b[2], b[3]]))
        } else {
            let b = img.bytes::<4>(sym.checked_add(12)?)?;
            (b[0], u16::from_le_bytes([b[2], b[3]]))
        };
        let len = u64::try_from(name.len()).ok()?;
        if st_name.checked_add(len)? >= self.strsz {
            return Some(false);
        }
        // The name and its NUL.
        let got = img.slice(self.strtab.checked_add(st_name)?, len.checked_add(1)?)?;
        if got.get(..name.len())? != name || got.last() != Some(&0) {
            return Some(false);
        }
        let binding = info >> 4;
        Some(shndx != SHN_UNDEF && (binding == STB_GLOBAL || binding == STB_WEAK))
    }

    /// `DT_GNU_HASH` lookup (the layout every Android and modern Linux object has).
    fn gnu_lookup(&self, table: u64, name: &[u8]) -> Option<bool> {
        let img = self.image;
        let nbuckets = u64::from(img.u32(table)?);
        let symoffset = u64::from(img.u32(table.checked_add(4)?)?);
        let bloom_size = u64::from(img.u32(table.checked_add(8)?)?);
        if nbuckets == 0 {
            return Some(false);
        }
        let hash = name.iter().fold(5381u32, |h, &c| {
            h.wrapping_mul(33).wrapping_add(u32::from(c))
        });
        let buckets = table
            .checked_add(16)?
            .checked_add(bloom_size.checked_mul(img.word_size())?)?;
        let chains = buckets.checked_add(nbuckets.checked_mul(4)?)?;
        let mut index = u64::from(img.u32(buckets.checked_add((u64::from(hash) % nbuckets) * 4)?)?);
        if index == 0 || index < symoffset {
            return Some(false);
        }
        for _ in 0..MAX_CHAIN {
            let chain =
                img.u32(chains.checked_add(index.checked_sub(symoffset)?.checked_mul(4)?)?)?;
            if chain | 1 == hash | 1 && self.is_definition(index, name)? {
                return Some(true);
            }
            if chain & 1 != 0 {
                return Some(false);
            }
            index = index.checked_add(1)?;
        }
        Some(false)
    }

    /// `DT_HASH` lookup (SysV), for objects built without a GNU hash table.
    fn sysv_lookup(&self, table: u64, name: &[u8]) -> Option<bool> {
        let img = self.image;
        let nbucket = u64::from(img.u32(table)?);
        let nchain = u64::from(img.u32(table.checked_add(4)?)?);
        if nbucket == 0 {
            return Some(false);
        }
        let hash = name.iter().fold(0u32, |h, &c| {
            let h = (h << 4).wrapping_add(u32::from(c));
            let g = h & 0xf000_0000;
            (h ^ (g >> 24)) & !g
        });
        let buckets = table.checked_add(8)?;
        let chains = buckets.checked_add(nbucket.checked_mul(4)?)?;
        let mut index = u64::from(img.u32(buckets.checked_add((u64::from(hash) % nbucket) * 4)?)?);
        for _ in 0..MAX_CHAIN {
            if index == 0 || index >= nchain {
                return Some(false);
            }
            if self.is_definition(index, name)? {
                return Some(true);
            }
            index = u64::from(img.u32(chains.checked_add(index.checked_mul(4)?)?)?);
        }
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// An ELF64 header followed by `segs` as its program header table.
    fn elf64(segs: &[Segment]) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        for s in segs {
            let mut e = [0u8; 56];
            e[0..4].copy_from_slice(&s.kind.to_le_bytes());
            e[4..8].copy_from_slice(&s.flags.to_le_bytes());
            e[8..16].copy_from_slice(&s.offset.to_le_bytes());
            e[16..24].copy_from_slice(&s.vaddr.to_le_bytes());
            e[32..40].copy_from_slice(&s.filesz.to_le_bytes());
            e[40..48].copy_from_slice(&s.memsz.to_le_bytes());
            b.extend_from_slice(&e);
        }
        b
    }

    fn seg(kind: u32, flags: u32, offset: u64, vaddr: u64, filesz: u64) -> Segment {
        Segment {
            kind,
            flags,
            offset,
            vaddr,
            filesz,
            memsz: filesz.saturating_add(0x100),
        }
    }

    #[test]
    fn addresses_translate_through_the_executable_load_segment() {
        // Like lld output: r-- at 0, r-x at a different offset than its vaddr, rw- after it.
        let segs = vec![
            seg(PT_LOAD, 4, 0, 0, 0x5000),
            seg(PT_LOAD, 5, 0x5000, 0x6000, 0x20000),
            seg(PT_LOAD, 6, 0x25000, 0x27000, 0x1000),
            seg(PT_NOTE, 4, 0x300, 0x300, 0x24),
        ];
        let bytes = elf64(&segs);
        let h = header(&bytes).unwrap();
        assert!(h.is64 && h.phnum == 4 && h.phoff == 64);
        let parsed = segments(&h, &bytes[64..]).unwrap();
        assert_eq!(parsed, segs);
        let bias = load_bias(&parsed, 0x7f00_0000_0000).unwrap();
        assert_eq!(bias, 0x7f00_0000_0000);
        // A function at run-time address bias + 0x6010 is at file offset 0x5010.
        assert_eq!(exec_file_offset(&parsed, 0x6010, 16), Some(0x5010));
        // Not executable (rodata), past the file bytes, or straddling the end: no offset.
        assert_eq!(exec_file_offset(&parsed, 0x100, 16), None);
        assert_eq!(exec_file_offset(&parsed, 0x26000 - 8, 16), None);
        assert_eq!(exec_file_offset(&parsed, 0x27010, 16), None);
        // Prelinked (non-zero first vaddr) objects keep the arithmetic right.
        let pre = [seg(PT_LOAD, 5, 0, 0x40_0000, 0x1000)];
        assert_eq!(load_bias(&pre, 0x7f00_0040_0000), Some(0x7f00_0000_0000));
        assert_eq!(exec_file_offset(&pre, 0x40_0800, 16), Some(0x800));
    }

    #[test]
    fn elf32_and_bad_headers() {
        let mut b = vec![0u8; 52 + 32];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 1;
        b[5] = 1;
        b[28..32].copy_from_slice(&52u32.to_le_bytes());
        b[42..44].copy_from_slice(&32u16.to_le_bytes());
        b[44..46].copy_from_slice(&1u16.to_le_bytes());
        let e = &mut b[52..];
        e[0..4].copy_from_slice(&PT_LOAD.to_le_bytes());
        e[4..8].copy_from_slice(&0x1000u32.to_le_bytes()); // offset
        e[8..12].copy_from_slice(&0x2000u32.to_le_bytes()); // vaddr
        e[16..20].copy_from_slice(&0x800u32.to_le_bytes()); // filesz
        e[24..28].copy_from_slice(&5u32.to_le_bytes()); // R|X
        let h = header(&b).unwrap();
        assert!(!h.is64);
        let s = segments(&h, &b[52..]).unwrap();
        assert_eq!(exec_file_offset(&s, 0x2100, 4), Some(0x1100));
        assert!(header(b"\x7fELF\x02\x02").is_none(), "big-endian");
        assert!(header(b"MZ\x90\x00").is_none());
        assert!(header(&b[..20]).is_none(), "truncated");
    }

    #[test]
    fn build_id_is_found_among_notes() {
        let mut note = Vec::new();
        // An ABI tag note first, then the build ID.
        note.extend_from_slice(&4u32.to_le_bytes());
        note.extend_from_slice(&16u32.to_le_bytes());
        note.extend_from_slice(&1u32.to_le_bytes());
        note.extend_from_slice(b"GNU\0");
        note.extend_from_slice(&[0u8; 16]);
        note.extend_from_slice(&4u32.to_le_bytes());
        note.extend_from_slice(&20u32.to_le_bytes());
        note.extend_from_slice(&3u32.to_le_bytes());
        note.extend_from_slice(b"GNU\0");
        note.extend_from_slice(&[0xAB; 20]);
        assert_eq!(build_id(&note), Some(&[0xAB; 20][..]));
        assert_eq!(build_id(&note[..40]), None);
    }

    #[test]
    fn program_header_entries_must_have_the_standard_size() {
        let mut b = elf64(&[seg(PT_LOAD, 5, 0, 0, 0x1000)]);
        assert!(header(&b).is_some());
        for size in [57u16, 64, 32, 0xffff] {
            b[54..56].copy_from_slice(&size.to_le_bytes());
            assert!(header(&b).is_none(), "phentsize {size}");
        }
        // Offsets and sizes near u64::MAX never panic, they fail.
        let huge = [seg(PT_LOAD, 5, u64::MAX - 4, u64::MAX - 8, u64::MAX)];
        assert_eq!(exec_file_offset(&huge, u64::MAX - 4, 16), None);
        assert_eq!(exec_file_offset(&huge, u64::MAX - 7, 2), None);
        let mut note = Vec::new();
        note.extend_from_slice(&u32::MAX.to_le_bytes());
        note.extend_from_slice(&u32::MAX.to_le_bytes());
        note.extend_from_slice(&3u32.to_le_bytes());
        assert_eq!(build_id(&note), None);
    }

    /// A loaded image in a byte vector at `BASE` with a dynamic section, a string table, three
    /// symbols and a GNU (or SysV) hash table; `absolute` = pointers already relocated (glibc).
    const BASE: u64 = 0x7f00_0000_0000;
    fn image(sysv: bool, absolute: bool, shndx: u16) -> Vec<u8> {
        let mut m = vec![0u8; 0x600];
        let ptr = |v: u64| if absolute { v + BASE } else { v };
        let put = |m: &mut Vec<u8>, at: usize, b: &[u8]| m[at..at + b.len()].copy_from_slice(b);
        let strtab = b"\0other\0frida_agent_main\0";
        put(&mut m, 0x200, strtab);
        let mut dynamic = vec![
            (DT_STRTAB, ptr(0x200)),
            (DT_STRSZ, strtab.len() as u64),
            (DT_SYMTAB, ptr(0x300)),
        ];
        dynamic.push(if sysv {
            (DT_HASH, ptr(0x500))
        } else {
            (DT_GNU_HASH, ptr(0x400))
        });
        dynamic.push((DT_NULL, 0));
        for (i, (tag, val)) in dynamic.iter().enumerate() {
            put(&mut m, 0x100 + i * 16, &tag.to_le_bytes());
            put(&mut m, 0x108 + i * 16, &val.to_le_bytes());
        }
        // Elf64_Sym: name u32, info u8, other u8, shndx u16, value u64, size u64.
        for (i, (name, ndx)) in [(0u32, 0u16), (1, 7), (7, shndx)].iter().enumerate() {
            let at = 0x300 + i * 24;
            put(&mut m, at, &name.to_le_bytes());
            m[at + 4] = 0x12; // GLOBAL FUNC
            put(&mut m, at + 6, &ndx.to_le_bytes());
        }
        let gnu = |n: &[u8]| {
            n.iter().fold(5381u32, |h, &c| {
                h.wrapping_mul(33).wrapping_add(u32::from(c))
            })
        };
        // GNU hash: 1 bucket, symoffset 1, 1 bloom word; chain of symbols 1 and 2.
        for (i, v) in [1u32, 1, 1, 0].iter().enumerate() {
            put(&mut m, 0x400 + i * 4, &v.to_le_bytes());
        }
        put(&mut m, 0x410, &u64::MAX.to_le_bytes());
        put(&mut m, 0x418, &1u32.to_le_bytes());
        put(&mut m, 0x41c, &(gnu(b"other") & !1).to_le_bytes());
        put(&mut m, 0x420, &(gnu(b"frida_agent_main") | 1).to_le_bytes());
        // SysV: 1 bucket → symbol 2 → symbol 1 → end.
        for (i, v) in [1u32, 3, 2, 0, 0, 1].iter().enumerate() {
            put(&mut m, 0x500 + i * 4, &v.to_le_bytes());
        }
        m
    }

    fn exports(mem: &[u8], name: &[u8]) -> Option<bool> {
        let read = |addr: u64, buf: &mut [u8]| {
            let at = (addr - BASE) as usize;
            match mem.get(at..at + buf.len()) {
                Some(b) => {
                    buf.copy_from_slice(b);
                    true
                }
                None => false,
            }
        };
        let segs = [
            seg(PT_LOAD, 5, 0, 0, mem.len() as u64),
            Segment {
                kind: PT_DYNAMIC,
                flags: 6,
                offset: 0x100,
                vaddr: 0x100,
                filesz: 0x60,
                memsz: 0x60,
            },
        ];
        Loaded {
            is64: true,
            bias: BASE,
            span: (BASE, BASE + mem.len() as u64),
            segs: &segs,
            read: &read,
        }
        .exports(name)
    }

    #[test]
    fn exported_symbols_are_found_through_the_hash_tables() {
        for sysv in [false, true] {
            for absolute in [false, true] {
                let m = image(sysv, absolute, 7);
                assert_eq!(
                    exports(&m, b"frida_agent_main"),
                    Some(true),
                    "{sysv} {absolute}"
                );
                assert_eq!(exports(&m, b"other"), Some(true));
                assert_eq!(exports(&m, b"frida_agent"), Some(false));
                assert_eq!(exports(&m, b"gum-js-loop"), Some(false));
                // Imported (undefined) is not exported.
                let m = image(sysv, absolute, 0);
                assert_eq!(exports(&m, b"frida_agent_main"), Some(false));
            }
        }
        // A corrupted dynamic section or hash table fails without panicking.
        let mut m = image(false, false, 7);
        m[0x400..0x404].copy_from_slice(&u32::MAX.to_le_bytes());
        m[0x408..0x40c].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_ne!(exports(&m, b"frida_agent_main"), Some(true));
        let mut m = image(false, false, 7);
        for at in (0x100..0x150).step_by(8) {
            m[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        }
        assert_eq!(exports(&m, b"frida_agent_main"), None);
    }
}
