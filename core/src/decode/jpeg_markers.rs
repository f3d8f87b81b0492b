//! A walk over a JPEG's marker segments: finds the EXIF block and proves the file is complete.
//!
//! libjpeg-turbo treats a cut-off file as a warning and fills the missing rows with grey, which
//! would hide a truncated transfer. Walking the markers up to EOI costs one pass over the bytes.

use crate::error::{Error, Result};

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct JpegLayout<'a> {
    /// The TIFF-structured EXIF payload of the first APP1 `Exif` segment.
    pub exif: Option<&'a [u8]>,
}

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP1: u8 = 0xE1;

/// Walks the segments from SOI to EOI.
pub(crate) fn walk(data: &[u8]) -> Result<JpegLayout<'_>> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != SOI {
        return Err(Error::Corrupt("missing JPEG start-of-image marker".into()));
    }
    let mut layout = JpegLayout::default();
    let mut pos = 2;
    loop {
        let marker = next_marker(data, &mut pos)?;
        match marker {
            EOI => return Ok(layout),
            0xD0..=0xD7 | 0x01 => continue, // restart markers and TEM carry no length
            _ => {}
        }
        let len = segment_length(data, pos)?;
        let payload = &data[pos + 2..pos + len];
        if marker == APP1 && layout.exif.is_none() {
            if let Some(exif) = payload.strip_prefix(b"Exif\0\0") {
                layout.exif = Some(exif);
            }
        }
        pos += len;
        if marker == SOS {
            pos = skip_entropy_coded(data, pos)?;
        }
    }
}

fn truncated(what: &str) -> Error {
    Error::Truncated(format!(
        "the JPEG data ends {what}; the transfer was probably cut short"
    ))
}

/// Reads the marker at `pos` (skipping fill bytes) and leaves `pos` after it.
fn next_marker(data: &[u8], pos: &mut usize) -> Result<u8> {
    if *pos >= data.len() {
        return Err(truncated("before its end-of-image marker"));
    }
    if data[*pos] != 0xFF {
        return Err(Error::Corrupt(format!(
            "expected a JPEG marker at byte {}",
            *pos
        )));
    }
    while *pos < data.len() && data[*pos] == 0xFF {
        *pos += 1;
    }
    let marker = *data.get(*pos).ok_or_else(|| truncated("inside a marker"))?;
    *pos += 1;
    Ok(marker)
}

fn segment_length(data: &[u8], pos: usize) -> Result<usize> {
    let bytes = data
        .get(pos..pos + 2)
        .ok_or_else(|| truncated("inside a segment header"))?;
    let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
    if len < 2 {
        return Err(Error::Corrupt(format!(
            "JPEG segment at byte {pos} has length {len}"
        )));
    }
    if pos + len > data.len() {
        return Err(truncated("inside a segment"));
    }
    Ok(len)
}

/// Skips entropy-coded data after SOS; returns the position of the next real marker.
fn skip_entropy_coded(data: &[u8], mut pos: usize) -> Result<usize> {
    loop {
        let ff =
            memchr::memchr(0xFF, &data[pos..]).ok_or_else(|| truncated("inside image data"))?;
        pos += ff;
        match data.get(pos + 1) {
            None => return Err(truncated("inside image data")),
            // Stuffed zero, restart marker or fill byte: still inside the scan.
            Some(0x00) | Some(0xD0..=0xD7) => pos += 2,
            Some(0xFF) => pos += 1,
            Some(_) => return Ok(pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_jpeg() -> Vec<u8> {
        let pixels = vec![128u8; 16 * 16 * 3];
        let image = turbojpeg::Image {
            pixels: pixels.as_slice(),
            width: 16,
            pitch: 48,
            height: 16,
            format: turbojpeg::PixelFormat::RGB,
        };
        turbojpeg::compress(image, 80, turbojpeg::Subsamp::Sub2x2)
            .expect("encode")
            .to_vec()
    }

    #[test]
    fn complete_file_walks_to_eoi() {
        assert!(walk(&tiny_jpeg()).is_ok());
    }

    #[test]
    fn every_cut_is_reported_as_truncated_or_corrupt() {
        let jpeg = tiny_jpeg();
        for cut in 2..jpeg.len() - 1 {
            let err = walk(&jpeg[..cut]).expect_err("cut file must fail");
            assert!(
                matches!(err, Error::Truncated(_) | Error::Corrupt(_)),
                "cut {cut}: {err}"
            );
        }
    }
}
