//! The key file of an encrypted store (ADR 0008): the store's data key, wrapped
//! (XChaCha20-Poly1305) with the app's [`StoreKey`], in `gridsync-key` inside the store's
//! directory. It is the only copy of the data key: replacing it (rename over it) changes
//! the app key atomically, and removing it makes the store unreadable (crypto-shredding).
//!
//! File layout: `MAGIC (8) ++ nonce (24) ++ wrapped data key (32) ++ tag (16)`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::XNonce;
use chacha20poly1305::aead::{Aead, AeadCore, OsRng, Payload};

use super::cipher::StoreKey;
use crate::error::{Error, Result};

/// Name of the key file in a store directory.
pub const KEY_FILE: &str = "gridsync-key";
const TMP_FILE: &str = "gridsync-key.tmp";
const MAGIC: &[u8; 8] = b"GSKEY\x00\x00\x01";
const LEN: usize = 8 + 24 + 32 + 16;

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Storage(format!("{what} {}: {e}", path.display()))
}

/// The key file's bytes for `data_key` wrapped with `app_key`.
pub(super) fn wrap(data_key: &StoreKey, app_key: &StoreKey) -> Result<Vec<u8>> {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let wrapped = app_key
        .aead()
        .encrypt(
            &nonce,
            Payload {
                msg: data_key.as_bytes(),
                aad: MAGIC,
            },
        )
        .map_err(|_| Error::Storage("wrapping the store key failed".into()))?;
    let mut out = Vec::with_capacity(LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&wrapped);
    Ok(out)
}

/// The data key in key file `bytes` of store `dir`, opened with `app_key`: a key that does
/// not open it is [`Error::WrongKey`], a damaged file [`Error::Corrupt`].
pub(super) fn unwrap(dir: &Path, bytes: &[u8], app_key: &StoreKey) -> Result<StoreKey> {
    if bytes.len() != LEN || &bytes[..8] != MAGIC {
        return Err(Error::corrupt(
            format!("key file in {}", dir.display()),
            "wrong size or format",
        ));
    }
    let plain = app_key
        .aead()
        .decrypt(
            XNonce::from_slice(&bytes[8..32]),
            Payload {
                msg: &bytes[32..],
                aad: MAGIC,
            },
        )
        .map_err(|_| Error::WrongKey {
            path: dir.display().to_string(),
        })?;
    StoreKey::from_slice(&plain)
}

/// The key file of store `dir`, if it has one.
pub(super) fn read(dir: &Path) -> Result<Option<Vec<u8>>> {
    let path = dir.join(KEY_FILE);
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading", &path, e)),
    }
}

/// Makes `dir`'s entries (renames, removals) durable.
pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("syncing", dir, e))
}

fn tmp_path(dir: &Path) -> PathBuf {
    dir.join(TMP_FILE)
}

/// Replaces `dir`'s key file with `bytes` atomically and durably: after a crash at any
/// moment the directory holds either the old file or the new one (mode 0600).
pub(super) fn write(dir: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(dir);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(|e| io("creating", &tmp, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| io("writing", &tmp, e))?;
    drop(f);
    let path = dir.join(KEY_FILE);
    std::fs::rename(&tmp, &path).map_err(|e| io("moving into place", &path, e))?;
    sync_dir(dir)
}

/// Removes a key file a crash left half-replaced (the old one is still in place).
pub(super) fn discard_partial(dir: &Path) -> Result<()> {
    let tmp = tmp_path(dir);
    match std::fs::remove_file(&tmp) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("removing", &tmp, e)),
    }
}

/// Destroys `dir`'s key file (and a half-written replacement), durably: from then on the
/// store's values cannot be opened by anyone.
pub(super) fn shred(dir: &Path) -> Result<()> {
    for path in [tmp_path(dir), dir.join(KEY_FILE)] {
        if let Ok(meta) = std::fs::metadata(&path) {
            // Overwrite first, so a file system that keeps unlinked blocks keeps zeros.
            let zeros = vec![0u8; meta.len() as usize];
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&path) {
                let _ = f.write_all(&zeros).and_then(|()| f.sync_all());
            }
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("removing", &path, e)),
        }
    }
    if dir.exists() {
        sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_key_unwraps_with_the_app_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let (data, app) = (StoreKey::generate(), StoreKey::generate());
        write(dir.path(), &wrap(&data, &app).unwrap()).unwrap();
        let bytes = read(dir.path()).unwrap().unwrap();
        assert_eq!(bytes.len(), LEN);
        assert_eq!(
            unwrap(dir.path(), &bytes, &app).unwrap().as_bytes(),
            data.as_bytes()
        );
        assert!(matches!(
            unwrap(dir.path(), &bytes, &StoreKey::generate()),
            Err(Error::WrongKey { .. })
        ));
        assert!(matches!(
            unwrap(dir.path(), &bytes[..40], &app),
            Err(Error::Corrupt { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
        shred(dir.path()).unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
    }
}
