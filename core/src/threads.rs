//! The core's own background threads (the model worker, deferred model loading) yield to the camera
//! thread.

/// Lowers the calling thread's priority: Android's background thread priority (nice 10, per thread
/// on Linux), iOS's utility QoS class. Best effort: a refusal changes nothing.
#[allow(unsafe_code)]
pub(crate) fn lower_priority() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: plain syscall wrapper with integer arguments; `who` 0 is the calling thread on Linux.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
    #[cfg(any(target_os = "ios", target_os = "macos"))]
    // SAFETY: sets the calling thread's own QoS class; integer arguments only.
    unsafe {
        pthread_set_qos_class_self_np(QOS_CLASS_UTILITY, 0);
    }
}

// <pthread/qos.h>; the libc crate (0.2.191) does not export it at its root.
#[cfg(any(target_os = "ios", target_os = "macos"))]
const QOS_CLASS_UTILITY: u32 = 0x11;

#[cfg(any(target_os = "ios", target_os = "macos"))]
#[allow(unsafe_code)]
unsafe extern "C" {
    fn pthread_set_qos_class_self_np(class: u32, relative_priority: libc::c_int) -> libc::c_int;
}
