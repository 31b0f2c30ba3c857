//! Debugger or tracer attached: `TracerPid` in /proc/self/status (Linux, Android), `P_TRACED` from
//! `sysctl` (iOS, macOS).

use super::{Finding, FsRoot, Platform, Severity, Threat};

pub fn check(root: &FsRoot, platform: Platform) -> Vec<Finding> {
    let mut out = Vec::new();
    if platform.has_procfs()
        && let Some(status) = root.read("/proc/self/status")
    {
        let tracer = status
            .lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if tracer != 0 {
            out.push(Finding::new(
                Threat::Debugger,
                Severity::Critical,
                "debugger.tracer_pid",
                "process is traced (TracerPid is non-zero)",
            ));
        }
    }
    if root.is_system() && apple::is_traced() {
        out.push(Finding::new(
            Threat::Debugger,
            Severity::Critical,
            "debugger.p_traced",
            "process is traced (P_TRACED)",
        ));
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
    pub fn is_traced() -> bool {
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
            return false;
        }
        let flag = i32::from_ne_bytes([
            info[P_FLAG_OFFSET],
            info[P_FLAG_OFFSET + 1],
            info[P_FLAG_OFFSET + 2],
            info[P_FLAG_OFFSET + 3],
        ]);
        flag & P_TRACED != 0
    }
}

#[cfg(not(target_vendor = "apple"))]
mod apple {
    pub fn is_traced() -> bool {
        false
    }
}
