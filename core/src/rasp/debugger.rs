//! Debugger or tracer attached: `TracerPid` in /proc/self/status and in every thread's status
//! (Linux, Android: ptrace attaches per thread), `P_TRACED` from `sysctl` (iOS, macOS).
//!
//! On the system root the status files are read with raw system calls (`FsRoot`), so a shim over
//! libc's `open`/`read` that rewrites `TracerPid` does not hide the tracer.
//!
//! The evidence says who the tracer is relative to this process, from its /proc/<pid>/status when the
//! process may read it (same uid): app protectors trace their own process from a parent or child of
//! the same uid to keep debuggers out. That stays a Debugger finding: a tracer can read and write all
//! of the process's memory whoever it is, and a same-uid child is also what code injected into the app
//! would fork; the server (and a bank that integrates such a protector) sees the relation and decides.

use super::{Finding, FsRoot, Platform, Severity, SkippedCheck, Threat};

/// A `Key:\tvalue` field's first number in a status file's text.
fn status_number(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The tracer's pid in a status file's text (0 when not traced or not stated).
fn tracer_pid(status: &str) -> u64 {
    status_number(status, "TracerPid").unwrap_or(0)
}

/// Who tracer `pid` is to the process whose status is `own`: from its /proc/<pid>/status.
fn tracer_relation(root: &FsRoot, own: &str, pid: u64) -> &'static str {
    let Some(tracer) = root.read(&format!("/proc/{pid}/status")) else {
        return "the tracer is not visible to this process (another uid, or hidden)";
    };
    let uid = |s: &str| status_number(s, "Uid");
    let same_uid = uid(own).is_some() && uid(own) == uid(&tracer);
    let own_pid = status_number(own, "Tgid").or_else(|| status_number(own, "Pid"));
    let parent = status_number(own, "PPid");
    // TracerPid names the tracing thread; its process is its Tgid.
    let tracer_process = status_number(&tracer, "Tgid").unwrap_or(pid);
    let tracer_parent = status_number(&tracer, "PPid");
    match (
        same_uid,
        Some(tracer_process) == parent,
        own_pid.is_some() && tracer_parent == own_pid,
    ) {
        (true, true, _) => {
            "the tracer is this process's parent, same uid (an app protector tracing its own app?)"
        }
        (true, _, true) => {
            "the tracer is this process's own child, same uid (an app protector tracing its own app?)"
        }
        (true, _, _) => "the tracer is another process of the same uid",
        (false, true, _) => "the tracer is this process's parent, another uid",
        (false, _, _) => "the tracer is a process of another uid",
    }
}

pub fn check(root: &FsRoot, platform: Platform, skipped: &mut Vec<SkippedCheck>) -> Vec<Finding> {
    let mut out = Vec::new();
    if platform.has_procfs() {
        match root.read_checked("/proc/self/status") {
            Ok(status) => {
                let main = tracer_pid(&status);
                // A tracer attached to one thread only (the capture thread) shows in that thread's
                // status, not in the process's.
                let thread = if main != 0 {
                    0
                } else {
                    root.list("/proc/self/task")
                        .iter()
                        .filter_map(|tid| root.read(&format!("/proc/self/task/{tid}/status")))
                        .map(|s| tracer_pid(&s))
                        .find(|&t| t != 0)
                        .unwrap_or(0)
                };
                if main != 0 || thread != 0 {
                    let (what, pid) = if main != 0 {
                        ("process is traced (TracerPid is non-zero)", main)
                    } else {
                        ("a thread is traced (TracerPid is non-zero)", thread)
                    };
                    out.push(Finding::new(
                        Threat::Debugger,
                        Severity::Critical,
                        "debugger.tracer_pid",
                        format!("{what}; {}", tracer_relation(root, &status, pid)),
                    ));
                }
            }
            Err(e) => skipped.push(SkippedCheck::new(
                "debugger.tracer_pid",
                format!("/proc/self/status: {}", e.describe()),
            )),
        }
    }
    if root.is_system() {
        match apple::is_traced() {
            Some(true) => out.push(Finding::new(
                Threat::Debugger,
                Severity::Critical,
                "debugger.p_traced",
                "process is traced (P_TRACED)",
            )),
            Some(false) => {}
            None if cfg!(target_vendor = "apple") => skipped.push(SkippedCheck::new(
                "debugger.p_traced",
                "sysctl(KERN_PROC_PID) failed",
            )),
            None => {}
        }
    }
    out
}

#[cfg(target_vendor = "apple")]
mod apple {
    /// `kinfo_proc.kp_proc.p_flag` is an i32 at byte 32 of the 648-byte `kinfo_proc` on 64-bit Darwin.
    const KINFO_PROC_SIZE: usize = 648;
    const P_FLAG_OFFSET: usize = 32;
    const P_TRACED: i32 = 0x0000_0800;

    #[allow(unsafe_code)]
    pub fn is_traced() -> Option<bool> {
        let mut info = [0u8; KINFO_PROC_SIZE];
        let mut size = KINFO_PROC_SIZE;
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        let mut mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PID, pid];
        // SAFETY: mib has 4 valid entries; info is a writable buffer of `size` bytes; sysctl writes at
        // most `size` bytes and updates `size`.
        let rc = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                mib.len() as libc::c_uint,
                info.as_mut_ptr().cast(),
                &mut size,
                std::ptr::null_mut(),
                0,
            )
        };
        if rc != 0 || size < P_FLAG_OFFSET + 4 {
            return None;
        }
        let flag = i32::from_ne_bytes([
            info[P_FLAG_OFFSET],
            info[P_FLAG_OFFSET + 1],
            info[P_FLAG_OFFSET + 2],
            info[P_FLAG_OFFSET + 3],
        ]);
        Some(flag & P_TRACED != 0)
    }
}

#[cfg(not(target_vendor = "apple"))]
mod apple {
    /// No sysctl flag to read off Apple platforms (/proc covers Linux and Android).
    pub fn is_traced() -> Option<bool> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(pid: u64, ppid: u64, tracer: u64, uid: u64) -> String {
        format!(
            "Name:\tx\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t{ppid}\nTracerPid:\t{tracer}\n\
             Uid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
        )
    }

    fn tree(files: &[(String, String)]) -> FsRoot {
        let dir = std::env::temp_dir().join(format!(
            "smartid-debugger-{}-{}",
            std::process::id(),
            files.len()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path.trim_start_matches('/'));
            if let Some(parent) = p.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(p, text);
        }
        FsRoot::at(dir)
    }

    #[test]
    fn the_tracer_relation_is_in_the_evidence() {
        let evidence = |files: Vec<(String, String)>| {
            let mut skipped = Vec::new();
            let f = check(&tree(&files), Platform::Android, &mut skipped);
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!(f[0].threat, Threat::Debugger);
            f[0].evidence.clone()
        };
        let own = (
            "/proc/self/status".to_string(),
            status(4242, 612, 612, 10123),
        );
        // A same-uid parent (an app protector forking and tracing its app).
        let e = evidence(vec![
            own.clone(),
            ("/proc/612/status".into(), status(612, 1, 0, 10123)),
        ]);
        assert!(e.contains("parent, same uid"), "{e}");
        // A thread of the parent (TracerPid is a thread id).
        let by_thread = (
            "/proc/self/status".to_string(),
            status(4242, 612, 615, 10123),
        );
        let thread_status = status(615, 1, 0, 10123).replace("Tgid:\t615", "Tgid:\t612");
        let e = evidence(vec![by_thread, ("/proc/615/status".into(), thread_status)]);
        assert!(e.contains("parent, same uid"), "{e}");
        // A same-uid child.
        let child = (
            "/proc/self/status".to_string(),
            status(4242, 612, 4300, 10123),
        );
        let e = evidence(vec![
            child,
            ("/proc/4300/status".into(), status(4300, 4242, 0, 10123)),
        ]);
        assert!(e.contains("own child, same uid"), "{e}");
        // Not visible (another uid under hidepid): still a finding.
        let e = evidence(vec![own]);
        assert!(e.contains("not visible"), "{e}");
    }
}
