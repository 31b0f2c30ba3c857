//! Does a panic still unwind to `catch_unwind` when rustc is told not to force unwind tables
//! (`-C force-unwind-tables=no`, as scripts/build-aar.sh builds the Android library)? LLVM should
//! still write tables for every function that can unwind (rust-lang/rust#83482). The stacks here
//! are the ones that would break if it did not: frames with no cleanups between the panic and a
//! frame with one, a panic inside a generic sort instantiated in this crate, a panic while
//! collecting values that must be dropped, and a panic on another thread.
use std::hint::black_box;
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicUsize, Ordering};

static DROPS: AtomicUsize = AtomicUsize::new(0);

struct Guard(#[allow(dead_code)] Vec<u8>);

impl Drop for Guard {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

#[inline(never)]
fn leaf(x: u64) -> u64 {
    if black_box(x) > 3 {
        panic!("leaf {x}")
    }
    x + 1
}

#[inline(never)]
fn no_cleanup_1(x: u64) -> u64 {
    leaf(black_box(x) * 2) + 7
}

#[inline(never)]
fn with_cleanup(x: u64) -> u64 {
    let _guard = Guard(vec![1, 2, 3]);
    black_box(no_cleanup_1(black_box(x)))
}

#[inline(never)]
fn no_cleanup_2(x: u64) -> u64 {
    with_cleanup(black_box(x)) ^ 5
}

#[inline(never)]
fn sort_with_panicking_comparator(n: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..n)
        .map(|i| format!("{:05}", (i * 7919) % 1000))
        .collect();
    let mut calls = 0;
    v.sort_by(|a, b| {
        calls += 1;
        if calls == black_box(n) {
            panic!("comparator")
        }
        a.cmp(b)
    });
    v
}

#[inline(never)]
fn collect_guards(n: usize) -> Vec<Guard> {
    (0..n)
        .map(|i| {
            if black_box(i) == n - 1 {
                panic!("map")
            }
            Guard(vec![i as u8])
        })
        .collect()
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    let rounds = 2000u64;
    for i in 0..rounds {
        let drops = DROPS.load(Ordering::Relaxed);
        assert!(catch_unwind(|| no_cleanup_2(black_box(4 + i))).is_err());
        assert_eq!(
            DROPS.load(Ordering::Relaxed),
            drops + 1,
            "the guard's cleanup ran"
        );
        assert_eq!(no_cleanup_2(black_box(1)), (2 + 1 + 7) ^ 5);
        assert!(catch_unwind(|| sort_with_panicking_comparator(black_box(200))).is_err());
        let drops = DROPS.load(Ordering::Relaxed);
        assert!(catch_unwind(|| collect_guards(black_box(50))).is_err());
        assert_eq!(
            DROPS.load(Ordering::Relaxed),
            drops + 49,
            "collected guards dropped"
        );
    }
    let joined = std::thread::spawn(|| no_cleanup_2(black_box(9))).join();
    assert!(joined.is_err());
    println!(
        "ok: {} panics caught, and a thread's panic joined as an error",
        rounds * 3
    );
}
