//! Scores plus context become a verdict: allow, or blur.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classifier::Scores;
use crate::context::ScanContext;
use crate::error::{Error, Result};

/// How readily Veil blurs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Blur at an explicit score of 0.30 or more: more false alarms, fewer misses.
    Strict,
    /// Blur at 0.50 or more. The default.
    Balanced,
    /// Blur at 0.80 or more: only clear cases.
    Relaxed,
    /// Blur at this score or more (0.0 to 1.0).
    Custom(f32),
}

impl Sensitivity {
    /// The explicit score at or above which an image from a known contact is blurred.
    pub fn threshold(self) -> f32 {
        match self {
            Sensitivity::Strict => 0.30,
            Sensitivity::Balanced => 0.50,
            Sensitivity::Relaxed => 0.80,
            Sensitivity::Custom(t) => t,
        }
    }

    /// `strict`, `balanced`, `relaxed` or `custom`.
    pub fn name(self) -> &'static str {
        match self {
            Sensitivity::Strict => "strict",
            Sensitivity::Balanced => "balanced",
            Sensitivity::Relaxed => "relaxed",
            Sensitivity::Custom(_) => "custom",
        }
    }

    /// Parses `strict`, `balanced`, `relaxed`, or a number between 0 and 1.
    pub fn parse(text: &str) -> Result<Sensitivity> {
        match text.trim().to_ascii_lowercase().as_str() {
            "strict" => Ok(Sensitivity::Strict),
            "balanced" => Ok(Sensitivity::Balanced),
            "relaxed" => Ok(Sensitivity::Relaxed),
            other => other
                .parse::<f32>()
                .ok()
                .filter(|t| (0.0..=1.0).contains(t))
                .map(Sensitivity::Custom)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "sensitivity {text:?} is not strict, balanced, relaxed or a number from 0 to 1"
                    ))
                }),
        }
    }
}

/// What the app should do with the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Show it.
    Allow,
    /// Show the blurred preview instead; the original only after the user confirms.
    Blur,
}

impl Action {
    /// `allow` or `blur`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Blur => "blur",
        }
    }
}

/// The decision about one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The explicit score that was judged (the worst frame's, for animations).
    pub explicit_score: f32,
    /// Every label's probability, for the judged frame.
    pub labels: BTreeMap<String, f32>,
    /// What to do.
    pub action: Action,
    /// The threshold that applied, after any adjustment for the sender.
    pub threshold: f32,
    /// Why, in words a person can read.
    pub reason: String,
}

/// Turns scores into verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// The user's chosen sensitivity.
    pub sensitivity: Sensitivity,
    /// The threshold is multiplied by this for senders who are not known contacts (0 to 1;
    /// smaller is stricter). Default 0.8: balanced blurs unknown senders' images from 0.40.
    pub unknown_sender_factor: f32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            sensitivity: Sensitivity::Balanced,
            unknown_sender_factor: 0.8,
        }
    }
}

impl Policy {
    /// A policy with the given sensitivity and the default treatment of unknown senders.
    pub fn new(sensitivity: Sensitivity) -> Result<Policy> {
        let policy = Policy {
            sensitivity,
            ..Policy::default()
        };
        policy.validate()?;
        Ok(policy)
    }

    /// Checks that the thresholds are within 0 to 1.
    pub fn validate(&self) -> Result<()> {
        let t = self.sensitivity.threshold();
        if !(0.0..=1.0).contains(&t) {
            return Err(Error::InvalidArgument(format!(
                "threshold {t} is outside 0 to 1"
            )));
        }
        if !(0.0..=1.0).contains(&self.unknown_sender_factor) {
            return Err(Error::InvalidArgument(format!(
                "unknown_sender_factor {} is outside 0 to 1",
                self.unknown_sender_factor
            )));
        }
        Ok(())
    }

    /// The threshold for this context.
    pub fn threshold_for(&self, context: &ScanContext) -> f32 {
        let base = self.sensitivity.threshold();
        if context.sender_is_unknown() {
            base * self.unknown_sender_factor
        } else {
            base
        }
    }

    /// Judges the scores of one image (the worst frame's, for animations).
    pub fn decide(&self, scores: &Scores, context: &ScanContext) -> Verdict {
        let threshold = self.threshold_for(context);
        let action = if scores.explicit >= threshold {
            Action::Blur
        } else {
            Action::Allow
        };
        let who = if context.sender_is_unknown() {
            "an unknown sender"
        } else {
            "a known contact"
        };
        let reason = format!(
            "explicit score {:.3} is {} the {} threshold of {:.2} for {who} via {}",
            scores.explicit,
            if action == Action::Blur {
                "at or above"
            } else {
                "below"
            },
            self.sensitivity.name(),
            threshold,
            context.channel,
        );
        Verdict {
            explicit_score: scores.explicit,
            labels: scores.labels.iter().cloned().collect(),
            action,
            threshold,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Channel, Sender};

    fn scores(explicit: f32) -> Scores {
        Scores {
            labels: vec![("sfw".into(), 1.0 - explicit), ("nsfw".into(), explicit)],
            explicit,
        }
    }

    #[test]
    fn unknown_senders_are_judged_more_strictly() {
        let policy = Policy::default();
        let stranger = ScanContext::new(
            Channel::AirDrop,
            Some(Sender {
                id: "iPhone".into(),
                known_contact: false,
            }),
        );
        let friend = ScanContext::new(
            Channel::AirDrop,
            Some(Sender {
                id: "Mum".into(),
                known_contact: true,
            }),
        );
        assert_eq!(policy.decide(&scores(0.45), &stranger).action, Action::Blur);
        assert_eq!(policy.decide(&scores(0.45), &friend).action, Action::Allow);
        assert!(policy
            .decide(&scores(0.45), &stranger)
            .reason
            .contains("airdrop"));
    }

    #[test]
    fn presets_are_ordered_and_parse() {
        assert!(Sensitivity::Strict.threshold() < Sensitivity::Balanced.threshold());
        assert!(Sensitivity::Balanced.threshold() < Sensitivity::Relaxed.threshold());
        assert_eq!(
            Sensitivity::parse("Relaxed").expect("parse"),
            Sensitivity::Relaxed
        );
        assert_eq!(
            Sensitivity::parse("0.7").expect("parse"),
            Sensitivity::Custom(0.7)
        );
        assert_eq!(
            Sensitivity::parse("1.5").expect_err("must fail").kind(),
            "invalid_argument"
        );
        assert!(Policy::new(Sensitivity::Custom(-0.1)).is_err());
    }
}
