//! Helpers for tests that copy or damage a store's files (feature `testing`).

use std::path::Path;

/// Copies the directory `from` (a store's, or a handset's) into `to`, recursively: two
/// copies of one store, or a copy to restore later.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), target)?;
        }
    }
    Ok(())
}

/// Flips the bits of `mask` in the byte at offset `at` of `file` (bit rot).
pub fn flip_byte(file: &Path, at: usize, mask: u8) -> std::io::Result<()> {
    let mut bytes = std::fs::read(file)?;
    let byte = bytes
        .get_mut(at)
        .ok_or_else(|| std::io::Error::other(format!("{} has no byte {at}", file.display())))?;
    *byte ^= mask;
    std::fs::write(file, bytes)
}
