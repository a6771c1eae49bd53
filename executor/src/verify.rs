//! The journal never lies: before a run trusts what an earlier run of the
//! same plan journaled (folders made, files copied or committing), it
//! checks each against the target, with one listing per directory (all of
//! them concurrently, never a call per file). What is missing is done again,
//! with the attributes of its folders.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::stream::{self, StreamExt, TryStreamExt};
use hsync_plan::{Action, Commit, Plan};
use hsync_storage::{join, parent_and_name, temp_sibling, Entry, EntryKind, Storage, StorageError};

use crate::dag::Step;
use crate::journal::Recovered;
use crate::report::JournalCheck;
use crate::run::JobContext;

/// Listings in flight at once.
const LISTING_CONCURRENCY: usize = 32;

/// A directory's entries by name; `None` when it does not exist.
type Listing = Option<HashMap<String, Entry>>;

/// What the check found.
pub(crate) struct Checked {
    /// `None` when the journal claims nothing.
    pub check: Option<JournalCheck>,
    /// Copies found renamed into place after their `committing` mark, whose
    /// `done` mark was lost: to be journaled now.
    pub renamed: Vec<String>,
}

/// Checks every journaled claim of `recovered` against the target of its
/// job and drops those the target does not bear out. An atomic job the
/// journal says was published whose target is gone starts over in its
/// staging folder.
pub(crate) async fn check(
    plan: &Plan,
    jobs: &mut [JobContext],
    recovered: &mut Recovered,
    tag: &str,
) -> Result<Checked, StorageError> {
    let mut renamed = Vec::new();
    let mut check = JournalCheck {
        finished_ms: recovered.finished_ms,
        finished_at: recovered
            .finished_ms
            .map(|ms| hsync_storage::lock::utc(ms.into())),
        ..JournalCheck::default()
    };
    let mut any = false;
    for (job, (job_plan, context)) in plan.jobs.iter().zip(jobs.iter_mut()).enumerate() {
        // What the journal says exists, and the folders to list for it.
        let claimed: Vec<(&Action, Step)> = job_plan
            .actions
            .iter()
            .enumerate()
            .filter_map(|(action, a)| match a {
                Action::Mkdir(_) => Some((a, Step::Mkdir { job, action })),
                Action::Copy(_) => Some((a, Step::Copy { job, action })),
                _ => None,
            })
            .filter(|(_, step)| {
                let key = step.key();
                recovered.done.contains(&key) || recovered.committing.contains(&key)
            })
            .collect();
        let publish = Step::Publish { job }.key();
        let mut published = recovered.done.contains(&publish);
        if claimed.is_empty() && !published {
            continue;
        }
        let staging = temp_sibling(&job_plan.target_root, tag);
        if job_plan.options.commit == Commit::Atomic && !published {
            // A resumed atomic target present without its staging folder
            // was published by a run that died before journaling it (the
            // plan saw no target, so nothing else can have put it there).
            let target = &context.target;
            if target.stat(&staging).await?.is_none()
                && target.stat(&job_plan.target_root).await?.is_some()
            {
                recovered.done.insert(publish.clone());
                context.root = job_plan.target_root.clone();
                published = true;
            }
        }
        any = true;
        let folders: BTreeSet<&str> = claimed
            .iter()
            .map(|(action, _)| parent_and_name(action.path()).0)
            .chain(published.then_some(""))
            .collect();
        let root = context.root.clone();
        let listings: HashMap<&str, Listing> = stream::iter(folders)
            .map(|folder| list(&context.target, join(&root, folder), folder))
            .buffer_unordered(LISTING_CONCURRENCY)
            .try_collect()
            .await?;
        check.listings += listings.len() as u64;

        if published && listings.get("").is_some_and(Option::is_none) {
            // The published target is gone: the job starts over, staged.
            let prefix = format!("{job}/");
            recovered.done.retain(|key| !key.starts_with(&prefix));
            recovered.committing.retain(|key| !key.starts_with(&prefix));
            check.checked += claimed.len() as u64;
            check.missing += claimed.len() as u64;
            context.root = staging;
            continue;
        }

        let mut missing: Vec<&str> = Vec::new();
        for (action, step) in &claimed {
            check.checked += 1;
            let (folder, name) = parent_and_name(action.path());
            let listing = listings.get(folder).and_then(Option::as_ref);
            let entry = |name: &str| listing.and_then(|l| l.get(name));
            let key = step.key();
            let present = match action {
                Action::Mkdir(_) => entry(name).is_some_and(|e| e.kind == EntryKind::Dir),
                Action::Copy(copy) => {
                    let whole = |e: Option<&Entry>| {
                        e.is_some_and(|e| e.kind == EntryKind::File && e.size == copy.size)
                    };
                    let temp = temp_sibling(action.path(), tag);
                    let temp = parent_and_name(&temp).1;
                    if recovered.committing.contains(&key) && !whole(entry(temp)) {
                        // Not waiting under its temporary name: renamed
                        // already, or to be copied again.
                        recovered.committing.remove(&key);
                        if whole(entry(name)) {
                            recovered.done.insert(key.clone());
                            renamed.push(key.clone());
                        }
                    }
                    recovered.committing.contains(&key) || whole(entry(name))
                }
                _ => unreachable!("only folders and copies are claimed"),
            };
            if !present {
                recovered.done.remove(&key);
                recovered.committing.remove(&key);
                missing.push(action.path());
                check.missing += 1;
            }
        }
        // Redone paths need their own attributes again, and so does every
        // folder above them (its times change with its contents).
        let attribute_steps: HashMap<&str, String> = job_plan
            .actions
            .iter()
            .enumerate()
            .filter_map(|(action, a)| match a {
                Action::Mkdir(_) | Action::SetAttributes(_) => {
                    Some((a.path(), Step::DirAttributes { job, action }.key()))
                }
                Action::Copy(_) => Some((a.path(), Step::FileAttributes { job, action }.key())),
                _ => None,
            })
            .collect();
        for path in missing {
            let mut at = path;
            loop {
                if let Some(key) = attribute_steps.get(at) {
                    recovered.done.remove(key);
                }
                let (parent, _) = parent_and_name(at);
                if parent.is_empty() {
                    break;
                }
                at = parent;
            }
        }
    }
    Ok(Checked {
        check: any.then_some(check),
        renamed,
    })
}

/// One listing of `path`, keyed by `folder` (relative to the root).
async fn list<'a>(
    storage: &Arc<dyn Storage>,
    path: String,
    folder: &'a str,
) -> Result<(&'a str, Listing), StorageError> {
    match storage.list_dir(&path).await {
        Ok(entries) => Ok((
            folder,
            Some(entries.into_iter().map(|e| (e.name.clone(), e)).collect()),
        )),
        Err(e) if e.is_not_found() => Ok((folder, None)),
        Err(e) => Err(e),
    }
}
