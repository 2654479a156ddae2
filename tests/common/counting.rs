//! A global allocator that counts the heap allocations of one thread while it is asked to.
//!
//! Including this module (`#[path = "common/counting.rs"] mod counting;`) installs the
//! allocator for the whole test binary. It counts per thread, so that the harness's other
//! test threads, running at the same time, do not show up in a count; what it cannot see is
//! an allocation the code under test makes on another thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Heap traffic of one thread: allocations (zeroed or not) and reallocations, and the
/// bytes they asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allocations {
    pub count: usize,
    pub bytes: usize,
}

struct Counting;

// `const` initialisers: reading or writing these never allocates, so the allocator may use
// them from inside an allocation.
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<Allocations> = const { Cell::new(Allocations { count: 0, bytes: 0 }) };
    /// Bytes allocated and not yet freed since counting began (negative when more that was
    /// allocated before is freed), and the most it reached.
    static LIVE: Cell<(isize, isize)> = const { Cell::new((0, 0)) };
}

thread_local! {
    /// Whether this thread belongs to a pool whose allocations [`pool_allocations`] counts.
    static MEMBER: Cell<bool> = const { Cell::new(false) };
}

/// Whether [`pool_allocations`] is counting, and what it has counted.
static POOL_COUNTING: AtomicBool = AtomicBool::new(false);
static POOL_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Marks this thread as one whose allocations [`pool_allocations`] counts: call it from a
/// pool's start handler (`rayon::ThreadPoolBuilder::start_handler`).
#[allow(dead_code)]
pub fn join_counted_pool() {
    MEMBER.with(|m| m.set(true));
}

/// The allocations `f` makes on every thread marked by [`join_counted_pool`] (run `f` on
/// one of them, as `pool.install` does): a pool's, and no other test's.
#[allow(dead_code)]
pub fn pool_allocations(f: impl FnOnce()) -> usize {
    POOL_COUNT.store(0, Ordering::SeqCst);
    POOL_COUNTING.store(true, Ordering::SeqCst);
    f();
    POOL_COUNTING.store(false, Ordering::SeqCst);
    POOL_COUNT.load(Ordering::SeqCst)
}

fn counting() -> bool {
    // `try_with`: during thread teardown the slots may already be gone; nothing is counted
    // then, and nothing is being measured either.
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

fn note(bytes: usize) {
    if POOL_COUNTING.load(Ordering::Relaxed) && MEMBER.try_with(Cell::get).unwrap_or(false) {
        POOL_COUNT.fetch_add(1, Ordering::Relaxed);
    }
    if counting() {
        let _ = COUNT.try_with(|c| {
            let a = c.get();
            c.set(Allocations {
                count: a.count + 1,
                bytes: a.bytes + bytes,
            });
        });
    }
}

fn live(delta: isize) {
    if counting() {
        let _ = LIVE.try_with(|l| {
            let (now, peak) = l.get();
            let now = now + delta;
            l.set((now, peak.max(now)));
        });
    }
}

// SAFETY: every call is passed to the system allocator unchanged; counting touches only
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        live(layout.size() as isize);
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        live(layout.size() as isize);
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        live(new_size as isize - layout.size() as isize);
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as isize));
        // SAFETY: the caller's contract is forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocations `f` makes on this thread.
pub fn allocations(f: impl FnOnce()) -> Allocations {
    COUNT.with(|c| c.set(Allocations::default()));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

/// The most heap `f` holds at once on this thread, in bytes above what was held before it.
pub fn peak_bytes(f: impl FnOnce()) -> usize {
    LIVE.with(|l| l.set((0, 0)));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    LIVE.with(|l| l.get().1.max(0) as usize)
}
