//! Blurred previews: shown in place of an explicit image. Built from the already reduced scan
//! frame, so a preview costs a fraction of the classification.

use image::{imageops, imageops::FilterType, ImageEncoder, RgbImage, RgbaImage};

use crate::error::{Error, Result};

/// Long side of the coarse grid all detail is averaged into. At 12 cells nothing smaller than
/// about a twelfth of the picture survives.
const GRID_LONG_SIDE: u32 = 12;

/// A blurred preview as raw RGBA (opaque), with encoders for display or storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlurredPreview {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGBA pixels, row after row, no padding.
    pub rgba: Vec<u8>,
}

impl BlurredPreview {
    /// Makes a preview of `frame`, sized to the original image's aspect ratio with its long side
    /// at most `max_side` (and never larger than the original).
    pub fn from_frame(
        frame: &RgbImage,
        original_width: u32,
        original_height: u32,
        max_side: u32,
    ) -> Result<BlurredPreview> {
        if frame.width() == 0 || frame.height() == 0 || original_width == 0 || original_height == 0
        {
            return Err(Error::Empty("cannot blur an image with no pixels".into()));
        }
        let (width, height) = fit(original_width, original_height, max_side.max(1));
        let (gw, gh) = fit(original_width, original_height, GRID_LONG_SIDE);
        let grid = imageops::resize(frame, gw, gh, FilterType::Triangle);
        // Upscale in two smooth steps with a Gaussian between, so no cell edges show.
        let (mw, mh) = (gw * 4, gh * 4);
        let mid = imageops::blur(&imageops::resize(&grid, mw, mh, FilterType::Triangle), 2.5);
        let full = imageops::resize(&mid, width, height, FilterType::Triangle);
        let rgba: RgbaImage = image::DynamicImage::ImageRgb8(full).into_rgba8();
        Ok(BlurredPreview {
            width,
            height,
            rgba: rgba.into_raw(),
        })
    }

    /// Encodes as PNG.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                &self.rgba,
                self.width,
                self.height,
                image::ExtendedColorType::Rgba8,
            )
            .map_err(|e| Error::Encode(e.to_string()))?;
        Ok(out)
    }

    /// Encodes as JPEG at the given quality (1 to 100).
    pub fn to_jpeg(&self, quality: u8) -> Result<Vec<u8>> {
        let image = turbojpeg::Image {
            pixels: self.rgba.as_slice(),
            width: self.width as usize,
            pitch: self.width as usize * 4,
            height: self.height as usize,
            format: turbojpeg::PixelFormat::RGBA,
        };
        turbojpeg::compress(
            image,
            i32::from(quality.clamp(1, 100)),
            turbojpeg::Subsamp::Sub2x2,
        )
        .map(|buf| buf.to_vec())
        .map_err(|e| Error::Encode(e.to_string()))
    }
}

/// Scales (w, h) so the long side is at most `max_side`, keeping the aspect ratio; never
/// enlarges, never returns a zero side.
fn fit(w: u32, h: u32, max_side: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= max_side {
        return (w, h);
    }
    let scale = |v: u32| {
        ((u64::from(v) * u64::from(max_side) + u64::from(long) / 2) / u64::from(long)).max(1) as u32
    };
    (scale(w), scale(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame full of fine detail: a checkerboard of 2-pixel squares in two colours.
    fn detailed(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            if (x / 2 + y / 2) % 2 == 0 {
                image::Rgb([250, 20, 20])
            } else {
                image::Rgb([20, 20, 250])
            }
        })
    }

    #[test]
    fn keeps_aspect_and_bounds() {
        let p = BlurredPreview::from_frame(&detailed(400, 300), 4032, 3024, 512).expect("blur");
        assert_eq!((p.width, p.height), (512, 384));
        assert_eq!(p.rgba.len(), 512 * 384 * 4);
        let small = BlurredPreview::from_frame(&detailed(40, 30), 40, 30, 512).expect("blur");
        assert_eq!((small.width, small.height), (40, 30));
    }

    #[test]
    fn removes_detail() {
        let p = BlurredPreview::from_frame(&detailed(400, 300), 400, 300, 400).expect("blur");
        let px = |x: u32, y: u32| {
            &p.rgba[((y * p.width + x) * 4) as usize..((y * p.width + x) * 4 + 3) as usize]
        };
        let mut max_step = 0i32;
        for y in 0..p.height {
            for x in 1..p.width {
                for c in 0..3 {
                    max_step =
                        max_step.max((i32::from(px(x, y)[c]) - i32::from(px(x - 1, y)[c])).abs());
                }
            }
        }
        // The checkerboard steps by 230 between neighbours; the preview must be smooth.
        assert!(max_step <= 4, "largest neighbour step {max_step}");
    }

    #[test]
    fn encodes() {
        let p = BlurredPreview::from_frame(&detailed(64, 48), 64, 48, 64).expect("blur");
        assert!(p.to_png().expect("png").starts_with(b"\x89PNG"));
        assert!(p.to_jpeg(80).expect("jpeg").starts_with(&[0xFF, 0xD8]));
    }
}
