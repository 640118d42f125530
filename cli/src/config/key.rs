//! The handset store's key for the CLI (issue 14, ADR 0008): from `GRIDSYNC_STORE_KEY`
//! (64 hex digits) when set, else from `DIR/store.key`, which the first open makes (32
//! random bytes in hex, mode 0600). A key file beside the store only protects the store
//! when the directory's copy of it is not taken too: apps keep the key in the Android
//! Keystore or iOS Keychain instead.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use gridsync_core::store::StoreKey;

/// The key file's name inside the handset directory.
pub const KEY_FILE: &str = "store.key";
/// The environment variable that carries the key instead of the file.
pub const KEY_ENV: &str = "GRIDSYNC_STORE_KEY";

/// Where the key file of handset `dir` is.
pub fn key_path(dir: &Path) -> PathBuf {
    dir.join(KEY_FILE)
}

fn parse(text: &str, from: &str) -> Result<StoreKey> {
    let bytes = hex::decode(text.trim())
        .map_err(|_| anyhow!("{from}: the store key must be 64 hex digits"))?;
    StoreKey::from_slice(&bytes).map_err(|_| anyhow!("{from}: the store key must be 64 hex digits"))
}

/// The key of handset `dir`: the environment's, the key file's, or a new key file's.
pub fn load_or_make(dir: &Path) -> Result<StoreKey> {
    if let Ok(text) = std::env::var(KEY_ENV) {
        return parse(&text, KEY_ENV);
    }
    let path = key_path(dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => return parse(&text, &path.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    if dir
        .join("store")
        .join(gridsync_core::store::KEY_FILE)
        .exists()
    {
        // A new key would not open it: say what is missing instead.
        bail!(
            "{} is missing, and the handset's store is encrypted with the key it held: put it back, or pass the key in {KEY_ENV}",
            path.display()
        );
    }
    let key = StoreKey::generate();
    write(&path, &key)?;
    if std::io::stderr().is_terminal() {
        eprintln!(
            "gridsync: the handset's store is encrypted with a new key in {} (owner-only). \
             A key file next to the store is weaker than a phone's keystore: keep the \
             directory private, or pass the key in {KEY_ENV} and remove the file.",
            path.display()
        );
    }
    Ok(key)
}

/// Writes `key` to `path` atomically, readable by the owner only.
fn write(path: &Path, key: &StoreKey) -> Result<()> {
    let text = zeroize::Zeroizing::new(format!("{}\n", hex::encode(key.as_bytes())));
    super::write_private(path, text.as_bytes())
}

/// Removes the key file of handset `dir` after its store was erased (nothing to do when
/// the key came from the environment).
pub fn remove(dir: &Path) -> Result<()> {
    let path = key_path(dir);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => bail!("removing {}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_made_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_make(dir.path()).unwrap();
        let b = load_or_make(dir.path()).unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(dir.path()))
                .unwrap()
                .permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
        assert!(parse("abcd", "x").is_err());
        assert!(parse(&"0".repeat(64), "x").is_ok());
    }
}
