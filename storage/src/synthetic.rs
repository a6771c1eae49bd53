//! A synthetic tree: a filesystem of any size computed from a seed, never
//! stored. Every folder's listing, every stat and every file's bytes are
//! a function of the path and the [`Shape`] alone, so memory does not grow
//! with the tree: benchmarks plan and apply 10⁷–10⁸ entries without
//! creating a file.
//!
//! Files are numbered 0..files and laid out as the digits of their number:
//! `depth` levels of folders of `fanout` entries (`d07`), then the files
//! (`f0001234`). A tree whose `differ` is set is the tree of the same seed
//! with that fraction of its files changed (size or mtime), missing, or
//! joined by an extra sibling (`f0001234.extra`), each chosen from the
//! file's number, so a pair of URLs is a source and a target with known
//! differences.
//!
//! With `sink=true` the tree is also a target that keeps nothing: writes,
//! folders, renames, deletes and attributes are accepted and discarded,
//! and every read answers the tree as generated. An apply into it measures
//! the executor alone. It is stateless on purpose (state would grow with
//! the apply): a lock taken there excludes no one, and a second apply of
//! the same plan finds, through the journal check, nothing it wrote, and
//! does it all again.

mod url;

use std::sync::OnceLock;

use async_trait::async_trait;
use bytes::Bytes;

pub use url::{Shape, UrlError, SCHEME};

use crate::{
    Attributes, ChecksumMode, CreateOptions, Entry, EntryKind, ErrorKind, FileChecksum, FileReader,
    FileWriter, Result, Storage, StorageError, XAttr,
};

/// Every generated time lies in the year before this (2023-11-14 22:13:20 UTC).
const EPOCH_MS: i64 = 1_700_000_000_000;
const YEAR_MS: u64 = 365 * 86_400_000;

/// File contents are windows onto one pattern, so a read copies nothing.
const PATTERN_LEN: usize = 1 << 20;

#[derive(Debug)]
pub struct SyntheticStorage {
    shape: Shape,
    /// Digits of a folder name (`d07`) and of a file number (`f0001234`).
    dir_width: usize,
    file_width: usize,
    /// Files in the deepest folders.
    leaf: u64,
}

/// What a path names in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    /// A folder `level` below the root whose subtree starts at file
    /// `prefix × span(level)`.
    Dir {
        level: u32,
        prefix: u128,
    },
    File {
        index: u64,
        extra: bool,
    },
}

/// How a file of the tree differs from the tree of the same seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Difference {
    None,
    Size,
    Mtime,
    Missing,
    Extra,
}

impl SyntheticStorage {
    pub fn new(shape: Shape) -> SyntheticStorage {
        let leaf = if shape.depth_given {
            let folders = u128::from(shape.fanout)
                .checked_pow(shape.depth)
                .unwrap_or(u128::MAX);
            u128::from(shape.files).div_ceil(folders).max(1) as u64
        } else {
            shape.fanout
        };
        SyntheticStorage {
            dir_width: digits(shape.fanout - 1),
            file_width: digits(shape.files.saturating_sub(1)),
            leaf,
            shape,
        }
    }

    /// Connects to the tree a URL names (its path, if any, is ignored).
    pub fn connect(url: &str) -> Result<SyntheticStorage> {
        Shape::parse(url)
            .map(|(shape, _)| SyntheticStorage::new(shape))
            .map_err(|e| StorageError::new("connect", "/", ErrorKind::Other, e.message))
    }

    /// Files below one folder `level` below the root.
    fn span(&self, level: u32) -> u128 {
        let levels = self.shape.depth - level;
        u128::from(self.shape.fanout)
            .checked_pow(levels)
            .and_then(|folders| folders.checked_mul(u128::from(self.leaf)))
            .unwrap_or(u128::MAX)
    }

    /// Whether a folder holds at least one file of the source numbering.
    fn dir_exists(&self, level: u32, prefix: u128) -> bool {
        prefix
            .checked_mul(self.span(level))
            .is_some_and(|first| first < u128::from(self.shape.files))
    }

    fn node(&self, path: &str) -> Option<Node> {
        let relative = path.strip_prefix('/')?.trim_end_matches('/');
        let mut node = Node::Dir {
            level: 0,
            prefix: 0,
        };
        if relative.is_empty() {
            return Some(node);
        }
        for name in relative.split('/') {
            let Node::Dir { level, prefix } = node else {
                return None; // below a file
            };
            node = if level < self.shape.depth {
                let k = name
                    .strip_prefix('d')
                    .filter(|d| d.len() == self.dir_width)
                    .and_then(parse_digits)
                    .filter(|k| *k < self.shape.fanout)?;
                let prefix = prefix * u128::from(self.shape.fanout) + u128::from(k);
                if !self.dir_exists(level + 1, prefix) {
                    return None;
                }
                Node::Dir {
                    level: level + 1,
                    prefix,
                }
            } else {
                let (number, extra) = match name.strip_suffix(".extra") {
                    Some(number) => (number, true),
                    None => (name, false),
                };
                let index = number
                    .strip_prefix('f')
                    .filter(|d| d.len() == self.file_width)
                    .and_then(parse_digits)
                    .filter(|i| *i < self.shape.files)?;
                if u128::from(index) / u128::from(self.leaf) != prefix {
                    return None;
                }
                let difference = self.difference(index);
                let present = match extra {
                    true => difference == Difference::Extra,
                    false => difference != Difference::Missing,
                };
                if !present {
                    return None;
                }
                Node::File { index, extra }
            };
        }
        Some(node)
    }

    fn difference(&self, index: u64) -> Difference {
        if self.shape.differ_ppm == 0 {
            return Difference::None;
        }
        let h = hash(self.shape.seed, index, Salt::Differ);
        if h % 1_000_000 >= u64::from(self.shape.differ_ppm) {
            return Difference::None;
        }
        match (h / 1_000_000) % 4 {
            0 => Difference::Size,
            1 => Difference::Mtime,
            2 => Difference::Missing,
            _ => Difference::Extra,
        }
    }

    fn entry(&self, name: String, node: Node) -> Entry {
        let (kind, size, mtime_ms, permission) = match node {
            Node::Dir { .. } => (EntryKind::Dir, 0, EPOCH_MS, 0o755),
            Node::File { .. } => {
                let (size, mtime_ms, _) = self.file(node);
                (EntryKind::File, size, mtime_ms, 0o644)
            }
        };
        Entry {
            name,
            name_not_utf8: false,
            kind,
            size,
            mtime_ms,
            permission,
            owner: "synthetic".into(),
            group: "synthetic".into(),
            replication: 1,
            block_size: 0,
            ec_policy: None,
            encrypted: false,
        }
    }

    /// A file's size, mtime, and where its bytes start in the pattern.
    fn file(&self, node: Node) -> (u64, i64, usize) {
        let Node::File { index, extra } = node else {
            unreachable!("only files have contents");
        };
        let seed = self.shape.seed ^ u64::from(extra);
        let (min, max) = self.shape.sizes;
        let mut size = min + hash(seed, index, Salt::Size) % (max - min + 1);
        let mut mtime_ms = EPOCH_MS - (hash(seed, index, Salt::Mtime) % YEAR_MS) as i64;
        let mut start = hash(seed, index, Salt::Bytes);
        if !extra {
            match self.difference(index) {
                Difference::Size => size += 1,
                Difference::Mtime => mtime_ms += 1000,
                _ => {}
            }
            if matches!(self.difference(index), Difference::Size | Difference::Mtime) {
                start = !start; // rewritten: other bytes too
            }
        }
        (size, mtime_ms, (start % PATTERN_LEN as u64) as usize)
    }

    fn dir_name(&self, k: u64) -> String {
        format!("d{k:0width$}", width = self.dir_width)
    }

    fn file_name(&self, index: u64, extra: bool) -> String {
        let suffix = if extra { ".extra" } else { "" };
        format!("f{index:0width$}{suffix}", width = self.file_width)
    }

    fn not_found(&self, op: &'static str, path: &str) -> StorageError {
        StorageError::new(
            op,
            path,
            ErrorKind::NotFound,
            "no such path in the synthetic tree",
        )
    }

    /// Refuses a write unless the tree is a sink.
    fn write(&self, op: &'static str, path: &str) -> Result<()> {
        match self.shape.sink {
            true => Ok(()),
            false => Err(StorageError::new(
                op,
                path,
                ErrorKind::Unsupported,
                format!(
                    "the synthetic tree {} is read-only; add sink=true to its URL to accept (and discard) writes",
                    self.shape.url()
                ),
            )),
        }
    }
}

#[async_trait]
impl Storage for SyntheticStorage {
    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        let name = crate::parent_and_name(path).1.to_string();
        Ok(self.node(path).map(|node| self.entry(name, node)))
    }

    async fn list_dir(&self, path: &str) -> Result<Vec<Entry>> {
        let (level, prefix) = match self.node(path) {
            Some(Node::Dir { level, prefix }) => (level, prefix),
            Some(Node::File { .. }) => {
                return Err(StorageError::new(
                    "list",
                    path,
                    ErrorKind::Other,
                    "is a file",
                ))
            }
            None => return Err(self.not_found("list", path)),
        };
        let mut entries = Vec::new();
        if level < self.shape.depth {
            for k in 0..self.shape.fanout {
                let child = prefix * u128::from(self.shape.fanout) + u128::from(k);
                if !self.dir_exists(level + 1, child) {
                    break;
                }
                let node = Node::Dir {
                    level: level + 1,
                    prefix: child,
                };
                entries.push(self.entry(self.dir_name(k), node));
            }
            return Ok(entries);
        }
        let first = prefix * u128::from(self.leaf);
        let end = (first + u128::from(self.leaf)).min(u128::from(self.shape.files));
        for index in first as u64..end as u64 {
            for (extra, present) in match self.difference(index) {
                Difference::Missing => [(false, false), (true, false)],
                Difference::Extra => [(false, true), (true, true)],
                _ => [(false, true), (true, false)],
            } {
                if present {
                    let node = Node::File { index, extra };
                    entries.push(self.entry(self.file_name(index, extra), node));
                }
            }
        }
        Ok(entries)
    }

    async fn open(&self, path: &str) -> Result<Box<dyn FileReader>> {
        match self.node(path) {
            Some(node @ Node::File { .. }) => {
                let (size, _, start) = self.file(node);
                Ok(Box::new(SyntheticReader {
                    left: size,
                    at: start,
                }))
            }
            Some(Node::Dir { .. }) => Err(StorageError::new(
                "open",
                path,
                ErrorKind::Other,
                "is a directory",
            )),
            None => Err(self.not_found("open", path)),
        }
    }

    async fn create(&self, path: &str, _: &CreateOptions) -> Result<Box<dyn FileWriter>> {
        self.write("create", path)?;
        Ok(Box::new(Discard))
    }

    async fn rename(&self, from: &str, _to: &str) -> Result<()> {
        self.write("rename", from)
    }

    /// Refused over a generated path, as a lock over another's would be.
    async fn rename_new(&self, from: &str, to: &str) -> Result<()> {
        self.write("rename", from)?;
        match self.node(to) {
            Some(_) => Err(StorageError::new(
                "rename",
                from,
                ErrorKind::AlreadyExists,
                format!("{to} exists"),
            )),
            None => Ok(()),
        }
    }

    async fn remove_file(&self, path: &str) -> Result<()> {
        self.write("delete", path)
    }

    async fn remove_dir(&self, path: &str) -> Result<()> {
        self.write("delete", path)
    }

    async fn remove_tree(&self, path: &str) -> Result<()> {
        self.write("delete", path)
    }

    async fn create_dir(&self, path: &str) -> Result<()> {
        self.write("mkdir", path)
    }

    /// No symlinks: a path that exists is its own real path.
    async fn real_path(&self, path: &str) -> Result<Option<String>> {
        Ok(self.node(path).map(|_| path.to_string()))
    }

    async fn set_attributes(&self, path: &str, _: &Attributes) -> Result<()> {
        self.write("set attributes", path)
    }

    async fn xattrs(&self, _path: &str) -> Result<Vec<XAttr>> {
        Ok(Vec::new())
    }

    async fn set_xattrs(&self, path: &str, _xattrs: &[XAttr]) -> Result<()> {
        self.write("set xattrs", path)
    }

    /// Contents are compared by reading them (cheap here).
    async fn file_checksum(&self, _: &str, _: ChecksumMode) -> Result<Option<FileChecksum>> {
        Ok(None)
    }
}

struct SyntheticReader {
    left: u64,
    at: usize,
}

#[async_trait]
impl FileReader for SyntheticReader {
    async fn read(&mut self, max: usize) -> Result<Bytes> {
        let n = (max as u64)
            .min(self.left)
            .min((PATTERN_LEN - self.at) as u64) as usize;
        let chunk = pattern().slice(self.at..self.at + n);
        self.left -= n as u64;
        self.at = (self.at + n) % PATTERN_LEN;
        Ok(chunk)
    }
}

/// A sink's file: every byte accepted, none kept.
struct Discard;

#[async_trait]
impl FileWriter for Discard {
    async fn write(&mut self, _data: Bytes) -> Result<()> {
        Ok(())
    }

    async fn close(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

fn pattern() -> Bytes {
    static PATTERN: OnceLock<Bytes> = OnceLock::new();
    PATTERN
        .get_or_init(|| {
            let mut state = 0;
            let words = (0..PATTERN_LEN / 8).map(|_| {
                state = splitmix(state);
                state
            });
            words.flat_map(u64::to_le_bytes).collect::<Vec<u8>>().into()
        })
        .clone()
}

#[derive(Clone, Copy)]
enum Salt {
    Size = 1,
    Mtime,
    Bytes,
    Differ,
}

/// One independent draw per file and purpose.
fn hash(seed: u64, index: u64, salt: Salt) -> u64 {
    splitmix(splitmix(seed ^ (salt as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) ^ index)
}

/// SplitMix64's finaliser: cheap, and every bit of the input matters.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn parse_digits(text: &str) -> Option<u64> {
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests;
