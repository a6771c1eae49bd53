//! What a step checks before it touches anything: the source and target
//! are still as the plan saw them, and no path leads outside its root.

use std::sync::Arc;

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

/// Refuses a path whose folder resolves outside `root`: a folder replaced by
/// a symlink since the plan must not lead a read, write or delete elsewhere.
pub(crate) async fn inside(
    storage: &Arc<dyn Storage>,
    root: &str,
    path: &str,
) -> Result<(), CopyError> {
    if path == root {
        return Ok(());
    }
    let (parent, _) = hsync_storage::parent_and_name(path);
    let (Some(root_real), Some(parent_real)) = (
        storage.real_path(root).await?,
        storage.real_path(parent).await?,
    ) else {
        return Ok(()); // nothing there yet to lead anywhere
    };
    let below = parent_real == root_real
        || parent_real.starts_with(&format!("{}/", root_real.trim_end_matches('/')));
    if below {
        Ok(())
    } else {
        Err(CopyError::Escapes(format!(
            "{path} resolves to {parent_real}, outside {root}; refused (a symlink replaced a folder since the plan?)"
        )))
    }
}
