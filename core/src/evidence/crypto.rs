//! Keys, sealing (ChaCha20-Poly1305) and commitments.
//!
//! From the host's 32-byte key two subkeys are derived with HMAC-SHA256: one encrypts, one tags
//! senders. A sealed field is `nonce (12) ‖ ciphertext+tag`, with associated data naming the
//! record and the field, so a blob moved to another record or field does not open. Its plaintext
//! is `salt (16) ‖ value`; the clear body commits to it with `SHA-256(tag ‖ salt ‖ value)`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// The host's 32-byte vault key. Wiped from memory when dropped; never written by the core.
#[derive(Clone)]
pub struct VaultKey([u8; 32]);

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(..)")
    }
}

impl Drop for VaultKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl VaultKey {
    /// A key from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<VaultKey> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::InvalidKey(format!("got {} bytes", bytes.len())))?;
        Ok(VaultKey(key))
    }

    /// Reads a key file holding exactly 32 raw bytes.
    pub fn from_file(path: &std::path::Path) -> Result<VaultKey> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| Error::io(path, e))?);
        VaultKey::from_bytes(&bytes).map_err(|_| {
            Error::InvalidKey(format!(
                "{} holds {} bytes, not 32 raw bytes",
                path.display(),
                bytes.len()
            ))
        })
    }

    /// A new random key (for tests and first-time setup; hosts usually make theirs in the
    /// platform keystore).
    pub fn generate() -> Result<VaultKey> {
        let mut key = [0u8; 32];
        random(&mut key)?;
        Ok(VaultKey(key))
    }

    /// Derives the working keys.
    pub(crate) fn derive(&self) -> Keys {
        Keys {
            seal: derive(&self.0, b"veil-evidence-seal-v1"),
            tag: derive(&self.0, b"veil-evidence-sender-tag-v1"),
        }
    }
}

fn derive(key: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(hmac(key, label))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    #[allow(clippy::expect_used)]
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Fills `buf` from the operating system's random source.
pub(crate) fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::getrandom(buf)
        .map_err(|e| Error::EvidenceStore(format!("no random numbers from the system: {e}")))
}

/// Working keys derived from a [`VaultKey`].
pub(crate) struct Keys {
    seal: Zeroizing<[u8; 32]>,
    tag: Zeroizing<[u8; 32]>,
}

impl Keys {
    /// Encrypts `plaintext` bound to `aad`.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.seal[..]));
        let mut nonce = [0u8; 12];
        random(&mut nonce)?;
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| Error::EvidenceStore("encryption failed".into()))?;
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts a sealed blob; None when the key or the associated data do not match or the
    /// blob was altered.
    pub(crate) fn open(&self, aad: &[u8], blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if blob.len() < 12 + 16 {
            return None;
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.seal[..]));
        cipher
            .decrypt(
                Nonce::from_slice(&blob[..12]),
                Payload {
                    msg: &blob[12..],
                    aad,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    /// Seals a field value with a fresh salt; returns (blob, commitment).
    pub(crate) fn seal_field(&self, aad: &[u8], value: &[u8]) -> Result<(Vec<u8>, [u8; 32])> {
        let mut plain = Zeroizing::new(Vec::with_capacity(16 + value.len()));
        let mut salt = [0u8; 16];
        random(&mut salt)?;
        plain.extend_from_slice(&salt);
        plain.extend_from_slice(value);
        let commitment = commit(&salt, value);
        Ok((self.seal(aad, &plain)?, commitment))
    }

    /// Opens a sealed field: (salt, value).
    pub(crate) fn open_field(
        &self,
        aad: &[u8],
        blob: &[u8],
    ) -> Option<([u8; 16], Zeroizing<Vec<u8>>)> {
        let plain = self.open(aad, blob)?;
        let salt: [u8; 16] = plain.get(..16)?.try_into().ok()?;
        Some((salt, Zeroizing::new(plain[16..].to_vec())))
    }

    /// The keyed tag of a sender id, for "same sender" lookups.
    pub(crate) fn sender_tag(&self, sender: &str) -> [u8; 32] {
        hmac(&self.tag[..], sender.as_bytes())
    }
}

/// `SHA-256("veil-commit-v1" ‖ salt ‖ value)`.
pub fn commit(salt: &[u8], value: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"veil-commit-v1");
    h.update(salt);
    h.update(value);
    h.finalize().into()
}

/// Associated data for a sealed field of a record.
pub(crate) fn field_aad(incident: &str, seq: i64, field: &str) -> Vec<u8> {
    format!("veil-field-v1|{incident}|{seq}|{field}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_opens_only_with_same_key_and_aad() {
        let a = VaultKey::from_bytes(&[7u8; 32]).expect("key").derive();
        let b = VaultKey::from_bytes(&[8u8; 32]).expect("key").derive();
        let (blob, c) = a.seal_field(b"x", b"Tom's iPhone").expect("seal");
        let (salt, value) = a.open_field(b"x", &blob).expect("open");
        assert_eq!(&value[..], b"Tom's iPhone");
        assert_eq!(commit(&salt, &value), c);
        assert!(a.open_field(b"y", &blob).is_none());
        assert!(b.open_field(b"x", &blob).is_none());
        assert!(VaultKey::from_bytes(&[1u8; 31]).is_err());
    }
}
