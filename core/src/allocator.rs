//! What the core asks of the process's allocator. No setting is changed (the allocator is the host
//! app's); two things are done about the model loads, which allocate and free tens of MiB of
//! short-lived tensors (the ONNX graph, tract's typed copies, the embedder's fp32 weights before
//! they are packed).
//!
//! glibc keeps what is freed in its arenas (one per thread) for later allocations, and serves a
//! large block from an arena rather than a mapping of its own once a mapped block as large has been
//! freed (its mmap threshold rises, up to 32 MiB). On this machine a capture session held ≈ 89 MiB
//! for its whole length where its live heap and code were ≈ 55 (docs/performance.md).
//! - [`release_freed`] hands back the free pages the arenas hold once the first frame's models are
//!   parsed (before any frame) and once the background loads are done.
//! - [`ModelLoadAllocator`], the global allocator the harness and the FFI library register, maps
//!   each large block the background loads (the embedder, the anti-spoof model) allocate on its own,
//!   from glibc's starting threshold up. Those loads run beside the first frames, so what they free
//!   left the arena at its largest while the frames ran: the session's peak. A few freed blocks are
//!   kept for the load's next ones (tract's passes copy its tensors over and over, and a new
//!   mapping's pages are faulted in and zeroed again); the rest leave at once. Frames' tensors keep
//!   glibc's arenas, which reuse them without a system call.
//!
//! Android's Scudo and Apple's libmalloc already map large blocks on their own, unmap them when
//! freed (after a short cache) and release freed pages on their own schedule: there both are
//! nothing. Android's forced purge (`mallopt(M_PURGE)`, API 28+) is not called: it could not be
//! measured here without a device.

use std::alloc::{GlobalAlloc, Layout, System};

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

/// Marks the calling thread as loading models beside the frames until dropped: large blocks it
/// allocates meanwhile are mapped on their own ([`ModelLoadAllocator`]). Scopes nest; a scope
/// stays on its thread (it is not `Send`), which it counts for.
#[must_use = "the thread counts as loading only while this is held"]
pub(crate) struct Loading(std::marker::PhantomData<*const ()>);

/// Starts a [`Loading`] scope on this thread.
pub(crate) fn loading() -> Loading {
    mapped::enter();
    Loading(std::marker::PhantomData)
}

impl Drop for Loading {
    fn drop(&mut self) {
        mapped::leave();
    }
}

/// The system allocator, except that blocks of [`MAPPED_FROM`] bytes and more allocated by the
/// background model loads are mappings of their own (glibc only; elsewhere it is the system
/// allocator as is). Register it in a binary or a `cdylib`:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: smartid_core::allocator::ModelLoadAllocator = smartid_core::allocator::ModelLoadAllocator;
/// ```
///
/// Without it the SDK works the same, holding more memory on glibc. It only ever serves the
/// library or binary that registers it: the host app's allocator is untouched.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelLoadAllocator;

/// The smallest block mapped on its own: glibc's starting mmap threshold, which its raise would
/// otherwise lift. Half of it measured no lower (docs/performance.md). A mapping rounds a block up
/// to whole pages (at most 3 % more here).
pub const MAPPED_FROM: usize = 128 * 1024;

// SAFETY: every block is either the system allocator's (passed through to it with its layout) or an
// anonymous mapping of at least its size (new, or one a load freed and kept, then no one's),
// page-aligned (so aligned for any layout whose alignment is at most a page, the only ones mapped),
// recorded from the moment it is handed out until `dealloc` (then kept for the load's next blocks
// or unmapped). A recorded block is never handed to the system allocator, nor a system block
// unmapped: `dealloc` and `realloc` look the address up in the record first.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for ModelLoadAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(block) = mapped::map(layout, false) {
            return block;
        }
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if let Some(block) = mapped::map(layout, true) {
            return block;
        }
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= MAPPED_FROM && mapped::unmap(ptr) {
            return;
        }
        // SAFETY: not a mapped block, so the system allocator's, allocated with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let was_mapped = layout.size() >= MAPPED_FROM && mapped::is_mapped(ptr);
        let becomes_mapped = new_size >= MAPPED_FROM && mapped::active();
        if !(was_mapped || becomes_mapped) {
            // SAFETY: a system block and the caller's layout and size, as `realloc` requires.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // A mapped block, or one that becomes one: moved to a new block of the right kind.
        // SAFETY: `realloc`'s contract makes this layout valid (non-zero size, no overflow when
        // rounded up to the alignment).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid, non-zero layout.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks hold at least the smaller size and are distinct allocations.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: the old block with its own layout, no longer used.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

/// The mapped blocks: glibc (Linux with the GNU C library) only.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod mapped {
    use std::alloc::Layout;
    use std::cell::Cell;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    use std::sync::{Mutex, MutexGuard};

    use super::MAPPED_FROM;

    /// How many mapped blocks may be live at once; past it, blocks come from the system allocator.
    /// 64 KiB of record.
    const CAPACITY: usize = 4096;
    /// Freed blocks kept mapped for the next ones while any thread loads: a load frees and
    /// allocates blocks of the same sizes over and over (tract's passes copy its tensors), and a
    /// fresh mapping's pages are faulted in and zeroed again. Unmapped once no thread loads. 4 MiB
    /// took the page faults the mapping adds to a session from ≈ 12.6 k to ≈ 4.5 k, for ≈ 3 MiB of
    /// peak (docs/performance.md).
    const SPARE_SLOTS: usize = 32;
    const SPARE_BYTES: usize = 4 << 20;

    thread_local! {
        /// How many [`super::Loading`] scopes this thread is in.
        static DEPTH: Cell<u32> = const { Cell::new(0) };
    }
    /// How many threads are in a [`super::Loading`] scope.
    static LOADERS: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn enter() {
        let _ = DEPTH.try_with(|d| {
            if d.get() == 0 {
                LOADERS.fetch_add(1, Relaxed);
            }
            d.set(d.get().saturating_add(1));
        });
    }

    pub(super) fn leave() {
        let last = DEPTH
            .try_with(|d| {
                d.set(d.get().saturating_sub(1));
                d.get() == 0 && LOADERS.fetch_sub(1, Relaxed) == 1
            })
            .unwrap_or(false);
        if last {
            let spare = state().spare.take_all();
            spare.unmap();
        }
    }

    /// Whether this thread is loading a model (false while its thread-locals are torn down).
    pub(super) fn active() -> bool {
        DEPTH.try_with(|d| d.get() > 0).unwrap_or(false)
    }

    /// Blocks as (start address, mapped bytes).
    #[derive(Clone, Copy)]
    struct Block {
        start: usize,
        bytes: usize,
    }

    const NONE: Block = Block { start: 0, bytes: 0 };

    /// The blocks handed out, sorted by address. Looked up on every large `dealloc`, changed only
    /// when a block is handed out or freed.
    struct Blocks {
        len: usize,
        block: [Block; CAPACITY],
    }

    impl Blocks {
        const fn new() -> Self {
            Self {
                len: 0,
                block: [NONE; CAPACITY],
            }
        }

        fn find(&self, start: usize) -> Result<usize, usize> {
            self.block
                .get(..self.len)
                .unwrap_or(&[])
                .binary_search_by_key(&start, |b| b.start)
        }

        fn contains(&self, start: usize) -> bool {
            self.find(start).is_ok()
        }

        /// Records a block; false when the record is full (or holds the address already).
        fn insert(&mut self, block: Block) -> bool {
            let (Err(at), true) = (self.find(block.start), self.len < CAPACITY) else {
                return false;
            };
            self.block.copy_within(at..self.len, at + 1);
            self.block[at] = block;
            self.len += 1;
            true
        }

        /// Forgets a block, returning it; `None` when it is not recorded.
        fn remove(&mut self, start: usize) -> Option<Block> {
            let at = self.find(start).ok()?;
            let block = self.block[at];
            self.block.copy_within(at + 1..self.len, at);
            self.len -= 1;
            Some(block)
        }
    }

    /// Freed blocks kept mapped, oldest first.
    struct Spare {
        len: usize,
        bytes: usize,
        block: [Block; SPARE_SLOTS],
    }

    impl Spare {
        const fn new() -> Self {
            Self {
                len: 0,
                bytes: 0,
                block: [NONE; SPARE_SLOTS],
            }
        }

        /// The smallest kept block of `bytes` to a quarter more, taken out.
        fn take(&mut self, bytes: usize) -> Option<Block> {
            let fits = |b: &Block| b.bytes >= bytes && b.bytes - bytes <= bytes / 4;
            let (at, _) = self.block[..self.len]
                .iter()
                .enumerate()
                .filter(|(_, b)| fits(b))
                .min_by_key(|(_, b)| b.bytes)?;
            Some(self.remove(at))
        }

        fn remove(&mut self, at: usize) -> Block {
            let block = self.block[at];
            self.block.copy_within(at + 1..self.len, at);
            self.len -= 1;
            self.bytes -= block.bytes;
            block
        }

        /// Keeps `block`, dropping the oldest kept ones to stay within the limits; returns what
        /// must be unmapped (`block` itself when it is over the limit alone).
        fn keep(&mut self, block: Block) -> Spare {
            let mut out = Spare::new();
            let limit = SPARE_BYTES;
            if block.bytes > limit {
                out.push(block);
                return out;
            }
            while self.len > 0 && (self.len == SPARE_SLOTS || self.bytes + block.bytes > limit) {
                let oldest = self.remove(0);
                out.push(oldest);
            }
            self.push(block);
            out
        }

        fn push(&mut self, block: Block) {
            if let Some(slot) = self.block.get_mut(self.len) {
                *slot = block;
                self.len += 1;
                self.bytes += block.bytes;
            }
        }

        fn take_all(&mut self) -> Spare {
            std::mem::replace(self, Spare::new())
        }

        /// Unmaps every block held (outside the lock: they are no one's).
        fn unmap(self) {
            for block in &self.block[..self.len] {
                // SAFETY: a block this module mapped with this length, freed by its owner and
                // dropped from the record: nothing refers to it.
                unsafe { libc::munmap(block.start as *mut libc::c_void, block.bytes) };
            }
        }
    }

    struct State {
        blocks: Blocks,
        spare: Spare,
    }

    static STATE: Mutex<State> = Mutex::new(State {
        blocks: Blocks::new(),
        spare: Spare::new(),
    });
    /// How many blocks are handed out, read without the lock: most processes' large `dealloc`s find
    /// none.
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    static PAGE: AtomicUsize = AtomicUsize::new(0);

    /// The record, even if a thread panicked holding it (nothing done under it can panic half-way).
    fn state() -> MutexGuard<'static, State> {
        STATE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn page() -> usize {
        match PAGE.load(Relaxed) {
            0 => {
                // SAFETY: reads a configuration value; allocates nothing.
                let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
                    .unwrap_or(4096)
                    .max(1);
                PAGE.store(page, Relaxed);
                page
            }
            page => page,
        }
    }

    /// A mapped block for `layout` when this thread is loading a model and the block is large (a
    /// kept one, zeroed if asked, or a new mapping), recorded; `None` for the system allocator to
    /// serve.
    pub(super) fn map(layout: Layout, zeroed: bool) -> Option<*mut u8> {
        if layout.size() < MAPPED_FROM || !active() || layout.align() > page() {
            return None;
        }
        let bytes = layout.size().checked_next_multiple_of(page())?;
        let kept = state().spare.take(bytes);
        let block = match kept {
            Some(block) => {
                if zeroed {
                    // SAFETY: the block is ours (taken from the spares) and at least `bytes` long.
                    unsafe { std::ptr::write_bytes(block.start as *mut u8, 0, layout.size()) };
                }
                block
            }
            None => {
                // SAFETY: a new private anonymous mapping; no existing memory is touched.
                let start = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        bytes,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                };
                if start == libc::MAP_FAILED {
                    return None;
                }
                Block {
                    start: start as usize,
                    bytes,
                }
            }
        };
        let recorded = {
            let mut state = state();
            let recorded = state.blocks.insert(block);
            LIVE.store(state.blocks.len, Relaxed);
            recorded
        };
        if !recorded {
            let mut lost = Spare::new();
            lost.push(block);
            lost.unmap();
            return None;
        }
        Some(block.start as *mut u8)
    }

    /// Whether `ptr` starts a mapped block.
    pub(super) fn is_mapped(ptr: *mut u8) -> bool {
        LIVE.load(Relaxed) > 0 && state().blocks.contains(ptr as usize)
    }

    /// Takes back `ptr`'s block if it is a mapped one (kept for the next load's blocks while a
    /// thread loads, unmapped otherwise); false, nothing done, if it is not.
    pub(super) fn unmap(ptr: *mut u8) -> bool {
        if LIVE.load(Relaxed) == 0 {
            return false;
        }
        let dropped = {
            let mut state = state();
            let Some(block) = state.blocks.remove(ptr as usize) else {
                return false;
            };
            LIVE.store(state.blocks.len, Relaxed);
            // Checked under the lock the last loader drains the spares under, so no block is
            // kept after that drain.
            if LOADERS.load(Relaxed) > 0 {
                state.spare.keep(block)
            } else {
                let mut dropped = Spare::new();
                dropped.push(block);
                dropped
            }
        };
        dropped.unmap();
        true
    }

    /// How many blocks are handed out now.
    pub(crate) fn live() -> usize {
        LIVE.load(Relaxed)
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used)]
        use super::*;

        /// A small deterministic sequence (xorshift), so a failure replays.
        fn rng(seed: &mut u64) -> u64 {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        }

        #[test]
        fn the_record_finds_every_block_it_holds_and_no_other() {
            let mut blocks = Box::new(Blocks::new());
            let mut model = std::collections::BTreeMap::new();
            let mut seed = 0x9e37_79b9_7f4a_7c15u64;
            for _ in 0..20_000 {
                let start = (rng(&mut seed) % 3000 + 1) as usize * 4096;
                if rng(&mut seed).is_multiple_of(3) {
                    assert_eq!(
                        blocks.remove(start).map(|b| b.bytes),
                        model.remove(&start),
                        "remove {start:#x}"
                    );
                } else {
                    let fresh = !model.contains_key(&start);
                    let bytes = start / 2;
                    assert_eq!(
                        blocks.insert(Block { start, bytes }),
                        fresh,
                        "insert {start:#x}"
                    );
                    model.entry(start).or_insert(bytes);
                }
                assert_eq!(blocks.len, model.len());
            }
            for (start, bytes) in &model {
                assert!(blocks.contains(*start));
                assert_eq!(blocks.remove(*start).map(|b| b.bytes), Some(*bytes));
            }
            assert_eq!(blocks.len, 0);
            assert!(!blocks.contains(4096));
        }

        #[test]
        fn a_full_record_refuses_more_blocks() {
            let mut blocks = Box::new(Blocks::new());
            for k in 0..CAPACITY {
                assert!(blocks.insert(Block {
                    start: (k + 1) * 4096,
                    bytes: 4096
                }));
            }
            assert!(!blocks.insert(Block {
                start: 0x7000_0000,
                bytes: 4096
            }));
            assert!(blocks.contains(CAPACITY * 4096));
            assert_eq!(blocks.remove(4096).map(|b| b.bytes), Some(4096));
            assert!(blocks.insert(Block {
                start: 0x7000_0000,
                bytes: 4096
            }));
        }

        #[test]
        fn spares_are_reused_up_to_a_quarter_larger_and_kept_within_the_limit() {
            let mib = 1 << 20;
            let mut spare = Spare::new();
            for bytes in [mib, 2 * mib] {
                assert_eq!(
                    spare
                        .keep(Block {
                            start: bytes,
                            bytes
                        })
                        .len,
                    0
                );
            }
            // Too small, then too large (more than a quarter over), then the smallest that fits.
            assert!(spare.take(3 * mib).is_none());
            assert!(spare.take(mib / 2).is_none());
            assert_eq!(spare.take(mib * 7 / 8).map(|b| b.bytes), Some(mib));
            assert_eq!(spare.bytes, 2 * mib);
            // Over the limit: the oldest go first, and a block larger than the limit is not kept.
            let out = spare.keep(Block {
                start: 9 * mib,
                bytes: 3 * mib,
            });
            assert_eq!((out.len, out.block[0].bytes), (1, 2 * mib));
            assert_eq!((spare.len, spare.bytes), (1, 3 * mib));
            let out = spare.keep(Block {
                start: 99 * mib,
                bytes: SPARE_BYTES + 4096,
            });
            assert_eq!((out.len, out.block[0].start), (1, 99 * mib));
            assert_eq!(spare.len, 1);
            // No more than its slots, however small the blocks.
            let mut spare = Spare::new();
            for k in 0..SPARE_SLOTS + 5 {
                let out = spare.keep(Block {
                    start: (k + 1) * 4096,
                    bytes: 4096,
                });
                assert_eq!(out.len, usize::from(k >= SPARE_SLOTS));
            }
            assert_eq!(spare.len, SPARE_SLOTS);
            assert_eq!(spare.take_all().len, SPARE_SLOTS);
            assert_eq!((spare.len, spare.bytes), (0, 0));
        }
    }
}

/// Elsewhere the system allocator serves every block.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod mapped {
    use std::alloc::Layout;

    pub(super) fn enter() {}
    pub(super) fn leave() {}
    pub(super) fn active() -> bool {
        false
    }
    pub(super) fn map(_: Layout, _: bool) -> Option<*mut u8> {
        None
    }
    pub(super) fn is_mapped(_: *mut u8) -> bool {
        false
    }
    pub(super) fn unmap(_: *mut u8) -> bool {
        false
    }
    pub(crate) fn live() -> usize {
        0
    }
}

/// How many large blocks [`ModelLoadAllocator`] holds mapped now (0 where it maps none): a loaded
/// engine's weights, when the allocator is registered.
pub fn mapped_blocks() -> usize {
    mapped::live()
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

    use std::alloc::{GlobalAlloc, Layout};
    use std::sync::Mutex;

    use super::{MAPPED_FROM, ModelLoadAllocator, loading, mapped_blocks};

    /// The allocator's tests count its blocks: one at a time (this test binary does not register it,
    /// so nothing else allocates through it).
    static SERIAL: Mutex<()> = Mutex::new(());

    fn page() -> usize {
        // SAFETY: reads a configuration value.
        usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap()
    }

    /// Whether every page of the range is mapped in this process (`mincore` fails with `ENOMEM` on
    /// an unmapped page; it reads only the page tables).
    fn is_mapped(start: usize, bytes: usize) -> bool {
        let pages = bytes.div_ceil(page());
        let mut flags = vec![0u8; pages];
        // SAFETY: `start` is page-aligned; `flags` has one byte per page.
        unsafe { libc::mincore(start as *mut libc::c_void, bytes, flags.as_mut_ptr()) == 0 }
    }

    /// Runs `f` on a thread of its own (a loading scope is per thread), the tests one at a time.
    fn alone<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        std::thread::spawn(f).join().unwrap()
    }

    /// A block a load frees leaves the process once no thread loads. The lib tests' own engine loads
    /// may be loading too (they share the count of loading threads), so this waits for them.
    #[test]
    fn a_large_block_a_load_frees_leaves_the_process() {
        let (start, bytes) = alone(|| {
            let layout = Layout::from_size_align(1 << 20, 64).unwrap();
            let scope = loading();
            let before = mapped_blocks();
            // SAFETY: a valid layout; the block is written within its size, then freed once.
            let block = unsafe { ModelLoadAllocator.alloc(layout) };
            assert!(!block.is_null());
            assert_eq!(block as usize % page(), 0, "not a mapping of its own");
            assert_eq!(mapped_blocks(), before + 1);
            assert!(is_mapped(block as usize, layout.size()));
            unsafe { block.write_bytes(7, layout.size()) };
            unsafe { ModelLoadAllocator.dealloc(block, layout) };
            assert_eq!(mapped_blocks(), before);
            drop(scope);
            (block as usize, layout.size())
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while is_mapped(start, bytes) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!is_mapped(start, bytes), "the freed block is still mapped");
    }

    #[test]
    fn outside_a_load_the_system_allocator_serves_every_block() {
        alone(|| {
            let large = Layout::from_size_align(4 * MAPPED_FROM, 8).unwrap();
            // A mapped block held meanwhile, so that frees of system blocks are looked up.
            let scope = loading();
            // SAFETY: valid layouts; each block freed once with its own layout.
            let held = unsafe { ModelLoadAllocator.alloc(large) };
            drop(scope);
            let count = mapped_blocks();
            for _ in 0..3 {
                let block = unsafe { ModelLoadAllocator.alloc(large) };
                assert!(!block.is_null());
                assert_eq!(mapped_blocks(), count, "a block outside a load was mapped");
                unsafe { block.write_bytes(1, large.size()) };
                unsafe { ModelLoadAllocator.dealloc(block, large) };
                assert_eq!(
                    mapped_blocks(),
                    count,
                    "a system block was taken for a mapped one"
                );
            }
            // Small blocks inside a load are the system's too.
            let scope = loading();
            let small = Layout::from_size_align(MAPPED_FROM - 1, 8).unwrap();
            let block = unsafe { ModelLoadAllocator.alloc(small) };
            assert_eq!(mapped_blocks(), count);
            unsafe { ModelLoadAllocator.dealloc(block, small) };
            unsafe { ModelLoadAllocator.dealloc(held, large) };
            assert_eq!(mapped_blocks(), count - 1);
            drop(scope);
        });
    }

    #[test]
    fn a_reused_block_is_zeroed_when_zeroed_memory_is_asked_for() {
        alone(|| {
            let layout = Layout::from_size_align(1 << 20, 16).unwrap();
            let _scope = loading();
            // SAFETY: a valid layout; the blocks are read and written within their size and freed
            // once.
            let first = unsafe { ModelLoadAllocator.alloc(layout) };
            unsafe { first.write_bytes(0xab, layout.size()) };
            unsafe { ModelLoadAllocator.dealloc(first, layout) };
            let again = unsafe { ModelLoadAllocator.alloc_zeroed(layout) };
            assert_eq!(
                again, first,
                "the freed block was not kept for the next one"
            );
            let bytes = unsafe { std::slice::from_raw_parts(again, layout.size()) };
            assert!(
                bytes.iter().all(|b| *b == 0),
                "a kept block came back dirty"
            );
            unsafe { ModelLoadAllocator.dealloc(again, layout) };
        });
    }

    #[test]
    fn realloc_moves_blocks_between_kinds_and_keeps_their_bytes() {
        alone(|| {
            let _scope = loading();
            let count = mapped_blocks();
            let pattern = |n: usize| (0..n).map(|i| (i * 31 % 251) as u8).collect::<Vec<u8>>();
            let small = Layout::from_size_align(MAPPED_FROM / 2, 8).unwrap();
            // SAFETY: each block is used within its size and given back once, with the layout it
            // has at that point.
            let mut block = unsafe { ModelLoadAllocator.alloc(small) };
            unsafe { block.copy_from_nonoverlapping(pattern(small.size()).as_ptr(), small.size()) };
            let mut layout = small;
            for (size, mapped) in [(1 << 20, 1), (3 << 20, 1), (1000, 0)] {
                // The pattern's bytes that fit in every block so far.
                let kept = small.size().min(size).min(layout.size());
                block = unsafe { ModelLoadAllocator.realloc(block, layout, size) };
                assert!(!block.is_null());
                layout = Layout::from_size_align(size, 8).unwrap();
                assert_eq!(mapped_blocks(), count + mapped, "{size} bytes");
                let bytes = unsafe { std::slice::from_raw_parts(block, kept) };
                assert!(bytes == &pattern(kept)[..], "{size} bytes: contents lost");
            }
            unsafe { ModelLoadAllocator.dealloc(block, layout) };
            assert_eq!(mapped_blocks(), count);
        });
    }

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
