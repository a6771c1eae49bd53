//! Storage backends for hsync.
//!
//! The planner and the executor speak only to the [`Storage`] trait; each
//! filesystem (the local one, HDFS, a generated tree for benchmarks) is a
//! backend behind it. A backend is
//! chosen from a [`FsSpec`], the serialisable description of a filesystem
//! that a plan carries, so `apply` reconnects exactly where `plan` looked.

mod error;
mod hdfs;
mod local;
pub mod lock;
pub mod namenode;
mod syncfs;
mod synthetic;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

pub use error::{ErrorKind, Result, StorageError};
pub use hdfs::HdfsStorage;
// The model the plan shares, re-exported so a backend's callers need one crate.
pub use hsync_fs_model::{
    display, is_lock_name, is_plan_tag, is_temp_name, join, lock_sibling, one_line,
    parent_and_name, parse_display, plan_tag, staging_tag, temp_sibling, temp_tag, Attributes,
    Entry, EntryKind, FsSpec, HdfsSpec, Preserve, SyntheticSpec, XAttr, XAttrNamespace,
};
pub use local::LocalStorage;
pub use syncfs::Unsynced;
pub use synthetic::{Shape, SyntheticStorage, UrlError, SCHEME as SYNTHETIC_SCHEME};

/// What a create call should do beyond writing bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// Block size for the new file, where the backend has blocks.
    pub block_size: Option<u64>,
    /// Replication factor for the new file, where the backend replicates.
    pub replication: Option<u16>,
}

/// Which of its own checksums a filesystem is asked for (HDFS:
/// `dfs.checksum.combine.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChecksumMode {
    /// The checksum of the bytes alone, whatever the block size or layout
    /// (HDFS `COMPOSITE_CRC`, Hadoop 3.1+).
    CompositeCrc,
    /// A checksum that also depends on the block size (HDFS `MD5MD5CRC32`).
    Md5Md5Crc32,
}

/// A checksum the filesystem computes itself, without the file being read
/// through hsync (HDFS: `getFileChecksum`, as `hdfs dfs -checksum` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileChecksum {
    /// What `bytes` are, e.g. `MD5-of-2048MD5-of-512CRC32C`. It names the
    /// settings the checksum depends on besides the content (for HDFS the
    /// block size, bytes per CRC and CRC type): compare two checksums only
    /// when their algorithms are equal.
    pub algorithm: String,
    pub bytes: Vec<u8>,
}

/// One filesystem. Paths are absolute, `/`-separated strings.
#[async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// The status of one path, or `None` when it does not exist.
    async fn stat(&self, path: &str) -> Result<Option<Entry>>;

    /// Every entry of one directory, in one listing (paged where the backend
    /// pages). The planner calls this once per directory and never stats
    /// single files.
    async fn list_dir(&self, path: &str) -> Result<Vec<Entry>>;

    /// Opens a file for a streaming read.
    async fn open(&self, path: &str) -> Result<Box<dyn FileReader>>;

    /// Creates (or truncates) a file for a streaming write.
    async fn create(&self, path: &str, options: &CreateOptions) -> Result<Box<dyn FileWriter>>;

    /// Renames `from` to `to`, replacing a file already at `to`.
    async fn rename(&self, from: &str, to: &str) -> Result<()>;

    /// Gives the file `from` the name `to` only if nothing has it yet, in
    /// one atomic step (`AlreadyExists` otherwise): a file written whole
    /// under a temporary name then appears complete or not at all.
    async fn rename_new(&self, from: &str, to: &str) -> Result<()>;

    /// Removes one file.
    async fn remove_file(&self, path: &str) -> Result<()>;

    /// Removes one directory, which must be empty: a directory that gained
    /// entries since it was planned for deletion is not silently wiped.
    async fn remove_dir(&self, path: &str) -> Result<()>;

    /// Removes a file, or a directory with everything below it.
    async fn remove_tree(&self, path: &str) -> Result<()>;

    /// Creates a directory and any missing parents.
    async fn create_dir(&self, path: &str) -> Result<()>;

    /// The path with every symlink resolved, or `None` if it does not exist
    /// (a dangling link). A chain of links that never ends fails with
    /// [`ErrorKind::Loop`]. A backend without symlinks returns the path as it is.
    async fn real_path(&self, path: &str) -> Result<Option<String>>;

    /// Whom this filesystem acts as when not this process's own user (a
    /// cluster's `user` or Kerberos principal): the owner its locks name.
    fn acting_user(&self) -> Option<&str> {
        None
    }

    /// The text of the symlink at `path` (where it points, as written).
    /// A backend without symlinks fails with `Unsupported`.
    async fn read_link(&self, path: &str) -> Result<String> {
        Err(no_symlinks("read link", path))
    }

    /// Creates a symlink at `path` whose text is `link`; never follows it.
    /// A backend without symlinks fails with `Unsupported`.
    async fn create_symlink(&self, _link: &str, path: &str) -> Result<()> {
        Err(no_symlinks("create link", path))
    }

    /// Applies the attributes that are set in `attributes`.
    async fn set_attributes(&self, path: &str, attributes: &Attributes) -> Result<()>;

    /// The extended attributes of `path` the user may read, with their
    /// values. A backend without xattrs fails with `Unsupported`.
    async fn xattrs(&self, path: &str) -> Result<Vec<XAttr>>;

    /// Sets each of `xattrs` on `path`, creating or replacing it; attributes
    /// `path` has that are not in the list are left alone. A backend without
    /// xattrs fails with `Unsupported`.
    async fn set_xattrs(&self, path: &str, xattrs: &[XAttr]) -> Result<()>;

    /// The filesystem's own checksum of the file at `path` in `mode`, or
    /// `None` when the backend has no such thing (the local one), does not
    /// offer `mode`, or has none for this file.
    async fn file_checksum(&self, path: &str, mode: ChecksumMode) -> Result<Option<FileChecksum>>;

    /// Whether the file at `path` can never change (an HDFS snapshot's), so
    /// a read of it needs no check that it is still as listed.
    fn immutable(&self, _path: &str) -> bool {
        false
    }

    /// The HDFS client behind this storage, for the NameNode calls outside
    /// the trait (snapshots, in [`namenode`]); `None` for other backends.
    fn as_hdfs(&self) -> Option<&HdfsStorage> {
        None
    }

    /// The local filesystem behind this storage, for its whole-file copy
    /// and grouped durability ([`LocalStorage::copy_new`]); `None` for
    /// other backends.
    fn as_local(&self) -> Option<&LocalStorage> {
        None
    }
}

fn no_symlinks(op: &'static str, path: &str) -> StorageError {
    StorageError::new(
        op,
        path,
        ErrorKind::Unsupported,
        "hsync reads and makes symbolic links on the local filesystem only",
    )
}

/// Whether a filesystem can preserve an attribute; known from its kind
/// alone, so a manifest is checked before anything is contacted.
pub fn supports(spec: &FsSpec, flag: Preserve) -> bool {
    use Preserve::*;
    match spec {
        FsSpec::Local => matches!(flag, Times | Permission | Owner | Group),
        // ACLs need NameNode calls hdfs-native lacks (issue 5); xattrs go
        // through the vendored patch (`namenode`).
        FsSpec::Hdfs(_) => !matches!(flag, Acl),
        // A sink takes every attribute it keeps none of; the xattrs and
        // ACLs of a generated file are none.
        FsSpec::Synthetic(_) => !matches!(flag, Acl | Xattr),
    }
}

/// A file being read. An empty chunk means the end of the file.
#[async_trait]
pub trait FileReader: Send {
    async fn read(&mut self, max: usize) -> Result<Bytes>;
}

/// A file being written; nothing is durable until `close` returns.
#[async_trait]
pub trait FileWriter: Send {
    async fn write(&mut self, data: Bytes) -> Result<()>;
    async fn close(self: Box<Self>) -> Result<()>;
}

/// One connection per filesystem, shared by everything in a run.
#[derive(Debug, Default)]
pub struct Connections {
    open: std::sync::Mutex<std::collections::BTreeMap<FsSpec, Arc<dyn Storage>>>,
    /// The delegation tokens HDFS clusters are reached with instead of the
    /// manifest's Kerberos credentials, which a worker's node does not hold.
    tokens: Option<String>,
}

/// Where YARN (and any scheduler that follows Hadoop) puts a container's
/// delegation tokens; hdfs-native reads them from there.
const TOKEN_FILE: &str = "HADOOP_TOKEN_FILE_LOCATION";

impl Connections {
    /// A worker's connections: with the delegation tokens of its container
    /// (`HADOOP_TOKEN_FILE_LOCATION`) when it was given some, else as the
    /// manifest says.
    pub fn for_worker() -> Connections {
        Connections {
            tokens: std::env::var(TOKEN_FILE)
                .ok()
                .filter(|file| !file.is_empty()),
            ..Connections::default()
        }
    }

    pub fn get(&self, spec: &FsSpec) -> Result<Arc<dyn Storage>> {
        let mut open = self.open.lock().expect("connections lock poisoned");
        if let Some(storage) = open.get(spec) {
            return Ok(Arc::clone(storage));
        }
        let storage: Arc<dyn Storage> = match spec {
            FsSpec::Local => Arc::new(LocalStorage),
            FsSpec::Hdfs(hdfs) => Arc::new(match &self.tokens {
                Some(file) => HdfsStorage::connect_with_tokens(hdfs, file)?,
                None => HdfsStorage::connect(hdfs)?,
            }),
            FsSpec::Synthetic(tree) => Arc::new(SyntheticStorage::connect(&tree.url)?),
        };
        open.insert(spec.clone(), Arc::clone(&storage));
        Ok(storage)
    }
}
