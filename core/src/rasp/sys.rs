//! File access for the checks that an `LD_PRELOAD` shim or a PLT/GOT hook cannot intercept.
//!
//! On x86_64, aarch64 and 32-bit ARM Linux/Android the `openat`, `read`, `pread64`, `getdents64`,
//! `newfstatat`/`fstatat64`, `mincore`, `close`, and for the kernel's socket table `socket` and `write`
//! system calls are issued by our own code: an inline
//! `syscall` / `svc 0` instruction (x86_64, aarch64), or on 32-bit ARM a small ARM-mode function of
//! this crate (`smartid_rasp_svc`, below: Thumb code cannot name r7, the syscall number register, as
//! an `asm!` operand). No libc wrapper runs, so interposing `open`/`read`/`fopen`/`syscall` or patching
//! them in libc changes nothing here. Other Linux architectures (x86, which the SDK does not ship on)
//! go through `libc::syscall`, `pread64` and `fstatat`: past the `open`/`read` wrappers the usual shims
//! replace, not past a hooked `syscall`. Elsewhere (iOS, macOS) this is `std::fs`.
//!
//! Every length a call returns is clamped to the buffer it was given: a lying hook (on the libc
//! fallback) or a kernel surprise cannot make a caller slice out of bounds.
//!
//! Errors are `errno` values; a path with an interior NUL is `EINVAL`.

// Only live where there is a /proc (Linux, Android); compiled everywhere for the shared code.
#![cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]

/// An `errno` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Self = Self(1);
    pub const ENOENT: Self = Self(2);
    pub const EIO: Self = Self(5);
    pub const EACCES: Self = Self(13);
    pub const ENOTDIR: Self = Self(20);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const EINVAL: Self = Self(22);

    /// The path (or one of its directories) does not exist: a check looking for it saw it absent.
    pub fn is_absent(self) -> bool {
        self == Self::ENOENT || self == Self::ENOTDIR
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::EPERM | Self::EACCES => "permission denied",
            Self::ENOENT | Self::ENOTDIR => "absent",
            _ => "unreadable",
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn from_io(e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => Self::ENOENT,
            std::io::ErrorKind::NotADirectory => Self::ENOTDIR,
            std::io::ErrorKind::PermissionDenied => Self::EACCES,
            _ => e.raw_os_error().map(Self).unwrap_or(Self::EIO),
        }
    }
}

/// Largest file read whole (/proc/self/maps of a big app is a few MB).
pub const MAX_FILE: usize = 16 << 20;

/// Reads a whole file, at most `max` bytes.
pub fn read_file(path: &str, max: usize) -> Result<Vec<u8>, Errno> {
    let f = File::open(path)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    while out.len() < max {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let take = n.min(buf.len()).min(max.saturating_sub(out.len()));
        out.extend_from_slice(&buf[..take]);
    }
    Ok(out)
}

/// The names in a directory, sorted, without `.` and `..`.
pub fn list_dir(path: &str) -> Result<Vec<String>, Errno> {
    let mut names = imp::list_dir(path)?;
    names.retain(|n| n != "." && n != "..");
    names.sort();
    Ok(names)
}

/// Whether `path` exists (`fstatat(AT_SYMLINK_NOFOLLOW)`, like `lstat`: a symlink counts even when
/// its target is out of reach): `Ok(true)` present, `Ok(false)` absent, `Err` when the
/// process may not look (a directory it cannot search).
pub fn exists(path: &str) -> Result<bool, Errno> {
    match imp::access(path) {
        Ok(()) => Ok(true),
        Err(e) if e.is_absent() => Ok(false),
        Err(e) => Err(e),
    }
}

/// A file opened read-only, closed on drop.
pub struct File(imp::Handle);

impl File {
    pub fn open(path: &str) -> Result<Self, Errno> {
        imp::open(path).map(Self)
    }

    /// `read(2)`: bytes read (at most `buf.len()`), 0 at the end.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        imp::read(&self.0, buf).map(|n| n.min(buf.len()))
    }

    /// `pread64(2)` at `offset` (for /proc/self/mem: an address): bytes read, at most `buf.len()`.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        imp::pread(&self.0, buf, offset).map(|n| n.min(buf.len()))
    }

    /// Fills `buf` from `offset`, or fails (a short read is `EIO`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<(), Errno> {
        let mut done = 0usize;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let at = u64::try_from(done)
                .ok()
                .and_then(|d| offset.checked_add(d))
                .ok_or(Errno::EINVAL)?;
            let n = self.read_at(rest, at)?;
            if n == 0 {
                return Err(Errno::EIO);
            }
            done = done.saturating_add(n);
        }
        Ok(())
    }
}

/// A netlink socket (`AF_NETLINK`, `SOCK_DGRAM`, non-blocking), closed on drop: requests written to it
/// go to the kernel, whose answers are read back one datagram per read. Created and used with the
/// same raw calls as the files, so a hook on `socket`/`sendmsg`/`recvmsg` cannot edit the answers.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub struct Netlink(imp::Handle);

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Netlink {
    /// `socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol)`.
    pub fn open(protocol: i32) -> Result<Self, Errno> {
        imp::netlink(protocol).map(Self)
    }

    /// `write(2)`: one request to the kernel (an unbound netlink socket sends to the kernel).
    pub fn send(&self, msg: &[u8]) -> Result<usize, Errno> {
        imp::write(&self.0, msg).map(|n| n.min(msg.len()))
    }

    /// `read(2)`: the next datagram (truncated to `buf`), `EAGAIN` when none is queued.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        imp::read(&self.0, buf).map(|n| n.min(buf.len()))
    }
}

/// Which pages of `[addr, addr + len)` are resident (`mincore(2)`), one flag per page of
/// `page_size` bytes; `addr` must be page-aligned. A refusal (`ENOMEM` for an unmapped hole, …) is an
/// error: the caller then treats the range as resident.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn resident(addr: u64, len: u64, page_size: u64, out: &mut Vec<bool>) -> Result<(), Errno> {
    out.clear();
    if len == 0 || page_size == 0 || !addr.is_multiple_of(page_size) {
        return Err(Errno::EINVAL);
    }
    let pages = usize::try_from(len.div_ceil(page_size)).map_err(|_| Errno::EINVAL)?;
    let mut vec = vec![0u8; pages];
    let (Ok(a), Ok(l)) = (usize::try_from(addr), usize::try_from(len)) else {
        return Err(Errno::EINVAL);
    };
    imp::mincore(a, l, &mut vec)?;
    out.extend(vec.iter().map(|b| b & 1 != 0));
    Ok(())
}

/// The system's page size, from the auxiliary vector the kernel gave the process (`AT_PAGESZ` in
/// /proc/self/auxv, read with the raw calls above): 4 KiB, 16 KiB (recent Android arm64 devices) or
/// 64 KiB; 4096 when it cannot be read or is implausible.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn page_size() -> u64 {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        const AT_PAGESZ: u64 = 6;
        let word = std::mem::size_of::<usize>();
        let auxv = read_file("/proc/self/auxv", 4096).unwrap_or_default();
        auxv.chunks_exact(word.saturating_mul(2))
            .find_map(|pair| {
                let (k, v) = pair.split_at(word);
                (le_word(k) == Some(AT_PAGESZ))
                    .then(|| le_word(v))
                    .flatten()
            })
            .filter(|p| p.is_power_of_two() && (4096..=65536).contains(p))
            .unwrap_or(4096)
    })
}

/// A native-endian machine word (4 or 8 bytes) as u64.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn le_word(b: &[u8]) -> Option<u64> {
    match b.len() {
        4 => Some(u64::from(u32::from_ne_bytes(b.try_into().ok()?))),
        8 => Some(u64::from_ne_bytes(b.try_into().ok()?)),
        _ => None,
    }
}

/// `path` as a NUL-terminated C string.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn c_path(path: &str) -> Result<Vec<u8>, Errno> {
    if path.as_bytes().contains(&0) {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::with_capacity(path.len() + 1);
    v.extend_from_slice(path.as_bytes());
    v.push(0);
    Ok(v)
}

/// The names in a `getdents64` buffer (`struct linux_dirent64`: ino u64, off i64, reclen u16, type u8,
/// NUL-terminated name).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn parse_dirents(buf: &[u8], out: &mut Vec<String>) {
    let mut pos = 0usize;
    while let Some(rec) = buf.get(pos..) {
        let (Some(&lo), Some(&hi)) = (rec.get(16), rec.get(17)) else {
            break;
        };
        let reclen = usize::from(u16::from_ne_bytes([lo, hi]));
        let Some(name) = rec.get(19..reclen).filter(|_| reclen >= 19) else {
            break;
        };
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        out.push(String::from_utf8_lossy(&name[..end]).into_owned());
        pos = pos.saturating_add(reclen);
    }
}

/// The kernel interface, identical on every Linux architecture once the call is made.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use super::{Errno, c_path, parse_dirents, raw};

    pub struct Handle(usize);

    impl Drop for Handle {
        fn drop(&mut self) {
            raw::close(self.0);
        }
    }

    /// A syscall's return value: negative errno, or the result.
    fn check(ret: isize) -> Result<usize, Errno> {
        if ret < 0 {
            let e = ret.checked_neg().and_then(|e| i32::try_from(e).ok());
            Err(Errno(e.unwrap_or(Errno::EIO.0)))
        } else {
            Ok(ret.unsigned_abs())
        }
    }

    fn openat(path: &str, flags: i32) -> Result<Handle, Errno> {
        let c = c_path(path)?;
        check(raw::openat(&c, flags)).map(Handle)
    }

    pub fn open(path: &str) -> Result<Handle, Errno> {
        openat(path, libc::O_RDONLY | libc::O_CLOEXEC)
    }

    pub fn read(h: &Handle, buf: &mut [u8]) -> Result<usize, Errno> {
        check(raw::read(h.0, buf))
    }

    pub fn pread(h: &Handle, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        check(raw::pread(h.0, buf, offset))
    }

    pub fn write(h: &Handle, buf: &[u8]) -> Result<usize, Errno> {
        check(raw::write(h.0, buf))
    }

    pub fn netlink(protocol: i32) -> Result<Handle, Errno> {
        let ty = libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
        check(raw::socket(libc::AF_NETLINK, ty, protocol)).map(Handle)
    }

    pub fn access(path: &str) -> Result<(), Errno> {
        let c = c_path(path)?;
        check(raw::lstat(&c)).map(|_| ())
    }

    pub fn mincore(addr: usize, len: usize, vec: &mut [u8]) -> Result<(), Errno> {
        check(raw::mincore(addr, len, vec)).map(|_| ())
    }

    pub fn list_dir(path: &str) -> Result<Vec<String>, Errno> {
        let dir = openat(path, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC)?;
        let mut buf = vec![0u8; 32 << 10];
        let mut out = Vec::new();
        // Bounded: a directory of /proc never needs more than a few calls.
        for _ in 0..4096 {
            let n = check(raw::getdents64(dir.0, &mut buf))?;
            if n == 0 {
                break;
            }
            parse_dirents(buf.get(..n).unwrap_or(&buf), &mut out);
        }
        Ok(out)
    }
}

/// The system calls themselves: inline `syscall`/`svc` on x86_64 and aarch64.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod raw {
    use core::arch::asm;

    #[cfg(target_arch = "x86_64")]
    mod nr {
        pub const READ: usize = 0;
        pub const WRITE: usize = 1;
        pub const CLOSE: usize = 3;
        pub const SOCKET: usize = 41;
        pub const PREAD64: usize = 17;
        pub const GETDENTS64: usize = 217;
        pub const OPENAT: usize = 257;
        pub const NEWFSTATAT: usize = 262;
        pub const MINCORE: usize = 27;
    }

    #[cfg(target_arch = "aarch64")]
    mod nr {
        pub const NEWFSTATAT: usize = 79;
        pub const OPENAT: usize = 56;
        pub const CLOSE: usize = 57;
        pub const GETDENTS64: usize = 61;
        pub const READ: usize = 63;
        pub const WRITE: usize = 64;
        pub const PREAD64: usize = 67;
        pub const SOCKET: usize = 198;
        pub const MINCORE: usize = 232;
    }

    /// A four-argument system call; returns the kernel's value (negative errno on failure).
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    unsafe fn syscall4(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
        let ret: isize;
        // SAFETY: the caller passes a valid syscall number with arguments the kernel validates; the
        // kernel clobbers rcx and r11 (declared) and reads/writes only the memory the arguments name,
        // which the callers own for the duration of the call.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") n as isize => ret,
                in("rdi") a1,
                in("rsi") a2,
                in("rdx") a3,
                in("r10") a4,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    #[cfg(target_arch = "aarch64")]
    #[allow(unsafe_code)]
    unsafe fn syscall4(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
        let ret: isize;
        // SAFETY: as above: `svc 0` with the number in x8 and arguments in x0..x3; the kernel returns in
        // x0 and touches only the memory the arguments name.
        unsafe {
            asm!(
                "svc 0",
                in("x8") n,
                inlateout("x0") a1 as isize => ret,
                in("x1") a2,
                in("x2") a3,
                in("x3") a4,
                options(nostack),
            );
        }
        ret
    }

    const AT_FDCWD: isize = -100;

    pub fn openat(path: &[u8], flags: i32) -> isize {
        // SAFETY: `path` is NUL-terminated and outlives the call; openat only reads it.
        #[allow(unsafe_code)]
        unsafe {
            syscall4(
                nr::OPENAT,
                AT_FDCWD as usize,
                path.as_ptr() as usize,
                flags as usize,
                0,
            )
        }
    }

    pub fn read(fd: usize, buf: &mut [u8]) -> isize {
        // SAFETY: `buf` is writable for `buf.len()` bytes for the duration of the call.
        #[allow(unsafe_code)]
        unsafe {
            syscall4(nr::READ, fd, buf.as_mut_ptr() as usize, buf.len(), 0)
        }
    }

    pub fn pread(fd: usize, buf: &mut [u8], offset: u64) -> isize {
        // SAFETY: as `read`; the offset is a plain 64-bit value on both 64-bit ABIs.
        #[allow(unsafe_code)]
        unsafe {
            syscall4(
                nr::PREAD64,
                fd,
                buf.as_mut_ptr() as usize,
                buf.len(),
                offset as usize,
            )
        }
    }

    pub fn getdents64(fd: usize, buf: &mut [u8]) -> isize {
        // SAFETY: as `read`: the kernel writes at most `buf.len()` bytes of directory records.
        #[allow(unsafe_code)]
        unsafe {
            syscall4(nr::GETDENTS64, fd, buf.as_mut_ptr() as usize, buf.len(), 0)
        }
    }

    pub fn write(fd: usize, buf: &[u8]) -> isize {
        // SAFETY: `buf` is readable for `buf.len()` bytes for the duration of the call.
        #[allow(unsafe_code)]
        unsafe {
            syscall4(nr::WRITE, fd, buf.as_ptr() as usize, buf.len(), 0)
        }
    }

    pub fn socket(domain: i32, ty: i32, protocol: i32) -> isize {
        // SAFETY: no memory is passed; the kernel validates the three integers.
        #[allow(unsafe_code)]
        unsafe {
            syscall4(
                nr::SOCKET,
                domain as usize,
                ty as usize,
                protocol as usize,
                0,
            )
        }
    }

    /// `struct stat` is 144 bytes on x86_64 and 128 on aarch64; the contents are not used.
    pub fn lstat(path: &[u8]) -> isize {
        let mut st = [0u64; 32];
        // SAFETY: `path` is NUL-terminated and only read; `st` (256 bytes) is writable and larger than
        // the kernel's `struct stat` on both architectures.
        #[allow(unsafe_code)]
        unsafe {
            syscall4(
                nr::NEWFSTATAT,
                AT_FDCWD as usize,
                path.as_ptr() as usize,
                st.as_mut_ptr() as usize,
                libc::AT_SYMLINK_NOFOLLOW as usize,
            )
        }
    }

    pub fn mincore(addr: usize, len: usize, vec: &mut [u8]) -> isize {
        if vec.len() < len.div_ceil(4096) {
            return -22;
        }
        // SAFETY: the kernel writes one byte per page of `[addr, addr + len)` into `vec`, which holds
        // at least that many (pages are at least 4 KiB); it only inspects page tables, never the
        // memory at `addr`.
        #[allow(unsafe_code)]
        unsafe {
            syscall4(nr::MINCORE, addr, len, vec.as_mut_ptr() as usize, 0)
        }
    }

    pub fn close(fd: usize) {
        // SAFETY: `fd` was returned by openat and is closed exactly once (Handle's drop).
        #[allow(unsafe_code)]
        unsafe {
            syscall4(nr::CLOSE, fd, 0, 0, 0);
        }
    }
}

/// 32-bit ARM (armv7 Android, which compiles to Thumb-2): the system calls go through
/// `smartid_rasp_svc`, an ARM-mode function of this crate that loads the number into r7 and issues
/// `svc #0` itself. Thumb code cannot name r7 (its frame pointer) as an `asm!` operand, and calling
/// `libc::syscall` would let a hook on it see and rewrite every read.
#[cfg(all(any(target_os = "linux", target_os = "android"), target_arch = "arm"))]
mod raw {
    // The EABI numbers (arch/arm/tools/syscall.tbl).
    const READ: usize = 3;
    const WRITE: usize = 4;
    const CLOSE: usize = 6;
    const PREAD64: usize = 180;
    const GETDENTS64: usize = 217;
    const MINCORE: usize = 219;
    const OPENAT: usize = 322;
    const SOCKET: usize = 281;
    const FSTATAT64: usize = 327;
    const AT_FDCWD: isize = -100;

    // smartid_rasp_svc(a1, a2, a3, a4, a5, a6, nr): a1..a4 arrive in r0..r3, a5, a6 and nr on the
    // stack. r4, r5 and r7 are callee-saved (AAPCS), so they are pushed with lr; `pop {.., pc}`
    // returns to Thumb callers too (ARMv5T+ interworking on loads to pc). The kernel returns in r0 and
    // preserves every other register. Assembled in ARM mode whatever the crate's default (the
    // compiler states the mode of every function it emits itself, so its Thumb code after this is
    // unaffected: checked by disassembling an object built for armv7-linux-androideabi); the function
    // is hidden (not exported from the app's shared library).
    // (The lint allowance covers only this module-level assembly.)
    #[allow(unsafe_code)]
    mod stub {
        core::arch::global_asm!(
            ".pushsection .text.smartid_rasp_svc,\"ax\",%progbits",
            ".p2align 2",
            ".arm",
            ".globl smartid_rasp_svc",
            ".hidden smartid_rasp_svc",
            ".type smartid_rasp_svc,%function",
            "smartid_rasp_svc:",
            "push {{r4, r5, r7, lr}}",
            "ldr r4, [sp, #16]",
            "ldr r5, [sp, #20]",
            "ldr r7, [sp, #24]",
            "svc #0",
            "pop {{r4, r5, r7, pc}}",
            ".size smartid_rasp_svc, .-smartid_rasp_svc",
            ".popsection",
        );
    }

    #[allow(unsafe_code)]
    unsafe extern "C" {
        fn smartid_rasp_svc(
            a1: usize,
            a2: usize,
            a3: usize,
            a4: usize,
            a5: usize,
            a6: usize,
            nr: usize,
        ) -> isize;
    }

    /// A system call; returns the kernel's value (negative errno on failure).
    #[allow(unsafe_code)]
    unsafe fn svc(nr: usize, a: [usize; 6]) -> isize {
        // SAFETY: the caller passes a valid syscall number with arguments the kernel validates, naming
        // only memory the caller owns for the duration of the call; `smartid_rasp_svc` follows the
        // AAPCS (see above).
        unsafe { smartid_rasp_svc(a[0], a[1], a[2], a[3], a[4], a[5], nr) }
    }

    pub fn openat(path: &[u8], flags: i32) -> isize {
        // SAFETY: `path` is NUL-terminated and outlives the call; openat only reads it.
        #[allow(unsafe_code)]
        unsafe {
            svc(
                OPENAT,
                [
                    AT_FDCWD as usize,
                    path.as_ptr() as usize,
                    flags as usize,
                    0,
                    0,
                    0,
                ],
            )
        }
    }

    pub fn read(fd: usize, buf: &mut [u8]) -> isize {
        // SAFETY: `buf` is writable for `buf.len()` bytes for the duration of the call.
        #[allow(unsafe_code)]
        unsafe {
            svc(READ, [fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0])
        }
    }

    pub fn pread(fd: usize, buf: &mut [u8], offset: u64) -> isize {
        // EABI: the 64-bit offset goes in an even register pair (r4 low, r5 high); r3 is padding.
        let (lo, hi) = ((offset & 0xffff_ffff) as usize, (offset >> 32) as usize);
        // SAFETY: as `read`.
        #[allow(unsafe_code)]
        unsafe {
            svc(
                PREAD64,
                [fd, buf.as_mut_ptr() as usize, buf.len(), 0, lo, hi],
            )
        }
    }

    pub fn getdents64(fd: usize, buf: &mut [u8]) -> isize {
        // SAFETY: the kernel writes at most `buf.len()` bytes of directory records into `buf`.
        #[allow(unsafe_code)]
        unsafe {
            svc(
                GETDENTS64,
                [fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
            )
        }
    }

    pub fn write(fd: usize, buf: &[u8]) -> isize {
        // SAFETY: `buf` is readable for `buf.len()` bytes for the duration of the call.
        #[allow(unsafe_code)]
        unsafe {
            svc(WRITE, [fd, buf.as_ptr() as usize, buf.len(), 0, 0, 0])
        }
    }

    pub fn socket(domain: i32, ty: i32, protocol: i32) -> isize {
        // SAFETY: no memory is passed; the kernel validates the three integers.
        #[allow(unsafe_code)]
        unsafe {
            svc(
                SOCKET,
                [domain as usize, ty as usize, protocol as usize, 0, 0, 0],
            )
        }
    }

    /// `struct stat64` is 104 bytes on ARM EABI; the contents are not used.
    pub fn lstat(path: &[u8]) -> isize {
        let mut st = [0u64; 32];
        // SAFETY: `path` is NUL-terminated and only read; `st` (256 bytes) is writable and larger than
        // the kernel's `struct stat64`.
        #[allow(unsafe_code)]
        unsafe {
            svc(
                FSTATAT64,
                [
                    AT_FDCWD as usize,
                    path.as_ptr() as usize,
                    st.as_mut_ptr() as usize,
                    libc::AT_SYMLINK_NOFOLLOW as usize,
                    0,
                    0,
                ],
            )
        }
    }

    pub fn mincore(addr: usize, len: usize, vec: &mut [u8]) -> isize {
        if vec.len() < len.div_ceil(4096) {
            return -22;
        }
        // SAFETY: the kernel writes one byte per page of the range into `vec`, which is long enough
        // (pages are at least 4 KiB); the memory at `addr` is not touched.
        #[allow(unsafe_code)]
        unsafe {
            svc(MINCORE, [addr, len, vec.as_mut_ptr() as usize, 0, 0, 0])
        }
    }

    pub fn close(fd: usize) {
        // SAFETY: `fd` was returned by openat and is closed exactly once.
        #[allow(unsafe_code)]
        unsafe {
            svc(CLOSE, [fd, 0, 0, 0, 0, 0]);
        }
    }
}

/// Other Linux architectures (x86 and the rest: not shipped): `libc::syscall` (and `pread64`, whose
/// 64-bit offset is split differently per 32-bit ABI, `fstatat`, whose `struct stat` differs per ABI,
/// and `mincore`): past the `open`/`read` wrappers, not past a hooked `syscall`.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm"))
))]
mod raw {
    /// A libc return value (-1 and errno on failure) as the kernel's (negative errno).
    fn ret(r: impl Into<i64>) -> isize {
        let r: i64 = r.into();
        if r == -1 {
            let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(5);
            -isize::try_from(e).unwrap_or(5)
        } else {
            isize::try_from(r).unwrap_or(-5)
        }
    }

    pub fn openat(path: &[u8], flags: i32) -> isize {
        // SAFETY: `path` is NUL-terminated and outlives the call; openat only reads it.
        #[allow(unsafe_code)]
        ret(unsafe {
            libc::syscall(
                libc::SYS_openat,
                libc::AT_FDCWD,
                path.as_ptr(),
                flags,
                0 as libc::c_int,
            )
        })
    }

    pub fn read(fd: usize, buf: &mut [u8]) -> isize {
        // SAFETY: `buf` is writable for `buf.len()` bytes for the duration of the call.
        #[allow(unsafe_code)]
        ret(unsafe {
            libc::syscall(
                libc::SYS_read,
                fd as libc::c_int,
                buf.as_mut_ptr(),
                buf.len(),
            )
        })
    }

    pub fn pread(fd: usize, buf: &mut [u8], offset: u64) -> isize {
        let Ok(offset) = libc::off64_t::try_from(offset) else {
            return -22;
        };
        // SAFETY: as `read`.
        #[allow(unsafe_code)]
        let r = unsafe {
            libc::pread64(
                fd as libc::c_int,
                buf.as_mut_ptr().cast(),
                buf.len(),
                offset,
            )
        };
        if r == -1 { ret(-1i32) } else { r }
    }

    pub fn write(fd: usize, buf: &[u8]) -> isize {
        // SAFETY: `buf` is readable for `buf.len()` bytes for the duration of the call.
        #[allow(unsafe_code)]
        ret(unsafe { libc::syscall(libc::SYS_write, fd as libc::c_int, buf.as_ptr(), buf.len()) })
    }

    /// `socket(2)` through libc: on 32-bit x86 it is a `socketcall` multiplexer, not a plain call.
    pub fn socket(domain: i32, ty: i32, protocol: i32) -> isize {
        // SAFETY: no memory is passed.
        #[allow(unsafe_code)]
        ret(unsafe { libc::socket(domain, ty, protocol) })
    }

    pub fn getdents64(fd: usize, buf: &mut [u8]) -> isize {
        // SAFETY: the kernel writes at most `buf.len()` bytes of directory records into `buf`.
        #[allow(unsafe_code)]
        ret(unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                fd as libc::c_int,
                buf.as_mut_ptr(),
                buf.len(),
            )
        })
    }

    pub fn lstat(path: &[u8]) -> isize {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `path` is NUL-terminated and only read; `st` is a writable `struct stat` that is
        // never read afterwards.
        #[allow(unsafe_code)]
        let r = unsafe {
            libc::fstatat(
                libc::AT_FDCWD,
                path.as_ptr().cast(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        ret(r)
    }

    pub fn mincore(addr: usize, len: usize, vec: &mut [u8]) -> isize {
        if vec.len() < len.div_ceil(4096) {
            return -22;
        }
        // SAFETY: the kernel writes one byte per page of the range into `vec`, which is long enough;
        // the memory at `addr` is not touched.
        #[allow(unsafe_code)]
        ret(unsafe { libc::mincore(addr as *mut libc::c_void, len, vec.as_mut_ptr().cast()) })
    }

    pub fn close(fd: usize) {
        // SAFETY: `fd` was returned by openat and is closed exactly once.
        #[allow(unsafe_code)]
        unsafe {
            libc::syscall(libc::SYS_close, fd as libc::c_int);
        }
    }
}

/// No /proc and no stable syscall ABI (Apple) or no Linux at all: the standard library.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    use super::Errno;
    use std::io::{Read, Seek, SeekFrom};

    pub struct Handle(std::sync::Mutex<std::fs::File>);

    pub fn open(path: &str) -> Result<Handle, Errno> {
        std::fs::File::open(path)
            .map(|f| Handle(std::sync::Mutex::new(f)))
            .map_err(|e| Errno::from_io(&e))
    }

    pub fn read(h: &Handle, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut f = h.0.lock().map_err(|_| Errno::EIO)?;
        f.read(buf).map_err(|e| Errno::from_io(&e))
    }

    pub fn pread(h: &Handle, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let mut f = h.0.lock().map_err(|_| Errno::EIO)?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| Errno::from_io(&e))?;
        f.read(buf).map_err(|e| Errno::from_io(&e))
    }

    pub fn access(path: &str) -> Result<(), Errno> {
        std::fs::symlink_metadata(path)
            .map(|_| ())
            .map_err(|e| Errno::from_io(&e))
    }

    pub fn list_dir(path: &str) -> Result<Vec<String>, Errno> {
        let d = std::fs::read_dir(path).map_err(|e| Errno::from_io(&e))?;
        Ok(
            d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect(),
        )
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_and_lists_without_libc_wrappers() {
        let status = String::from_utf8(read_file("/proc/self/status", MAX_FILE).unwrap()).unwrap();
        assert!(status.contains("TracerPid:"), "{status}");
        let tasks = list_dir("/proc/self/task").unwrap();
        assert!(!tasks.is_empty() && tasks.iter().all(|t| t.parse::<u32>().is_ok()));
        assert_eq!(exists("/proc/self/status"), Ok(true));
        assert_eq!(exists("/proc/self/no-such-file"), Ok(false));
        assert_eq!(File::open("/no/such/dir/x").err(), Some(Errno::ENOENT));
        assert_eq!(read_file("bad\0path", 10).err(), Some(Errno::EINVAL));
        // pread on a regular file.
        let f = File::open("/proc/self/exe").unwrap();
        let mut magic = [0u8; 4];
        f.read_exact_at(&mut magic, 0).unwrap();
        assert_eq!(&magic, b"\x7fELF");
        // A directory is not a file to read.
        assert!(read_file("/proc/self/task", 10).is_err());
    }

    #[test]
    fn page_size_and_residency_come_from_the_kernel() {
        let page = page_size();
        assert!(page.is_power_of_two() && page >= 4096, "{page}");
        // A large allocation is its own fresh mapping: only the pages written are resident.
        let len = 16 << 20;
        let mut v: Vec<u8> = Vec::with_capacity(len);
        v.resize(page as usize, 1);
        let start = v.as_ptr() as u64;
        let first = start - start % page;
        let mut out = Vec::new();
        resident(first, page, page, &mut out).unwrap();
        assert_eq!(out, [true], "the written page");
        // 8 MiB in: untouched (beyond any transparent huge page around what was written).
        resident(first + (8 << 20), 4 * page, page, &mut out).unwrap();
        assert_eq!(out, [false; 4]);
        assert_eq!(
            resident(first + 1, page, page, &mut out),
            Err(Errno::EINVAL)
        );
        drop(v);
    }

    #[test]
    fn dirent_records_are_parsed_and_bounded() {
        let mut buf = Vec::new();
        for name in ["1234", "comm"] {
            let reclen = (19 + name.len() + 1).next_multiple_of(8);
            let start = buf.len();
            buf.extend_from_slice(&7u64.to_ne_bytes());
            buf.extend_from_slice(&0i64.to_ne_bytes());
            buf.extend_from_slice(&(reclen as u16).to_ne_bytes());
            buf.push(4);
            buf.extend_from_slice(name.as_bytes());
            buf.resize(start + reclen, 0);
        }
        let mut out = Vec::new();
        parse_dirents(&buf, &mut out);
        assert_eq!(out, ["1234", "comm"]);
        // A truncated record is ignored, not read past.
        let mut out = Vec::new();
        parse_dirents(&buf[..buf.len() - 3], &mut out);
        assert_eq!(out, ["1234"]);
    }
}
