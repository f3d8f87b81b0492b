//! Raw pixel buffers from the platform: Android `Bitmap` (RGBA_8888), iOS `CGImage` (BGRA or
//! RGBA), decoded HEIC photos. Converted to RGB and box-averaged down in one pass.

use super::{shrink, DecodeOptions, DecodedImage, SourceFormat};
use crate::error::{Error, Result};

/// Byte order of one pixel in a raw buffer. Alpha is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// Red, green, blue, alpha: 4 bytes (Android `ARGB_8888` in memory, `kCGImageAlphaLast`).
    Rgba8,
    /// Blue, green, red, alpha: 4 bytes (iOS `kCGBitmapByteOrder32Little` + premultiplied first).
    Bgra8,
    /// Red, green, blue: 3 bytes.
    Rgb8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => 4,
            PixelFormat::Rgb8 => 3,
        }
    }

    pub(crate) fn rgb_offsets(self) -> [usize; 3] {
        match self {
            PixelFormat::Rgba8 | PixelFormat::Rgb8 => [0, 1, 2],
            PixelFormat::Bgra8 => [2, 1, 0],
        }
    }
}

/// A borrowed raw pixel buffer with its geometry.
#[derive(Debug, Clone, Copy)]
pub struct PixelBuffer<'a> {
    /// The pixels, row after row.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes from the start of one row to the start of the next (at least width × bytes per pixel).
    pub row_stride: usize,
    /// Byte order of each pixel.
    pub format: PixelFormat,
}

impl PixelBuffer<'_> {
    /// Checks that the geometry fits the data.
    pub fn validate(&self) -> Result<()> {
        let bpp = self.format.bytes_per_pixel();
        let row = (self.width as usize)
            .checked_mul(bpp)
            .ok_or_else(|| Error::InvalidPixelBuffer("width overflows".into()))?;
        if self.width == 0 || self.height == 0 {
            return Err(Error::Empty(format!(
                "the buffer is {}x{} pixels",
                self.width, self.height
            )));
        }
        if self.row_stride < row {
            return Err(Error::InvalidPixelBuffer(format!(
                "row stride {} is smaller than width {} × {bpp} bytes",
                self.row_stride, self.width
            )));
        }
        let needed = self
            .row_stride
            .checked_mul(self.height as usize - 1)
            .and_then(|n| n.checked_add(row))
            .ok_or_else(|| Error::InvalidPixelBuffer("geometry overflows".into()))?;
        if self.data.len() < needed {
            return Err(Error::InvalidPixelBuffer(format!(
                "{}x{} pixels with stride {} need {needed} bytes, but the buffer has {}",
                self.width,
                self.height,
                self.row_stride,
                self.data.len()
            )));
        }
        Ok(())
    }
}

pub(super) fn decode(buffer: &PixelBuffer<'_>, options: &DecodeOptions) -> Result<DecodedImage> {
    buffer.validate()?;
    options
        .limits
        .check_dimensions(buffer.width, buffer.height)?;
    let factor = shrink::box_factor(buffer.width, buffer.height, options.min_short_side);
    let frame = shrink::box_convert(buffer, factor);
    Ok(DecodedImage {
        frames: vec![frame],
        width: buffer.width,
        height: buffer.height,
        format: SourceFormat::Pixels,
        frames_decoded: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bgra_with_padding_converts() {
        // 2x1 pixels, stride 12 (4 bytes of padding).
        let data = [10, 20, 30, 255, 40, 50, 60, 255, 0, 0, 0, 0];
        let buf = PixelBuffer {
            data: &data,
            width: 2,
            height: 1,
            row_stride: 12,
            format: PixelFormat::Bgra8,
        };
        let decoded = decode(&buf, &DecodeOptions::default()).expect("decode");
        assert_eq!(decoded.frames[0].get_pixel(0, 0).0, [30, 20, 10]);
        assert_eq!(decoded.frames[0].get_pixel(1, 0).0, [60, 50, 40]);
    }

    #[test]
    fn short_buffer_is_rejected() {
        let data = [0u8; 10];
        let buf = PixelBuffer {
            data: &data,
            width: 2,
            height: 2,
            row_stride: 8,
            format: PixelFormat::Rgba8,
        };
        assert_eq!(
            decode(&buf, &DecodeOptions::default())
                .expect_err("must fail")
                .kind(),
            "invalid_pixel_buffer"
        );
        let buf = PixelBuffer {
            data: &data,
            width: 4,
            height: 1,
            row_stride: 8,
            format: PixelFormat::Rgba8,
        };
        assert_eq!(
            decode(&buf, &DecodeOptions::default())
                .expect_err("must fail")
                .kind(),
            "invalid_pixel_buffer"
        );
    }

    #[test]
    fn large_buffer_is_reduced_while_converting() {
        let (w, h) = (1024u32, 768u32);
        let data = vec![200u8; (w * h * 4) as usize];
        let buf = PixelBuffer {
            data: &data,
            width: w,
            height: h,
            row_stride: (w * 4) as usize,
            format: PixelFormat::Rgba8,
        };
        let decoded = decode(&buf, &DecodeOptions::default()).expect("decode");
        assert_eq!(decoded.frames[0].dimensions(), (341, 256));
        assert_eq!((decoded.width, decoded.height), (w, h));
    }
}
