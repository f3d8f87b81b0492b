//! Bytes or pixels in, small RGB frames out.
//!
//! Every decoder here shrinks as early as its format allows: JPEGs are decoded at 1/2, 1/4 or
//! 1/8 scale in the DCT domain, other formats are reduced right after decoding, and raw pixel
//! buffers are averaged down while they are converted. The result keeps its short side at least
//! [`DecodeOptions::min_short_side`] so the classifier's own resize sees enough detail.

mod animation;
mod generic;
mod jpeg;
mod jpeg_markers;
mod limits;
mod pixels;
mod shrink;

pub use limits::Limits;
pub use pixels::{PixelBuffer, PixelFormat};

use image::{ImageFormat, RgbImage};

use crate::error::{Error, Result};

/// An image reduced for scanning.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    /// The frames to scan, upright (EXIF orientation applied), each with its short side at least
    /// the requested minimum unless the original was smaller. Still images have one frame.
    pub frames: Vec<RgbImage>,
    /// Width of the original image, upright.
    pub width: u32,
    /// Height of the original image, upright.
    pub height: u32,
    /// The format the bytes were in.
    pub format: SourceFormat,
    /// How many frames were decoded (for animations, more than were kept for scanning).
    pub frames_decoded: u32,
}

/// The format an image arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// WebP (still or animated).
    WebP,
    /// GIF (still or animated).
    Gif,
    /// BMP.
    Bmp,
    /// TIFF.
    Tiff,
    /// A raw pixel buffer handed over by the platform.
    Pixels,
}

impl SourceFormat {
    /// Lowercase name: `jpeg`, `png`, `webp`, `gif`, `bmp`, `tiff`, `pixels`.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Png => "png",
            SourceFormat::WebP => "webp",
            SourceFormat::Gif => "gif",
            SourceFormat::Bmp => "bmp",
            SourceFormat::Tiff => "tiff",
            SourceFormat::Pixels => "pixels",
        }
    }
}

/// How to decode.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Size and allocation limits.
    pub limits: Limits,
    /// Frames are reduced no further than this short side.
    pub min_short_side: u32,
    /// At most this many frames of an animation are scanned (spread over the animation).
    pub max_scanned_frames: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            limits: Limits::default(),
            min_short_side: 256,
            max_scanned_frames: 4,
        }
    }
}

/// Decodes encoded image bytes (JPEG, PNG, WebP, GIF, BMP, TIFF) into frames for scanning.
pub fn decode_bytes(bytes: &[u8], options: &DecodeOptions) -> Result<DecodedImage> {
    if bytes.is_empty() {
        return Err(Error::Empty("no bytes were given".into()));
    }
    if bytes.len() as u64 > options.limits.max_input_bytes {
        return Err(Error::TooLarge(format!(
            "{} bytes is more than the limit of {} bytes",
            bytes.len(),
            options.limits.max_input_bytes
        )));
    }
    match sniff_format(bytes)? {
        ImageFormat::Jpeg => jpeg::decode_scaled(bytes, options),
        format => generic::decode(bytes, format, options),
    }
}

/// Converts a raw pixel buffer (Android `Bitmap`, iOS `CGImage`) into a frame for scanning.
pub fn decode_pixels(buffer: &PixelBuffer<'_>, options: &DecodeOptions) -> Result<DecodedImage> {
    pixels::decode(buffer, options)
}

/// Width and height once `orientation` has been applied.
fn upright_dimensions(
    width: u32,
    height: u32,
    orientation: image::metadata::Orientation,
) -> (u32, u32) {
    use image::metadata::Orientation::*;
    match orientation {
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => (height, width),
        _ => (width, height),
    }
}

fn sniff_format(bytes: &[u8]) -> Result<ImageFormat> {
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Err(Error::UnsupportedFormat("HEIF/HEIC/AVIF container".into()));
    }
    match image::guess_format(bytes) {
        Ok(
            f @ (ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::WebP
            | ImageFormat::Gif
            | ImageFormat::Bmp
            | ImageFormat::Tiff),
        ) => Ok(f),
        Ok(other) => Err(Error::UnsupportedFormat(format!("{other:?}"))),
        Err(_) => Err(Error::UnsupportedFormat(
            "the bytes are not a known image format".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_unknown_bytes_are_typed_errors() {
        let opts = DecodeOptions::default();
        assert_eq!(
            decode_bytes(&[], &opts).expect_err("must fail").kind(),
            "empty"
        );
        assert_eq!(
            decode_bytes(b"hello world, not an image", &opts)
                .expect_err("must fail")
                .kind(),
            "unsupported_format"
        );
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        let err = decode_bytes(heic, &opts).expect_err("must fail");
        assert_eq!(err.kind(), "unsupported_format");
        assert!(err.to_string().contains("pixels"));
    }
}
