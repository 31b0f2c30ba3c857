//! What the core asks of the process's allocator: no setting changed (the allocator is the host app's),
//! only the memory the model loads freed given back once they are done.
//!
//! Why: parsing and optimising a model allocates and frees tens of MiB of short-lived tensors (the
//! ONNX graph, tract's typed copies, the embedder's fp32 weights before they are packed). glibc keeps
//! what is freed in its arenas (one per loading thread) for later allocations: on this machine a
//! capture session held ≈ 89 MiB for its whole length where its live heap and code were ≈ 55
//! (docs/performance.md). `malloc_trim` hands the free pages back once; it changes no threshold, and
//! the next allocations take pages as before. Android's Scudo and Apple's libmalloc unmap large
//! blocks when they are freed (after a short cache) and release freed pages on their own schedule;
//! Android's forced purge (`mallopt(M_PURGE)`, API 28+) is not called: it could not be measured here
//! without a device.

/// Gives the pages the allocator holds free back to the system (glibc); elsewhere nothing.
#[allow(unsafe_code)]
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes a plain integer (the bytes to keep at the top of the main heap) and
    // only releases free pages; it is thread-safe (each arena is locked while trimmed).
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

    /// Below glibc's mmap threshold (128 KiB), so the blocks come from an arena, not a mapping of
    /// their own that `free` would unmap.
    const BLOCK: usize = 96 * 1024;
    const BLOCKS: usize = 16;

    /// The pages wholly inside a block, past the first: glibc writes its free-list links at the
    /// block's start and its header just before it; the rest it does not touch when freeing.
    fn interior(ptr: usize, page: usize) -> (usize, usize) {
        let start = ptr.div_ceil(page) * page + page;
        let end = (ptr + BLOCK) / page * page - page;
        (start, end.saturating_sub(start) / page)
    }

    /// How many of these pages are resident. `mincore` only reads the page tables: no freed memory
    /// is read.
    fn resident(spans: &[(usize, usize)], page: usize) -> usize {
        spans
            .iter()
            .map(|&(start, pages)| {
                let mut flags = vec![0u8; pages];
                // SAFETY: `start` is page-aligned and the span lies in this process's heap, which
                // glibc never unmaps while the blocks around it are held; `flags` has one byte per
                // page.
                let rc = unsafe {
                    libc::mincore(start as *mut libc::c_void, pages * page, flags.as_mut_ptr())
                };
                assert_eq!(rc, 0, "mincore failed");
                flags.iter().filter(|f| *f & 1 == 1).count()
            })
            .sum()
    }

    /// Freed blocks stay in the process until `release_freed` hands their pages back. Fails if the
    /// call does nothing (its `cfg`, the trim), and says so if glibc freed them itself (then the test
    /// would prove nothing).
    #[test]
    fn freed_blocks_leave_the_process_once_released() {
        // SAFETY: reads a configuration value.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap();
        // On a thread of its own, so its blocks sit in an arena other tests' threads seldom share.
        let (before, after, total) = std::thread::spawn(move || {
            let (mut blocks, mut keep) = (Vec::new(), Vec::new());
            for _ in 0..BLOCKS {
                blocks.push(vec![1u8; BLOCK]);
                // A small block held after each, so no freed block merges into the arena's top
                // (which glibc trims by itself).
                keep.push(vec![1u8; 64]);
            }
            let spans: Vec<(usize, usize)> = blocks
                .iter()
                .map(|b| interior(b.as_ptr() as usize, page))
                .collect();
            let total: usize = spans.iter().map(|s| s.1).sum();
            drop(blocks);
            let before = resident(&spans, page);
            super::release_freed();
            let after = resident(&spans, page);
            drop(keep);
            (before, after, total)
        })
        .join()
        .unwrap();
        assert!(
            total >= BLOCKS,
            "{page}-byte pages leave too few whole pages inside {BLOCK}-byte blocks to tell"
        );
        assert!(
            before * 4 >= total * 3,
            "glibc already gave back the freed blocks ({before} of {total} pages resident)"
        );
        assert!(
            after * 4 <= total,
            "{after} of {total} freed pages still resident after release_freed"
        );
    }
}
