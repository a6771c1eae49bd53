//! What a step checks before it touches anything: the source and target
//! are still as the plan saw them, and no path leads outside its root.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use hsync_plan::{Commit, CopyAction};
use hsync_storage::Storage;

use crate::steps::JobContext;
use crate::transfer::{vanished, CopyError};

/// The source must not have moved on since the plan (checked after the
/// read, which catches any change before it too).
pub(crate) async fn source_unchanged(
    source: &str,
    copy: &CopyAction,
    context: &JobContext,
) -> Result<(), CopyError> {
    match context.source.stat(source).await? {
        None => Err(vanished(source)),
        Some(now) if (now.size, now.mtime_ms) != (copy.size, copy.mtime_ms) => {
            Err(CopyError::Stale(format!(
                "{source} changed since the plan (size {} → {}, mtime {} → {}); plan again",
                copy.size, now.size, copy.mtime_ms, now.mtime_ms
            )))
        }
        Some(_) => Ok(()),
    }
}

/// The target must still be as the plan saw it: absent, or the file it
/// planned to replace (a staged atomic target is hsync's own).
pub(crate) async fn target_unchanged(
    target: &str,
    copy: &CopyAction,
    plan: &hsync_plan::JobHeader,
    context: &JobContext,
) -> Result<(), CopyError> {
    if plan.options.commit == Commit::Atomic {
        return Ok(());
    }
    let now = context.target.stat(target).await?;
    match (copy.replaces, now) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(CopyError::Stale(format!(
            "{target} appeared since the plan; not replaced, plan again"
        ))),
        (Some(seen), now)
            if now.as_ref().map(|e| (e.size, e.mtime_ms)) == Some((seen.size, seen.mtime_ms)) =>
        {
            Ok(())
        }
        (Some(_), _) => Err(CopyError::Stale(format!(
            "{target} changed since the plan; not replaced, plan again"
        ))),
    }
}

/// Folders of one side of a job already found inside their root, by root
/// (with its real path), so that a run resolves each folder once instead
/// of every component of every file's path. A folder replaced by a symlink
/// after its first file was checked goes unseen for the rest of the run:
/// the check guards against what changed since the plan, before the run.
#[derive(Debug, Default)]
pub(crate) struct Contained {
    roots: Mutex<HashMap<String, (String, HashSet<String>)>>,
}

/// Folders remembered per root at most; past it the set starts over, so a
/// huge tree costs a bounded set (the plan comes folder by folder).
const FOLDERS_KEPT: usize = 4096;

/// What a side knows of a folder before resolving anything.
enum Seen {
    Inside,
    /// Not this folder; the root's real path.
    Root(String),
    Nothing,
}

impl Contained {
    fn seen(&self, root: &str, folder: &str) -> Seen {
        let roots = self.roots.lock().expect("contained folders");
        match roots.get(root) {
            Some((_, folders)) if folders.contains(folder) => Seen::Inside,
            Some((real, _)) => Seen::Root(real.clone()),
            None => Seen::Nothing,
        }
    }

    fn found_inside(&self, root: &str, root_real: &str, folder: &str) {
        let mut roots = self.roots.lock().expect("contained folders");
        let (_, folders) = (roots.entry(root.to_string()))
            .or_insert_with(|| (root_real.to_string(), HashSet::new()));
        if folders.len() >= FOLDERS_KEPT {
            folders.clear();
        }
        folders.insert(folder.to_string());
    }
}

/// Refuses a path whose folder resolves outside `root`: a folder replaced by
/// a symlink since the plan must not lead a read, write or delete elsewhere.
pub(crate) async fn inside(
    storage: &Arc<dyn Storage>,
    root: &str,
    path: &str,
    known: &Contained,
) -> Result<(), CopyError> {
    if path == root {
        return Ok(());
    }
    let (parent, _) = hsync_storage::parent_and_name(path);
    let root_real = match known.seen(root, parent) {
        Seen::Inside => return Ok(()),
        Seen::Root(real) => Some(real),
        Seen::Nothing => storage.real_path(root).await?,
    };
    let (Some(root_real), Some(parent_real)) = (root_real, storage.real_path(parent).await?) else {
        return Ok(()); // nothing there yet to lead anywhere
    };
    let below = parent_real == root_real
        || parent_real.starts_with(&format!("{}/", root_real.trim_end_matches('/')));
    if below {
        known.found_inside(root, &root_real, parent);
        Ok(())
    } else {
        Err(CopyError::Escapes(format!(
            "{path} resolves to {parent_real}, outside {root}; refused (a symlink replaced a folder since the plan?)"
        )))
    }
}
