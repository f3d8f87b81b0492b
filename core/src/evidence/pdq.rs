//! PDQ, Meta's open perceptual hash (the one StopNCII uses), implemented from the published
//! algorithm and checked against the reference implementation (`tests/reference/`):
//! luminance → two passes of a Jarosz tent filter (box filters along rows then columns) →
//! decimation to 64×64 → gradient quality metric → 16×16 of a 2-D DCT (skipping the DC row and
//! column) → each coefficient above the median sets one of 256 bits.
//!
//! Near-duplicates (re-encoded, resized) differ in a few bits; Meta treats a Hamming distance of
//! 31 or less as a match, and hashes of quality below 50 (flat, featureless images) as unreliable.

use image::RgbImage;

/// Images smaller than this on either side get no hash (as in the reference).
const MIN_HASHABLE_DIM: usize = 5;

/// A 256-bit PDQ hash and its quality (0 to 100).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PdqHash {
    /// The bits, as the reference prints them: byte 0 holds bits 255..248.
    pub bits: [u8; 32],
    /// 0 to 100; below 50 the hash should not be used for matching.
    pub quality: u8,
}

impl PdqHash {
    /// 64 lowercase hex digits, as Meta's tools print them.
    pub fn to_hex(&self) -> String {
        super::hex(&self.bits)
    }

    /// Parses 64 hex digits (quality is not part of the text and is set to `quality`).
    pub fn from_hex(text: &str, quality: u8) -> Option<PdqHash> {
        let bytes = super::unhex(text)?;
        Some(PdqHash {
            bits: bytes.try_into().ok()?,
            quality,
        })
    }

    /// Number of differing bits (0 to 256).
    pub fn distance(&self, other: &PdqHash) -> u32 {
        self.bits
            .iter()
            .zip(other.bits.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// Whether the quality is high enough (≥ 50) to match on.
    pub fn is_reliable(&self) -> bool {
        self.quality >= 50
    }
}

/// PDQ of an RGB image (None when a side is under 5 pixels).
pub fn hash_rgb(image: &RgbImage) -> Option<PdqHash> {
    let luma: Vec<f32> = image
        .pixels()
        .map(|p| {
            (f64::from(p[0]) * 0.299 + f64::from(p[1]) * 0.587 + f64::from(p[2]) * 0.114) as f32
        })
        .collect();
    hash_luma(luma, image.height() as usize, image.width() as usize)
}

/// PDQ of a row-major luminance buffer (0 to 255) of `rows` × `cols`.
pub fn hash_luma(mut luma: Vec<f32>, rows: usize, cols: usize) -> Option<PdqHash> {
    if rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM || luma.len() != rows * cols {
        return None;
    }
    let mut temp = vec![0f32; luma.len()];
    let window_along_rows = jarosz_window(cols, 64);
    let window_along_cols = jarosz_window(rows, 64);
    for _ in 0..2 {
        for r in 0..rows {
            box_1d(&luma, &mut temp, r * cols, cols, 1, window_along_rows);
        }
        for c in 0..cols {
            box_1d(&temp, &mut luma, c, rows, cols, window_along_cols);
        }
    }
    let mut small = [[0f32; 64]; 64];
    for (i, row) in small.iter_mut().enumerate() {
        let ini = (((i as f64 + 0.5) * rows as f64) / 64.0) as usize;
        for (j, v) in row.iter_mut().enumerate() {
            let inj = (((j as f64 + 0.5) * cols as f64) / 64.0) as usize;
            *v = luma[ini * cols + inj];
        }
    }
    let quality = quality_metric(&small);
    let dct = dct_64_to_16(&small);
    let mut sorted: Vec<f32> = dct.iter().flatten().copied().collect();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[127];
    let mut bits = [0u8; 32];
    for (i, row) in dct.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            if *v > median {
                let k = i * 16 + j;
                // Bit k lives in 16-bit word k/16, printed most significant word first.
                let byte = 31 - k / 8;
                bits[byte] |= 1 << (k % 8);
            }
        }
    }
    Some(PdqHash { bits, quality })
}

fn jarosz_window(old: usize, new: usize) -> usize {
    old.div_ceil(2 * new)
}

/// The reference's `box1DFloat`: a running mean with a window that grows at the start and
/// shrinks at the end.
fn box_1d(input: &[f32], output: &mut [f32], start: usize, len: usize, stride: usize, full: usize) {
    let full = full.clamp(1, len);
    let half = (full + 2) / 2;
    let phase1 = half - 1;
    let phase2 = full - half + 1;
    let phase3 = len - full;
    let phase4 = half - 1;
    let (mut li, mut ri, mut oi) = (start, start, start);
    let mut sum = 0f32;
    let mut window = 0f32;
    let at = |i: usize| input.get(i).copied().unwrap_or(0.0);
    for _ in 0..phase1 {
        sum += at(ri);
        window += 1.0;
        ri += stride;
    }
    for _ in 0..phase2 {
        sum += at(ri);
        window += 1.0;
        if let Some(o) = output.get_mut(oi) {
            *o = sum / window;
        }
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase3 {
        sum += at(ri);
        sum -= at(li);
        if let Some(o) = output.get_mut(oi) {
            *o = sum / window;
        }
        li += stride;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase4 {
        sum -= at(li);
        window -= 1.0;
        if let Some(o) = output.get_mut(oi) {
            *o = sum / window;
        }
        li += stride;
        oi += stride;
    }
}

// Index loops mirror the reference implementation line for line.
#[allow(clippy::needless_range_loop)]
fn quality_metric(b: &[[f32; 64]; 64]) -> u8 {
    let mut sum: i64 = 0;
    for i in 0..63 {
        for j in 0..64 {
            let d = ((b[i][j] - b[i + 1][j]) * 100.0 / 255.0) as i32;
            sum += i64::from(d.abs());
        }
    }
    for row in b.iter() {
        for j in 0..63 {
            let d = ((row[j] - row[j + 1]) * 100.0 / 255.0) as i32;
            sum += i64::from(d.abs());
        }
    }
    (sum / 90).min(100) as u8
}

#[allow(clippy::needless_range_loop)]
fn dct_64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let scale = (2.0f64 / 64.0).sqrt();
    let mut d = [[0f32; 64]; 16];
    for (i, row) in d.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (scale
                * ((std::f64::consts::PI / 2.0 / 64.0) * (i as f64 + 1.0) * (2.0 * j as f64 + 1.0))
                    .cos()) as f32;
        }
    }
    let mut t = [[0f32; 64]; 16];
    for i in 0..16 {
        for j in 0..64 {
            let mut sum = 0f32;
            for k in 0..64 {
                sum += d[i][k] * a[k][j];
            }
            t[i][j] = sum;
        }
    }
    let mut c = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let mut sum = 0f32;
            for k in 0..64 {
                sum += t[i][k] * d[j][k];
            }
            c[i][j] = sum;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_images_have_no_hash() {
        assert!(hash_rgb(&RgbImage::new(4, 100)).is_none());
    }

    #[test]
    fn distance_counts_bits() {
        let a = PdqHash::default();
        let mut b = a;
        b.bits[0] = 0b1011;
        assert_eq!(a.distance(&b), 3);
        let hex = b.to_hex();
        assert_eq!(PdqHash::from_hex(&hex, 0), Some(b));
    }
}
