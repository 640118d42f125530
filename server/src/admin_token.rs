//! The admin token of the HTTP admin API: made by `gridsync-relay admin-token`, shown
//! once, kept only as its SHA-256 in the data directory (`admin-token.sha256`, owner-only).
//! The relay reads the file at each request, so making a new token takes effect at once
//! and the old one stops working.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Context, RelayError, Result};

/// The file, inside the data directory, that holds the admin token's hash.
pub const FILE: &str = "admin-token.sha256";

/// Why a request's admin token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The operator has not made an admin token yet: the admin API is off.
    #[error("the admin API is off: no admin token is set (run `gridsync-relay admin-token`)")]
    NotSet,
    /// The request carried no `Authorization: Bearer …` header.
    #[error("an admin token is required (Authorization: Bearer <token>)")]
    Missing,
    /// The token is not the admin token.
    #[error("wrong admin token")]
    Wrong,
}

/// Path of the hash file for a data directory.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

fn sha256_hex(token: &str) -> String {
    hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.trim().as_bytes(),
    ))
}

/// Makes a new admin token, replaces the stored hash (atomically: a crash leaves the old
/// token or the new, never neither) and returns the token, to be shown once.
pub fn issue(data_dir: &Path) -> Result<String> {
    let mut raw = [0u8; 24];
    SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| RelayError::Setup("no system randomness".into()))?;
    let token = format!("gsa_{}", hex::encode(raw));
    let target = path(data_dir);
    let tmp = data_dir.join(format!("{FILE}.tmp"));
    {
        let mut f = owner_only_file(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        writeln!(f, "{}", sha256_hex(&token)).context("writing the admin token's hash")?;
        f.sync_all().context("syncing the admin token's hash")?;
    }
    std::fs::rename(&tmp, &target).with_context(|| format!("replacing {}", target.display()))?;
    Ok(token)
}

fn owner_only_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Checks a presented token (the `Authorization` header's value) against the stored hash.
pub fn check(data_dir: &Path, authorization: Option<&str>) -> std::result::Result<(), Refused> {
    let stored = match std::fs::read_to_string(path(data_dir)) {
        Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err(Refused::NotSet),
    };
    let presented = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Refused::Missing)?;
    // Compared as digests: what an attacker varies is the token, not the digest.
    if sha256_hex(presented) == stored {
        Ok(())
    } else {
        Err(Refused::Wrong)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_checked_against_its_hash_and_a_new_one_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check(dir.path(), Some("Bearer x")), Err(Refused::NotSet));
        let first = issue(dir.path()).unwrap();
        let stored = std::fs::read_to_string(path(dir.path())).unwrap();
        assert!(!stored.contains(&first), "the token itself is stored");
        assert_eq!(check(dir.path(), None), Err(Refused::Missing));
        assert_eq!(check(dir.path(), Some(&first)), Err(Refused::Missing));
        assert_eq!(
            check(dir.path(), Some("Bearer gsa_nope")),
            Err(Refused::Wrong)
        );
        check(dir.path(), Some(&format!("Bearer {first}"))).unwrap();
        let second = issue(dir.path()).unwrap();
        assert_eq!(
            check(dir.path(), Some(&format!("Bearer {first}"))),
            Err(Refused::Wrong)
        );
        check(dir.path(), Some(&format!("Bearer {second}"))).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
