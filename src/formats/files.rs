//! Files oomsleuth creates (caches, scratch files, reports): every one is created exclusively,
//! never through a symbolic link, under a name nobody can predict, with permissions no wider
//! than the dump's, and renamed into place only over something that is not a symbolic link.
//! A dump's directory may be world-writable (`/tmp`): another user must not be able to make a
//! run of ours write through a link they planted, or read what the dump protects.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// 64 unpredictable bits (getrandom(2); the clock, pid and an address when it is unavailable).
pub fn random_token() -> u64 {
    let mut v = [0u8; 8];
    #[cfg(target_os = "linux")]
    {
        // SAFETY: writes at most 8 bytes into `v`.
        let n = unsafe { libc::getrandom(v.as_mut_ptr().cast(), v.len(), 0) };
        if n == 8 {
            return u64::from_ne_bytes(v);
        }
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let here = &v as *const _ as u64;
    (t ^ (std::process::id() as u64) << 32 ^ here).wrapping_mul(0x9E3779B97F4A7C15)
}

/// Creates `path` for reading and writing: it must not exist (so a planted symbolic link or
/// file makes this fail rather than be written through), with `mode` (further narrowed by the
/// umask).
pub fn create_exclusive(path: &Path, mode: u32) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    #[cfg(not(unix))]
    let _ = mode;
    o.open(path)
}

/// Creates a new file `dir/<prefix><random>` (see [`create_exclusive`]); a name that exists
/// already is skipped for another.
pub fn create_unique(dir: &Path, prefix: &str, mode: u32) -> io::Result<(File, PathBuf)> {
    let mut last = None;
    for _ in 0..16 {
        let path = dir.join(format!("{prefix}{:016x}", random_token()));
        match create_exclusive(&path, mode) {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no unused file name")))
}

/// The permissions for files derived from `dump`: its own read/write bits (a 0600 dump gives
/// 0600 files), 0600 when they cannot be read.
pub fn mode_for(dump: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(dump) {
            return m.permissions().mode() & 0o666 | 0o600;
        }
    }
    let _ = dump;
    0o600
}

/// Renames `from` to `to` unless `to` is a symbolic link (replacing a link someone planted
/// would be harmless for the link's target, but the user asked for a file there, not a link).
pub fn rename_into_place(from: &Path, to: &Path) -> io::Result<()> {
    if let Ok(m) = std::fs::symlink_metadata(to) {
        if m.file_type().is_symlink() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is a symbolic link; not replacing it", to.display()),
            ));
        }
    }
    std::fs::rename(from, to)
}

/// Reserves `len` bytes of `file` from `offset` on disk, so that writing through a mapping of
/// them cannot fail later with SIGBUS when the file system fills up. File systems that cannot
/// reserve (no fallocate) are let through: their writes may still fault, as before.
pub fn reserve(file: &File, offset: u64, len: u64) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: a plain syscall on a file descriptor we own.
        let r = unsafe { libc::posix_fallocate(file.as_raw_fd(), offset as i64, len as i64) };
        match r {
            0 | libc::EOPNOTSUPP | libc::EINVAL | libc::ENOSYS => return Ok(()),
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
    #[allow(unreachable_code)]
    {
        let _ = (file, offset);
        Ok(())
    }
}

/// Free bytes for an unprivileged user in the file system holding `dir`, when it can be told.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is a valid C string and `s` a valid out pointer.
        if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
            return None;
        }
        return Some(s.f_bavail as u64 * s.f_frsize as u64);
    }
    #[allow(unreachable_code)]
    {
        let _ = dir;
        None
    }
}

/// Refuses what is not a regular file (a FIFO would block the first read forever, a device
/// never ends), naming what it is.
pub fn require_regular(path: &Path) -> io::Result<()> {
    let m = std::fs::metadata(path)?;
    if m.is_file() {
        return Ok(());
    }
    let what = if m.is_dir() {
        "a directory"
    } else {
        kind_of_special(&m)
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("is {what}, not a regular file (copy it to a file first)"),
    ))
}

fn kind_of_special(m: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    let _ = m;
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("oomsleuth-files-{:x}", random_token()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn exclusive_creation_does_not_follow_a_planted_link() {
        let d = dir();
        let victim = d.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let link = d.join("link");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(create_exclusive(&link, 0o600).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(rename_into_place(&victim, &link).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn unique_names_differ_and_modes_follow_the_dump() {
        let d = dir();
        let (_, a) = create_unique(&d, ".x-", 0o600).unwrap();
        let (_, b) = create_unique(&d, ".x-", 0o600).unwrap();
        assert_ne!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(mode_for(&a), 0o600);
            assert_eq!(
                std::fs::metadata(&b).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn special_files_are_refused() {
        assert!(require_regular(Path::new("/dev/null")).is_err());
        assert!(require_regular(Path::new("/")).is_err());
    }
}
