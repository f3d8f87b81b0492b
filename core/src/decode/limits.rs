//! Bounds that keep hostile input from exhausting memory or time.

/// Limits applied before anything large is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted width or height, in pixels.
    pub max_side: u32,
    /// Largest accepted width × height.
    pub max_pixels: u64,
    /// Most memory a decoder may allocate, in bytes.
    pub max_alloc: u64,
    /// Largest accepted input, in bytes.
    pub max_input_bytes: u64,
    /// Most frames of an animation decoded before the rest is ignored.
    pub max_frames_decoded: u32,
}

impl Default for Limits {
    /// 65,535 px a side (the JPEG maximum), 64 megapixels (a 48 MP phone photo fits), 512 MiB of
    /// decoder memory, 256 MiB of input and 64 animation frames.
    fn default() -> Self {
        Limits {
            max_side: 65_535,
            max_pixels: 64_000_000,
            max_alloc: 512 * 1024 * 1024,
            max_input_bytes: 256 * 1024 * 1024,
            max_frames_decoded: 64,
        }
    }
}

impl Limits {
    /// Checks declared dimensions before decoding.
    pub fn check_dimensions(&self, width: u32, height: u32) -> crate::Result<()> {
        if width == 0 || height == 0 {
            return Err(crate::Error::Empty(format!(
                "the image declares {width}x{height} pixels"
            )));
        }
        if width > self.max_side || height > self.max_side {
            return Err(crate::Error::TooLarge(format!(
                "{width}x{height} exceeds the limit of {} pixels a side",
                self.max_side
            )));
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(crate::Error::TooLarge(format!(
                "{width}x{height} is {pixels} pixels, over the limit of {}",
                self.max_pixels
            )));
        }
        Ok(())
    }
}
