//! Safe writes: a file is written under a temporary name in its own folder, synced, and renamed
//! over the target only when complete, so a crash, a full disk or a failed write never leaves
//! half a file where a good one was.
//!
//! The temporary is created exclusively (`create_new`: it fails on anything already there,
//! including a symlink, which it never follows) under a name nobody can guess, so another user
//! of a shared folder cannot plant a link that makes us overwrite one of their choosing.

use std::collections::hash_map::RandomState;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{FileError, io_error};

/// Names tried before giving up; a clash at all of them means someone is planting files.
const TEMP_ATTEMPTS: usize = 16;

/// A file being written in place of `target`: nothing changes at `target` until [`commit`],
/// and dropping it uncommitted removes the temporary.
///
/// [`commit`]: SafeFile::commit
#[derive(Debug)]
pub struct SafeFile {
    target: PathBuf,
    temp: PathBuf,
    /// `None` only once committed (or while committing).
    file: Option<BufWriter<File>>,
}

impl SafeFile {
    /// Starts writing `path`. If `path` exists, the new file gets its permissions.
    pub fn create(path: &Path) -> Result<SafeFile, FileError> {
        let (dir, file_name) = split(path)?;
        let (file, temp) = create_temp(&dir, temp_names(&file_name)).map_err(io_error(path))?;
        let safe = SafeFile {
            target: path.to_path_buf(),
            temp,
            file: Some(BufWriter::new(file)),
        };
        // An existing file keeps its permissions (a 0o640 config stays private). From here on
        // an error drops `safe`, which removes the temporary.
        if let Ok(original) = std::fs::metadata(path)
            && original.is_file()
            && let Some(file) = &safe.file
        {
            file.get_ref()
                .set_permissions(original.permissions())
                .map_err(io_error(path))?;
        }
        Ok(safe)
    }

    /// The path this file will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes and syncs the data, renames it over the target, and syncs the folder so the
    /// rename itself survives a crash.
    pub fn commit(mut self) -> Result<(), FileError> {
        let target = self.target.clone();
        let result = (|| {
            if let Some(writer) = self.file.take() {
                let file = writer.into_inner().map_err(|e| e.into_error())?;
                file.sync_all()?;
            }
            std::fs::rename(&self.temp, &self.target)?;
            sync_dir(&self.target)
        })();
        // After a successful rename the temporary name is gone; `Drop` must not remove what now
        // lives there, so it is cleared. On failure `Drop` removes the temporary.
        if result.is_ok() {
            self.temp = PathBuf::new();
        }
        result.map_err(io_error(&target))
    }

    fn writer(&mut self) -> std::io::Result<&mut BufWriter<File>> {
        self.file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the file was already committed"))
    }
}

impl Write for SafeFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.writer()?.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer()?.flush()
    }
}

impl Drop for SafeFile {
    fn drop(&mut self) {
        // Close before removing (some systems refuse to remove an open file).
        self.file = None;
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` through a [`SafeFile`].
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut file = SafeFile::create(path)?;
    file.write_all(bytes).map_err(io_error(path))?;
    file.commit()
}

/// Whether `a` and `b` are one file (the same inode, whatever the spelling of the paths or the
/// links between them). A path that does not exist is no file, so never the same as another.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(meta_a), Ok(meta_b)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta_a.dev() == meta_b.dev() && meta_a.ino() == meta_b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (meta_a, meta_b);
        match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// The folder (`.` for a bare name) and the file name of `path`.
fn split(path: &Path) -> Result<(PathBuf, String), FileError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(file_name) = path.file_name() else {
        return Err(FileError::Io {
            path: path.to_path_buf(),
            cause: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        });
    };
    Ok((dir.to_path_buf(), file_name.to_string_lossy().into_owned()))
}

/// Candidate temporary names: hidden, next to the target, unique within the process (pid and a
/// counter) and unpredictable from outside it (a random part).
fn temp_names(file_name: &str) -> impl Iterator<Item = String> + '_ {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    (0..TEMP_ATTEMPTS).map(move |_| {
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(count);
        format!(".{file_name}.{pid}-{count}-{:016x}.tmp", hasher.finish())
    })
}

/// Creates the first of `names` (in `dir`) that does not exist yet; a name that is taken, by a
/// file or a link, is skipped, never opened.
fn create_temp(
    dir: &Path,
    names: impl Iterator<Item = String>,
) -> std::io::Result<(File, PathBuf)> {
    for name in names {
        let temp = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "every temporary name tried is taken",
    ))
}

/// Syncs the folder holding `path`, so that a rename into it is on disk. Only unix can open a
/// folder for this; elsewhere the rename is as durable as the system makes it.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("netloom-safe-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = temp_dir("replace");
        let path = dir.join("a.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(entries(&dir), ["a.json"]);
        let missing = dir.join("no/such/folder/a.json");
        assert!(write_atomically(&missing, b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_link_planted_at_a_temporary_name_is_skipped_not_followed() {
        let dir = temp_dir("planted");
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("taken.tmp")).unwrap();
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling.tmp")).unwrap();
        let names = ["taken.tmp", "dangling.tmp", "free.tmp"].map(String::from);
        let (mut file, temp) = create_temp(&dir, names.into_iter()).unwrap();
        assert_eq!(temp, dir.join("free.tmp"));
        file.write_all(b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(!dir.join("nowhere").exists());
        let names = ["taken.tmp"].map(String::from);
        assert!(create_temp(&dir, names.into_iter()).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_the_old_fixed_temporary_name_is_not_followed() {
        // Earlier versions wrote through `.<name>.<pid>.tmp`, so a link planted there made a
        // save overwrite the link's target.
        let dir = temp_dir("fixed-name");
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, b"precious").unwrap();
        let planted = dir.join(format!(".a.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_atomically(&dir.join("a.json"), b"saved").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(dir.join("a.json")).unwrap(), b"saved");
        assert!(planted.symlink_metadata().unwrap().file_type().is_symlink());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporary_names_differ_every_time() {
        let names: Vec<String> = temp_names("a.json").chain(temp_names("a.json")).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(
            names
                .iter()
                .all(|n| n.starts_with(".a.json.") && n.ends_with(".tmp"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn replacing_a_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("mode");
        let path = dir.join("private.json");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_target_and_no_temporary() {
        let dir = temp_dir("failed");
        // A folder with a file in it cannot be replaced by a rename: the commit fails.
        let target = dir.join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), b"keep").unwrap();
        let error = write_atomically(&target, b"x").unwrap_err();
        assert!(error.to_string().contains("taken"), "{error}");
        assert_eq!(entries(&dir), ["taken"]);
        assert_eq!(std::fs::read(target.join("inside")).unwrap(), b"keep");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_uncommitted_safe_file_leaves_nothing_and_the_original_intact() {
        let dir = temp_dir("uncommitted");
        let path = dir.join("metrics.jsonl");
        std::fs::write(&path, b"original").unwrap();
        let mut file = SafeFile::create(&path).unwrap();
        writeln!(file, "{{\"kind\":\"step\"}}").unwrap();
        file.flush().unwrap();
        assert_eq!(entries(&dir).len(), 2);
        drop(file);
        assert_eq!(entries(&dir), ["metrics.jsonl"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"original");

        let mut file = SafeFile::create(&path).unwrap();
        file.write_all(b"line 1\n").unwrap();
        file.write_all(b"line 2\n").unwrap();
        assert_eq!(file.target(), path);
        file.commit().unwrap();
        assert_eq!(entries(&dir), ["metrics.jsonl"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"line 1\nline 2\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn same_file_sees_through_spellings_and_links() {
        let dir = temp_dir("same");
        let a = dir.join("p.json");
        std::fs::write(&a, b"{}").unwrap();
        let spelled = dir.join(".").join("p.json");
        assert!(same_file(&a, &spelled));
        assert!(same_file(&a, &a));
        let other = dir.join("q.json");
        std::fs::write(&other, b"{}").unwrap();
        assert!(!same_file(&a, &other));
        assert!(!same_file(&a, &dir.join("missing.json")));
        assert!(!same_file(
            &dir.join("missing.json"),
            &dir.join("missing.json")
        ));
        #[cfg(unix)]
        {
            let link = dir.join("link.json");
            std::os::unix::fs::symlink(&a, &link).unwrap();
            assert!(same_file(&link, &a));
            let hard = dir.join("hard.json");
            std::fs::hard_link(&a, &hard).unwrap();
            assert!(same_file(&hard, &a));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
