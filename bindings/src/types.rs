//! Records and enums that cross the boundary, and their conversions from and to the core's.

use crate::error::VeilError;

/// How readily Veil blurs.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Enum)]
pub enum Sensitivity {
    /// Blur at an explicit score of 0.30 or more: more false alarms, fewer misses.
    Strict,
    /// Blur at 0.50 or more. The recommended default.
    Balanced,
    /// Blur at 0.80 or more: only clear cases.
    Relaxed,
    /// Blur at `threshold` or more (0.0 to 1.0).
    Custom {
        /// The explicit score at or above which images are blurred.
        threshold: f32,
    },
}

impl From<Sensitivity> for veil_core::Sensitivity {
    fn from(s: Sensitivity) -> Self {
        match s {
            Sensitivity::Strict => veil_core::Sensitivity::Strict,
            Sensitivity::Balanced => veil_core::Sensitivity::Balanced,
            Sensitivity::Relaxed => veil_core::Sensitivity::Relaxed,
            Sensitivity::Custom { threshold } => veil_core::Sensitivity::Custom(threshold),
        }
    }
}

impl From<veil_core::Sensitivity> for Sensitivity {
    fn from(s: veil_core::Sensitivity) -> Self {
        match s {
            veil_core::Sensitivity::Strict => Sensitivity::Strict,
            veil_core::Sensitivity::Balanced => Sensitivity::Balanced,
            veil_core::Sensitivity::Relaxed => Sensitivity::Relaxed,
            veil_core::Sensitivity::Custom(threshold) => Sensitivity::Custom { threshold },
        }
    }
}

/// Settings of a filter. Only the sensitivity has no default.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FilterSettings {
    /// How readily to blur.
    pub sensitivity: Sensitivity,
    /// The threshold is multiplied by this for senders who are not known contacts (0 to 1;
    /// smaller is stricter). With 0.8, balanced blurs unknown senders' images from 0.40.
    #[uniffi(default = 0.8)]
    pub unknown_sender_factor: f32,
    /// With a vault open: the PDQ perceptual-hash distance (0 to 256) at or below which an
    /// arriving image counts as one already flagged, and is blurred without running the model.
    #[uniffi(default = 31)]
    pub match_distance: u32,
}

impl FilterSettings {
    /// The recommended settings: balanced, unknown senders judged 20% more strictly.
    pub fn balanced() -> Self {
        FilterSettings {
            sensitivity: Sensitivity::Balanced,
            unknown_sender_factor: 0.8,
            match_distance: veil_core::filter::DEFAULT_MATCH_DISTANCE,
        }
    }

    pub(crate) fn policy(&self) -> Result<veil_core::Policy, VeilError> {
        let policy = veil_core::Policy {
            sensitivity: self.sensitivity.into(),
            unknown_sender_factor: self.unknown_sender_factor,
        };
        policy.validate()?;
        Ok(policy)
    }
}

/// The way an image reached the phone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Channel {
    /// Apple AirDrop.
    AirDrop,
    /// Classic Bluetooth file transfer (OBEX).
    Bluetooth,
    /// Google Nearby Share / Quick Share.
    NearbyShare,
    /// SMS or MMS.
    Sms,
    /// A messaging app.
    MessagingApp {
        /// The app's name, for example "WhatsApp".
        app: String,
    },
    /// Anything else, or unknown.
    Other,
}

impl From<Channel> for veil_core::Channel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::AirDrop => veil_core::Channel::AirDrop,
            Channel::Bluetooth => veil_core::Channel::Bluetooth,
            Channel::NearbyShare => veil_core::Channel::NearbyShare,
            Channel::Sms => veil_core::Channel::Sms,
            Channel::MessagingApp { app } => veil_core::Channel::MessagingApp(app),
            Channel::Other => veil_core::Channel::Other,
        }
    }
}

impl From<veil_core::Channel> for Channel {
    fn from(c: veil_core::Channel) -> Self {
        match c {
            veil_core::Channel::AirDrop => Channel::AirDrop,
            veil_core::Channel::Bluetooth => Channel::Bluetooth,
            veil_core::Channel::NearbyShare => Channel::NearbyShare,
            veil_core::Channel::Sms => Channel::Sms,
            veil_core::Channel::MessagingApp(app) => Channel::MessagingApp { app },
            veil_core::Channel::Other => Channel::Other,
        }
    }
}

/// The sender as the platform knows them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Sender {
    /// Device name ("Tom's iPhone"), phone number or handle.
    pub id: String,
    /// Whether the sender is in the user's contacts.
    pub known_contact: bool,
}

/// Where an image came from: the policy judges images from unknown senders more strictly.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScanContext {
    /// How the image arrived.
    pub channel: Channel,
    /// Who sent it, if the platform says. No sender counts as an unknown sender.
    #[uniffi(default = None)]
    pub sender: Option<Sender>,
}

impl From<ScanContext> for veil_core::ScanContext {
    fn from(c: ScanContext) -> Self {
        veil_core::ScanContext::new(
            c.channel.into(),
            c.sender.map(|s| veil_core::Sender {
                id: s.id,
                known_contact: s.known_contact,
            }),
        )
    }
}

/// What the app should do with an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Action {
    /// Show it.
    Allow,
    /// Show the blurred preview instead; the original only after the user confirms.
    Blur,
}

impl From<veil_core::Action> for Action {
    fn from(a: veil_core::Action) -> Self {
        match a {
            veil_core::Action::Allow => Action::Allow,
            veil_core::Action::Blur => Action::Blur,
        }
    }
}

/// One output label of the model and its probability.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LabelScore {
    /// The label, as the model's manifest names it (open_nsfw: `sfw`, `nsfw`).
    pub label: String,
    /// Its probability, 0 to 1.
    pub score: f32,
}

/// The decision about one image.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Verdict {
    /// What to do.
    pub action: Action,
    /// The explicit score that was judged (the worst frame's, for animations), 0 to 1.
    pub explicit_score: f32,
    /// The threshold that applied, after any adjustment for the sender.
    pub threshold: f32,
    /// Why, in words a person can read.
    pub reason: String,
    /// Every label's probability, for the judged frame.
    pub labels: Vec<LabelScore>,
}

impl From<veil_core::Verdict> for Verdict {
    fn from(v: veil_core::Verdict) -> Self {
        Verdict {
            action: v.action.into(),
            explicit_score: v.explicit_score,
            threshold: v.threshold,
            reason: v.reason,
            labels: v
                .labels
                .into_iter()
                .map(|(label, score)| LabelScore { label, score })
                .collect(),
        }
    }
}

/// A blurred preview, to show in place of an explicit image.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BlurredPreview {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Opaque RGBA pixels, row after row, no padding (`width * height * 4` bytes): Android
    /// `Bitmap.copyPixelsFromBuffer` with `ARGB_8888`, or a `CGImage` with `kCGImageAlphaLast`.
    pub rgba: Vec<u8>,
}

impl From<veil_core::BlurredPreview> for BlurredPreview {
    fn from(p: veil_core::BlurredPreview) -> Self {
        BlurredPreview {
            width: p.width,
            height: p.height,
            rgba: p.rgba,
        }
    }
}

impl From<BlurredPreview> for veil_core::BlurredPreview {
    fn from(p: BlurredPreview) -> Self {
        veil_core::BlurredPreview {
            width: p.width,
            height: p.height,
            rgba: p.rgba,
        }
    }
}

/// The format an image arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ImageFormat {
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
    /// A raw pixel buffer handed over by the app.
    Pixels,
}

impl From<veil_core::SourceFormat> for ImageFormat {
    fn from(f: veil_core::SourceFormat) -> Self {
        match f {
            veil_core::SourceFormat::Jpeg => ImageFormat::Jpeg,
            veil_core::SourceFormat::Png => ImageFormat::Png,
            veil_core::SourceFormat::WebP => ImageFormat::WebP,
            veil_core::SourceFormat::Gif => ImageFormat::Gif,
            veil_core::SourceFormat::Bmp => ImageFormat::Bmp,
            veil_core::SourceFormat::Tiff => ImageFormat::Tiff,
            veil_core::SourceFormat::Pixels => ImageFormat::Pixels,
        }
    }
}

/// Facts about a scanned image (never its content).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImageInfo {
    /// Width of the original, upright.
    pub width: u32,
    /// Height of the original, upright.
    pub height: u32,
    /// The format it arrived in.
    pub format: ImageFormat,
    /// Frames decoded (animations).
    pub frames_decoded: u32,
    /// Frames run through the model.
    pub frames_scanned: u32,
}

impl From<veil_core::ImageInfo> for ImageInfo {
    fn from(i: veil_core::ImageInfo) -> Self {
        ImageInfo {
            width: i.width,
            height: i.height,
            format: i.format.into(),
            frames_decoded: i.frames_decoded,
            frames_scanned: i.frames_scanned,
        }
    }
}

/// Byte order of one pixel in a raw buffer. Alpha is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PixelFormat {
    /// Red, green, blue, alpha: 4 bytes (Android `Bitmap.Config.ARGB_8888` in memory).
    Rgba8,
    /// Blue, green, red, alpha: 4 bytes (iOS `kCGBitmapByteOrder32Little` with alpha first).
    Bgra8,
    /// Red, green, blue: 3 bytes.
    Rgb8,
}

impl From<PixelFormat> for veil_core::PixelFormat {
    fn from(f: PixelFormat) -> Self {
        match f {
            PixelFormat::Rgba8 => veil_core::PixelFormat::Rgba8,
            PixelFormat::Bgra8 => veil_core::PixelFormat::Bgra8,
            PixelFormat::Rgb8 => veil_core::PixelFormat::Rgb8,
        }
    }
}

/// A raw pixel buffer from the platform (a decoded HEIC photo, an Android `Bitmap`, a
/// `CGImage`'s data), with its geometry.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RawPixels {
    /// The pixels, row after row.
    pub data: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes from the start of one row to the start of the next (at least width × bytes per
    /// pixel; Android `Bitmap.getRowBytes()`, `CGImage.bytesPerRow`).
    pub row_stride: u32,
    /// Byte order of each pixel.
    pub format: PixelFormat,
}

impl RawPixels {
    pub(crate) fn as_buffer(&self) -> veil_core::PixelBuffer<'_> {
        veil_core::PixelBuffer {
            data: &self.data,
            width: self.width,
            height: self.height,
            row_stride: self.row_stride as usize,
            format: self.format.into(),
        }
    }
}

/// Facts about the loaded model, for an "about" screen and for evidence records.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ModelInfo {
    /// Short name (`open_nsfw`).
    pub name: String,
    /// Version string recorded with every verdict and incident.
    pub version: String,
    /// Free text.
    pub description: String,
    /// Licence of the weights.
    pub license: String,
    /// Lowercase hex SHA-256 of the weights.
    pub sha256: String,
    /// Input width the model sees, in pixels.
    pub input_width: u32,
    /// Input height the model sees, in pixels.
    pub input_height: u32,
    /// The output labels, in order.
    pub labels: Vec<String>,
    /// The labels whose probabilities add up to the explicit score.
    pub explicit_labels: Vec<String>,
}

impl From<&veil_core::ModelManifest> for ModelInfo {
    fn from(m: &veil_core::ModelManifest) -> Self {
        ModelInfo {
            name: m.name.clone(),
            version: m.version.clone(),
            description: m.description.clone(),
            license: m.license.clone(),
            sha256: m.sha256.clone(),
            input_width: m.input.width,
            input_height: m.input.height,
            labels: m.output.labels.clone(),
            explicit_labels: m.output.explicit_labels.clone(),
        }
    }
}

/// The verbosity of Veil's log (logcat on Android, the unified log on Apple platforms,
/// standard error elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Failures only.
    Error,
    /// Failures and warnings.
    Warn,
    /// Also model loading and vault events.
    Info,
    /// Also every verdict (scores, never image content).
    Debug,
    /// Everything.
    Trace,
}

impl From<LogLevel> for log::LevelFilter {
    fn from(l: LogLevel) -> Self {
        match l {
            LogLevel::Off => log::LevelFilter::Off,
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}
