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
        libc::pthread_set_qos_class_self_np(libc::qos_class_t::QOS_CLASS_UTILITY, 0);
    }
}
