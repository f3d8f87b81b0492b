//! A decoded frame becomes the model's input tensor, exactly as the manifest describes.

use image::{imageops, imageops::FilterType, RgbImage};
use tract_onnx::prelude::{tract_ndarray, Tensor};

use crate::error::{Error, Result};
use crate::manifest::{ChannelOrder, Layout, ModelManifest};

/// Resizes, crops, optionally JPEG-round-trips, and lays out one frame as a batch-1 tensor.
pub fn frame_to_tensor(frame: &RgbImage, manifest: &ModelManifest) -> Result<Tensor> {
    let p = &manifest.preprocessing;
    let resized = imageops::resize(frame, p.resize.width, p.resize.height, FilterType::Triangle);
    let x = (p.resize.width - p.center_crop.width) / 2;
    let y = (p.resize.height - p.center_crop.height) / 2;
    let crop =
        imageops::crop_imm(&resized, x, y, p.center_crop.width, p.center_crop.height).to_image();
    let crop = match p.jpeg_roundtrip_quality {
        Some(quality) => jpeg_roundtrip(&crop, quality)?,
        None => crop,
    };
    Ok(layout_tensor(&crop, manifest))
}

/// Encodes and decodes with libjpeg-turbo at 4:2:0, as Pillow's default `save(format="JPEG")`.
fn jpeg_roundtrip(img: &RgbImage, quality: u8) -> Result<RgbImage> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let source = turbojpeg::Image {
        pixels: img.as_raw().as_slice(),
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    let jpeg = turbojpeg::compress(source, i32::from(quality), turbojpeg::Subsamp::Sub2x2)
        .map_err(|e| Error::Encode(e.to_string()))?;
    let decoded = turbojpeg::decompress(&jpeg, turbojpeg::PixelFormat::RGB)
        .map_err(|e| Error::Corrupt(e.to_string()))?;
    RgbImage::from_raw(decoded.width as u32, decoded.height as u32, decoded.pixels)
        .ok_or_else(|| Error::Corrupt("JPEG round trip changed the size".into()))
}

fn layout_tensor(img: &RgbImage, manifest: &ModelManifest) -> Tensor {
    let p = &manifest.preprocessing;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let order = match p.channel_order {
        ChannelOrder::RGB => [0, 1, 2],
        ChannelOrder::BGR => [2, 1, 0],
    };
    let value = |x: usize, y: usize, c: usize| {
        let px = img.get_pixel(x as u32, y as u32).0;
        (f32::from(px[order[c]]) - p.mean[c]) * p.scale
    };
    match manifest.input.layout {
        Layout::NHWC => {
            tract_ndarray::Array4::from_shape_fn((1, h, w, 3), |(_, y, x, c)| value(x, y, c)).into()
        }
        Layout::NCHW => {
            tract_ndarray::Array4::from_shape_fn((1, 3, h, w), |(_, c, y, x)| value(x, y, c)).into()
        }
    }
}
