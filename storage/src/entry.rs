use serde::{Deserialize, Serialize};

/// What a directory listing says about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The last path component.
    pub name: String,
    pub kind: EntryKind,
    /// Length in bytes (0 for directories).
    pub size: u64,
    /// Modification time, milliseconds since the Unix epoch (HDFS's unit).
    pub mtime_ms: i64,
    /// Permission bits, e.g. 0o644.
    pub permission: u32,
    pub owner: String,
    pub group: String,
    /// Replication factor (1 on the local filesystem).
    pub replication: u16,
    /// Block size in bytes (0 where the backend has no blocks).
    pub block_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// Attributes to set on a path; `None` leaves one as it is. Setting the
/// modification time sets the access time to the same instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<u16>,
}

impl Attributes {
    pub fn is_empty(&self) -> bool {
        *self == Attributes::default()
    }
}
