//! `/proc/self/maps`, parsed: which object (file) each address range belongs to, with what access.

// Only live where there is a /proc (Linux, Android); compiled everywhere for the shared code.
#![cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]

/// One line of /proc/self/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    /// File offset of `start`.
    pub offset: u64,
    pub inode: u64,
    /// The file, a pseudo name (`[vdso]`, `[anon:…]`) or empty (anonymous).
    pub path: String,
}

impl Mapping {
    pub fn contains(&self, addr: u64) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// Backed by a file (a path, including `/memfd:…` and deleted files), not anonymous or pseudo.
    pub fn is_file(&self) -> bool {
        self.path.starts_with('/')
    }

    /// Anonymous memory: no name, or Android's `[anon:…]` names.
    pub fn is_anonymous(&self) -> bool {
        self.path.is_empty() || self.path.starts_with("[anon:")
    }

    /// The file name of the object (`libc.so.6`), without ` (deleted)` or a `memfd:` prefix.
    pub fn file_name(&self) -> &str {
        file_name(&self.path)
    }
}

/// The last path component, without ` (deleted)` and `memfd:`.
pub fn file_name(path: &str) -> &str {
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_prefix("memfd:").unwrap_or(name)
}

/// Path prefixes of the OS's own libraries and compiled boot image: writing there takes root (which
/// the root checks report) or an OS update.
const SYSTEM_PREFIXES: &[&str] = &[
    "/system/",
    "/system_ext/",
    "/product/",
    "/apex/",
    "/vendor/",
    "/odm/",
    "/data/dalvik-cache/",
    "/data/misc/apexdata/com.android.art/",
    "/usr/lib/",
    "/usr/lib32/",
    "/usr/lib64/",
    "/lib/",
    "/lib32/",
    "/lib64/",
];

/// Whether `path` is in one of the OS's library directories.
pub fn is_system_path(path: &str) -> bool {
    SYSTEM_PREFIXES.iter().any(|p| path.starts_with(p))
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

/// Parses the text of /proc/self/maps; malformed lines are skipped.
pub fn parse(text: &str) -> Vec<Mapping> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mapping> {
    // "start-end perms offset dev inode    path": the path may contain spaces.
    let mut rest = line;
    let mut fields = [""; 5];
    for f in &mut fields {
        rest = rest.trim_start();
        let end = rest.find(' ').unwrap_or(rest.len());
        *f = &rest[..end];
        rest = &rest[end..];
    }
    let [range, perms, offset, _dev, inode] = fields;
    let (start, end) = range.split_once('-')?;
    let perms = perms.as_bytes();
    if perms.len() < 3 {
        return None;
    }
    Some(Mapping {
        start: hex(start)?,
        end: hex(end)?,
        read: perms[0] == b'r',
        write: perms[1] == b'w',
        exec: perms[2] == b'x',
        offset: hex(offset)?,
        inode: inode.parse().ok()?,
        path: rest.trim().to_string(),
    })
}

/// The mapping containing `addr`.
pub fn find(maps: &[Mapping], addr: u64) -> Option<&Mapping> {
    maps.iter().find(|m| m.contains(addr))
}

/// Every mapping of the object `like` belongs to (same file path and inode); for an anonymous
/// mapping, only itself.
pub fn object_of<'a>(maps: &'a [Mapping], like: &Mapping) -> Vec<&'a Mapping> {
    if !like.is_file() {
        return maps.iter().filter(|m| *m == like).collect();
    }
    maps.iter()
        .filter(|m| m.path == like.path && m.inode == like.inode)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const MAPS: &str = "\
5581d7e00000-5581d7e29000 r--p 00000000 fd:01 1311 /usr/bin/app
5581d7e29000-5581d7f00000 r-xp 00029000 fd:01 1311 /usr/bin/app
7f11aa000000-7f11aa021000 rwxp 00000000 00:00 0 
7f11ab000000-7f11ab028000 r--p 00000000 fd:01 2222 /usr/lib/x86_64-linux-gnu/libc.so.6
7f11ab028000-7f11ab1bd000 r-xp 00028000 fd:01 2222 /usr/lib/x86_64-linux-gnu/libc.so.6
7f11ac000000-7f11ac001000 r-xp 00000000 00:01 77 /memfd:frida-agent-64.so (deleted)
7ffd1b5f3000-7ffd1b5f5000 r-xp 00000000 00:00 0                          [vdso]
garbage line
";

    #[test]
    fn lines_are_parsed_with_names_and_permissions() {
        let m = parse(MAPS);
        assert_eq!(m.len(), 7);
        assert_eq!(m[1].offset, 0x29000);
        assert!(m[1].exec && m[1].read && !m[1].write && m[1].is_file());
        assert!(m[2].is_anonymous() && m[2].exec && m[2].write);
        assert_eq!(m[4].file_name(), "libc.so.6");
        assert_eq!(m[5].file_name(), "frida-agent-64.so");
        assert!(!m[6].is_file() && !m[6].is_anonymous());
        let libc = find(&m, 0x7f11ab030000).unwrap();
        assert_eq!(object_of(&m, libc).len(), 2);
        assert!(find(&m, 0x1000).is_none());
    }
}
