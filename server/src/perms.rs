//! The relay's data directory is the operator's to protect (docs/OPERATIONS.md): it holds
//! every grid's records in plain form, the TLS key and the device table. The relay keeps
//! it owner-only: directories 0700, files 0600, set at every start (files sled makes later
//! sit inside the 0700 directory).

use std::path::Path;

use crate::error::{Context, Result};

/// Makes `dir` and everything under it owner-only. Symlinks are left alone.
pub fn restrict(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making {} owner-only", d.display()))?;
            let entries =
                std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                let path = entry.path();
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .with_context(|| format!("making {} owner-only", path.display()))?;
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn the_data_directory_becomes_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let hub = crate::open_hub(dir.path(), 8).unwrap();
        drop(hub);
        std::fs::write(dir.path().join("loose.pem"), b"x").unwrap();
        super::restrict(dir.path()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        use std::path::Path;
        assert_eq!(mode(dir.path()), 0o700);
        assert_eq!(mode(&dir.path().join("store")), 0o700);
        assert_eq!(mode(&dir.path().join("loose.pem")), 0o600);
        assert_eq!(mode(&dir.path().join("store").join("db")), 0o600);
    }
}
