//! JPEG decoding at reduced size in the DCT domain (libjpeg-turbo through `turbojpeg`).

use image::{metadata::Orientation, DynamicImage, RgbImage};
use turbojpeg::{Decompressor, PixelFormat, ScalingFactor};

use super::{jpeg_markers, shrink, upright_dimensions, DecodeOptions, DecodedImage, SourceFormat};
use crate::error::{Error, Result};

/// The DCT scale that keeps the short side at least `min_short_side`.
fn scale_for(width: usize, height: usize, min_short_side: usize) -> ScalingFactor {
    let short = width.min(height);
    [
        ScalingFactor::ONE_EIGHTH,
        ScalingFactor::ONE_QUARTER,
        ScalingFactor::ONE_HALF,
    ]
    .into_iter()
    .find(|s| s.scale(short) >= min_short_side)
    .unwrap_or(ScalingFactor::ONE)
}

fn map_tj(e: turbojpeg::Error) -> Error {
    Error::Corrupt(e.to_string())
}

/// Decodes a JPEG at the smallest DCT scale that keeps the short side at the minimum, applies
/// EXIF orientation, and returns a single frame.
pub(super) fn decode_scaled(data: &[u8], options: &DecodeOptions) -> Result<DecodedImage> {
    let layout = jpeg_markers::walk(data)?;
    let mut decompressor = Decompressor::new().map_err(map_tj)?;
    let header = decompressor.read_header(data).map_err(map_tj)?;
    let (w, h) = (u32::try_from(header.width), u32::try_from(header.height));
    let (w, h) = (
        w.map_err(|_| Error::TooLarge("width".into()))?,
        h.map_err(|_| Error::TooLarge("height".into()))?,
    );
    options.limits.check_dimensions(w, h)?;

    let scale = if header.is_lossless {
        ScalingFactor::ONE
    } else {
        scale_for(header.width, header.height, options.min_short_side as usize)
    };
    decompressor.set_scaling_factor(scale).map_err(map_tj)?;
    let scaled = header.scaled(scale);
    let mut pixels = vec![0u8; scaled.width * scaled.height * 3];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: scaled.width,
        pitch: scaled.width * 3,
        height: scaled.height,
        format: PixelFormat::RGB,
    };
    decompressor.decompress(data, image).map_err(map_tj)?;
    let frame = RgbImage::from_raw(scaled.width as u32, scaled.height as u32, pixels)
        .ok_or_else(|| Error::Corrupt("decoded buffer has the wrong size".into()))?;
    // A lossless JPEG cannot be scaled by the decoder; reduce it now instead.
    let frame = shrink::shrink_to_short_side(frame, options.min_short_side);

    let orientation = layout
        .exif
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let mut dynamic = DynamicImage::ImageRgb8(frame);
    dynamic.apply_orientation(orientation);
    let (width, height) = upright_dimensions(w, h, orientation);
    Ok(DecodedImage {
        frames: vec![dynamic.into_rgb8()],
        width,
        height,
        format: SourceFormat::Jpeg,
        frames_decoded: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_smallest_scale_that_keeps_256() {
        assert_eq!(scale_for(4032, 3024, 256), ScalingFactor::ONE_EIGHTH);
        assert_eq!(scale_for(1600, 1200, 256), ScalingFactor::ONE_QUARTER);
        assert_eq!(scale_for(1024, 768, 256), ScalingFactor::ONE_HALF);
        assert_eq!(scale_for(640, 480, 256), ScalingFactor::ONE);
        assert_eq!(scale_for(300, 300, 256), ScalingFactor::ONE);
    }
}
