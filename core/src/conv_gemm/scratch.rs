//! Per-thread scratch buffers, kept between calls.
//!
//! The transform-domain buffers of a convolution run to megabytes; allocating and zeroing them
//! on every call cost as much as a third of the convolution (fresh pages fault in, calloc
//! clears them). Each thread keeps its two largest buffers instead; callers overwrite every
//! element they read.

use std::cell::RefCell;

thread_local! {
    static BUFFERS: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
    static INPUT: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with an input-staging buffer of `len` elements, separate from [`with_buffers`]'
/// so that `f` may use those. Its contents are left over from earlier calls: `f` must write
/// before it reads.
pub(super) fn with_input_buffer<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    INPUT.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => {
            grow(&mut buffer, len);
            f(&mut buffer[..len])
        }
        Err(_) => f(&mut vec![0f32; len]),
    })
}

/// Runs `f` with two scratch buffers of `lens` elements. Their contents are left over from
/// earlier calls (or zero): `f` must write before it reads.
pub(super) fn with_buffers<R>(lens: [usize; 2], f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    BUFFERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffers) => {
            let [a, b] = &mut *buffers;
            grow(a, lens[0]);
            grow(b, lens[1]);
            f(&mut a[..lens[0]], &mut b[..lens[1]])
        }
        // Re-entered on this thread (a product calling back into a convolution cannot happen
        // today, but must not panic): fall back to fresh buffers.
        Err(_) => f(&mut vec![0f32; lens[0]], &mut vec![0f32; lens[1]]),
    })
}

fn grow(buffer: &mut Vec<f32>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
}
