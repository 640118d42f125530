//! Encryption at rest of a store's values (ADR 0008): XChaCha20-Poly1305 from RustCrypto's
//! `chacha20poly1305`, a fresh random 192-bit nonce per value, the value's tree and key as
//! associated data (a value moved under another key does not open). Values are compressed
//! before they are sealed (`store::codec`).
//!
//! Two keys: the app's [`StoreKey`] (from the Android Keystore or iOS Keychain, never
//! written by the core) wraps a random data key made when the store is first encrypted;
//! the data key seals every value. The wrapped data key lives in the store's key file
//! (`store::keyring`). Changing the app's key re-wraps the data key in one atomic file
//! replacement; destroying the key file makes every value unreadable at once.
//!
//! A sealed value is `[VERSION] ++ nonce (24) ++ ciphertext ++ tag (16)`.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Format byte that begins every sealed value.
const VERSION: u8 = 1;
const NONCE: usize = 24;
const TAG: usize = 16;
/// Bytes a sealed value adds to its plaintext.
pub const OVERHEAD: usize = 1 + NONCE + TAG;

/// The 32-byte key an app opens an encrypted store with. Kept out of `Debug` output and
/// zeroed when dropped.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl StoreKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        StoreKey(Zeroizing::new(bytes))
    }

    /// A key from a slice, which must hold exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::invalid("store key", format!("{} bytes; it must be 32", bytes.len()))
        })?;
        Ok(Self::from_bytes(arr))
    }

    /// A new random key (the CLI's key file; apps make theirs in the platform keystore).
    pub fn generate() -> Self {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&key);
        Self::from_bytes(bytes)
    }

    /// The key's bytes (to store it in a keystore or key file).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(super) fn aead(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_slice().into())
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

/// Seals and opens one store's values with its data key.
#[derive(Clone)]
pub(super) struct Cipher {
    data_key: StoreKey,
    aead: XChaCha20Poly1305,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)")
    }
}

/// Associated data of a value: its tree and key, so a value opens only where it was put.
fn aad(tree: &str, key: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(tree.len() + 1 + key.len());
    a.extend_from_slice(tree.as_bytes());
    a.push(0);
    a.extend_from_slice(key);
    a
}

impl Cipher {
    /// A cipher over `data_key`.
    pub(super) fn new(data_key: StoreKey) -> Self {
        let aead = data_key.aead();
        Cipher { data_key, aead }
    }

    /// The data key (to wrap it with a new app key).
    pub(super) fn data_key(&self) -> &StoreKey {
        &self.data_key
    }

    /// The sealed form of `plain`, stored under `key` in `tree`.
    pub(super) fn seal(&self, tree: &str, key: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = aad(tree, key);
        let sealed = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Storage("sealing a value failed".into()))?;
        let mut out = Vec::with_capacity(OVERHEAD + plain.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plaintext of `stored`, found under `key` in `tree`. Damaged or misplaced
    /// ciphertext is [`Error::Corrupt`].
    pub(super) fn open(&self, tree: &str, key: &[u8], stored: &[u8]) -> Result<Vec<u8>> {
        if stored.len() < OVERHEAD || stored[0] != VERSION {
            return Err(Error::corrupt(
                format!("encrypted value in {tree}"),
                "too short or of an unknown format",
            ));
        }
        let nonce = XNonce::from_slice(&stored[1..1 + NONCE]);
        let aad = aad(tree, key);
        self.aead
            .decrypt(
                nonce,
                Payload {
                    msg: &stored[1 + NONCE..],
                    aad: &aad,
                },
            )
            .map_err(|_| {
                Error::corrupt(
                    format!("encrypted value in {tree}"),
                    "it fails authentication (damaged, or moved from another key)",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_only_with_its_key_tree_and_data_key() {
        let c = Cipher::new(StoreKey::generate());
        let plain = "王秀英 13800001111 幸福路 3 号".as_bytes();
        let a = c.seal("docs", b"h-1", plain).unwrap();
        let b = c.seal("docs", b"h-1", plain).unwrap();
        assert_ne!(a, b, "every value gets a fresh nonce");
        assert_eq!(a.len(), plain.len() + OVERHEAD);
        assert_eq!(c.open("docs", b"h-1", &a).unwrap(), plain);
        assert!(!a.windows(plain.len()).any(|w| w == plain));
        for (tree, key) in [("docs", &b"h-2"[..]), ("index", &b"h-1"[..])] {
            assert!(matches!(c.open(tree, key, &a), Err(Error::Corrupt { .. })));
        }
        let other = Cipher::new(StoreKey::generate());
        assert!(matches!(
            other.open("docs", b"h-1", &a),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn damaged_ciphertext_is_an_error_never_a_panic() {
        let c = Cipher::new(StoreKey::generate());
        let good = c.seal("docs", b"k", b"some record").unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x20;
            assert!(c.open("docs", b"k", &bad).is_err(), "flip at {i} opened");
        }
        for n in 0..good.len() {
            assert!(c.open("docs", b"k", &good[..n]).is_err());
        }
    }

    #[test]
    fn keys_are_32_bytes_and_never_printed() {
        assert!(StoreKey::from_slice(&[1; 31]).is_err());
        let k = StoreKey::from_slice(&[7; 32]).unwrap();
        assert_eq!(k.as_bytes(), &[7; 32]);
        assert_eq!(format!("{k:?}"), "StoreKey(..)");
    }
}
