//! Incremental jobs (`incremental = "snapshot"`): DistCp's
//! `-update -diff s1 s2` (HDFS-7535, HDFS-8828), with hsync owning the
//! snapshot cycle.
//!
//! Each plan reads from a source snapshot, never the live tree: the newest
//! hsync snapshot of the job if nothing changed since it was taken (so
//! planning twice gives the same plan), otherwise a new one. The newest
//! snapshot both sides share is the *base*: with one, the plan replays the
//! source's snapshot diff from it ([`replay`]), once the target is shown
//! unchanged since; without one (the first run, or `--full`) it compares
//! the whole trees. Apply takes the same-named snapshot on the target at
//! the end, which makes it the next base, and prunes old ones.

mod replay;

use std::collections::BTreeMap;
use std::sync::Arc;

use hsync_plan::SnapshotCycle;
use hsync_storage::namenode::{self, snapshot_path};
use hsync_storage::{ErrorKind, HdfsStorage, Storage};

use crate::listing::ListingStats;
use crate::manifest::Job;
use crate::{Basis, PlanError};

/// What an incremental plan reads, and what its actions come from.
pub(crate) struct IncrementalPlan {
    pub cycle: SnapshotCycle,
    pub basis: Basis,
}

pub(crate) async fn plan(
    job: &Job,
    source_fs: &Arc<dyn Storage>,
    target_fs: &Arc<dyn Storage>,
    full: bool,
    stats: &ListingStats,
) -> Result<IncrementalPlan, PlanError> {
    let storage_error = PlanError::storage(&job.name);
    // The manifest admits incremental jobs between HDFS clusters only.
    let source = namenode::hdfs(source_fs.as_ref()).map_err(storage_error)?;
    let target = namenode::hdfs(target_fs.as_ref()).map_err(storage_error)?;
    let dir = &job.sources[0];
    let source_snapshots = snapshots(job, source, dir, "source").await?;
    let target_snapshots = snapshots(job, target, &job.target, "target").await?;
    let shared = source_snapshots
        .iter()
        .rev()
        .find(|(number, _)| target_snapshots.contains_key(number))
        .map(|(_, name)| name.clone());

    // A diff applies only to a target still as the base left it; checked
    // first, so a refused plan takes no snapshot.
    let base = shared.filter(|_| !full);
    if let Some(base) = &base {
        let changes = namenode::snapshot_diff(target, &job.target, base, "")
            .await
            .map_err(storage_error)?;
        if !changes.is_empty() {
            return Err(PlanError::TargetChanged {
                job: job.name.clone(),
                path: job.target.clone(),
                snapshot: base.clone(),
                count: changes.len(),
                changes: changes.iter().take(5).map(|c| format!("\n  {c}")).collect(),
            });
        }
    }
    let name = match source_snapshots.last_key_value() {
        Some((_, newest))
            if namenode::snapshot_diff(source, dir, newest, "")
                .await
                .map_err(storage_error)?
                .is_empty() =>
        {
            newest.clone()
        }
        newest => {
            let number = newest.map_or(1, |(number, _)| number + 1);
            let name = SnapshotCycle::snapshot_name(&job.name, number);
            namenode::create_snapshot(source, dir, &name)
                .await
                .map_err(storage_error)?;
            name
        }
    };
    let snapshot_root = snapshot_path(dir, &name);
    let basis = match &base {
        None => Basis::Compare(vec![snapshot_root]),
        Some(base) => {
            let diff = match base == &name {
                true => Vec::new(),
                false => namenode::snapshot_diff(source, dir, base, &name)
                    .await
                    .map_err(storage_error)?,
            };
            let sides = replay::Sides {
                job,
                source: source_fs,
                target: target_fs,
                snapshot: snapshot_root,
                stats,
            };
            Basis::Replay(replay::replay(&diff, &sides).await?)
        }
    };
    let cycle = SnapshotCycle {
        source_dir: dir.clone(),
        on_target: target_snapshots.values().any(|n| n == &name),
        name,
        base,
    };
    Ok(IncrementalPlan { cycle, basis })
}

/// The job's hsync snapshots of `dir`, by number.
async fn snapshots(
    job: &Job,
    hdfs: &HdfsStorage,
    dir: &str,
    side: &'static str,
) -> Result<BTreeMap<u64, String>, PlanError> {
    let names = match namenode::list_snapshots(hdfs, dir).await {
        Ok(names) => names,
        Err(e) if e.kind == ErrorKind::NotFound => {
            return Err(PlanError::MissingSnapshotRoot {
                job: job.name.clone(),
                side,
                path: dir.to_string(),
            })
        }
        Err(e) if e.to_string().contains("snapshottable") => {
            return Err(PlanError::NotSnapshottable {
                job: job.name.clone(),
                side,
                path: dir.to_string(),
            })
        }
        Err(source) => return Err(PlanError::storage(&job.name)(source)),
    };
    Ok(names
        .into_iter()
        .filter_map(|name| Some((SnapshotCycle::sequence(&job.name, &name)?, name)))
        .collect())
}
