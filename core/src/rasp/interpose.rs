//! Are the libc functions the checks (and the app) depend on libc's own, unmodified?
//!
//! - Interposed: the address a name resolves to in the global scope (`dlsym(RTLD_DEFAULT)`) and the
//!   address this library was bound to at load time (its GOT) must both lie in an object that
//!   legitimately defines the function: the one `dlopen(…, RTLD_NOLOAD)` + `dlsym(handle)` finds it in
//!   (libc, or libdl for `dlsym`/`dlopen` where it lives there), or another of the system's own
//!   defining objects ([`DEFINERS`] under a system directory: glibc ≤ 2.33's libpthread.so.0 defines
//!   cancellable `read`/`open`/`close`/`connect`/`pread64` that win the global lookup; Android's libc
//!   lives in /apex/…/bionic, /system/lib64 or /system/lib64/bootstrap). Which object holds an address
//!   comes from /proc/self/maps read with raw syscalls, not from `dladdr`. An `LD_PRELOAD` shim or an
//!   earlier loaded library defining `open` shows up as a different object.
//! - None of the functions checked is one ART's libsigchain interposes (`sigaction`, `signal`,
//!   `sigprocmask` and their variants: it sits in front of libc for them in every app process), so its
//!   legitimate interposition is never reported (`tests::libsigchain_functions_are_not_checked`).
//! - Patched: the first 16 bytes of each function in memory (read through /proc/self/mem) against the
//!   same bytes in libc's file on disk (the address translated to a file offset through the ELF
//!   program headers: the executable `PT_LOAD` containing it), read with raw syscalls. Frida's
//!   Interceptor and other inline hookers write a branch there. Only addresses in a file-backed
//!   executable mapping of libc are compared (glibc's IFUNC variants are inside libc's text and
//!   compare like any function), and only when the file on disk is the one mapped (same program
//!   headers and GNU build ID in memory and on disk: a libc updated since the process started is
//!   skipped, not reported).

use super::maps::Mapping;
use super::{Finding, SkippedCheck};

/// The functions checked: what the checks use to read files, list directories, resolve symbols,
/// list interfaces and connect, and what tracers and hiders hook.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const FUNCTIONS: &[&str] = &[
    "open",
    "open64",
    "openat",
    "read",
    "pread64",
    "close",
    "fopen",
    "readlink",
    "opendir",
    "readdir",
    "ptrace",
    "dlsym",
    "dlopen",
    "getifaddrs",
    "connect",
    "syscall",
];

/// Objects that define the checked functions in a genuine process, by file name; they count only when
/// mapped from a system directory (a shim named `libc.so` in /data/local/tmp does not).
#[cfg(any(target_os = "linux", target_os = "android"))]
const DEFINERS: &[&str] = &[
    "libc.so",
    "libc.so.6",
    "libdl.so",
    "libdl.so.2",
    "libpthread.so.0",
    "libpthread.so",
];

/// What ART's libsigchain interposes in every Android app: never to be checked here.
#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
const SIGCHAIN_INTERPOSED: &[&str] = &[
    "sigaction",
    "sigaction64",
    "signal",
    "bsd_signal",
    "sigprocmask",
    "sigprocmask64",
];

/// Bytes compared at the start of each function.
#[cfg(any(target_os = "linux", target_os = "android"))]
const PROLOGUE: usize = 16;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn check(all: &[Mapping], skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
    linux::check(all, skipped)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn check(_all: &[Mapping], _skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
    Vec::new()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use std::collections::BTreeMap;
    use std::ffi::{CStr, CString};

    use super::super::elf;
    use super::super::maps::{self, Mapping};
    use super::super::sys;
    use super::super::{Finding, Severity, SkippedCheck, Threat};
    use super::{DEFINERS, FUNCTIONS, PROLOGUE};

    /// A handle from `dlopen(RTLD_NOLOAD)`, released on drop.
    struct Handle(*mut libc::c_void);

    impl Handle {
        #[allow(unsafe_code)]
        fn loaded(name: &CStr) -> Option<Self> {
            // SAFETY: `name` is NUL-terminated; RTLD_NOLOAD never loads anything (no constructor
            // runs): it returns a handle to an object already loaded, or null.
            let h = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOLOAD | libc::RTLD_LAZY) };
            (!h.is_null()).then(|| Self(h))
        }

        fn sym(&self, name: &CStr) -> u64 {
            dlsym(self.0, name)
        }
    }

    impl Drop for Handle {
        #[allow(unsafe_code)]
        fn drop(&mut self) {
            // SAFETY: a Handle only holds a non-null handle from a successful dlopen and is closed
            // once; NOLOAD raised the object's reference count, this lowers it back (libc is never
            // unloaded).
            unsafe {
                libc::dlclose(self.0);
            }
        }
    }

    /// `dlsym` as an address (0 when absent); never dereferenced.
    #[allow(unsafe_code)]
    fn dlsym(handle: *mut libc::c_void, name: &CStr) -> u64 {
        // SAFETY: `handle` is RTLD_DEFAULT or a live dlopen handle; `name` is NUL-terminated. The
        // result is only compared with address ranges.
        let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
        p as usize as u64
    }

    /// The address this library's own references to `name` were bound to (its GOT entry, filled by
    /// the dynamic linker: an `LD_PRELOAD` definition wins there too). Only functions every supported
    /// libc has since API 23 are referenced directly.
    fn bound(name: &str) -> Option<u64> {
        let p = match name {
            "open" => libc::open as *const () as usize,
            "openat" => libc::openat as *const () as usize,
            "read" => libc::read as *const () as usize,
            "close" => libc::close as *const () as usize,
            "fopen" => libc::fopen as *const () as usize,
            "readlink" => libc::readlink as *const () as usize,
            "opendir" => libc::opendir as *const () as usize,
            "readdir" => libc::readdir as *const () as usize,
            "dlsym" => libc::dlsym as *const () as usize,
            "dlopen" => libc::dlopen as *const () as usize,
            "connect" => libc::connect as *const () as usize,
            "syscall" => libc::syscall as *const () as usize,
            _ => return None,
        };
        Some(p as u64)
    }

    /// Code address of a function pointer (Thumb pointers have bit 0 set on 32-bit ARM).
    fn code_address(p: u64) -> u64 {
        if cfg!(target_arch = "arm") { p & !1 } else { p }
    }

    fn same_object(a: &Mapping, b: &Mapping) -> bool {
        a.is_file() && a.path == b.path && a.inode == b.inode
    }

    /// One of the system's own defining objects (glibc's libpthread, Android's libc variants).
    pub(super) fn is_definer(m: &Mapping) -> bool {
        m.is_file() && DEFINERS.contains(&m.file_name()) && maps::is_system_path(&m.path)
    }

    /// Where an address is, for evidence: the object's file name or "anonymous memory".
    fn place(all: &[Mapping], addr: u64) -> String {
        match maps::find(all, addr) {
            Some(m) if m.is_file() => m.file_name().to_string(),
            Some(m) if !m.path.is_empty() => m.path.clone(),
            _ => "anonymous memory".to_string(),
        }
    }

    pub fn check(all: &[Mapping], skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
        let libs: Vec<Handle> = [c"libc.so.6", c"libc.so", c"libdl.so.2", c"libdl.so"]
            .iter()
            .filter_map(|n| Handle::loaded(n))
            .collect();
        if libs.is_empty() {
            skipped.push(SkippedCheck::new(
                "hooking.interposed",
                "libc is not loaded under a known name",
            ));
            return Vec::new();
        }
        let own = maps::find(all, own_marker as *const () as usize as u64);
        let mut out = Vec::new();
        // Function → the addresses to compare with the file (inside the defining object).
        let mut to_compare: Vec<(&str, u64, &Mapping)> = Vec::new();
        for name in FUNCTIONS {
            let Ok(c) = CString::new(*name) else {
                continue;
            };
            let Some(home) = libs.iter().map(|h| h.sym(&c)).find(|&a| a != 0) else {
                continue; // not in this libc (getifaddrs before API 24, …)
            };
            let Some(home_map) = maps::find(all, code_address(home)).filter(|m| m.is_file()) else {
                continue;
            };
            let global = dlsym(libc::RTLD_DEFAULT, &c);
            let got = bound(name).filter(|&g| !own.is_some_and(|o| o.contains(code_address(g))));
            let mut reported = false;
            for addr in [Some(home), (global != 0).then_some(global), got]
                .into_iter()
                .flatten()
            {
                let code = code_address(addr);
                if let Some(m) =
                    maps::find(all, code).filter(|m| same_object(m, home_map) || is_definer(m))
                {
                    if m.exec && !to_compare.iter().any(|(_, a, _)| *a == code) {
                        to_compare.push((name, code, m));
                    }
                } else if !reported {
                    reported = true;
                    out.push(Finding::new(
                        Threat::Hooking,
                        Severity::Critical,
                        "hooking.interposed",
                        format!(
                            "{name} resolves to {}, not {}",
                            place(all, code),
                            home_map.file_name()
                        ),
                    ));
                }
            }
        }
        out.extend(compare_prologues(all, &to_compare, skipped));
        out
    }

    #[inline(never)]
    fn own_marker() -> u8 {
        std::hint::black_box(1)
    }

    /// An object's file, checked to be the one mapped, with its segments and load bias.
    struct Image {
        file: sys::File,
        segs: Vec<elf::Segment>,
        bias: u64,
    }

    fn read_at(f: &sys::File, len: u64, offset: u64) -> Option<Vec<u8>> {
        let mut b = vec![0u8; usize::try_from(len).ok()?];
        f.read_exact_at(&mut b, offset).ok()?;
        Some(b)
    }

    fn open_image(all: &[Mapping], m: &Mapping, mem: &sys::File) -> Result<Image, &'static str> {
        if m.path.ends_with(" (deleted)") {
            return Err("replaced on disk since it was loaded");
        }
        let file = sys::File::open(&m.path).map_err(|_| "file unreadable")?;
        let head = read_at(&file, 64, 0).ok_or("file unreadable")?;
        let h = elf::header(&head).ok_or("not a supported ELF file")?;
        let table = read_at(&file, h.table_len(), h.phoff).ok_or("file unreadable")?;
        let segs = elf::segments(&h, &table).ok_or("bad program headers")?;
        let base = maps::object_of(all, m)
            .iter()
            .filter(|p| p.offset == 0)
            .map(|p| p.start)
            .min()
            .ok_or("first page not mapped")?;
        let bias = elf::load_bias(&segs, base).ok_or("unusual first segment")?;
        // The file on disk must be the one in memory: same program headers and build ID.
        let same_headers = base
            .checked_add(h.phoff)
            .and_then(|at| read_at(mem, h.table_len(), at))
            .is_some_and(|t| t == table);
        if !same_headers {
            return Err("differs from the mapped one");
        }
        for note in segs
            .iter()
            .filter(|s| s.kind == elf::PT_NOTE && s.filesz <= 4096)
        {
            let on_disk = read_at(&file, note.filesz, note.offset);
            let in_memory = bias
                .checked_add(note.vaddr)
                .and_then(|at| read_at(mem, note.filesz, at));
            let disk_id = on_disk.as_deref().and_then(elf::build_id);
            if disk_id.is_some() && disk_id != in_memory.as_deref().and_then(elf::build_id) {
                return Err("differs from the mapped one");
            }
        }
        Ok(Image { file, segs, bias })
    }

    fn compare_prologues(
        all: &[Mapping],
        targets: &[(&str, u64, &Mapping)],
        skipped: &mut Vec<SkippedCheck>,
    ) -> Vec<Finding> {
        if targets.is_empty() {
            return Vec::new();
        }
        let mem = match sys::File::open("/proc/self/mem") {
            Ok(f) => f,
            Err(e) => {
                skipped.push(SkippedCheck::new(
                    "hooking.patched",
                    format!("/proc/self/mem: {}", e.describe()),
                ));
                return Vec::new();
            }
        };
        let mut images: BTreeMap<(String, u64), Result<Image, &'static str>> = BTreeMap::new();
        let mut out = Vec::new();
        for (name, addr, m) in targets {
            let image = images
                .entry((m.path.clone(), m.inode))
                .or_insert_with(|| open_image(all, m, &mem));
            let image = match image {
                Ok(i) => i,
                Err(why) => {
                    skipped.push(SkippedCheck::new(
                        "hooking.patched",
                        format!("{}: {why}", m.file_name()),
                    ));
                    continue;
                }
            };
            let Some(vaddr) = addr.checked_sub(image.bias) else {
                continue;
            };
            let Some(offset) = elf::exec_file_offset(&image.segs, vaddr, PROLOGUE as u64) else {
                continue;
            };
            // The ELF translation and the mapping's own offset must agree, or nothing is compared.
            let mapped_offset = addr
                .checked_sub(m.start)
                .and_then(|d| m.offset.checked_add(d));
            if mapped_offset != Some(offset) {
                continue;
            }
            let (Some(disk), Some(live)) = (
                read_at(&image.file, PROLOGUE as u64, offset),
                read_at(&mem, PROLOGUE as u64, *addr),
            ) else {
                continue;
            };
            if disk != live {
                out.push(Finding::new(
                    Threat::Hooking,
                    Severity::Critical,
                    "hooking.patched",
                    format!(
                        "{name}: first {PROLOGUE} bytes in memory differ from {} on disk",
                        m.file_name()
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::{FUNCTIONS, SIGCHAIN_INTERPOSED};

    /// glibc ≤ 2.33's libpthread and Android's libc wherever it lives define the checked functions; a
    /// library merely named like them outside the system directories does not.
    #[test]
    fn defining_objects_are_system_libraries_by_name() {
        let text = "\
7f0000000000-7f0000001000 r-xp 00000000 fd:01 1 /lib/x86_64-linux-gnu/libpthread.so.0
7f0000001000-7f0000002000 r-xp 00000000 fd:01 2 /apex/com.android.runtime/lib64/bionic/libc.so
7f0000002000-7f0000003000 r-xp 00000000 fd:01 3 /system/lib64/bootstrap/libc.so
7f0000003000-7f0000004000 r-xp 00000000 fd:01 4 /data/local/tmp/libc.so
7f0000004000-7f0000005000 r-xp 00000000 fd:01 5 /system/lib64/libsigchain.so
7f0000005000-7f0000006000 r-xp 00000000 00:00 0 
";
        let m = crate::rasp::maps::parse(text);
        let verdicts: Vec<bool> = m.iter().map(super::linux::is_definer).collect();
        assert_eq!(verdicts, [true, true, true, false, false, false]);
    }

    /// libsigchain legitimately sits in front of libc for these in every Android app process: a check
    /// of any of them would report every app as hooked.
    #[test]
    fn libsigchain_functions_are_not_checked() {
        for f in SIGCHAIN_INTERPOSED {
            assert!(!FUNCTIONS.contains(f), "{f}");
        }
    }
}
