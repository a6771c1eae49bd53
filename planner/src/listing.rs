//! The listing layer: one listing call per directory, run concurrently with
//! a bound, cached as a flat tree of statuses the diff reads from. Single
//! files are never stat'ed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use hsync_storage::{is_lock_name, is_temp_name, join, Entry, EntryKind, Storage, StorageError};

/// Every entry below one root, keyed by its path relative to that root.
#[derive(Debug, Default)]
pub struct Tree {
    pub entries: BTreeMap<String, Entry>,
    /// Folders (relative; `""` for the root) holding entries the walk left
    /// out: the filter's, or hsync's temporaries. Such a folder is never
    /// empty, so it can never be deleted.
    pub partly_listed: BTreeSet<String>,
    /// hsync's temporary files and rename staging folders from interrupted
    /// applies (not locks).
    pub leftovers: BTreeMap<String, Entry>,
}

/// Counters a plan reports, so "one listing per directory" can be checked.
#[derive(Debug, Default)]
pub struct ListingStats {
    pub calls: AtomicU64,
    pub entries: AtomicU64,
}

impl ListingStats {
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::Relaxed)
    }
}

/// Lists `root` and the directories below it that `admit` lets through,
/// at most `concurrency` listings at a time. hsync's own temporary files
/// are never part of a tree; the folders of what is left out are noted.
pub async fn walk(
    storage: &Arc<dyn Storage>,
    root: &str,
    admit: impl Fn(&str, &Entry) -> bool,
    concurrency: usize,
    stats: &ListingStats,
) -> Result<Tree, StorageError> {
    let mut tree = Tree::default();
    let mut pending = vec![String::new()];
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < concurrency {
            let Some(relative) = pending.pop() else { break };
            let storage = Arc::clone(storage);
            let path = join(root, &relative);
            in_flight.push(async move { (relative, storage.list_dir(&path).await) });
        }
        let Some((parent, listed)) = in_flight.next().await else {
            break;
        };
        stats.calls.fetch_add(1, Ordering::Relaxed);
        let listed = listed?;
        stats
            .entries
            .fetch_add(listed.len() as u64, Ordering::Relaxed);
        for entry in listed {
            let relative = join_relative(&parent, &entry.name);
            let ours = is_temp_name(&entry.name);
            if ours && entry.kind != EntryKind::Symlink && !is_lock_name(&entry.name) {
                tree.leftovers.insert(relative, entry);
                continue;
            }
            if ours || !admit(&relative, &entry) {
                tree.partly_listed.insert(parent.clone());
                continue;
            }
            if entry.kind == EntryKind::Dir {
                pending.push(relative.clone());
            }
            tree.entries.insert(relative, entry);
        }
    }
    Ok(tree)
}

/// The tags of the staging folders interrupted atomic applies left beside
/// `root` (see [`hsync_storage::staging_tag`]), sorted: one listing of the
/// root's parent, of which nothing else is kept.
pub async fn staging_leftovers(
    storage: &Arc<dyn Storage>,
    root: &str,
    stats: &ListingStats,
) -> Result<Vec<String>, StorageError> {
    let (parent, _) = hsync_storage::parent_and_name(root);
    let listed = match storage.list_dir(parent).await {
        Ok(listed) => listed,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    stats.calls.fetch_add(1, Ordering::Relaxed);
    stats
        .entries
        .fetch_add(listed.len() as u64, Ordering::Relaxed);
    let mut tags: Vec<String> = listed
        .iter()
        .filter(|entry| entry.kind == EntryKind::Dir)
        .filter_map(|entry| hsync_storage::staging_tag(root, &entry.name))
        .map(str::to_string)
        .collect();
    tags.sort();
    Ok(tags)
}

pub fn join_relative(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hsync_storage::{temp_sibling, LocalStorage};

    #[tokio::test]
    async fn the_walk_notes_folders_it_left_entries_out_of_and_temp_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        std::fs::create_dir_all(dir.path().join("keep/deeper")).unwrap();
        std::fs::create_dir_all(dir.path().join("skipped")).unwrap();
        std::fs::write(dir.path().join("keep/a"), "a").unwrap();
        std::fs::write(dir.path().join("keep/b.tmp"), "b").unwrap();
        std::fs::write(dir.path().join("keep/deeper/c"), "c").unwrap();
        let leftover = temp_sibling(&join(root, "keep/deeper/c"), "abc123");
        std::fs::write(leftover, "c").unwrap();

        let storage: Arc<dyn Storage> = Arc::new(LocalStorage);
        let stats = ListingStats::default();
        let admit =
            |relative: &str, _: &Entry| relative != "skipped" && !relative.ends_with(".tmp");
        let tree = walk(&storage, root, admit, 4, &stats).await.unwrap();

        let listed: Vec<&str> = tree.entries.keys().map(String::as_str).collect();
        assert_eq!(listed, ["keep", "keep/a", "keep/deeper", "keep/deeper/c"]);
        // The root left out `skipped`, keep/ the .tmp, keep/deeper/ a temporary.
        let partly: Vec<&str> = tree.partly_listed.iter().map(String::as_str).collect();
        assert_eq!(partly, ["", "keep"]);
        // A temporary file of an interrupted apply is kept apart, to be removed.
        let leftovers: Vec<&str> = tree.leftovers.keys().map(String::as_str).collect();
        assert_eq!(leftovers, ["keep/deeper/.c.hsync-tmp.abc123"]);
        assert_eq!(stats.calls(), 3);
    }
}
