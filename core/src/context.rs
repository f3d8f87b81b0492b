//! Where an image came from: the channel and the sender, as the platform reports them.

use serde::{Deserialize, Serialize};

/// The way an image reached the phone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "app")]
pub enum Channel {
    /// Apple AirDrop.
    AirDrop,
    /// Classic Bluetooth file transfer (OBEX).
    Bluetooth,
    /// Google Nearby Share / Quick Share.
    NearbyShare,
    /// SMS or MMS.
    Sms,
    /// A messaging app, by name (for example "WhatsApp").
    MessagingApp(String),
    /// Anything else, or unknown.
    Other,
}

impl Channel {
    /// Whether the channel lets strangers nearby send without any prior contact, which is where
    /// most cyberflashing happens (trains and buses).
    pub fn is_proximity(&self) -> bool {
        matches!(
            self,
            Channel::AirDrop | Channel::Bluetooth | Channel::NearbyShare
        )
    }

    /// A stable lowercase name: `airdrop`, `bluetooth`, `nearby_share`, `sms`, `app:<name>`, `other`.
    pub fn name(&self) -> String {
        match self {
            Channel::AirDrop => "airdrop".into(),
            Channel::Bluetooth => "bluetooth".into(),
            Channel::NearbyShare => "nearby_share".into(),
            Channel::Sms => "sms".into(),
            Channel::MessagingApp(app) => format!("app:{app}"),
            Channel::Other => "other".into(),
        }
    }

    /// Parses the names produced by [`Channel::name`], plus a few common aliases
    /// (`quickshare`, `nearby`, `mms`). Unknown names become [`Channel::Other`].
    pub fn parse(name: &str) -> Channel {
        let lower = name.trim().to_ascii_lowercase();
        match lower.as_str() {
            "airdrop" => Channel::AirDrop,
            "bluetooth" | "bt" => Channel::Bluetooth,
            "nearby_share" | "nearby" | "quickshare" | "quick_share" | "nearbyshare" => {
                Channel::NearbyShare
            }
            "sms" | "mms" | "sms_mms" => Channel::Sms,
            _ => match name.trim().split_once(':') {
                Some((prefix, app)) if prefix.eq_ignore_ascii_case("app") && !app.is_empty() => {
                    Channel::MessagingApp(app.to_string())
                }
                _ => Channel::Other,
            },
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// The sender as the platform knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    /// Device name ("Tom's iPhone"), phone number or handle.
    pub id: String,
    /// Whether the sender is in the user's contacts.
    pub known_contact: bool,
}

/// Everything known about an image's arrival that the policy may weigh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanContext {
    /// How the image arrived.
    pub channel: Channel,
    /// Who sent it, if the platform says.
    pub sender: Option<Sender>,
}

impl Default for ScanContext {
    fn default() -> Self {
        ScanContext {
            channel: Channel::Other,
            sender: None,
        }
    }
}

impl ScanContext {
    /// A context for the given channel and sender.
    pub fn new(channel: Channel, sender: Option<Sender>) -> Self {
        ScanContext { channel, sender }
    }

    /// True unless the sender is a known contact. An unnamed sender counts as unknown.
    pub fn sender_is_unknown(&self) -> bool {
        !self.sender.as_ref().is_some_and(|s| s.known_contact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_round_trip() {
        for channel in [
            Channel::AirDrop,
            Channel::Bluetooth,
            Channel::NearbyShare,
            Channel::Sms,
            Channel::MessagingApp("WhatsApp".into()),
            Channel::Other,
        ] {
            assert_eq!(Channel::parse(&channel.name()), channel);
        }
        assert_eq!(Channel::parse("QuickShare"), Channel::NearbyShare);
        assert_eq!(Channel::parse("carrier pigeon"), Channel::Other);
    }

    #[test]
    fn unnamed_sender_is_unknown() {
        assert!(ScanContext::default().sender_is_unknown());
        let known = ScanContext::new(
            Channel::Sms,
            Some(Sender {
                id: "+441234".into(),
                known_contact: true,
            }),
        );
        assert!(!known.sender_is_unknown());
    }
}
