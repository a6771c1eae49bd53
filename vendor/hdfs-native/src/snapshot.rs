//! hsync patch: public types for the snapshot calls of [`Client`](crate::Client).

use std::fmt::Display;

use crate::client::FileStatus;
use crate::proto::hdfs::{SnapshotDiffReportEntryProto, SnapshotDiffReportProto};
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
