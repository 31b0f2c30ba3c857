//! Frida by what it maps, not by what it is called: the strings a Frida agent or gadget carries (its
//! entry point, its JavaScript thread, the GLib type names of its runtime, the RPC tag of its JS
//! runtime), searched in the memory of mapped images with executable code and of anonymous or non-ELF
//! executable memory, read through /proc/self/mem with raw `pread64` (no libc wrapper to hook).
//!
//! What counts: anti-Frida detectors (DetectFrida, the OWASP MASTG samples, security SDKs) keep
//! `gum-js-loop`, `frida:rpc`, `frida_agent_main` and the like in clear to look for them, so those
//! alone prove nothing. An image is reported only when it holds a string only Frida's runtime carries
//! (`GumInterceptor`, `FridaScriptEngine`: GLib type names Gum and frida-core register) **and** either
//! really exports `frida_agent_main` (its `PT_DYNAMIC` hash table and `.dynsym`, read from memory) or
//! holds at least [`MIN_DISTINCT`] of the strings.
//!
//! An image is an ELF object as loaded: from the mapping holding its ELF header over the span its
//! program headers give (read from memory), so a library loaded straight from an APK is one image and
//! the rest of the APK (dex, resources) is not scanned. Not scanned: system libraries (/system, /apex,
//! /vendor, /usr/lib, /lib, the boot image's dalvik-cache, …: an attacker who can write there has root,
//! which the root checks report), the app's own compiled dex (/data/app/…/oat/, ART `.odex`/`.oat`
//! images that export `oatdata`, and `.vdex`/`.art`/`.dex`/`.apk`/`.jar` mappings that are not ELF
//! images: Android 6–7 odex files embed the app's dex, whose strings may be a detector's), the image
//! holding this code (our own test binaries carry these strings in clear; the library itself never
//! holds them in clear: the needles are stored XOR-encoded and decoded at run time) and pseudo mappings
//! ([vdso]). An anonymous executable mapping alone is not a finding (libffi closures behind JNA
//! callbacks, JITs): only what it contains.
//!
//! The work is bounded per run: at most [`SCAN_BUDGET`] bytes are read, a hard stop inside an image;
//! the next run resumes at the saved (image, address). Images never seen before go first. Images
//! read whole are remembered (by path, inode, base address and a hash of their ELF header and program
//! headers in memory) and not read again. Memory that cannot be remembered (anonymous or non-ELF
//! executable memory such as ART's JIT cache, whose content changes; a file mapping whose ELF header
//! is unusable, whose readable mappings are then all scanned) gets at most [`UNCACHEABLE_SHARE`] of a
//! run, in rotation, and only its resident pages (`mincore`): reading untouched pages of a memfd would
//! allocate them. `skipped` lists `hooking.memory` only when the budget ran out in
//! [`STARVED_RUNS`] consecutive runs.

// Only live where there is a /proc (Linux, Android); compiled everywhere for the shared code.
#![cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]

use super::maps::Mapping;
use super::{Finding, SkippedCheck};

/// XOR key of the encoded strings below.
const KEY: u8 = 0xA7;

/// Frida's strings, XOR-encoded with [`KEY`] (see `tests::needles_decode`): `frida_agent_main` (the
/// agent's entry point, in its dynamic symbol table), `gum-js-loop` (the JS thread's name),
/// `GumInterceptor` and `FridaScriptEngine` (GLib type names), `frida:rpc` (the JS runtime's RPC tag).
const NEEDLES: &[&[u8]] = &[
    &[
        0xC1, 0xD5, 0xCE, 0xC3, 0xC6, 0xF8, 0xC6, 0xC0, 0xC2, 0xC9, 0xD3, 0xF8, 0xCA, 0xC6, 0xCE,
        0xC9,
    ],
    &[
        0xC0, 0xD2, 0xCA, 0x8A, 0xCD, 0xD4, 0x8A, 0xCB, 0xC8, 0xC8, 0xD7,
    ],
    &[
        0xE0, 0xD2, 0xCA, 0xEE, 0xC9, 0xD3, 0xC2, 0xD5, 0xC4, 0xC2, 0xD7, 0xD3, 0xC8, 0xD5,
    ],
    &[0xC1, 0xD5, 0xCE, 0xC3, 0xC6, 0x9D, 0xD5, 0xD7, 0xC4],
    &[
        0xE1, 0xD5, 0xCE, 0xC3, 0xC6, 0xF4, 0xC4, 0xD5, 0xCE, 0xD7, 0xD3, 0xE2, 0xC9, 0xC0, 0xCE,
        0xC9, 0xC2,
    ],
];

/// Index of `frida_agent_main` in [`NEEDLES`] (also looked up with dlsym).
const AGENT_ENTRY: usize = 0;

/// The Frida agent's entry point symbol, decoded.
pub fn agent_entry() -> String {
    NEEDLES
        .get(AGENT_ENTRY)
        .map(|n| decode_str(n))
        .unwrap_or_default()
}

/// Frida's thread names, encoded like the needles: `gum-js-loop`, `pool-frida`, `frida-main`,
/// `linjector`.
const THREAD_NAMES: &[&[u8]] = &[
    &[
        0xC0, 0xD2, 0xCA, 0x8A, 0xCD, 0xD4, 0x8A, 0xCB, 0xC8, 0xC8, 0xD7,
    ],
    &[0xD7, 0xC8, 0xC8, 0xCB, 0x8A, 0xC1, 0xD5, 0xCE, 0xC3, 0xC6],
    &[0xC1, 0xD5, 0xCE, 0xC3, 0xC6, 0x8A, 0xCA, 0xC6, 0xCE, 0xC9],
    &[0xCB, 0xCE, 0xC9, 0xCD, 0xC2, 0xC4, 0xD3, 0xC8, 0xD5],
];

/// Needles only Frida's own runtime carries (bits of [`NEEDLES`]): `GumInterceptor` and
/// `FridaScriptEngine`, GLib type names. A detector's list of what to look for names threads, RPC tags
/// and files, not these.
const RUNTIME_ONLY: u32 = (1 << 2) | (1 << 4);

/// Distinct needles that, with a runtime-only one, make an image Frida without the export.
pub const MIN_DISTINCT: usize = 3;

/// Bytes of memory read per run, a hard stop. 8 MiB: about 10–40 ms on a phone (a `pread` copy from
/// /proc/self/mem plus one pass of the byte matcher, slower on low-end armv7), about one camera frame,
/// at the ~1 Hz the session re-checks; the app's own native libraries (typically 5–80 MiB, system
/// libraries excluded) are then covered within the first few runs of a capture, new images first.
pub const SCAN_BUDGET: u64 = 8 << 20;

/// Of [`SCAN_BUDGET`], the most a run spends on memory that cannot be remembered clean.
pub const UNCACHEABLE_SHARE: u64 = 2 << 20;

/// Consecutive runs whose budget ran out before every target had been read once, before the report
/// lists `hooking.memory` as skipped (one or two such runs are the normal start of a capture).
pub const STARVED_RUNS: u32 = 3;

/// Whether needles `found` (bits of [`NEEDLES`]), with or without the entry point exported, are
/// Frida's runtime rather than a detector's list.
pub fn is_frida(found: u32, exports_entry: bool) -> bool {
    found & RUNTIME_ONLY != 0 && (exports_entry || found.count_ones() as usize >= MIN_DISTINCT)
}

pub fn decode(encoded: &[u8]) -> Vec<u8> {
    encoded.iter().map(|b| b ^ KEY).collect()
}

pub fn decode_str(encoded: &[u8]) -> String {
    String::from_utf8_lossy(&decode(encoded)).into_owned()
}

/// The decoded needles.
pub fn needles() -> Vec<Vec<u8>> {
    NEEDLES.iter().map(|n| decode(n)).collect()
}

/// The decoded Frida thread names.
pub fn thread_names() -> Vec<String> {
    THREAD_NAMES.iter().map(|n| decode_str(n)).collect()
}

/// The path without ` (deleted)`.
fn live_path(path: &str) -> &str {
    path.strip_suffix(" (deleted)").unwrap_or(path)
}

/// ART's output for the app's own dex: everything under /data/app/<package>/oat/.
fn is_app_oat_dir(path: &str) -> bool {
    path.starts_with("/data/app/") && path.contains("/oat/")
}

/// Files holding dex code or its compiled form (or an APK/JAR): scanned only as ELF images (a native
/// library stored uncompressed in an APK), never as raw executable mappings.
fn is_dex_container(path: &str) -> bool {
    let p = live_path(path);
    [".odex", ".oat", ".vdex", ".art", ".dex", ".apk", ".jar"]
        .iter()
        .any(|ext| p.ends_with(ext))
}

/// An ELF image named like ART's compiled dex (`.odex`, `.oat`).
fn is_oat_name(path: &str) -> bool {
    let p = live_path(path);
    p.ends_with(".odex") || p.ends_with(".oat")
}

/// Searches byte slices for a set of needles, remembering which were seen across calls; a needle
/// split between two chunks is found through the overlap the caller keeps.
pub struct Matcher {
    needles: Vec<Vec<u8>>,
    /// Per first byte, the bit set of needles starting with it.
    first: [u32; 256],
    pub found: u32,
}

impl Matcher {
    pub fn new(needles: Vec<Vec<u8>>) -> Self {
        let mut first = [0u32; 256];
        for (i, n) in needles.iter().enumerate().take(32) {
            if let Some(&b) = n.first() {
                first[usize::from(b)] |= 1 << i;
            }
        }
        Self {
            needles,
            first,
            found: 0,
        }
    }

    /// The longest needle's length minus one: how much of a chunk's end to carry into the next.
    pub fn overlap(&self) -> usize {
        self.needles
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(1)
            .saturating_sub(1)
    }

    pub fn feed(&mut self, hay: &[u8]) {
        for (i, &b) in hay.iter().enumerate() {
            let mut cand = self.first[usize::from(b)] & !self.found;
            while cand != 0 {
                let j = cand.trailing_zeros() as usize;
                cand &= cand - 1;
                if hay[i..].starts_with(&self.needles[j]) {
                    self.found |= 1 << j;
                }
            }
        }
    }

    #[cfg(test)]
    pub fn distinct(&self) -> usize {
        self.found.count_ones() as usize
    }

    /// The needles found, as text, in needle order.
    #[cfg(test)]
    pub fn found_names(&self) -> Vec<String> {
        self.names_of(self.found)
    }

    /// The needles of bit set `found`, as text, in needle order.
    pub fn names_of(&self, found: u32) -> Vec<String> {
        (0..self.needles.len())
            .filter(|j| found & (1 << j) != 0)
            .map(|j| String::from_utf8_lossy(&self.needles[j]).into_owned())
            .collect()
    }
}

/// What one run of the scan did (for tests and measurements).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Bytes of image and region content read (the budgeted work).
    pub bytes_read: u64,
    /// Bytes of ELF headers, program headers and dynamic tables read to delimit and key images.
    pub header_bytes: u64,
    /// Wall time of the scan, µs.
    pub micros: u64,
    /// Images not yet read whole, and regions not yet read once, after the run.
    pub pending: usize,
    /// Consecutive runs (this one included) that ended with targets pending.
    pub starved_runs: u32,
}

/// Scans the process's mapped images; findings for those holding Frida's runtime.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn scan(all: &[Mapping], skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
    live::scan(all, skipped)
}

/// No /proc/self/mem: nothing to scan (the caller lists the check as skipped).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn scan(_all: &[Mapping], _skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
    Vec::new()
}

/// What the last run did.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn last_stats() -> ScanStats {
    live::last_stats()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn last_stats() -> ScanStats {
    ScanStats::default()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod live {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;
    use std::time::Instant;

    use sha2::{Digest, Sha256};

    use super::super::elf;
    use super::super::maps::{self, Mapping};
    use super::super::sys;
    use super::super::{Finding, Severity, SkippedCheck, Threat};
    use super::{
        AGENT_ENTRY, Matcher, NEEDLES, RUNTIME_ONLY, SCAN_BUDGET, STARVED_RUNS, ScanStats,
        UNCACHEABLE_SHARE, is_app_oat_dir, is_dex_container, is_frida, is_oat_name, needles,
    };

    /// Read size.
    const CHUNK: u64 = 1 << 20;
    /// Residency is asked for this much address space at a time (a 4 KiB vector on 4 KiB pages).
    const RESIDENCY_WINDOW: u64 = 16 << 20;
    /// `mincore` calls per run: bounds the walk over huge reserved but untouched regions.
    const MAX_RESIDENCY_CALLS: u32 = 256;
    /// Remembered verdicts (images are pruned when unmapped; this bounds a pathological process).
    const MAX_VERDICTS: usize = 4096;

    /// How much a run may read.
    #[derive(Debug, Clone, Copy)]
    pub struct Limits {
        pub budget: u64,
        pub uncacheable: u64,
        pub chunk: u64,
    }

    pub const LIMITS: Limits = Limits {
        budget: SCAN_BUDGET,
        uncacheable: UNCACHEABLE_SHARE,
        chunk: CHUNK,
    };

    /// Process memory, read at addresses (/proc/self/mem; tests give fake memory).
    pub trait Memory {
        /// Reads at `addr` into `buf`: bytes read (at most `buf.len()`), 0 when unreadable.
        fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize;

        /// Fills `buf` from `addr`, or fails.
        fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
            let mut done = 0usize;
            while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
                let Some(at) = addr.checked_add(done as u64) else {
                    return false;
                };
                let n = self.read_at(at, rest).min(rest.len());
                if n == 0 {
                    return false;
                }
                done += n;
            }
            true
        }

        /// Which pages of `[addr, addr + len)` are resident; `false` when unknown (all are read).
        fn resident(&self, _addr: u64, _len: u64, _out: &mut Vec<bool>) -> bool {
            false
        }

        fn page_size(&self) -> u64 {
            4096
        }
    }

    impl Memory for sys::File {
        fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize {
            sys::File::read_at(self, buf, addr).unwrap_or(0)
        }

        fn resident(&self, addr: u64, len: u64, out: &mut Vec<bool>) -> bool {
            sys::resident(addr, len, self.page_size(), out).is_ok()
        }

        fn page_size(&self) -> u64 {
            sys::page_size()
        }
    }

    /// An address inside this crate's code: the image holding it is not scanned.
    #[inline(never)]
    pub fn own_code_marker() -> u8 {
        std::hint::black_box(0)
    }

    /// An image, remembered once read whole: path, inode, base address, and a hash of its ELF header
    /// and program headers as they are in memory (a different object mapped at the same place under
    /// the same name, or a header rewritten since, is a different key).
    pub type ImageKey = (String, u64, u64, [u8; 16]);

    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    pub enum TargetKey {
        Image(ImageKey),
        /// Memory that is not remembered clean: (path, empty for anonymous; inode; first address).
        Region(String, u64, u64),
    }

    /// An ELF image as found in memory.
    #[derive(Debug, Clone)]
    pub struct ImageInfo {
        pub base: u64,
        pub end: u64,
        bias: u64,
        is64: bool,
        segs: Vec<elf::Segment>,
        hash: [u8; 16],
        /// Bytes read to find all this.
        cost: u64,
    }

    impl ImageInfo {
        /// Whether the image's dynamic symbol table defines `name` (`None`: no usable table).
        fn exports(&self, mem: &impl Memory, name: &[u8]) -> Option<bool> {
            let read = |addr: u64, buf: &mut [u8]| mem.read(addr, buf);
            elf::Loaded {
                is64: self.is64,
                bias: self.bias,
                span: (self.base, self.end),
                segs: &self.segs,
                read: &read,
            }
            .exports(name)
        }
    }

    /// One thing to scan.
    #[derive(Debug)]
    pub struct Target<'a> {
        pub key: TargetKey,
        /// The file, `None` for anonymous memory.
        pub path: Option<&'a str>,
        pub image: Option<ImageInfo>,
        /// Readable mappings, in address order.
        pub parts: Vec<&'a Mapping>,
    }

    impl Target<'_> {
        fn cacheable(&self) -> bool {
            matches!(self.key, TargetKey::Image(_))
        }
    }

    /// The ELF image whose header is mapped at `at`, from its headers in memory.
    fn elf_at(mem: &impl Memory, at: u64) -> Option<ImageInfo> {
        let mut head = [0u8; 64];
        if !mem.read(at, &mut head) {
            return None;
        }
        let h = elf::header(&head)?;
        let mut table = vec![0u8; usize::try_from(h.table_len()).ok()?];
        if !mem.read(at.checked_add(h.phoff)?, &mut table) {
            return None;
        }
        let segs = elf::segments(&h, &table)?;
        let bias = elf::load_bias(&segs, at)?;
        let top = segs
            .iter()
            .filter(|s| s.kind == elf::PT_LOAD)
            .filter_map(|s| s.vaddr.checked_add(s.memsz))
            .max()?;
        let end = bias.checked_add(top)?;
        let mut digest = Sha256::new();
        digest.update(head);
        digest.update(&table);
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&digest.finalize()[..16]);
        Some(ImageInfo {
            base: at,
            end,
            bias,
            is64: h.is64,
            segs,
            hash,
            cost: 64 + h.table_len(),
        })
    }

    /// The ELF image `m` belongs to: the nearest ELF header mapped at or below it from the same file
    /// whose span covers it.
    fn image_of(all: &[Mapping], m: &Mapping, mem: &impl Memory) -> Option<ImageInfo> {
        let mut below: Vec<&Mapping> = all
            .iter()
            .filter(|c| {
                c.is_file()
                    && c.read
                    && c.path == m.path
                    && c.inode == m.inode
                    && c.start <= m.start
            })
            .collect();
        below.sort_by_key(|c| std::cmp::Reverse(c.start));
        for c in below.into_iter().take(8) {
            if let Some(info) = elf_at(mem, c.start) {
                return (m.start < info.end).then_some(info);
            }
        }
        None
    }

    /// What to scan, in address order: each ELF image with an executable mapping (its readable
    /// mappings), outside the system directories, the app's compiled dex and the image holding this
    /// code; for each file with an executable mapping that is not in an ELF image (a JIT's memfd, an
    /// image whose header was wiped), all its readable mappings outside images, as one region; each
    /// anonymous executable mapping, as one region. Also returns the header bytes read.
    pub fn targets<'a>(
        all: &'a [Mapping],
        mem: &impl Memory,
        own_addr: u64,
    ) -> (Vec<Target<'a>>, u64) {
        let mut cost = 0u64;
        let own_map = maps::find(all, own_addr);
        let own_image = own_map
            .filter(|m| m.is_file())
            .and_then(|m| image_of(all, m, mem))
            .map(|i| (i.base, i.end));
        let is_own = |m: &Mapping, image: Option<(u64, u64)>| match (own_map, own_image) {
            (Some(_), Some(own)) => image == Some(own),
            // Our image's header could not be read: skip what holds our code, file-wide.
            (Some(o), None) if o.is_file() => o.path == m.path && o.inode == m.inode,
            (Some(o), None) => o == m,
            (None, _) => false,
        };
        let mut seen: BTreeSet<(&str, u64, u64)> = BTreeSet::new();
        let mut regions: BTreeSet<(&str, u64)> = BTreeSet::new();
        let mut out = Vec::new();
        for m in all.iter().filter(|m| m.is_file() && m.exec && m.read) {
            if maps::is_system_path(&m.path) || is_app_oat_dir(&m.path) {
                continue;
            }
            let image = image_of(all, m, mem);
            cost = cost.saturating_add(image.as_ref().map_or(64, |i| i.cost));
            if is_own(m, image.as_ref().map(|i| (i.base, i.end))) {
                continue;
            }
            match image {
                Some(info) => {
                    if !seen.insert((m.path.as_str(), m.inode, info.base)) {
                        continue;
                    }
                    let parts: Vec<&Mapping> = all
                        .iter()
                        .filter(|p| {
                            p.read
                                && p.path == m.path
                                && p.inode == m.inode
                                && (info.base..info.end).contains(&p.start)
                        })
                        .collect();
                    if is_oat_name(&m.path) && info.exports(mem, b"oatdata") == Some(true) {
                        continue; // ART's compiled dex, as an ELF file
                    }
                    out.push(Target {
                        key: TargetKey::Image((m.path.clone(), m.inode, info.base, info.hash)),
                        path: Some(&m.path),
                        image: Some(info),
                        parts,
                    });
                }
                None => {
                    if is_dex_container(&m.path) || !regions.insert((m.path.as_str(), m.inode)) {
                        continue;
                    }
                    // Every readable mapping of the file outside an ELF image: strings of an image
                    // whose header was wiped are in its read-only mappings, not its code.
                    let parts: Vec<&Mapping> = all
                        .iter()
                        .filter(|p| p.read && p.path == m.path && p.inode == m.inode)
                        .filter(|p| p.exec || image_of(all, p, mem).is_none())
                        .collect();
                    let first = parts.iter().map(|p| p.start).min().unwrap_or(m.start);
                    out.push(Target {
                        key: TargetKey::Region(m.path.clone(), m.inode, first),
                        path: Some(&m.path),
                        image: None,
                        parts,
                    });
                }
            }
        }
        for m in all.iter().filter(|m| m.is_anonymous() && m.exec && m.read) {
            if !is_own(m, None) {
                out.push(Target {
                    key: TargetKey::Region(String::new(), 0, m.start),
                    path: None,
                    image: None,
                    parts: vec![m],
                });
            }
        }
        (out, cost)
    }

    /// Where a partly read target resumes.
    #[derive(Debug, Clone, Default)]
    pub struct Progress {
        /// Next address to read.
        next: u64,
        /// Needles seen so far (bits).
        found: u32,
        /// Whether the image exports the agent's entry point, once asked.
        exports: Option<bool>,
        /// The last bytes read, ending at `carry_end`: a needle across a chunk boundary.
        carry: Vec<u8>,
        carry_end: u64,
    }

    /// What the scan remembers between runs.
    #[derive(Debug, Default)]
    pub struct State {
        /// Images read whole: `None` clean, `Some(evidence)` Frida.
        verdicts: BTreeMap<ImageKey, Option<String>>,
        /// Targets read in part.
        progress: BTreeMap<TargetKey, Progress>,
        /// Regions read whole at least once: the last whole pass's verdict.
        passes: BTreeMap<TargetKey, Option<String>>,
        /// The region the rotation continues with.
        next_region: Option<TargetKey>,
        starved: u32,
        stats: ScanStats,
    }

    static STATE: Mutex<Option<State>> = Mutex::new(None);

    pub fn last_stats() -> ScanStats {
        STATE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|s| s.stats)
            .unwrap_or_default()
    }

    pub fn scan(all: &[Mapping], skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
        let mem = match sys::File::open("/proc/self/mem") {
            Ok(f) => f,
            Err(e) => {
                skipped.push(SkippedCheck::new(
                    "hooking.memory",
                    format!("/proc/self/mem: {}", e.describe()),
                ));
                return Vec::new();
            }
        };
        let own = own_code_marker as *const () as usize as u64;
        let mut guard = STATE.lock().unwrap_or_else(|e| e.into_inner());
        let state = guard.get_or_insert_with(State::default);
        scan_with(all, &mem, own, state, LIMITS, skipped)
    }

    fn finding(evidence: &str) -> Finding {
        Finding::new(
            Threat::Hooking,
            Severity::Critical,
            "hooking.memory",
            evidence,
        )
    }

    fn evidence(t: &Target<'_>, found: u32, exports: bool) -> String {
        let place = match (t.path, &t.image) {
            (Some(p), Some(_)) => format!("mapped image {}", maps::file_name(p)),
            (Some(p), None) => format!("mapped file {} (no usable ELF header)", maps::file_name(p)),
            (None, _) => "anonymous executable memory".to_string(),
        };
        let names = Matcher::new(needles()).names_of(found).join(", ");
        let entry = if exports {
            format!(", which exports {}", super::agent_entry())
        } else {
            String::new()
        };
        format!("Frida runtime strings ({names}) in {place}{entry}")
    }

    /// One run over `all`, reading at most `limits.budget` bytes.
    pub fn scan_with(
        all: &[Mapping],
        mem: &impl Memory,
        own: u64,
        state: &mut State,
        limits: Limits,
        skipped: &mut Vec<SkippedCheck>,
    ) -> Vec<Finding> {
        let started = Instant::now();
        let (targets, header_bytes) = targets(all, mem, own);
        let mut run = Run {
            mem,
            spent: 0,
            header_bytes,
            residency_calls: 0,
            needles: Matcher::new(needles()),
            buf: Vec::new(),
        };
        // Forget what is no longer mapped.
        let present: BTreeSet<&TargetKey> = targets.iter().map(|t| &t.key).collect();
        state
            .verdicts
            .retain(|k, _| present.contains(&TargetKey::Image(k.clone())));
        state.progress.retain(|k, _| present.contains(k));
        state.passes.retain(|k, _| present.contains(k));

        let mut out = Vec::new();
        // 1. Images: remembered verdicts; then never-seen images, then those read in part.
        let has_regions = targets.iter().any(|t| !t.cacheable());
        let image_budget = if has_regions {
            limits.budget.saturating_sub(limits.uncacheable)
        } else {
            limits.budget
        };
        let mut pending: Vec<&Target<'_>> = Vec::new();
        for t in targets.iter().filter(|t| t.cacheable()) {
            if let TargetKey::Image(k) = &t.key
                && let Some(verdict) = state.verdicts.get(k)
            {
                out.extend(verdict.as_deref().map(finding));
                continue;
            }
            pending.push(t);
        }
        pending.sort_by_key(|t| state.progress.contains_key(&t.key));
        for t in pending {
            let mut p = state.progress.remove(&t.key).unwrap_or_default();
            match run.scan_target(t, &mut p, image_budget, limits.chunk) {
                Outcome::Paused => {
                    state.progress.insert(t.key.clone(), p);
                    break;
                }
                Outcome::Done { frida } => {
                    let verdict = frida.then(|| evidence(t, p.found, p.exports == Some(true)));
                    out.extend(verdict.as_deref().map(finding));
                    if let TargetKey::Image(k) = &t.key {
                        state.verdicts.insert(k.clone(), verdict);
                    }
                }
            }
        }
        // 2. Regions, in rotation, within their share.
        let regions: Vec<&Target<'_>> = targets.iter().filter(|t| !t.cacheable()).collect();
        let start = state
            .next_region
            .as_ref()
            .and_then(|k| regions.iter().position(|t| &t.key == k))
            .unwrap_or(0);
        let region_limit = run
            .spent
            .saturating_add(limits.uncacheable)
            .min(limits.budget);
        state.next_region = None;
        for i in 0..regions.len() {
            let Some(t) = regions.get((start + i) % regions.len()) else {
                break;
            };
            let mut p = state.progress.remove(&t.key).unwrap_or_default();
            match run.scan_target(t, &mut p, region_limit, limits.chunk) {
                Outcome::Paused => {
                    state.progress.insert(t.key.clone(), p);
                    state.next_region = Some(t.key.clone());
                    break;
                }
                Outcome::Done { frida } => {
                    let verdict = frida.then(|| evidence(t, p.found, false));
                    state.passes.insert(t.key.clone(), verdict);
                }
            }
        }
        for t in &regions {
            if let Some(Some(e)) = state.passes.get(&t.key) {
                out.push(finding(e));
            }
        }

        // 3. Bookkeeping: what is still pending, and whether that has lasted.
        let pending = targets
            .iter()
            .filter(|t| match &t.key {
                TargetKey::Image(k) => !state.verdicts.contains_key(k),
                k => !state.passes.contains_key(k),
            })
            .count();
        state.starved = if pending > 0 {
            state.starved.saturating_add(1)
        } else {
            0
        };
        if state.starved >= STARVED_RUNS {
            skipped.push(SkippedCheck::new(
                "hooking.memory",
                format!(
                    "scan budget ({} MiB per run) ran out in {STARVED_RUNS} or more consecutive \
                     runs before every mapped image and executable region was read; later runs \
                     continue where it stopped",
                    limits.budget >> 20
                ),
            ));
        }
        if state.verdicts.len() > MAX_VERDICTS {
            state.verdicts.clear();
        }
        state.stats = ScanStats {
            bytes_read: run.spent,
            header_bytes: run.header_bytes,
            micros: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            pending,
            starved_runs: state.starved,
        };
        out.sort();
        out.dedup();
        out
    }

    enum Outcome {
        /// Read whole, or far enough to decide.
        Done { frida: bool },
        /// The run's budget ran out first.
        Paused,
    }

    struct Run<'m, M: Memory> {
        mem: &'m M,
        /// Content bytes read this run.
        spent: u64,
        header_bytes: u64,
        residency_calls: u32,
        needles: Matcher,
        /// The read buffer, reused across targets.
        buf: Vec<u8>,
    }

    impl<M: Memory> Run<'_, M> {
        /// Whether what was seen so far decides the target is Frida (asking an image for its export
        /// once a runtime-only needle is seen).
        fn decided(&mut self, t: &Target<'_>, p: &mut Progress) -> bool {
            if p.found & RUNTIME_ONLY == 0 {
                return false;
            }
            if p.exports.is_none()
                && let Some(info) = &t.image
            {
                let entry = super::decode(NEEDLES.get(AGENT_ENTRY).copied().unwrap_or_default());
                p.exports = Some(info.exports(self.mem, &entry) == Some(true));
                self.header_bytes = self.header_bytes.saturating_add(1024);
            }
            is_frida(p.found, p.exports == Some(true))
        }

        /// Reads `t` from `p.next` on, until it is decided, read whole, or `self.spent` reaches
        /// `limit`.
        fn scan_target(
            &mut self,
            t: &Target<'_>,
            p: &mut Progress,
            limit: u64,
            chunk: u64,
        ) -> Outcome {
            let mut buf = std::mem::take(&mut self.buf);
            let outcome = self.scan_into(t, p, limit, chunk, &mut buf);
            self.buf = buf;
            outcome
        }

        fn scan_into(
            &mut self,
            t: &Target<'_>,
            p: &mut Progress,
            limit: u64,
            chunk: u64,
            buf: &mut Vec<u8>,
        ) -> Outcome {
            let residency = !t.cacheable();
            let page = self.mem.page_size().max(1);
            let overlap = self.needles.overlap();
            let mut resident: Vec<bool> = Vec::new();
            let mut window = (0u64, 0u64);
            for m in &t.parts {
                let mut addr = m.start.max(p.next);
                while addr < m.end {
                    if self.decided(t, p) {
                        return Outcome::Done { frida: true };
                    }
                    let allowed = limit.saturating_sub(self.spent);
                    if allowed == 0 {
                        p.next = addr;
                        return Outcome::Paused;
                    }
                    let mut want = chunk.min(m.end - addr).min(allowed);
                    if residency {
                        // Only resident pages: skip to the next one, read up to the end of the run.
                        if !(window.0..window.1).contains(&addr) {
                            if self.residency_calls >= MAX_RESIDENCY_CALLS {
                                // Enough walking over reserved space for one run.
                                p.next = addr;
                                return Outcome::Paused;
                            }
                            let from = addr - addr % page;
                            let len = RESIDENCY_WINDOW.min(m.end - from);
                            self.residency_calls = self.residency_calls.saturating_add(1);
                            // Unknown (`mincore` refused): every page is read.
                            if !self.mem.resident(from, len, &mut resident) {
                                resident.clear();
                            }
                            window = (from, from.saturating_add(len));
                        }
                        if !resident.is_empty() {
                            let idx = |a: u64| usize::try_from((a - window.0) / page).ok();
                            let page_resident = |a: u64| {
                                idx(a).and_then(|i| resident.get(i)).copied() == Some(true)
                            };
                            if !page_resident(addr) {
                                let mut next = (addr - addr % page).saturating_add(page);
                                while next < window.1 && !page_resident(next) {
                                    next = next.saturating_add(page);
                                }
                                addr = next.min(m.end);
                                continue;
                            }
                            let mut run_end = (addr - addr % page).saturating_add(page);
                            while run_end < window.1
                                && run_end < addr.saturating_add(want)
                                && page_resident(run_end)
                            {
                                run_end = run_end.saturating_add(page);
                            }
                            want = want.min(run_end.min(m.end) - addr);
                        }
                    }
                    let Ok(want_len) = usize::try_from(want) else {
                        break;
                    };
                    let carried = if p.carry_end == addr {
                        p.carry.len()
                    } else {
                        0
                    };
                    buf.clear();
                    buf.extend_from_slice(&p.carry[..carried]);
                    buf.resize(carried + want_len, 0);
                    let n = self.mem.read_at(addr, &mut buf[carried..]).min(want_len);
                    if n == 0 {
                        // Unreadable here (a file mapping past its file's end): skip a page, at the
                        // price of a page of budget so a run of failures stays bounded.
                        self.spent = self.spent.saturating_add(page.min(allowed));
                        addr = (addr - addr % page).saturating_add(page).min(m.end);
                        p.carry.clear();
                        continue;
                    }
                    let got = &buf[..carried + n];
                    self.needles.found = p.found;
                    self.needles.feed(got);
                    p.found = self.needles.found;
                    self.spent = self.spent.saturating_add(n as u64);
                    addr = addr.saturating_add(n as u64);
                    let keep = overlap.min(got.len());
                    p.carry.clear();
                    p.carry.extend_from_slice(&got[got.len() - keep..]);
                    p.carry_end = addr;
                }
                p.next = p.next.max(m.end);
            }
            let frida = self.decided(t, p);
            Outcome::Done { frida }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn needles_decode() {
        let plain: Vec<String> = needles()
            .iter()
            .map(|n| String::from_utf8(n.clone()).unwrap())
            .collect();
        assert_eq!(
            plain,
            [
                "frida_agent_main",
                "gum-js-loop",
                "GumInterceptor",
                "frida:rpc",
                "FridaScriptEngine"
            ]
        );
        assert_eq!(agent_entry(), "frida_agent_main");
        assert_eq!(
            thread_names(),
            ["gum-js-loop", "pool-frida", "frida-main", "linjector"]
        );
        // Encoded: no byte of the tables compiled into the library is printable text.
        for enc in NEEDLES.iter().chain(THREAD_NAMES) {
            assert!(enc.iter().all(|b| !b.is_ascii_graphic()), "{enc:?}");
        }
    }

    #[test]
    fn matcher_finds_needles_across_chunk_boundaries() {
        let mut m = Matcher::new(needles());
        let hay = b"xxxxgum-js-loopyyyy frida:r";
        m.feed(hay);
        assert_eq!(m.found_names(), ["gum-js-loop"]);
        // The caller carries the overlap: "frida:r" + "pc".
        let mut next = hay[hay.len() - m.overlap()..].to_vec();
        next.extend_from_slice(b"pc and more");
        m.feed(&next);
        assert_eq!(m.distinct(), 2);
        assert_eq!(m.found_names(), ["gum-js-loop", "frida:rpc"]);
    }

    #[test]
    fn detector_lists_are_not_frida_runtime() {
        let bit = |names: &[&str]| {
            let all = needles();
            names.iter().fold(0u32, |acc, n| {
                acc | 1 << all.iter().position(|x| x == n.as_bytes()).unwrap()
            })
        };
        // What detectors keep in clear: no runtime-only string, however many.
        assert!(!is_frida(
            bit(&["gum-js-loop", "frida:rpc", "frida_agent_main"]),
            false
        ));
        assert!(!is_frida(
            bit(&["gum-js-loop", "frida:rpc", "frida_agent_main"]),
            true
        ));
        // A runtime string with the export, or with two more strings.
        assert!(is_frida(bit(&["GumInterceptor", "frida_agent_main"]), true));
        assert!(!is_frida(
            bit(&["GumInterceptor", "frida_agent_main"]),
            false
        ));
        assert!(is_frida(
            bit(&["FridaScriptEngine", "gum-js-loop", "frida:rpc"]),
            false
        ));
    }

    #[test]
    fn compiled_dex_and_containers_are_recognised() {
        assert!(is_app_oat_dir(
            "/data/app/com.bank.app-1/oat/arm64/base.odex"
        ));
        assert!(is_app_oat_dir(
            "/data/app/~~Xy==/com.bank.app-Ab==/oat/arm64/base.vdex"
        ));
        assert!(!is_app_oat_dir(
            "/data/app/com.bank.app-1/lib/arm64/libhelper.so"
        ));
        for p in [
            "/data/app/x/base.apk",
            "/data/user/0/x/code_cache/a.dex",
            "/x/base.odex (deleted)",
        ] {
            assert!(is_dex_container(p), "{p}");
        }
        assert!(!is_dex_container("/data/app/x/lib/arm64/libapk.so"));
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    mod live_tests {
        use super::super::live::{
            Limits, Memory, State, TargetKey, own_code_marker, scan, scan_with, targets,
        };
        use crate::rasp::{maps, sys};
        use std::cell::Cell;
        use std::collections::BTreeMap;

        /// Fake memory: byte blocks at addresses; counts content reads; pages listed in
        /// `absent` are not resident.
        #[derive(Default)]
        struct Fake {
            blocks: BTreeMap<u64, Vec<u8>>,
            absent: Vec<(u64, u64)>,
            read: Cell<u64>,
        }

        impl Memory for Fake {
            fn read_at(&self, addr: u64, buf: &mut [u8]) -> usize {
                let Some((start, bytes)) = self.blocks.range(..=addr).next_back() else {
                    return 0;
                };
                let at = (addr - start) as usize;
                let Some(avail) = bytes.get(at..) else {
                    return 0;
                };
                let n = avail.len().min(buf.len());
                buf[..n].copy_from_slice(&avail[..n]);
                self.read.set(self.read.get() + n as u64);
                n
            }
            fn resident(&self, addr: u64, len: u64, out: &mut Vec<bool>) -> bool {
                out.clear();
                let mut a = addr;
                while a < addr + len {
                    out.push(!self.absent.iter().any(|(s, e)| (*s..*e).contains(&a)));
                    a += 4096;
                }
                true
            }
        }

        /// An ELF64 image of `size` bytes: header, one PT_LOAD from vaddr 0, `strings` at
        /// `offsets`.
        fn elf(size: usize, strings: &[(usize, &str)]) -> Vec<u8> {
            let mut b = vec![0u8; size];
            b[..6].copy_from_slice(b"\x7fELF\x02\x01");
            b[32..40].copy_from_slice(&64u64.to_le_bytes());
            b[54..56].copy_from_slice(&56u16.to_le_bytes());
            b[56..58].copy_from_slice(&1u16.to_le_bytes());
            b[64..68].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
            b[68..72].copy_from_slice(&5u32.to_le_bytes()); // R|X
            b[64 + 32..64 + 40].copy_from_slice(&(size as u64).to_le_bytes()); // filesz
            b[64 + 40..64 + 48].copy_from_slice(&(size as u64).to_le_bytes()); // memsz
            for (at, s) in strings {
                b[*at..*at + s.len()].copy_from_slice(s.as_bytes());
            }
            b
        }

        const RUNTIME: &[&str] = &[
            "GumInterceptor",
            "gum-js-loop",
            "frida:rpc",
            "FridaScriptEngine",
        ];

        fn run(
            text: &str,
            mem: &Fake,
            state: &mut State,
            limits: Limits,
        ) -> (Vec<String>, Vec<String>) {
            let all = maps::parse(text);
            let mut skipped = Vec::new();
            let found = scan_with(&all, mem, 1, state, limits, &mut skipped);
            (
                found.into_iter().map(|f| f.evidence).collect(),
                skipped.into_iter().map(|s| s.reason).collect(),
            )
        }

        #[test]
        fn images_are_delimited_by_their_elf_headers() {
            let own = 0x5000_0000_1800u64;
            let text = "\
500000000000-500000001000 r--p 00000000 fd:01 11 /data/app/me/base.apk
500000001000-500000002000 r-xp 00001000 fd:01 11 /data/app/me/base.apk
500000002000-500000003000 r--p 00002000 fd:01 11 /data/app/me/base.apk
500000003000-500000004000 r-xp 00003000 fd:01 11 /data/app/me/base.apk
500000004000-500000005000 r--p 00004000 fd:01 11 /data/app/me/base.apk
500000005000-500000006000 r-xp 00005000 fd:01 11 /data/app/me/base.apk
7f0000000000-7f0000001000 r-xp 00000000 fd:01 12 /system/lib64/libc.so
7f0000100000-7f0000101000 r--p 00000000 fd:01 13 /data/local/tmp/libhelper.so
7f0000101000-7f0000102000 r-xp 00001000 fd:01 13 /data/local/tmp/libhelper.so
7f0000102000-7f0000103000 rw-p 00002000 fd:01 13 /data/local/tmp/libhelper.so
7f0000103000-7f0000104000 r--p 00000000 fd:01 14 /data/app/me/base.odex.art
7f0000104000-7f0000105000 r-xp 00000000 fd:01 16 /data/app/me-1/oat/arm64/base.odex
7f0000200000-7f0000201000 rwxp 00000000 00:00 0 
7f0000300000-7f0000301000 rw-p 00000000 00:00 0 
7f0000400000-7f0000401000 rw-p 00000000 00:01 15 /memfd:jit-cache (deleted)
7f0000500000-7f0000501000 r-xp 00000000 00:01 15 /memfd:jit-cache (deleted)
";
            let all = maps::parse(text);
            // base.apk holds our library (0x0000-0x2000), another library (0x2000-0x4000), then
            // dex/resources (0x4000-) with an executable mapping that is no ELF image: skipped.
            let mem = Fake {
                blocks: BTreeMap::from([
                    (0x5000_0000_0000, elf(0x2000, &[])),
                    (0x5000_0000_2000, elf(0x2000, &[])),
                    (0x7f00_0010_0000, elf(0x3000, &[])),
                    (0x7f00_0010_4000, elf(0x1000, &[])),
                ]),
                ..Fake::default()
            };
            let (t, cost) = targets(&all, &mem, own);
            assert!(cost > 0);
            let summary: Vec<(Option<&str>, Vec<u64>)> = t
                .iter()
                .map(|t| (t.path, t.parts.iter().map(|m| m.start).collect()))
                .collect();
            assert_eq!(
                summary,
                vec![
                    (
                        Some("/data/app/me/base.apk"),
                        vec![0x5000_0000_2000, 0x5000_0000_3000]
                    ),
                    (
                        Some("/data/local/tmp/libhelper.so"),
                        vec![0x7f00_0010_0000, 0x7f00_0010_1000, 0x7f00_0010_2000]
                    ),
                    // The JIT memfd: both of its views.
                    (
                        Some("/memfd:jit-cache (deleted)"),
                        vec![0x7f00_0040_0000, 0x7f00_0050_0000]
                    ),
                    (None, vec![0x7f00_0020_0000]),
                ]
            );
            assert!(matches!(t[0].key, TargetKey::Image(_)));
            assert!(matches!(t[2].key, TargetKey::Region(..)));
        }

        /// The detector test of finding 1: strings a detector keeps in clear are not Frida; the
        /// agent's are.
        #[test]
        fn a_detector_library_is_not_reported_and_the_agent_is() {
            let text = "\
7f0000100000-7f0000110000 r-xp 00000000 fd:01 13 /data/app/me/lib/arm64/libantifrida.so
7f0000200000-7f0000210000 r-xp 00000000 fd:01 14 /data/app/me/lib/arm64/libhelper.so
";
            let detector = [
                "frida",
                "gum-js-loop",
                "frida:rpc",
                "frida_agent_main",
                "gmain",
                "linjector",
                "frida-agent",
                "LIBFRIDA",
            ];
            let mut at = 0x1000;
            let strings: Vec<(usize, &str)> = detector
                .iter()
                .map(|s| {
                    at += 0x100;
                    (at, *s)
                })
                .collect();
            let agent: Vec<(usize, &str)> = RUNTIME
                .iter()
                .enumerate()
                .map(|(i, s)| (0x2000 + i * 0x100, *s))
                .collect();
            let mem = Fake {
                blocks: BTreeMap::from([
                    (0x7f00_0010_0000, elf(0x10000, &strings)),
                    (0x7f00_0020_0000, elf(0x10000, &agent)),
                ]),
                ..Fake::default()
            };
            let (found, _) = run(
                text,
                &mem,
                &mut State::default(),
                super::super::live::LIMITS,
            );
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(found[0].starts_with("Frida runtime strings (gum-js-loop, GumInterceptor"));
            assert!(
                found[0].ends_with("in mapped image libhelper.so"),
                "{found:?}"
            );
        }

        /// A hard byte budget per run, resumed where it stopped; the starvation note only after
        /// several runs in a row.
        #[test]
        fn the_budget_is_a_hard_stop_and_the_next_run_resumes() {
            let text =
                "7f0000000000-7f0000300000 r-xp 00000000 fd:01 13 /data/local/tmp/libbig.so\n";
            // GumInterceptor at the start, the others at the end: found only once all is read.
            let size = 0x30_0000;
            let img = elf(
                size,
                &[
                    (0x100, "GumInterceptor"),
                    (size - 0x100, "gum-js-loop"),
                    // Across a 256 KiB chunk boundary.
                    (0x4_0000 - 4, "frida:rpc"),
                ],
            );
            let mem = Fake {
                blocks: BTreeMap::from([(0x7f00_0000_0000, img)]),
                ..Fake::default()
            };
            let limits = Limits {
                budget: 1 << 20,
                uncacheable: 256 << 10,
                chunk: 256 << 10,
            };
            let mut state = State::default();
            let mut runs = Vec::new();
            for i in 1..=4 {
                let before = mem.read.get();
                let (found, skipped) = run(text, &mem, &mut state, limits);
                let read = mem.read.get() - before;
                assert!(read <= limits.budget + 4096, "run {i} read {read}");
                runs.push((found.len(), skipped.len(), read));
            }
            // 3 MiB at 1 MiB per run: found on run 3 (having frida:rpc from run 1); the header reads
            // are the only bytes on run 4 (a remembered verdict).
            assert_eq!(runs[0].0, 0);
            assert_eq!(runs[1].0, 0);
            assert_eq!(runs[2].0, 1, "{runs:?}");
            assert_eq!(runs[3].0, 1, "{runs:?}");
            assert!(runs[3].2 < 4096, "{runs:?}");
            // Starved in runs 1 and 2 only: no skipped entry (it takes three in a row).
            assert!(runs.iter().all(|r| r.1 == 0), "{runs:?}");
        }

        #[test]
        fn a_budget_that_keeps_running_out_is_reported_as_skipped() {
            let text =
                "7f0000000000-7f0000400000 r-xp 00000000 fd:01 13 /data/local/tmp/libbig.so\n";
            let mem = Fake {
                blocks: BTreeMap::from([(0x7f00_0000_0000, elf(0x40_0000, &[]))]),
                ..Fake::default()
            };
            let limits = Limits {
                budget: 1 << 20,
                uncacheable: 256 << 10,
                chunk: 256 << 10,
            };
            let mut state = State::default();
            let skipped: Vec<usize> = (0..5)
                .map(|_| run(text, &mem, &mut state, limits).1.len())
                .collect();
            // Runs 1-3 starve (4 MiB at 1 MiB per run); the third says so; run 4 finishes.
            assert_eq!(skipped, [0, 0, 1, 0, 0]);
        }

        /// An image remembered clean is read again when its ELF header or program headers change,
        /// and an image whose header was wiped is read whole (all its readable mappings).
        #[test]
        fn the_clean_cache_is_keyed_by_the_headers_and_wiped_headers_scan_everything() {
            let text = "\
7f0000000000-7f0000001000 r--p 00000000 fd:01 13 /data/local/tmp/libx.so
7f0000001000-7f0000002000 r-xp 00001000 fd:01 13 /data/local/tmp/libx.so
";
            let agent: Vec<(usize, &str)> = RUNTIME
                .iter()
                .enumerate()
                .map(|(i, s)| (0x200 + i * 0x40, *s))
                .collect();
            let mut mem = Fake {
                blocks: BTreeMap::from([(0x7f00_0000_0000, elf(0x2000, &[]))]),
                ..Fake::default()
            };
            let limits = super::super::live::LIMITS;
            let mut state = State::default();
            assert!(run(text, &mem, &mut state, limits).0.is_empty());
            // Same path, inode and base; new content and a different program header (memsz).
            let mut swapped = elf(0x2000, &agent);
            swapped[64 + 40..64 + 48].copy_from_slice(&0x1fffu64.to_le_bytes());
            mem.blocks.insert(0x7f00_0000_0000, swapped);
            assert_eq!(run(text, &mem, &mut state, limits).0.len(), 1);
            // Header wiped: the strings in its read-only mapping (not the executable one) are found.
            let mut wiped = elf(0x2000, &agent);
            wiped[..64].fill(0);
            mem.blocks.insert(0x7f00_0000_0000, wiped);
            let mut state = State::default();
            let found = run(text, &mem, &mut state, limits).0;
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(
                found[0].ends_with("in mapped file libx.so (no usable ELF header)"),
                "{found:?}"
            );
        }

        /// Anonymous executable memory gets its share of each run, in rotation, resident pages only;
        /// a large one does not delay an image, and an agent behind it is found within a bounded
        /// number of runs.
        #[test]
        fn uncacheable_regions_get_a_capped_share_and_only_resident_pages() {
            let text = "\
7e0000000000-7e0000800000 rwxp 00000000 00:00 0 
7e0001000000-7e0001010000 rwxp 00000000 00:00 0 
7f0000000000-7f0000010000 r-xp 00000000 fd:01 13 /data/local/tmp/libhelper.so
";
            let agent: Vec<(usize, &str)> = RUNTIME
                .iter()
                .enumerate()
                .map(|(i, s)| (0x1000 + i * 0x40, *s))
                .collect();
            let mut anon_agent = vec![0u8; 0x10000];
            for (i, s) in RUNTIME.iter().enumerate() {
                anon_agent[0x8000 + i * 0x40..][..s.len()].copy_from_slice(s.as_bytes());
            }
            let mem = Fake {
                blocks: BTreeMap::from([
                    (0x7e00_0000_0000, vec![0xc3; 0x80_0000]),
                    (0x7e00_0100_0000, anon_agent),
                    (0x7f00_0000_0000, elf(0x10000, &agent)),
                ]),
                // Half of the big region was never touched.
                absent: vec![(0x7e00_0040_0000, 0x7e00_0080_0000)],
                ..Fake::default()
            };
            let limits = Limits {
                budget: 1 << 20,
                uncacheable: 256 << 10,
                chunk: 128 << 10,
            };
            let mut state = State::default();
            let (found, _) = run(text, &mem, &mut state, limits);
            assert!(
                found
                    .iter()
                    .any(|f| f.ends_with("in mapped image libhelper.so")),
                "the image first: {found:?}"
            );
            // 4 MiB resident ahead of the anonymous agent, 256 KiB per run: found within 18 runs,
            // never reading more than the budget in a run.
            let mut anon_found = None;
            for i in 2..=30 {
                let before = mem.read.get();
                let (found, _) = run(text, &mem, &mut state, limits);
                assert!(mem.read.get() - before <= limits.budget + 4096);
                if found
                    .iter()
                    .any(|f| f.ends_with("anonymous executable memory"))
                {
                    anon_found = Some(i);
                    break;
                }
            }
            let n = anon_found.unwrap();
            assert!(n <= 18, "found on run {n}");
            // The untouched half was never read: 4 MiB + 64 KiB + the image's 64 KiB, give or take
            // headers.
            assert!(
                mem.read.get() < (4 << 20) + (256 << 10),
                "{}",
                mem.read.get()
            );
        }

        #[test]
        fn this_process_reads_its_own_memory_and_is_clean() {
            let text = sys::read_file("/proc/self/maps", sys::MAX_FILE).unwrap();
            let all = maps::parse(&String::from_utf8(text).unwrap());
            let mut skipped = Vec::new();
            let found = scan(&all, &mut skipped);
            assert!(found.is_empty(), "{found:?}");
            assert!(skipped.is_empty(), "{skipped:?}");
            // This test binary (which holds the needles in clear, above) is one image, not scanned.
            let mem = sys::File::open("/proc/self/mem").unwrap();
            let own = own_code_marker as *const () as usize as u64;
            let (t, _) = targets(&all, &mem, own);
            assert!(
                t.iter()
                    .all(|t| t.parts.iter().all(|m| !(m.start..m.end).contains(&own))),
                "{t:?}"
            );
        }
    }
}
