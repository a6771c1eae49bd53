//! NameNode calls outside the [`Storage`](crate::Storage) trait: snapshots,
//! snapshot diffs, extended attributes and file checksums, on an
//! [`HdfsStorage`].
//!
//! These are plain async functions over the vendored `hdfs-native` client
//! (see `vendor/README.md` for the calls the patch adds). They take an
//! [`HdfsStorage`] (from [`HdfsStorage::connect`]), not the `dyn Storage`
//! that [`Connections`](crate::Connections) hands out; the xattr calls are
//! also behind [`Storage::xattrs`](crate::Storage::xattrs) and
//! [`Storage::set_xattrs`](crate::Storage::set_xattrs), the checksum behind
//! [`Storage::file_checksum`](crate::Storage::file_checksum). Errors are
//! [`StorageError`](crate::StorageError)s like the rest of the crate; the
//! NameNode's own refusals (`SnapshotException`: not snapshottable, name
//! taken, snapshots still present...) come back as `ErrorKind::Other` with
//! the NameNode's message.
//!
//! Paths in a [`DiffEntry`] are relative to the snapshot root, `/`-separated,
//! with no leading `/`; the empty string is the root itself, so
//! [`join`](crate::join)`(root, &entry.source)` gives the absolute path.
//!
//! # How a Hadoop 2.7.3 NameNode reports a diff (seen in `tests/namenode.rs`)
//!
//! - **Order:** for each modified directory or file, in path order (a parent
//!   before its children, siblings by name): its `M` entry, then for a
//!   directory its created children (`+`, by name), then its deleted or
//!   renamed-away children (`-`/`R`, by name).
//! - **Overwriting a file is `-` and `+` of the same path**, not `M`: the
//!   new file is a new inode. Only in-place changes (append, attributes) are
//!   `M`. The parent directory gets an `M`.
//! - **Paths of modified directories are those of the earlier snapshot.**
//!   Changes inside a renamed directory are listed under its *old* name
//!   (`R ./d1 -> ./d2`, then `M ./d1`, `+ ./d1/new`), while a rename's target
//!   is in the `to` state: a file moved into the renamed directory is
//!   `R ./f -> ./d2/f`. A reversed diff (`from` newer than `to`) still lists
//!   changes under the earlier names (`R ./d2 -> ./d1`, `M ./d1`). To replay
//!   a diff, apply the renames first and map the other paths through them,
//!   as DistCp's `-diff` does.
//! - Only the top of a created or deleted subtree is listed; a file created
//!   and renamed between the two snapshots is just a `+` of its final name.
//! - `M .` (the root) appears when the root's own children changed.
//!
//! # Not supported yet
//!
//! - **Authentication: only SIMPLE is tested.** Kerberos settings are passed
//!   through to hdfs-native, but no test runs these calls against a secured
//!   cluster.
//! - **File checksums: `COMPOSITE_CRC` needs Hadoop 3.1+ DataNodes.**
//!   [`file_checksum`] is `getFileChecksum` (block locations from the
//!   NameNode, then `OP_BLOCK_CHECKSUM`, or `OP_BLOCK_GROUP_CHECKSUM` for an
//!   erasure-coded block group, on a DataNode of each block, through the
//!   vendored patch), equal to `hdfs dfs -checksum`. `MD5MD5CRC32` depends
//!   on the block size and CRC settings, so two files compare only when the
//!   algorithm names match; `COMPOSITE_CRC` does not, but a Hadoop 2.7
//!   DataNode ignores the request (the answer is `None`).
//! - **Diffs from Hadoop 2.7 come in one response.** Hadoop 3's paged
//!   `getSnapshotDiffReportListing` is used where the NameNode has it; 2.7
//!   has only `getSnapshotDiffReport`, which returns the whole report at
//!   once, so there a diff of millions of entries is bounded by the RPC
//!   response size.
//! - **Snapshot listing goes through `DIR/.snapshot`** (a plain directory
//!   listing, which 2.7 supports); `getSnapshotListing` is Hadoop 3 only.
//! - **xattrs are set create-or-replace only**; there is no create-only or
//!   replace-only flag. `raw.*` attributes are visible only through
//!   `/.reserved/raw/...` paths, `trusted.*` only to the superuser, and
//!   `system.*`/`security.*` are for the NameNode's own use.
//! - **viewfs:** [`snapshottable_dirs`] asks only the fallback name service
//!   and reports its paths unmapped.

use std::fmt;
use std::sync::atomic::Ordering;

use hdfs_native::checksum::CombineMode;
use hdfs_native::snapshot::{DiffType, SnapshotDiffEntry};
use hdfs_native::xattr::{XAttr as NativeXAttr, XAttrNamespace as NativeNamespace};
use hdfs_native::HdfsError;

use crate::{join, ChecksumMode, FileChecksum, HdfsStorage, Result, XAttr, XAttrNamespace};

/// What happened to a path between two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiffKind {
    Create,
    /// A file's contents or attributes changed, or a directory's children.
    Modify,
    Delete,
    /// Renamed (or moved within the snapshot root) from `source` to `target`.
    Rename,
}

impl DiffKind {
    /// Hadoop's label: `+`, `M`, `-` or `R`.
    pub fn label(self) -> &'static str {
        match self {
            DiffKind::Create => "+",
            DiffKind::Modify => "M",
            DiffKind::Delete => "-",
            DiffKind::Rename => "R",
        }
    }
}

/// One entry of a snapshot diff.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiffEntry {
    pub kind: DiffKind,
    /// The path in the older state, relative to the snapshot root (`""` is
    /// the root).
    pub source: String,
    /// For [`DiffKind::Rename`], the path in the newer state; `None`
    /// otherwise.
    pub target: Option<String>,
}

/// Hadoop's `SnapshotDiff` format: `M\t.`, `+\t./x`, `R\t./a -> ./b`.
impl fmt::Display for DiffEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |p: &str| {
            if p.is_empty() {
                ".".to_string()
            } else {
                format!("./{p}")
            }
        };
        write!(f, "{}\t{}", self.kind.label(), show(&self.source))?;
        if let Some(target) = &self.target {
            write!(f, " -> {}", show(target))?;
        }
        Ok(())
    }
}

impl From<SnapshotDiffEntry> for DiffEntry {
    fn from(entry: SnapshotDiffEntry) -> Self {
        DiffEntry {
            kind: match entry.diff_type {
                DiffType::Create => DiffKind::Create,
                DiffType::Modify => DiffKind::Modify,
                DiffType::Delete => DiffKind::Delete,
                DiffType::Rename => DiffKind::Rename,
            },
            source: entry.source,
            target: entry.target,
        }
    }
}

/// The HDFS client behind `storage`, for the calls of this module; a
/// storage of another kind is `Unsupported`.
pub fn hdfs(storage: &dyn crate::Storage) -> Result<&HdfsStorage> {
    storage.as_hdfs().ok_or_else(|| {
        crate::StorageError::new(
            "snapshot",
            "",
            crate::ErrorKind::Unsupported,
            "snapshots need HDFS",
        )
    })
}

/// The path of snapshot `name` of `dir`: `dir/.snapshot/name`, readable like
/// any directory.
pub fn snapshot_path(dir: &str, name: &str) -> String {
    join(dir, &format!(".snapshot/{name}"))
}

/// Allows snapshots of `dir` (`hdfs dfsadmin -allowSnapshot`; superuser
/// only). Allowing it again is not an error.
pub async fn allow_snapshot(hdfs: &HdfsStorage, dir: &str) -> Result<()> {
    hdfs.client()
        .allow_snapshot(dir)
        .await
        .map_err(|e| hdfs.error("allow snapshot", dir, e))
}

/// Disallows snapshots of `dir`, which must have none left (superuser only).
pub async fn disallow_snapshot(hdfs: &HdfsStorage, dir: &str) -> Result<()> {
    hdfs.client()
        .disallow_snapshot(dir)
        .await
        .map_err(|e| hdfs.error("disallow snapshot", dir, e))
}

/// Creates snapshot `name` of the snapshottable `dir`; returns its path
/// (`dir/.snapshot/name`).
pub async fn create_snapshot(hdfs: &HdfsStorage, dir: &str, name: &str) -> Result<String> {
    hdfs.client()
        .create_snapshot(dir, Some(name))
        .await
        .map_err(|e| hdfs.error("create snapshot", dir, e))
}

/// Deletes snapshot `name` of `dir`.
pub async fn delete_snapshot(hdfs: &HdfsStorage, dir: &str, name: &str) -> Result<()> {
    hdfs.client()
        .delete_snapshot(dir, name)
        .await
        .map_err(|e| hdfs.error("delete snapshot", dir, e))
}

/// Renames snapshot `from` of `dir` to `to`.
pub async fn rename_snapshot(hdfs: &HdfsStorage, dir: &str, from: &str, to: &str) -> Result<()> {
    hdfs.client()
        .rename_snapshot(dir, from, to)
        .await
        .map_err(|e| hdfs.error("rename snapshot", dir, e))
}

/// The names of the snapshots of `dir`, sorted. A `dir` that is not
/// snapshottable is an error (`Other`, "Directory is not a snapshottable
/// directory"), a missing one `NotFound`.
pub async fn list_snapshots(hdfs: &HdfsStorage, dir: &str) -> Result<Vec<String>> {
    let snapshots = join(dir, ".snapshot");
    let mut names: Vec<String> = hdfs
        .client()
        .list_status(&snapshots, false)
        .await
        .map_err(|e| hdfs.error("list snapshots", dir, e))?
        .into_iter()
        .map(|status| crate::parent_and_name(&status.path).1.to_string())
        .collect();
    names.sort();
    Ok(names)
}

/// The snapshottable directories the user owns (all of them for the
/// superuser), sorted.
pub async fn snapshottable_dirs(hdfs: &HdfsStorage) -> Result<Vec<String>> {
    let mut dirs: Vec<String> = hdfs
        .client()
        .get_snapshottable_dir_listing()
        .await
        .map_err(|e| hdfs.error("list snapshottable directories", "/", e))?
        .into_iter()
        .map(|dir| dir.status.path)
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// What changed under the snapshottable `dir` from snapshot `from` to
/// snapshot `to`, in the NameNode's order. An empty name (or `.`, as in
/// `hdfs snapshotDiff`) stands for the current tree, so `to = ""` gives the
/// changes since `from`. Between two snapshots the diff is fetched in
/// pages (`getSnapshotDiffReportListing`, Hadoop 3) and reassembled into the
/// report Hadoop's client builds; from a NameNode without that call (Hadoop
/// 2.7), and as in Hadoop's client for a diff with the current tree, in one
/// `getSnapshotDiffReport`.
pub async fn snapshot_diff(
    hdfs: &HdfsStorage,
    dir: &str,
    from: &str,
    to: &str,
) -> Result<Vec<DiffEntry>> {
    let current = |name: &str| if name == "." { "" } else { name }.to_string();
    let (from, to) = (current(from), current(to));
    let client = hdfs.client();
    // As Hadoop's client: a diff to or from the current tree is one
    // `getSnapshotDiffReport`, never paged.
    let listing = if from.is_empty() || to.is_empty() {
        client.get_snapshot_diff_report(dir, &from, &to).await
    } else {
        client
            .get_snapshot_diff_report_listing(dir, &from, &to)
            .await
    };
    let report = match listing {
        Err(HdfsError::RPCError(class, _)) if class.ends_with(".RpcNoSuchMethodException") => {
            client.get_snapshot_diff_report(dir, &from, &to).await
        }
        listed => listed,
    }
    .map_err(|e| hdfs.error("snapshot diff", dir, e))?;
    Ok(report.entries.into_iter().map(DiffEntry::from).collect())
}

/// The extended attributes of `path` the user may read, with their values,
/// in the NameNode's order.
pub async fn xattrs(hdfs: &HdfsStorage, path: &str) -> Result<Vec<XAttr>> {
    Ok(hdfs
        .client()
        .get_xattrs(path)
        .await
        .map_err(|e| hdfs.error("get xattrs", path, e))?
        .into_iter()
        .map(|x| XAttr {
            namespace: from_native(x.namespace),
            name: x.name,
            value: x.value,
        })
        .collect())
}

/// Sets an extended attribute on `path`, creating or replacing it.
pub async fn set_xattr(hdfs: &HdfsStorage, path: &str, xattr: &XAttr) -> Result<()> {
    let native = NativeXAttr::new(
        to_native(xattr.namespace),
        xattr.name.clone(),
        xattr.value.clone(),
    );
    hdfs.client()
        .set_xattr(path, native)
        .await
        .map_err(|e| hdfs.error("set xattr", path, e))
}

fn from_native(namespace: NativeNamespace) -> XAttrNamespace {
    match namespace {
        NativeNamespace::User => XAttrNamespace::User,
        NativeNamespace::Trusted => XAttrNamespace::Trusted,
        NativeNamespace::Security => XAttrNamespace::Security,
        NativeNamespace::System => XAttrNamespace::System,
        NativeNamespace::Raw => XAttrNamespace::Raw,
    }
}

fn to_native(namespace: XAttrNamespace) -> NativeNamespace {
    match namespace {
        XAttrNamespace::User => NativeNamespace::User,
        XAttrNamespace::Trusted => NativeNamespace::Trusted,
        XAttrNamespace::Security => NativeNamespace::Security,
        XAttrNamespace::System => NativeNamespace::System,
        XAttrNamespace::Raw => NativeNamespace::Raw,
    }
}

/// Removes the extended attribute `namespace.name` from `path`.
pub async fn remove_xattr(
    hdfs: &HdfsStorage,
    path: &str,
    namespace: XAttrNamespace,
    name: &str,
) -> Result<()> {
    hdfs.client()
        .remove_xattr(path, &format!("{namespace}.{name}"))
        .await
        .map_err(|e| hdfs.error("remove xattr", path, e))
}

/// The checksum of the file at `path` in `mode`, as `hdfs dfs -checksum`
/// prints it (with `-Ddfs.checksum.combine.mode=COMPOSITE_CRC` for
/// [`ChecksumMode::CompositeCrc`]): `algorithm` is Hadoop's name
/// (`MD5-of-0MD5-of-512CRC32C`, `COMPOSITE-CRC32C`), `bytes` what FsShell
/// shows in hex. `None` where Hadoop has none (blocks of mixed CRC types),
/// and for `COMPOSITE_CRC` where the DataNodes do not offer it (Hadoop
/// before 3.1): once one has said so the cluster is not asked again. An
/// empty file has Hadoop's fixed `MD5-of-0MD5-of-0CRC32` in both modes. A
/// missing path is `NotFound`.
pub async fn file_checksum(
    hdfs: &HdfsStorage,
    path: &str,
    mode: ChecksumMode,
) -> Result<Option<FileChecksum>> {
    let native = match mode {
        ChecksumMode::CompositeCrc if hdfs.composite_crc_refused().load(Ordering::Relaxed) => {
            return Ok(None)
        }
        ChecksumMode::CompositeCrc => CombineMode::CompositeCrc,
        ChecksumMode::Md5Md5Crc32 => CombineMode::Md5Md5Crc,
    };
    match hdfs.client().get_file_checksum(path, native).await {
        Ok(checksum) => Ok(checksum.map(|c| FileChecksum {
            algorithm: c.algorithm_name(),
            bytes: c.to_bytes(),
        })),
        Err(HdfsError::UnsupportedFeature(_)) => {
            if mode == ChecksumMode::CompositeCrc {
                hdfs.composite_crc_refused().store(true, Ordering::Relaxed);
            }
            Ok(None)
        }
        Err(e) => Err(hdfs.error("file checksum", path, e)),
    }
}
