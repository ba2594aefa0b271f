//! Secrets: random tokens, their hashes at rest, constant-time comparison, and sealing
//! (authenticated encryption) of data at rest under a key derived from a master secret.

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// SHA-256 of a high-entropy secret (API key, refresh token, reset token). A plain hash is
/// enough for secrets with 128+ bits of randomness; passwords use argon2id instead.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(b).ok().map(Self)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Constant-time equality, for comparing a presented secret with a stored hash.
    pub fn ct_eq(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only a prefix: enough to correlate, useless to an attacker.
        write!(f, "SecretHash({}…)", &hex::encode(&self.0[..4]))
    }
}

/// `n` random bytes from the OS, URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    prefixed_random_token(&[], n)
}

/// `prefix`, then `n` random bytes from the OS, URL-safe base64 without padding.
pub fn prefixed_random_token(prefix: &[u8], n: usize) -> String {
    let mut buf = Zeroizing::new(vec![0u8; prefix.len() + n]);
    buf[..prefix.len()].copy_from_slice(prefix);
    rand::rngs::OsRng.fill_bytes(&mut buf[prefix.len()..]);
    URL_SAFE_NO_PAD.encode(&*buf)
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    buf
}

/// Derive a 32-byte key for one purpose from high-entropy input key material.
pub fn derive_key(ikm: &[u8], purpose: &str) -> Zeroizing<[u8; 32]> {
    let hk = hkdf::Hkdf::<Sha256>::new(Some(b"portcullis"), ikm);
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = hk.expand(purpose.as_bytes(), &mut *out);
    out
}

#[derive(Debug, thiserror::Error)]
#[error("sealed data could not be opened")]
pub struct SealError;

/// ChaCha20-Poly1305 with a random nonce stored in front of the ciphertext.
pub fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).map_err(|_| SealError)?);
    let nonce_bytes = random_bytes::<NONCE_LEN>();
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(aad),
        &mut buf,
    )
    .map_err(|_| SealError)?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

pub fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if sealed.len() < NONCE_LEN {
        return Err(SealError);
    }
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).map_err(|_| SealError)?);
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| SealError)?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

/// The master key: protects signing keys at rest. Given as text of 32+ characters
/// (`PORTCULLIS_MASTER_KEY`) or read from the key file.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    pub const MIN_LEN: usize = 32;

    pub fn from_text(text: &str) -> Option<Self> {
        let text = text.trim();
        (text.chars().count() >= Self::MIN_LEN)
            .then(|| Self(derive_key(text.as_bytes(), "master-key")))
    }

    /// A fresh master key in its text form, for a new key file.
    pub fn generate_text() -> Zeroizing<String> {
        Zeroizing::new(random_token(32))
    }

    pub fn purpose_key(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        derive_key(&*self.0, purpose)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_tamper() {
        let key = [7u8; 32];
        let sealed = seal(&key, b"aad", b"secret").unwrap();
        assert_eq!(&*open(&key, b"aad", &sealed).unwrap(), b"secret");
        assert!(open(&key, b"other", &sealed).is_err());
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(open(&key, b"aad", &bad).is_err());
        assert!(open(&[8u8; 32], b"aad", &sealed).is_err());
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
    }

    #[test]
    fn master_key_needs_32_characters() {
        assert!(MasterKey::from_text("short").is_none());
        assert!(MasterKey::from_text(&"x".repeat(32)).is_some());
    }

    #[test]
    fn hash_compare() {
        assert!(SecretHash::of("a").ct_eq(&SecretHash::of("a")));
        assert!(!SecretHash::of("a").ct_eq(&SecretHash::of("b")));
    }
}
