//! Cheap early reduction of large frames by whole-number box averaging.

use image::RgbImage;

use super::pixels::{PixelBuffer, PixelFormat};

/// The largest whole factor that keeps the short side at or above `min_short_side`.
pub(crate) fn box_factor(width: u32, height: u32, min_short_side: u32) -> u32 {
    let short = width.min(height);
    (short / min_short_side.max(1)).max(1)
}

/// Averages `factor`×`factor` blocks of an RGB image; a trailing partial block is dropped (at
/// most `factor - 1` pixels of edge, far below what the classifier resolves).
pub(crate) fn box_shrink(img: &RgbImage, factor: u32) -> RgbImage {
    let buffer = PixelBuffer {
        data: img.as_raw(),
        width: img.width(),
        height: img.height(),
        row_stride: img.width() as usize * 3,
        format: PixelFormat::Rgb8,
    };
    box_convert(&buffer, factor)
}

/// Converts a pixel buffer to RGB while averaging `factor`×`factor` blocks. The buffer must
/// have been validated.
pub(crate) fn box_convert(buffer: &PixelBuffer<'_>, factor: u32) -> RgbImage {
    let f = factor.max(1) as usize;
    let (w, h) = (buffer.width as usize / f, buffer.height as usize / f);
    let bpp = buffer.format.bytes_per_pixel();
    let [r, g, b] = buffer.format.rgb_offsets();
    let area = (f * f) as u32;
    let mut out = Vec::with_capacity(w * h * 3);
    let mut sums = vec![0u32; w * 3];
    for by in 0..h {
        sums.iter_mut().for_each(|s| *s = 0);
        for y in by * f..(by + 1) * f {
            let start = y * buffer.row_stride;
            let row = &buffer.data[start..start + buffer.width as usize * bpp];
            for (bx, sum) in sums.chunks_exact_mut(3).enumerate() {
                for px in row[bx * f * bpp..(bx + 1) * f * bpp].chunks_exact(bpp) {
                    sum[0] += u32::from(px[r]);
                    sum[1] += u32::from(px[g]);
                    sum[2] += u32::from(px[b]);
                }
            }
        }
        out.extend(sums.iter().map(|s| ((s + area / 2) / area) as u8));
    }
    RgbImage::from_raw(w as u32, h as u32, out).unwrap_or_else(|| RgbImage::new(w as u32, h as u32))
}

/// Reduces a frame so its short side stays at or above `min_short_side`.
pub(crate) fn shrink_to_short_side(img: RgbImage, min_short_side: u32) -> RgbImage {
    let factor = box_factor(img.width(), img.height(), min_short_side);
    if factor <= 1 {
        img
    } else {
        box_shrink(&img, factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_shrink_averages_blocks() {
        let img = RgbImage::from_fn(4, 2, |x, _| {
            if x < 2 {
                image::Rgb([0, 100, 200])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let out = box_shrink(&img, 2);
        assert_eq!(out.dimensions(), (2, 1));
        assert_eq!(out.get_pixel(0, 0).0, [0, 100, 200]);
        assert_eq!(out.get_pixel(1, 0).0, [255, 255, 255]);
    }

    #[test]
    fn factor_keeps_short_side() {
        assert_eq!(box_factor(4032, 3024, 256), 11);
        assert_eq!(box_factor(200, 100, 256), 1);
    }
}
