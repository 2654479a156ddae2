//! Counting instructions and measuring the stack under QEMU.
//!
//! QEMU runs with `-icount shift=0`, so every guest instruction advances the virtual clock by
//! exactly 1 ns, and SysTick, clocked from that virtual clock at the board's CPU frequency, is
//! read around each layer and each inference; a loop of known length calibrates it. The
//! stack is the RAM between the static data and the stack pointer, painted before an
//! inference: the words it wrote are its stack.

use cortex_m_semihosting::hprintln;

/// SysTick's clock, the CPU's: 16 MHz on the nRF51, 25 MHz on the MPS2.
#[cfg(cortex_m0)]
pub const CPU_HZ: u64 = 16_000_000;
#[cfg(not(cortex_m0))]
pub const CPU_HZ: u64 = 25_000_000;

/// SysTick's registers: control and status, reload value, current value.
const SYST_CSR: *mut u32 = 0xE000_E010 as *mut u32;
const SYST_RVR: *mut u32 = 0xE000_E014 as *mut u32;
const SYST_CVR: *mut u32 = 0xE000_E018 as *mut u32;

/// Starts SysTick counting down from 2^24 − 1 on the CPU clock, without interrupts.
pub fn start_systick() {
    // SAFETY: SysTick's architectural registers, present on every Cortex-M QEMU models;
    // nothing else in this program uses them.
    unsafe {
        core::ptr::write_volatile(SYST_RVR, 0x00FF_FFFF);
        core::ptr::write_volatile(SYST_CVR, 0);
        core::ptr::write_volatile(SYST_CSR, 0b101);
    }
}

/// SysTick's current value.
#[inline(always)]
pub fn ticks() -> u32 {
    // SAFETY: a read of SysTick's current-value register.
    unsafe { core::ptr::read_volatile(SYST_CVR) }
}

/// Instructions between two SysTick readings (it counts down, 24 bits), under
/// `-icount shift=0`: one instruction per nanosecond.
pub fn instructions(from: u32, to: u32) -> u64 {
    let elapsed = from.wrapping_sub(to) & 0x00FF_FFFF;
    elapsed as u64 * 1_000_000_000 / CPU_HZ
}

/// SysTick readings after each layer of one inference.
pub struct Laps {
    marks: [u32; 32],
    n: usize,
}

impl Laps {
    pub fn new() -> Laps {
        let mut laps = Laps {
            marks: [0; 32],
            n: 0,
        };
        laps.lap();
        laps
    }

    #[inline(always)]
    pub fn lap(&mut self) {
        self.marks[self.n] = ticks();
        self.n += 1;
    }

    /// Instructions of layer `k`.
    pub fn layer(&self, k: usize) -> u64 {
        instructions(self.marks[k], self.marks[k + 1])
    }

    /// Instructions of the whole inference.
    pub fn total(&self) -> u64 {
        instructions(self.marks[0], self.marks[self.n - 1])
    }
}

/// What the stack is painted with before inference; a word still holding it afterwards
/// was never written.
const PAINT: u32 = 0xDEAD_BEEF;

extern "C" {
    /// The end of the program's static data (cortex-m-rt's link.x): the stack may grow down
    /// to here.
    static __sheap: u32;
}

/// Runs `infer`, returning its result, the stack it took (the painted words below this
/// frame that it overwrote) and the instructions it executed.
#[inline(never)]
pub fn measured<T>(infer: impl FnOnce() -> T) -> (T, usize, u64) {
    let top = (stack_pointer() - 64) & !3;
    let bottom = (core::ptr::addr_of!(__sheap) as usize + 3) & !3;
    // SAFETY: `bottom..top` lies between the end of the static data and 64 bytes below this
    // frame's stack pointer: no live value is there; `paint` is inlined, so has no frame in it.
    unsafe { paint(bottom, top) };
    let start = ticks();
    let y = call(infer);
    let end = ticks();
    // SAFETY: the same region; `infer` has returned, so no frame is in it.
    let untouched = unsafe { untouched_words(bottom, top) };
    (y, top - bottom - 4 * untouched, instructions(start, end))
}

/// `infer()` in a frame of its own: inlined into [`measured`], its arrays would lie in
/// `measured`'s frame, above the painted region.
#[inline(never)]
fn call<T>(infer: impl FnOnce() -> T) -> T {
    infer()
}

/// Checks the count on a loop of known length, `subs` and `bne` a million times: two million
/// instructions, and the two readings' own instructions.
pub fn calibrate() {
    let empty = {
        let a = ticks();
        let b = ticks();
        instructions(a, b)
    };
    let start = ticks();
    let n: u32 = 1_000_000;
    // SAFETY: a register-only countdown loop.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {n}, #1",
            "bne 2b",
            n = inout(reg) n => _,
            options(nomem, nostack)
        )
    };
    let end = ticks();
    hprintln!(
        "calibration: a loop of {} instructions counted as {} (two readings alone: {}; one tick is {} instructions)",
        2 * n,
        instructions(start, end),
        empty,
        1_000_000_000 / CPU_HZ
    );
}

/// The stack pointer of the calling function.
#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies the stack pointer into a register; touches no memory.
    unsafe {
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    sp
}

/// Fills the words of `bottom..top` with `PAINT`.
///
/// # Safety
/// `bottom..top` must be word-aligned RAM that holds no live value, and stays so because
/// this is inlined into its caller (a frame of its own could lie in the range).
#[inline(always)]
unsafe fn paint(bottom: usize, top: usize) {
    for a in (bottom..top).step_by(4) {
        // SAFETY: in the range the caller guarantees; volatile, so the writes happen.
        unsafe { core::ptr::write_volatile(a as *mut u32, PAINT) };
    }
}

/// Counts the words of `bottom..top` that still hold `PAINT`, from `bottom` up to the first
/// one that was written.
///
/// # Safety
/// `bottom..top` must be word-aligned RAM that no live frame uses.
unsafe fn untouched_words(bottom: usize, top: usize) -> usize {
    let mut n = 0;
    for a in (bottom..top).step_by(4) {
        // SAFETY: in the range the caller guarantees is readable RAM.
        if unsafe { core::ptr::read_volatile(a as *const u32) } != PAINT {
            break;
        }
        n += 1;
    }
    n
}
