//! hsync patch: public types for the snapshot calls of [`Client`](crate::Client).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Display;

use crate::client::FileStatus;
use crate::proto::hdfs::{SnapshotDiffReportEntryProto, SnapshotDiffReportProto};
// hsync patch: paged snapshot diff.
use crate::proto::hdfs::{
    SnapshotDiffReportCursorProto, SnapshotDiffReportListingEntryProto,
    SnapshotDiffReportListingProto,
};
use crate::{HdfsError, Result};

/// What happened to a path between the two states a snapshot diff compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiffType {
    /// The path was created (`+`).
    Create,
    /// The path, or for a directory its list of children, was modified (`M`).
    Modify,
    /// The path was deleted (`-`).
    Delete,
    /// The path was renamed (`R`); the entry carries a target.
    Rename,
}

impl DiffType {
    /// The label Hadoop uses on the wire and in `hdfs snapshotDiff` output:
    /// `+`, `M`, `-` or `R`.
    pub fn label(&self) -> &'static str {
        match self {
            DiffType::Create => "+",
            DiffType::Modify => "M",
            DiffType::Delete => "-",
            DiffType::Rename => "R",
        }
    }

    /// The type for a wire label (`+`, `M`, `-`, `R`), as Hadoop's
    /// `DiffType.getTypeFromLabel`; also accepts the enum names.
    pub fn from_label(label: &str) -> Option<Self> {
        match label {
            "+" | "CREATE" => Some(DiffType::Create),
            "M" | "MODIFY" => Some(DiffType::Modify),
            "-" | "DELETE" => Some(DiffType::Delete),
            "R" | "RENAME" => Some(DiffType::Rename),
            _ => None,
        }
    }
}

impl Display for DiffType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One entry of a [`SnapshotDiffReport`].
///
/// Paths are relative to the snapshot root, `/`-separated, with no leading
/// `/`; the empty string is the snapshot root itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SnapshotDiffEntry {
    pub diff_type: DiffType,
    /// The path in the `from` state.
    pub source: String,
    /// For [`DiffType::Rename`], the path in the `to` state; `None` otherwise.
    pub target: Option<String>,
}

impl SnapshotDiffEntry {
    fn path_string(path: &str) -> String {
        if path.is_empty() {
            ".".to_string()
        } else {
            format!("./{path}")
        }
    }
}

/// Formats the entry as Hadoop's `DiffReportEntry.toString` does, e.g.
/// `M\t.`, `+\t./x` or `R\t./a -> ./b`.
impl Display for SnapshotDiffEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\t{}", self.diff_type, Self::path_string(&self.source))?;
        if let Some(target) = &self.target {
            write!(f, " -> {}", Self::path_string(target))?;
        }
        Ok(())
    }
}

/// Decodes a diff path (`DFSUtil.byteArray2bytes`: components joined by `/`;
/// empty or `/` for the snapshot root) into a relative UTF-8 path.
fn decode_diff_path(bytes: Vec<u8>) -> Result<String> {
    let path = String::from_utf8(bytes)
        .map_err(|e| HdfsError::InvalidArgument(format!("snapshot diff path is not UTF-8: {e}")))?;
    Ok(path.trim_matches('/').to_string())
}

impl TryFrom<SnapshotDiffReportEntryProto> for SnapshotDiffEntry {
    type Error = HdfsError;

    fn try_from(value: SnapshotDiffReportEntryProto) -> Result<Self> {
        let diff_type = DiffType::from_label(&value.modification_label).ok_or_else(|| {
            HdfsError::InvalidArgument(format!(
                "unknown snapshot diff label {:?}",
                value.modification_label
            ))
        })?;
        let target = match (diff_type, value.target_path) {
            (DiffType::Rename, Some(target)) => Some(decode_diff_path(target)?),
            _ => None,
        };
        Ok(SnapshotDiffEntry {
            diff_type,
            source: decode_diff_path(value.fullpath)?,
            target,
        })
    }
}

/// The differences between two snapshots of one directory, or between a
/// snapshot and the current tree, as the NameNode reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotDiffReport {
    /// The snapshottable directory.
    pub snapshot_root: String,
    /// The older state: a snapshot name, or empty for the current tree.
    pub from_snapshot: String,
    /// The newer state: a snapshot name, or empty for the current tree.
    pub to_snapshot: String,
    /// The entries in the NameNode's order.
    pub entries: Vec<SnapshotDiffEntry>,
}

impl TryFrom<SnapshotDiffReportProto> for SnapshotDiffReport {
    type Error = HdfsError;

    fn try_from(value: SnapshotDiffReportProto) -> Result<Self> {
        Ok(SnapshotDiffReport {
            snapshot_root: value.snapshot_root,
            from_snapshot: value.from_snapshot,
            to_snapshot: value.to_snapshot,
            entries: value
                .diff_report_entries
                .into_iter()
                .map(SnapshotDiffEntry::try_from)
                .collect::<Result<_>>()?,
        })
    }
}

// hsync patch: paged snapshot diff.
/// An entry of a `getSnapshotDiffReportListing` page (Hadoop's
/// `DiffReportListingEntry`): a modified inode, or a child created in or
/// deleted from the directory `dir_id`; a renamed inode is a reference,
/// listed as created under its new parent and deleted (with its new path)
/// from its old one.
struct ListingEntry {
    dir_id: u64,
    file_id: u64,
    /// The path's components below the snapshot root (none for the root).
    source: Vec<Vec<u8>>,
    is_reference: bool,
    target: Option<Vec<Vec<u8>>>,
}

/// A path's components (`DFSUtilClient.bytes2byteArray`).
fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

impl From<SnapshotDiffReportListingEntryProto> for ListingEntry {
    fn from(entry: SnapshotDiffReportListingEntryProto) -> Self {
        ListingEntry {
            dir_id: entry.dir_id,
            file_id: entry.file_id.unwrap_or(0),
            source: components(&entry.fullpath),
            is_reference: entry.is_reference,
            target: entry.target_path.as_deref().map(components),
        }
    }
}

/// Hadoop's `SnapshotDiffReportGenerator.INODE_COMPARATOR`: the root first,
/// then by path components, bytes compared as signed.
fn by_path(left: &ListingEntry, right: &ListingEntry) -> Ordering {
    let signed = |c: &Vec<u8>| c.iter().map(|&b| b as i8).collect::<Vec<i8>>();
    left.source
        .iter()
        .map(signed)
        .cmp(right.source.iter().map(signed))
}

/// The pages of a `getSnapshotDiffReportListing`, gathered, then
/// reassembled into the classic report as Hadoop's
/// `SnapshotDiffReportGenerator` does.
#[derive(Default)]
pub(crate) struct SnapshotDiffListing {
    modified: Vec<ListingEntry>,
    created: Vec<ListingEntry>,
    deleted: Vec<ListingEntry>,
    is_from_earlier: bool,
}

/// A rename seen in the listing: its old and new paths.
#[derive(Default)]
struct Rename {
    source: Option<Vec<Vec<u8>>>,
    target: Option<Vec<Vec<u8>>>,
}

impl Rename {
    fn paths(&self) -> Option<(&Vec<Vec<u8>>, &Vec<Vec<u8>>)> {
        Some((self.source.as_ref()?, self.target.as_ref()?))
    }
}

impl SnapshotDiffListing {
    /// Adds a page; returns the cursor of the next one (an empty path and
    /// index -1 after the last).
    pub(crate) fn add_page(
        &mut self,
        page: SnapshotDiffReportListingProto,
    ) -> SnapshotDiffReportCursorProto {
        self.modified
            .extend(page.modified_entries.into_iter().map(ListingEntry::from));
        self.created
            .extend(page.created_entries.into_iter().map(ListingEntry::from));
        self.deleted
            .extend(page.deleted_entries.into_iter().map(ListingEntry::from));
        self.is_from_earlier = page.is_from_earlier;
        page.cursor.unwrap_or(SnapshotDiffReportCursorProto {
            start_path: Vec::new(),
            index: -1,
        })
    }

    /// The report's entries (`SnapshotDiffReportGenerator.generateReport`):
    /// each modified inode by path, and after a modified directory its
    /// created children, then its deleted or renamed ones. Inverted when
    /// the diff runs from the later state to the earlier.
    pub(crate) fn into_entries(mut self) -> Result<Vec<SnapshotDiffEntry>> {
        self.modified.sort_by(by_path);
        let mut children: HashMap<u64, (Vec<&ListingEntry>, Vec<&ListingEntry>)> = HashMap::new();
        let mut renames: HashMap<u64, Rename> = HashMap::new();
        for created in &self.created {
            children.entry(created.dir_id).or_default().0.push(created);
            if created.is_reference {
                // As Hadoop: only a target already known is replaced.
                let rename = renames.entry(created.file_id).or_default();
                if rename.target.is_some() {
                    rename.target = Some(created.source.clone());
                }
            }
        }
        for deleted in &self.deleted {
            children.entry(deleted.dir_id).or_default().1.push(deleted);
            if deleted.is_reference {
                let rename = renames.entry(deleted.file_id).or_default();
                rename.target = deleted.target.clone();
                rename.source = Some(deleted.source.clone());
            }
        }
        let earlier = self.is_from_earlier;
        let (create, delete) = if earlier {
            (DiffType::Create, DiffType::Delete)
        } else {
            (DiffType::Delete, DiffType::Create)
        };
        let entry = |diff_type, source: &Vec<Vec<u8>>, target: Option<&Vec<Vec<u8>>>| {
            Result::Ok(SnapshotDiffEntry {
                diff_type,
                source: decode_diff_path(source.join(&b'/'))?,
                target: target.map(|t| decode_diff_path(t.join(&b'/'))).transpose()?,
            })
        };
        let mut entries = Vec::new();
        for modified in &self.modified {
            entries.push(entry(DiffType::Modify, &modified.source, None)?);
            let Some((created, deleted)) = children.get(&modified.dir_id) else {
                continue;
            };
            if !modified.is_reference {
                continue;
            }
            for child in created {
                let renamed = renames.get(&child.file_id).and_then(Rename::paths);
                if renamed.is_none() {
                    entries.push(entry(create, &child.source, None)?);
                }
            }
            for child in deleted {
                let next = match renames.get(&child.file_id).and_then(Rename::paths) {
                    Some((from, to)) if earlier => entry(DiffType::Rename, from, Some(to)),
                    Some((from, to)) => entry(DiffType::Rename, to, Some(from)),
                    None => entry(delete, &child.source, None),
                };
                entries.push(next?);
            }
        }
        Ok(entries)
    }
}

/// A directory on which snapshots are allowed.
#[derive(Clone, Debug)]
pub struct SnapshottableDirectory {
    /// The directory; `status.path` is its full path.
    pub status: FileStatus,
    /// How many snapshots it has.
    pub snapshot_number: u32,
    /// How many snapshots it may have.
    pub snapshot_quota: u32,
}
