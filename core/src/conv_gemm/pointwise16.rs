//! 1x1 convolutions on CPUs with AVX-512: Veil's own kernel, 16 output channels by 16 pixels.
//!
//! With 32 vector registers, one tile keeps 16x16 sums in 16 registers while each input
//! channel adds one row of 16 pixels (a vector load straight from the NCHW image, no packing)
//! times 16 broadcast weights: 16 fused multiply-adds per load of the image, so the kernel runs
//! near the FMA units' peak even when the image is not in L1. Bias, residual add and ReLU are
//! applied while the sums are still in registers, so the output is written once. On open_nsfw
//! (one thread, Zen 4) this made its 1x1 convolutions 20-40% faster than the `gemm` crate and
//! tract's AVX2 kernels, where the AVX2 register file is too small for such a tile.
//!
//! Weights are packed once, at load, in blocks of 16 output channels (`[block][cin][16]`,
//! zero-padded), so a tile reads its weights as one contiguous stream.

use rayon::prelude::*;
use tract_onnx::tract_core::internal::*;

use super::bands::split_planes;
use super::epilogue::Epilogue;
use super::subsample::unstrided;

/// Output channels, and pixels, one tile computes.
const LANES: usize = 16;

/// Planes (pixels per channel) from which 16-pixel rows are always the tiling.
const MIN_ROWS_PLANE: usize = 128;

/// Whether a plane of `plane` pixels is better cut into [`Columns`] of 7 pixels than rows of
/// 16: on small planes, when that pads fewer pixels (a 7x7 plane is 49 pixels, four rows of 16).
fn use_columns(plane: usize) -> bool {
    plane < MIN_ROWS_PLANE && plane.next_multiple_of(COLUMN_PIXELS) < plane.next_multiple_of(LANES)
}

/// Pixels, and blocks of 16 output channels, one [`Columns`] tile computes: 7 x 4 sums in 28
/// registers, and 7 divides the 7x7 planes of a ResNet's last stage.
const COLUMN_PIXELS: usize = 7;
const COLUMN_BLOCKS: usize = 4;

/// Input values one chunk of pixels reads: 32 Ki floats (128 KiB), which stay in L2 while every
/// block of output channels passes over them.
const CHUNK_FLOATS: usize = 32 * 1024;

/// Whether this CPU runs the kernel (x86_64 with AVX-512F).
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `[cout][cin]` weights as `[block][cin][16]`, each block 16 output channels, the last one
/// zero-padded.
pub(super) fn pack_weights(weights: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let blocks = cout.div_ceil(LANES);
    let mut packed = vec![0.0; blocks * cin * LANES];
    for (oc, row) in weights.chunks_exact(cin).take(cout).enumerate() {
        let block = &mut packed[(oc / LANES) * cin * LANES..][..cin * LANES];
        for (ic, &w) in row.iter().enumerate() {
            block[ic * LANES + oc % LANES] = w;
        }
    }
    packed
}

/// Convolves one image `[cin, h, w]` into `out` `[cout, ho, wo]` with weights packed by
/// [`pack_weights`], on up to `threads` threads (bands of pixels).
#[allow(clippy::too_many_arguments)]
pub(super) fn convolve(
    packed: &[f32],
    [cin, cout]: [usize; 2],
    stride: [usize; 2],
    image: &[f32],
    [h, w]: [usize; 2],
    out: &mut [f32],
    [ho, wo]: [usize; 2],
    epilogue: &Epilogue<'_>,
    threads: usize,
) -> TractResult<()> {
    ensure!(image.len() == cin * h * w);
    let source = unstrided(image, cin, [h, w], stride);
    product(
        packed,
        [cin, cout],
        &source,
        ho * wo,
        out,
        epilogue,
        threads,
    )
}

/// `out[cout][plane] = weights[cout][cin] · source[cin][plane]`, finished by `epilogue`, with
/// the weights packed by [`pack_weights`].
pub(super) fn product(
    packed: &[f32],
    [cin, cout]: [usize; 2],
    source: &[f32],
    plane: usize,
    out: &mut [f32],
    epilogue: &Epilogue<'_>,
    threads: usize,
) -> TractResult<()> {
    ensure!(packed.len() == cout.div_ceil(LANES) * cin * LANES);
    ensure!(source.len() == cin * plane && out.len() == cout * plane);
    ensure!(epilogue.bias.len() == cout && epilogue.plane == plane);
    let band = plane.div_ceil(threads.max(1)).next_multiple_of(LANES);
    let mut bands = split_planes(out, plane, band);
    let work = Band {
        packed,
        cin,
        source,
        plane,
        epilogue,
    };
    if bands.len() == 1 {
        work.run(0, &mut bands[0]);
    } else {
        bands
            .par_iter_mut()
            .enumerate()
            .for_each(|(i, pieces)| work.run(i * band, pieces));
    }
    Ok(())
}

/// What every band of one convolution shares.
struct Band<'a> {
    packed: &'a [f32],
    cin: usize,
    /// The (subsampled) image, `[cin][plane]`.
    source: &'a [f32],
    plane: usize,
    epilogue: &'a Epilogue<'a>,
}

impl Band<'_> {
    /// Computes output pixels `first..first + pieces[_].len()` of every channel, `pieces`
    /// holding each channel's part.
    fn run(&self, first: usize, pieces: &mut [&mut [f32]]) {
        if use_columns(self.plane) {
            return self.run_columns(first, pieces);
        }
        let len = pieces.first().map_or(0, |p| p.len());
        let chunk = (CHUNK_FLOATS / self.cin).next_multiple_of(LANES);
        for start in (0..len).step_by(chunk) {
            let end = (start + chunk).min(len);
            for (block, rows) in pieces.chunks_mut(LANES).enumerate() {
                let channel = block * LANES;
                let weights = &self.packed[block * self.cin * LANES..][..self.cin * LANES];
                for at in (start..end).step_by(LANES) {
                    let tile = Tile {
                        cin: self.cin,
                        weights,
                        source: &self.source[first + at..],
                        stride: self.plane,
                        valid: (end - at).min(LANES),
                        bias: &self.epilogue.bias[channel..],
                        residual: self
                            .epilogue
                            .residual
                            .map(|r| &r[channel * self.plane + first + at..]),
                        relu: self.epilogue.relu,
                    };
                    tile.run(rows, at);
                }
            }
        }
    }
}

impl Band<'_> {
    /// [`Band::run`] for small planes, by [`Columns`] tiles. Each group of channels passes over
    /// every pixel before the next, so its weights are read from memory once.
    fn run_columns(&self, first: usize, pieces: &mut [&mut [f32]]) {
        let len = pieces.first().map_or(0, |p| p.len());
        let whole = len - len % COLUMN_PIXELS;
        // The last pixels, zero-padded to a whole tile.
        let mut tail = Vec::new();
        if whole < len {
            for row in self.source[first + whole..]
                .chunks(self.plane)
                .take(self.cin)
            {
                tail.extend_from_slice(&row[..len - whole]);
                tail.resize(tail.len() + COLUMN_PIXELS - (len - whole), 0.0);
            }
        }
        for (group, rows) in pieces.chunks_mut(LANES * COLUMN_BLOCKS).enumerate() {
            let block = group * COLUMN_BLOCKS;
            let blocks = rows.len().div_ceil(LANES);
            let weights = &self.packed[block * self.cin * LANES..][..blocks * self.cin * LANES];
            for at in (0..len).step_by(COLUMN_PIXELS) {
                let valid = (len - at).min(COLUMN_PIXELS);
                let tile = if at < whole {
                    Columns {
                        cin: self.cin,
                        weights,
                        source: &self.source[first + at..],
                        stride: self.plane,
                    }
                } else {
                    Columns {
                        cin: self.cin,
                        weights,
                        source: &tail,
                        stride: COLUMN_PIXELS,
                    }
                };
                let sums = tile.run();
                for (i, row) in rows.iter_mut().enumerate() {
                    let values = &mut row[at..at + valid];
                    for (j, v) in values.iter_mut().enumerate() {
                        *v = sums[j][i];
                    }
                    self.epilogue.finish(block * LANES + i, values, first + at);
                }
            }
        }
    }
}

/// Sums of up to 64 output channels (four blocks) for 7 consecutive pixels: the tiling for
/// small planes, where 16-pixel rows would be mostly padding (a 7x7 plane is 49 pixels).
struct Columns<'a> {
    cin: usize,
    /// One to four consecutive blocks of packed weights, `[block][cin][16]`.
    weights: &'a [f32],
    /// Input channel `ic`'s 7 pixels start at `ic * stride`.
    source: &'a [f32],
    stride: usize,
}

impl Columns<'_> {
    /// `sums[pixel][channel]`, without bias.
    fn run(&self) -> [[f32; LANES * COLUMN_BLOCKS]; COLUMN_PIXELS] {
        let blocks = self.weights.len() / (self.cin * LANES).max(1);
        assert!(self.cin > 0 && (1..=COLUMN_BLOCKS).contains(&blocks));
        assert!(self.weights.len() == blocks * self.cin * LANES);
        assert!(self.source.len() >= (self.cin - 1) * self.stride + COLUMN_PIXELS);
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut sums = [[0.0; LANES * COLUMN_BLOCKS]; COLUMN_PIXELS];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: only chosen when `available()` (AVX-512F); the asserts above bound every
        // load, and `sums` has room for four blocks.
        #[allow(unsafe_code)]
        unsafe {
            match blocks {
                4 => avx512::columns::<4>(self, &mut sums),
                3 => avx512::columns::<3>(self, &mut sums),
                2 => avx512::columns::<2>(self, &mut sums),
                _ => avx512::columns::<1>(self, &mut sums),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("pointwise16 runs on x86_64 only");
        #[allow(unreachable_code)]
        sums
    }
}

/// One 16-channel by up-to-16-pixel piece of output.
struct Tile<'a> {
    cin: usize,
    /// `[cin][16]`.
    weights: &'a [f32],
    /// Input channel `ic`'s pixels start at `ic * stride`.
    source: &'a [f32],
    stride: usize,
    /// Pixels in this tile, 1 to 16.
    valid: usize,
    /// From the tile's first channel on.
    bias: &'a [f32],
    /// From the tile's first channel and pixel on; channels `stride` apart.
    residual: Option<&'a [f32]>,
    relu: bool,
}

impl Tile<'_> {
    /// Writes the tile into `rows[i][at..at + valid]` (one row per output channel, at most 16).
    fn run(&self, rows: &mut [&mut [f32]], at: usize) {
        let channels = rows.len();
        // The kernel reads and writes through pointers: check every access it makes first.
        assert!(self.cin > 0 && (1..=LANES).contains(&self.valid) && channels <= LANES);
        assert!(self.weights.len() >= self.cin * LANES && self.bias.len() >= channels);
        assert!(self.source.len() >= (self.cin - 1) * self.stride + self.valid);
        assert!(rows.iter().all(|r| r.len() >= at + self.valid));
        if let Some(res) = self.residual {
            assert!(res.len() >= (channels - 1) * self.stride + self.valid);
        }
        #[cfg(target_arch = "x86_64")]
        {
            let mut dst = [std::ptr::null_mut::<f32>(); LANES];
            for (d, row) in dst.iter_mut().zip(rows.iter_mut()) {
                *d = row[at..].as_mut_ptr();
            }
            // SAFETY: `convolve` is only chosen when `available()` (AVX-512F), and the asserts
            // above bound every load and store the kernel makes.
            #[allow(unsafe_code)]
            unsafe {
                avx512::tile(self, &dst[..channels]);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("pointwise16 runs on x86_64 only");
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Columns, Tile, COLUMN_BLOCKS, COLUMN_PIXELS, LANES};

    /// The small-plane kernel, `V` blocks of 16 channels. Caller guarantees AVX-512F and the
    /// bounds [`Columns::run`] asserts.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn columns<const V: usize>(
        tile: &Columns<'_>,
        sums: &mut [[f32; LANES * COLUMN_BLOCKS]; COLUMN_PIXELS],
    ) {
        let mut acc = [[_mm512_setzero_ps(); V]; COLUMN_PIXELS];
        let mut w: [*const f32; V] =
            std::array::from_fn(|v| tile.weights.as_ptr().wrapping_add(v * tile.cin * LANES));
        let mut x = tile.source.as_ptr();
        for _ in 0..tile.cin {
            // SAFETY (all loads): each `w[v]` walks its block 16 at a time; `x` stays within
            // `source` for 7 values.
            let weights: [__m512; V] = std::array::from_fn(|v| unsafe { _mm512_loadu_ps(w[v]) });
            for (j, row) in acc.iter_mut().enumerate() {
                let pixel = _mm512_set1_ps(unsafe { *x.add(j) });
                for (sum, &weight) in row.iter_mut().zip(&weights) {
                    *sum = _mm512_fmadd_ps(weight, pixel, *sum);
                }
            }
            w = w.map(|p| p.wrapping_add(LANES));
            x = x.wrapping_add(tile.stride);
        }
        for (row, out) in acc.iter().zip(sums.iter_mut()) {
            for (v, sum) in row.iter().enumerate() {
                // SAFETY: `out` holds four blocks of 16, and `v < V <= 4`.
                unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(v * LANES), *sum) };
            }
        }
    }

    /// The kernel. Caller guarantees AVX-512F and the bounds [`Tile::run`] asserts: `dst` holds
    /// one pointer per output channel, each valid for `tile.valid` floats.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn tile(tile: &Tile<'_>, dst: &[*mut f32]) {
        let mask: __mmask16 = ((1u32 << tile.valid) - 1) as __mmask16;
        let mut acc = [_mm512_setzero_ps(); LANES];
        let mut x = tile.source.as_ptr();
        let mut w = tile.weights.as_ptr();
        for _ in 0..tile.cin {
            // SAFETY (all loads): `x` stays within `source` for `valid` lanes, the mask keeps
            // the others unread; `w` walks `weights` 16 at a time.
            let pixels = unsafe { _mm512_maskz_loadu_ps(mask, x) };
            for (i, sum) in acc.iter_mut().enumerate() {
                let weight = _mm512_set1_ps(unsafe { *w.add(i) });
                *sum = _mm512_fmadd_ps(weight, pixels, *sum);
            }
            x = x.wrapping_add(tile.stride);
            w = w.wrapping_add(LANES);
        }
        let zero = _mm512_setzero_ps();
        for (i, &out) in dst.iter().enumerate() {
            let mut v = _mm512_add_ps(acc[i], _mm512_set1_ps(tile.bias[i]));
            if let Some(res) = tile.residual {
                let r = unsafe { _mm512_maskz_loadu_ps(mask, res.as_ptr().add(i * tile.stride)) };
                v = _mm512_add_ps(v, r);
            }
            if tile.relu {
                v = _mm512_max_ps(v, zero);
            }
            unsafe { _mm512_mask_storeu_ps(out, mask, v) };
        }
    }
}
