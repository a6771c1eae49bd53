//! A source snapshot diff replayed as target actions, the way DistCp's
//! `-diff` does (HDFS-7535 for renames and deletes, HDFS-8828 for the
//! copy list built from creates and modifications).
//!
//! A Hadoop 2.7 diff names renamed and deleted paths, and the paths of
//! changes inside renamed directories, in the *base* state, while a
//! rename's destination is in the new state (see `hsync_storage::namenode`).
//! So renames and deletes are done first, in base-state paths (the executor
//! moves them out of the way deepest first, then lands the renames
//! shallowest first), and every created or modified path is mapped through
//! the renames of its ancestors before it is copied from the new snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::stream::{self, StreamExt, TryStreamExt};
use hsync_plan::{
    Action, DeleteAction, Reason, RenameAction, Seen, SetAttributesAction, SourceRef,
};
use hsync_storage::namenode::{DiffEntry, DiffKind};
use hsync_storage::{join, Entry, EntryKind, Storage, StorageError};

use crate::diff::{self, SourceSide};
use crate::listing::{self, join_relative, ListingStats, Tree};
use crate::manifest::Job;
use crate::{PlanError, Planned, LISTING_CONCURRENCY};

/// Where a replay reads from.
pub(super) struct Sides<'a> {
    pub job: &'a Job,
    pub source: &'a Arc<dyn Storage>,
    pub target: &'a Arc<dyn Storage>,
    /// The new snapshot's path, which every copy reads.
    pub snapshot: String,
    pub stats: &'a ListingStats,
}

/// What a diff asks of the target, in its own terms, before anything is
/// looked at.
#[derive(Debug, Default, PartialEq, Eq)]
struct Changes {
    /// Base-state path → new-state path.
    renames: Vec<(String, String)>,
    /// Base-state paths to delete with everything below them.
    deletes: Vec<String>,
    /// New-state paths to copy whole (a directory with its contents).
    created: BTreeSet<String>,
    /// (new-state, base-state) paths of files to copy again and folders to
    /// set attributes on.
    modified: Vec<(String, String)>,
}

/// Sorts a diff into [`Changes`], keeping only what `admits` (the job's
/// filter, on whole paths) lets through. A rename across the filter's edge
/// becomes a delete (moved out of scope) or a create (moved into it).
fn classify(diff: &[DiffEntry], admits: impl Fn(&str) -> bool) -> Changes {
    let moves = Renames::new(diff);
    let mut changes = Changes::default();
    for entry in diff {
        let path = &entry.source;
        match (entry.kind, &entry.target) {
            (DiffKind::Rename, Some(to)) => match (admits(path), admits(to)) {
                (true, true) => changes.renames.push((path.clone(), to.clone())),
                (true, false) => changes.deletes.push(path.clone()),
                (false, true) => {
                    changes.created.insert(to.clone());
                }
                (false, false) => {}
            },
            (DiffKind::Delete, _) if admits(path) => changes.deletes.push(path.clone()),
            (DiffKind::Create, _) => {
                let now = moves.apply(path);
                if admits(&now) {
                    changes.created.insert(now);
                }
            }
            // The root's own `M` only says its children changed.
            (DiffKind::Modify, _) if !path.is_empty() => {
                let now = moves.apply(path);
                if admits(&now) {
                    changes.modified.push((now, path.clone()));
                }
            }
            _ => {}
        }
    }
    // A created folder is copied whole, except what renames bring into it:
    // nothing else below it needs its own entry.
    let created = changes.created.clone();
    let landing: BTreeSet<&str> = changes.renames.iter().map(|(_, to)| to.as_str()).collect();
    let covered = |path: &str| {
        let arrives_by_rename = std::iter::once(path)
            .chain(ancestors(path))
            .any(|a| landing.contains(a));
        ancestors(path).any(|a| created.contains(a)) && !arrives_by_rename
    };
    changes.created.retain(|path| !covered(path));
    changes.modified.retain(|(now, _)| !covered(now));
    changes
}

/// The renames of a diff, to map base-state paths to new-state ones.
struct Renames(BTreeMap<String, String>);

impl Renames {
    fn new(diff: &[DiffEntry]) -> Renames {
        Renames(
            diff.iter()
                .filter(|e| e.kind == DiffKind::Rename)
                .filter_map(|e| Some((e.source.clone(), e.target.clone()?)))
                .collect(),
        )
    }

    /// The path's new-state name: the rename of its nearest renamed
    /// ancestor (or of itself) applied. The destination of a rename is
    /// already in the new state, so one mapping is the whole answer.
    fn apply(&self, path: &str) -> String {
        let renamed = std::iter::once(path)
            .chain(ancestors(path))
            .find_map(|a| Some((a, self.0.get(a)?)));
        match renamed {
            Some((from, to)) => format!("{to}{}", &path[from.len()..]),
            None => path.to_string(),
        }
    }
}

/// `a/b/c` → `a/b`, `a` (nearest first).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.rmatch_indices('/').map(move |(i, _)| &path[..i])
}

/// Whether the filter takes a path and every folder above it.
fn admitted(job: &Job, path: &str) -> bool {
    std::iter::once(path)
        .chain(ancestors(path))
        .all(|p| job.filter.admits(p))
}

/// Turns a diff into the actions of a plan; looks at no more than the
/// changed paths (a stat each, a listing per created folder).
pub(super) async fn replay(diff: &[DiffEntry], sides: &Sides<'_>) -> Result<Planned, PlanError> {
    let job = sides.job;
    let changes = classify(diff, |path| admitted(job, path));
    let storage_error = PlanError::storage(&job.name);
    let mut planned = Planned::default();

    // Renames and deletes, as the target has them now.
    let moved_from = changes.renames.iter().map(|(from, _)| from);
    let seen = stat_all(
        sides.target,
        &job.target,
        moved_from.chain(&changes.deletes),
    )
    .await
    .map_err(storage_error)?;
    let mut landed = BTreeSet::new();
    let mut created = changes.created;
    for (from, to) in &changes.renames {
        match &seen[from] {
            Some(entry) => {
                planned.actions.push(Action::Rename(RenameAction {
                    from: from.clone(),
                    to: to.clone(),
                    entry: entry.kind,
                    seen: seen_of(entry),
                }));
                landed.insert(to.clone());
            }
            // Not on the target (left out by an earlier filter): copied instead.
            None => {
                created.insert(to.clone());
            }
        }
    }
    for path in &changes.deletes {
        if let Some(entry) = &seen[path] {
            planned.actions.push(Action::Delete(DeleteAction {
                path: path.clone(),
                entry: entry.kind,
                seen: seen_of(entry),
                leftover: false,
                recursive: true,
            }));
        }
    }

    // Created paths, copied whole; what renames bring into a created folder
    // is not copied again (the seed's case 4).
    let created_entries = stat_all(sides.source, &sides.snapshot, &created)
        .await
        .map_err(storage_error)?;
    for (path, entry) in &created_entries {
        let Some(entry) = entry else { continue };
        let tree = match entry.kind {
            EntryKind::Dir => {
                let admit = |relative: &str, _: &Entry| {
                    let path = join_relative(path, relative);
                    job.filter.admits(&path) && !landed.contains(&path)
                };
                let root = join(&sides.snapshot, path);
                let policy = (listing::Side::Source, job.options.symlinks);
                listing::walk(
                    sides.source,
                    &root,
                    admit,
                    policy,
                    LISTING_CONCURRENCY,
                    sides.stats,
                )
                .await
                .map_err(storage_error)?
            }
            _ => Tree::default(),
        };
        let root = join(&sides.snapshot, path);
        let side = SourceSide {
            root: &root,
            root_entry: entry,
            tree: &tree,
        };
        let wanted = diff::wanted(&[side], hsync_plan::Layout::Nested, &job.filter)?;
        let decided = diff::decide(&wanted, &Tree::default(), &job.options, &job.filter)?;
        // `wanted` puts the entry under its own name; it belongs in `parent`.
        let (parent, _) = hsync_storage::parent_and_name(path);
        let below = |relative: &str| match relative {
            "" => path.clone(),
            relative => join_relative(path, relative),
        };
        for mut action in decided.actions {
            match &mut action {
                Action::Mkdir(mkdir) => mkdir.path = join_relative(parent, &mkdir.path),
                Action::Copy(copy) => {
                    copy.path = join_relative(parent, &copy.path);
                    copy.source.path = below(&copy.source.path);
                    copy.reason = Reason::Created;
                }
                _ => unreachable!("a plan into an empty target only creates"),
            }
            planned.actions.push(action);
        }
    }

    // Modified files are copied again from the snapshot; modified folders
    // get their attributes, when the job preserves any.
    let now: Vec<&String> = changes.modified.iter().map(|(now, _)| now).collect();
    let before: Vec<&String> = changes.modified.iter().map(|(_, before)| before).collect();
    let (sources, targets) = futures::try_join!(
        stat_all(sides.source, &sides.snapshot, now.iter().copied()),
        stat_all(sides.target, &job.target, before.iter().copied()),
    )
    .map_err(storage_error)?;
    for (now, before) in &changes.modified {
        let Some(entry) = &sources[now] else { continue };
        match entry.kind {
            EntryKind::Dir if !job.options.preserve.is_empty() => {
                planned
                    .actions
                    .push(Action::SetAttributes(SetAttributesAction {
                        path: now.clone(),
                        entry: EntryKind::Dir,
                        attributes: diff::preserved(entry, &job.options.preserve),
                    }));
            }
            EntryKind::File => {
                let source = SourceRef {
                    root: 0,
                    path: now.clone(),
                };
                let existing = targets[before].as_ref();
                let copy = diff::copy_of(now, source, entry, existing, &job.options)?;
                planned.actions.push(Action::Copy(hsync_plan::CopyAction {
                    reason: Reason::Modified,
                    ..copy
                }));
            }
            _ => {}
        }
    }
    Ok(planned)
}

fn seen_of(entry: &Entry) -> Seen {
    Seen {
        size: entry.size,
        mtime_ms: entry.mtime_ms,
    }
}

/// The status of each path below `root` (`None` where there is none),
/// many at a time.
async fn stat_all<'p>(
    storage: &Arc<dyn Storage>,
    root: &str,
    paths: impl IntoIterator<Item = &'p String>,
) -> Result<BTreeMap<String, Option<Entry>>, StorageError> {
    stream::iter(paths)
        .map(|path| async move {
            let entry = storage.stat(&join(root, path)).await?;
            Ok((path.clone(), entry))
        })
        .buffer_unordered(LISTING_CONCURRENCY)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests;
