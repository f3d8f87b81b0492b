//! Animated GIF and WebP: decode frames in order, keep a few spread over the animation.

use std::io::Cursor;

use image::codecs::{gif::GifDecoder, webp::WebPDecoder};
use image::{AnimationDecoder, Frames, ImageDecoder, ImageFormat, RgbImage};

use super::generic::{map_image_error, source_format};
use super::{shrink, DecodeOptions, DecodedImage};
use crate::error::Result;

/// Decodes an animation into scan frames, or returns `None` for a still image.
pub(super) fn decode_if_animated(
    bytes: &[u8],
    format: ImageFormat,
    limits: image::Limits,
    options: &DecodeOptions,
) -> Result<Option<DecodedImage>> {
    let (frames, (w, h)): (Frames<'_>, (u32, u32)) = match format {
        ImageFormat::Gif => {
            let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(map_image_error)?;
            decoder.set_limits(limits).map_err(map_image_error)?;
            let dims = decoder.dimensions();
            options.limits.check_dimensions(dims.0, dims.1)?;
            (decoder.into_frames(), dims)
        }
        ImageFormat::WebP => {
            let mut decoder = WebPDecoder::new(Cursor::new(bytes)).map_err(map_image_error)?;
            if !decoder.has_animation() {
                return Ok(None);
            }
            decoder.set_limits(limits).map_err(map_image_error)?;
            let dims = decoder.dimensions();
            options.limits.check_dimensions(dims.0, dims.1)?;
            (decoder.into_frames(), dims)
        }
        _ => return Ok(None),
    };

    let mut reduced: Vec<RgbImage> = Vec::new();
    for frame in frames.take(options.limits.max_frames_decoded as usize) {
        let frame = frame.map_err(map_image_error)?;
        let rgb = image::DynamicImage::ImageRgba8(frame.into_buffer()).into_rgb8();
        reduced.push(shrink::shrink_to_short_side(rgb, options.min_short_side));
    }
    if reduced.is_empty() {
        return Err(crate::Error::Empty("the animation has no frames".into()));
    }
    let decoded = reduced.len() as u32;
    Ok(Some(DecodedImage {
        frames: spread(reduced, options.max_scanned_frames.max(1)),
        width: w,
        height: h,
        format: source_format(format),
        frames_decoded: decoded,
    }))
}

/// Keeps at most `keep` frames, evenly spaced, always including the first.
fn spread(frames: Vec<RgbImage>, keep: usize) -> Vec<RgbImage> {
    let n = frames.len();
    if n <= keep {
        return frames;
    }
    let wanted: Vec<usize> = (0..keep).map(|i| i * n / keep).collect();
    frames
        .into_iter()
        .enumerate()
        .filter(|(i, _)| wanted.contains(i))
        .map(|(_, f)| f)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_first_and_spaces_evenly() {
        let frames: Vec<RgbImage> = (0..10).map(|i| RgbImage::new(i + 1, 1)).collect();
        let kept = spread(frames, 4);
        let widths: Vec<u32> = kept.iter().map(|f| f.width()).collect();
        assert_eq!(widths, vec![1, 3, 6, 8]);
    }
}
