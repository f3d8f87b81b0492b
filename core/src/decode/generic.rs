//! PNG, WebP, GIF, BMP and TIFF through the `image` crate, under limits.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};

use super::{animation, shrink, upright_dimensions, DecodeOptions, DecodedImage, SourceFormat};
use crate::error::{Error, Result};

pub(super) fn source_format(format: ImageFormat) -> SourceFormat {
    match format {
        ImageFormat::Png => SourceFormat::Png,
        ImageFormat::WebP => SourceFormat::WebP,
        ImageFormat::Gif => SourceFormat::Gif,
        ImageFormat::Bmp => SourceFormat::Bmp,
        ImageFormat::Tiff => SourceFormat::Tiff,
        _ => SourceFormat::Jpeg,
    }
}

/// Maps the `image` crate's errors onto ours.
pub(super) fn map_image_error(e: ImageError) -> Error {
    match e {
        ImageError::Limits(l) => Error::TooLarge(l.to_string()),
        ImageError::Unsupported(u) => Error::UnsupportedFormat(u.to_string()),
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Truncated(format!("the image data ends early ({io})"))
        }
        ImageError::Decoding(d) => {
            let text = d.to_string();
            if text.contains("EOF") || text.contains("end of") || text.contains("unexpected end") {
                Error::Truncated(text)
            } else {
                Error::Corrupt(text)
            }
        }
        other => Error::Corrupt(other.to_string()),
    }
}

fn image_limits(options: &DecodeOptions) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(options.limits.max_side);
    limits.max_image_height = Some(options.limits.max_side);
    limits.max_alloc = Some(options.limits.max_alloc);
    limits
}

pub(super) fn decode(
    bytes: &[u8],
    format: ImageFormat,
    options: &DecodeOptions,
) -> Result<DecodedImage> {
    if matches!(format, ImageFormat::Gif | ImageFormat::WebP) {
        if let Some(decoded) =
            animation::decode_if_animated(bytes, format, image_limits(options), options)?
        {
            return Ok(decoded);
        }
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(image_limits(options));
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    let (w, h) = decoder.dimensions();
    options.limits.check_dimensions(w, h)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    let frame = shrink::shrink_to_short_side(image.to_rgb8(), options.min_short_side);
    image = DynamicImage::ImageRgb8(frame);
    image.apply_orientation(orientation);
    let (width, height) = upright_dimensions(w, h, orientation);
    Ok(DecodedImage {
        frames: vec![image.into_rgb8()],
        width,
        height,
        format: source_format(format),
        frames_decoded: 1,
    })
}
