//! The listing layer: one listing call per directory, run concurrently with
//! a bound, cached as a flat tree of statuses the diff reads from. Single
//! files are never stat'ed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use hsync_storage::{is_temp_name, join, Entry, EntryKind, Storage, StorageError};

/// Every entry below one root, keyed by its path relative to that root.
#[derive(Debug, Default)]
pub struct Tree {
    pub entries: BTreeMap<String, Entry>,
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
/// are never part of a tree.
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
            if is_temp_name(&entry.name) {
                continue;
            }
            let relative = join_relative(&parent, &entry.name);
            if !admit(&relative, &entry) {
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

pub fn join_relative(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}
