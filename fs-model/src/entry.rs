use serde::{Deserialize, Serialize};

/// What a directory listing says about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The last path component. When [`name_not_utf8`](Self::name_not_utf8)
    /// is set it is the name's escaped spelling ([`crate::display`], which
    /// [`crate::parse_display`] turns back into the bytes).
    pub name: String,
    /// A local name that is not UTF-8: no plan or HDFS path can hold it, so
    /// the planner lists it as skipped and never opens it.
    pub name_not_utf8: bool,
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
    /// The erasure coding policy of an erasure-coded HDFS file
    /// (`RS-3-2-1024k`); `None` when replicated or local.
    pub ec_policy: Option<String>,
    /// A file of an HDFS encryption zone read through its normal path: its
    /// bytes need the zone's key, which hsync cannot get (no KMS client).
    pub encrypted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A named pipe: opening it for a read waits for a writer, forever.
    Fifo,
    Socket,
    BlockDevice,
    CharDevice,
}

impl EntryKind {
    /// What a reviewer reads.
    pub fn describe(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "directory",
            EntryKind::Symlink => "symbolic link",
            EntryKind::Fifo => "named pipe",
            EntryKind::Socket => "socket",
            EntryKind::BlockDevice => "block device",
            EntryKind::CharDevice => "character device",
        }
    }

    /// A FIFO, socket or device: never opened, never copied.
    pub fn is_special(self) -> bool {
        !matches!(self, EntryKind::File | EntryKind::Dir | EntryKind::Symlink)
    }
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
