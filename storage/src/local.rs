//! The local filesystem backend: blocking `std::fs` calls moved off the
//! async runtime, so a slow disk never stalls the scheduler.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::OnceLock;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use filetime::FileTime;

use crate::{
    Attributes, ChecksumMode, CreateOptions, Entry, EntryKind, FileChecksum, FileReader,
    FileWriter, Result, Storage, StorageError, Unsynced, XAttr,
};

#[derive(Debug, Default, Clone, Copy)]
pub struct LocalStorage;

impl LocalStorage {
    /// Copies the local file `from` to the new file `to` in one blocking
    /// call (`copy_file_range` where the kernel has it), reading at most
    /// `limit + 1` bytes so that a file grown past `limit` shows it. Returns
    /// the bytes copied and the new file, closed for writing but not yet
    /// durable. A file already at `to` (a temporary name an earlier run
    /// left) is replaced, never written through.
    pub async fn copy_new(&self, from: &str, to: &str, limit: u64) -> Result<(u64, Unsynced)> {
        let (f, t) = (from.to_string(), to.to_string());
        let copied = tokio::task::spawn_blocking(move || {
            let source = fs::File::open(&f).map_err(|e| StorageError::from_io("open", &f, e))?;
            let target = create_new(&t).map_err(|e| StorageError::from_io("create", &t, e))?;
            let copied = std::io::copy(&mut (&source).take(limit.saturating_add(1)), &mut &target)
                .map_err(|e| StorageError::from_io("copy", &f, e))?;
            let device = (target.metadata().map(|m| m.dev()))
                .map_err(|e| StorageError::from_io("stat", &t, e))?;
            Ok((copied, Unsynced::new(target, device, &t)))
        })
        .await;
        copied.unwrap_or_else(|join| {
            Err(StorageError::new(
                "copy",
                from,
                crate::ErrorKind::Other,
                join,
            ))
        })
    }
}

/// A new file; `O_EXCL` also refuses to open a symlink in its place, so
/// whatever is there is removed (a link itself, not what it points to).
fn create_new(path: &str) -> std::io::Result<fs::File> {
    let open = || {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            fs::remove_file(path)?;
            open()
        }
        other => other,
    }
}

async fn blocking<T: Send + 'static>(
    op: &'static str,
    path: &str,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    let owned = path.to_string();
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(|e| StorageError::from_io(op, &owned, e)),
        Err(join) => Err(StorageError::new(op, &owned, crate::ErrorKind::Other, join)),
    }
}

/// An entry from `lstat`: a symlink is itself, never what it points to,
/// and FIFOs, sockets and devices say what they are (so none is opened).
fn entry_from(name: &OsStr, meta: &fs::Metadata) -> Entry {
    let file_type = meta.file_type();
    let kind = if file_type.is_symlink() {
        EntryKind::Symlink
    } else if file_type.is_dir() {
        EntryKind::Dir
    } else if file_type.is_fifo() {
        EntryKind::Fifo
    } else if file_type.is_socket() {
        EntryKind::Socket
    } else if file_type.is_block_device() {
        EntryKind::BlockDevice
    } else if file_type.is_char_device() {
        EntryKind::CharDevice
    } else {
        EntryKind::File
    };
    let (name, name_not_utf8) = match name.to_str() {
        Some(name) => (name.to_string(), false),
        None => (crate::display(name.as_bytes()).into_owned(), true),
    };
    Entry {
        name,
        name_not_utf8,
        kind,
        size: if kind == EntryKind::File {
            meta.len()
        } else {
            0
        },
        mtime_ms: meta.mtime() * 1000 + meta.mtime_nsec() / 1_000_000,
        permission: meta.mode() & 0o7777,
        owner: names().user(meta.uid()),
        group: names().group(meta.gid()),
        replication: 1,
        block_size: 0,
        ec_policy: None,
        encrypted: false,
    }
}

#[async_trait]
impl Storage for LocalStorage {
    fn as_local(&self) -> Option<&LocalStorage> {
        Some(self)
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        let p = path.to_string();
        blocking("stat", path, move || match fs::symlink_metadata(&p) {
            Ok(meta) => {
                let name = Path::new(&p).file_name().unwrap_or_default();
                Ok(Some(entry_from(name, &meta)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn list_dir(&self, path: &str) -> Result<Vec<Entry>> {
        let p = path.to_string();
        blocking("list", path, move || {
            let mut entries = Vec::new();
            for dirent in fs::read_dir(&p)? {
                let dirent = dirent?;
                let meta = dirent.metadata()?;
                entries.push(entry_from(&dirent.file_name(), &meta));
            }
            Ok(entries)
        })
        .await
    }

    async fn open(&self, path: &str) -> Result<Box<dyn FileReader>> {
        let p = path.to_string();
        let file = blocking("open", path, move || fs::File::open(p)).await?;
        Ok(Box::new(LocalReader {
            file: Some(file),
            path: path.to_string(),
        }))
    }

    /// The local filesystem has no blocks or replicas to set.
    async fn create(&self, path: &str, _: &CreateOptions) -> Result<Box<dyn FileWriter>> {
        let p = path.to_string();
        let file = blocking("create", path, move || {
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(p)
        })
        .await?;
        Ok(Box::new(LocalWriter {
            file: Some(file),
            path: path.to_string(),
        }))
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (f, t) = (from.to_string(), to.to_string());
        blocking("rename", from, move || fs::rename(f, t)).await
    }

    /// A hard link fails if `to` exists, where a rename would replace it.
    async fn rename_new(&self, from: &str, to: &str) -> Result<()> {
        let (f, t) = (from.to_string(), to.to_string());
        blocking("rename", from, move || {
            fs::hard_link(&f, t)?;
            fs::remove_file(f)
        })
        .await
    }

    async fn remove_file(&self, path: &str) -> Result<()> {
        let p = path.to_string();
        blocking("delete", path, move || fs::remove_file(p)).await
    }

    async fn remove_dir(&self, path: &str) -> Result<()> {
        let p = path.to_string();
        blocking("delete", path, move || fs::remove_dir(p)).await
    }

    async fn remove_tree(&self, path: &str) -> Result<()> {
        let p = path.to_string();
        blocking("delete", path, move || {
            match fs::symlink_metadata(&p)?.is_dir() {
                true => fs::remove_dir_all(&p),
                false => fs::remove_file(&p),
            }
        })
        .await
    }

    async fn real_path(&self, path: &str) -> Result<Option<String>> {
        let p = path.to_string();
        blocking("resolve", path, move || match fs::canonicalize(&p) {
            Ok(real) => real
                .into_os_string()
                .into_string()
                .map(Some)
                .map_err(|real| {
                    let shown = crate::display(real.as_bytes()).into_owned();
                    std::io::Error::other(format!("resolves to {shown}, which is not UTF-8"))
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn read_link(&self, path: &str) -> Result<String> {
        let p = path.to_string();
        blocking("read link", path, move || {
            fs::read_link(&p)?
                .into_os_string()
                .into_string()
                .map_err(|text| {
                    let shown = crate::display(text.as_bytes()).into_owned();
                    std::io::Error::other(format!("the link text {shown} is not UTF-8"))
                })
        })
        .await
    }

    async fn create_symlink(&self, link: &str, path: &str) -> Result<()> {
        let (l, p) = (link.to_string(), path.to_string());
        blocking("create link", path, move || {
            std::os::unix::fs::symlink(l, p)
        })
        .await
    }

    async fn create_dir(&self, path: &str) -> Result<()> {
        let p = path.to_string();
        blocking("mkdir", path, move || fs::create_dir_all(p)).await
    }

    async fn set_attributes(&self, path: &str, attributes: &Attributes) -> Result<()> {
        let p = path.to_string();
        let attrs = attributes.clone();
        blocking("set attributes", path, move || {
            // Attributes are never set through a symlink (one put in place
            // since the plan would lead a chmod elsewhere): refused here,
            // and owner and times use the calls that never follow one.
            if fs::symlink_metadata(&p)?.file_type().is_symlink() {
                return Err(std::io::Error::other(
                    "is a symbolic link; attributes are not set through it",
                ));
            }
            if attrs.owner.is_some() || attrs.group.is_some() {
                let uid = attrs.owner.as_deref().map(|o| names().uid(o)).transpose()?;
                let gid = attrs.group.as_deref().map(|g| names().gid(g)).transpose()?;
                std::os::unix::fs::lchown(&p, uid, gid)?;
            }
            if let Some(mode) = attrs.permission {
                fs::set_permissions(&p, fs::Permissions::from_mode(mode))?;
            }
            if let Some(mtime) = attrs.mtime_ms {
                filetime::set_symlink_file_times(&p, file_time(mtime), file_time(mtime))?;
            }
            Ok(())
        })
        .await
    }

    /// hsync reads and writes no xattrs on the local filesystem; the
    /// manifest refuses `preserve = ["xattr"]` with a local side before
    /// this is reached.
    async fn xattrs(&self, path: &str) -> Result<Vec<XAttr>> {
        Err(no_xattrs("get xattrs", path))
    }

    async fn set_xattrs(&self, path: &str, _xattrs: &[XAttr]) -> Result<()> {
        Err(no_xattrs("set xattrs", path))
    }

    /// A local filesystem keeps no checksums; the file has to be read.
    async fn file_checksum(
        &self,
        _path: &str,
        _mode: ChecksumMode,
    ) -> Result<Option<FileChecksum>> {
        Ok(None)
    }
}

fn no_xattrs(op: &'static str, path: &str) -> StorageError {
    StorageError::new(
        op,
        path,
        crate::ErrorKind::Unsupported,
        "extended attributes are not supported on the local filesystem",
    )
}

fn file_time(ms: i64) -> FileTime {
    FileTime::from_unix_time(
        ms.div_euclid(1000),
        (ms.rem_euclid(1000) * 1_000_000) as u32,
    )
}

struct LocalReader {
    file: Option<fs::File>,
    path: String,
}

#[async_trait]
impl FileReader for LocalReader {
    async fn read(&mut self, max: usize) -> Result<Bytes> {
        let mut file = self.file.take().expect("reader used after a failed read");
        let (file, chunk) = blocking("read", &self.path, move || {
            let mut buf = BytesMut::zeroed(max);
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok((file, buf.freeze()))
        })
        .await?;
        self.file = Some(file);
        Ok(chunk)
    }
}

struct LocalWriter {
    file: Option<fs::File>,
    path: String,
}

#[async_trait]
impl FileWriter for LocalWriter {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let mut file = self.file.take().expect("writer used after a failed write");
        let file = blocking("write", &self.path, move || {
            file.write_all(&data)?;
            Ok(file)
        })
        .await?;
        self.file = Some(file);
        Ok(())
    }

    async fn close(mut self: Box<Self>) -> Result<()> {
        let file = self.file.take().expect("writer closed twice");
        // Durable before the rename that publishes it.
        blocking("close", &self.path, move || file.sync_all()).await
    }
}

/// User and group names from /etc/passwd and /etc/group, so owners read
/// and written on the local side use the same names HDFS does.
struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| Names {
        users: read_id_table("/etc/passwd"),
        groups: read_id_table("/etc/group"),
    })
}

fn read_id_table(path: &str) -> HashMap<u32, String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id = fields.nth(1)?.parse().ok()?;
            Some((id, name.to_string()))
        })
        .collect()
}

impl Names {
    fn user(&self, uid: u32) -> String {
        self.users
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| uid.to_string())
    }

    fn group(&self, gid: u32) -> String {
        self.groups
            .get(&gid)
            .cloned()
            .unwrap_or_else(|| gid.to_string())
    }

    fn uid(&self, name: &str) -> std::io::Result<u32> {
        lookup(&self.users, name, "user")
    }

    fn gid(&self, name: &str) -> std::io::Result<u32> {
        lookup(&self.groups, name, "group")
    }
}

fn lookup(table: &HashMap<u32, String>, name: &str, what: &str) -> std::io::Result<u32> {
    table
        .iter()
        .find(|(_, n)| n.as_str() == name)
        .map(|(id, _)| *id)
        .or_else(|| name.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no local {what} named {name}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn attributes_are_never_set_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();

        let attributes = Attributes {
            permission: Some(0o777),
            mtime_ms: Some(0),
            ..Attributes::default()
        };
        let set = LocalStorage
            .set_attributes(link.to_str().unwrap(), &attributes)
            .await;
        assert!(set.is_err(), "{set:?}");
        let meta = fs::metadata(&file).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o644);
        assert_ne!(meta.mtime(), 0);
    }

    #[tokio::test]
    async fn a_whole_file_copy_replaces_a_link_at_its_name_and_never_writes_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let (source, temp, elsewhere) = (
            dir.path().join("source"),
            dir.path().join("temp"),
            dir.path().join("elsewhere"),
        );
        fs::write(&source, "new data").unwrap();
        fs::write(&elsewhere, "kept").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &temp).unwrap();
        let (source, temp) = (source.to_str().unwrap(), temp.to_str().unwrap());

        let (copied, file) = LocalStorage.copy_new(source, temp, 8).await.unwrap();
        file.durable().await.unwrap();
        assert_eq!(copied, 8);
        assert_eq!(fs::read_to_string(temp).unwrap(), "new data");
        assert!(!fs::symlink_metadata(temp).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "kept");
    }

    #[tokio::test]
    async fn a_whole_file_copy_reads_one_byte_past_the_planned_size_to_see_growth() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        fs::write(&source, "0123456789").unwrap();
        let temp = dir.path().join("temp");
        let (source, temp) = (source.to_str().unwrap(), temp.to_str().unwrap());

        let (copied, _) = LocalStorage.copy_new(source, temp, 4).await.unwrap();
        assert_eq!(copied, 5);
    }

    #[tokio::test]
    async fn special_files_are_listed_as_what_they_are_with_size_0() {
        let dir = tempfile::tempdir().unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(dir.path().join("pipe"))
            .status();
        assert!(made.unwrap().success());
        let listed = LocalStorage
            .list_dir(dir.path().to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].kind, listed[0].size), (EntryKind::Fifo, 0));
    }
}
