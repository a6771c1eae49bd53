//! Incremental jobs on the target: renames and subtree deletes replayed
//! from a snapshot diff, and the snapshot cycle's checks and last step.
//!
//! Renames run in two passes, as DistCp's `-diff` does: every renamed
//! path is first moved into a staging folder (and every deleted subtree
//! removed), deepest first, so no move pulls a path from under another;
//! then the staged paths land at their new names, shallowest first, so a
//! folder is in place before what goes into it. Chains (a→b, b→c) and
//! swaps (a↔b) need nothing more. Each move is journaled, and each is
//! recognised as done when its source is gone and its destination there,
//! so a killed run resumes without moving anything twice.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::future::Future;

use futures::stream::{self, StreamExt, TryStreamExt};
use hsync_plan::{Action, RenameAction, SnapshotCycle};
use hsync_storage::namenode::{self, snapshot_path};
use hsync_storage::{join, parent_and_name, EntryKind, ErrorKind, StorageError};

use crate::journal::{Journal, Mark, Recovered};
use crate::report::{Event, Moves as Counts, Observer, Outcome};
use crate::step::Step;
use crate::steps::JobContext;
use crate::transfer::CopyError;

/// One job's moves.
pub(crate) struct Moves<'a> {
    pub job: usize,
    /// The step doing them, whose part keys the journal records.
    pub step: Step,
    /// The job's renames and subtree deletes, by action ordinal.
    pub actions: &'a [(u64, Action)],
    pub context: &'a JobContext,
    /// Where renamed paths wait between the two passes: inside the target
    /// root, as a rename cannot leave its snapshottable directory.
    pub stage: String,
    pub journal: &'a Journal,
    pub recovered: &'a Recovered,
    pub observer: &'a dyn Observer,
    pub concurrency: usize,
}

impl Moves<'_> {
    /// First pass: renamed paths into the staging folder, deleted subtrees
    /// removed; deepest first, each depth concurrently.
    pub async fn aside(&self) -> Result<Counts, CopyError> {
        let mut levels: BTreeMap<Reverse<usize>, Vec<(u64, &Action)>> = BTreeMap::new();
        for (index, action) in self.actions {
            let path = match action {
                Action::Rename(rename) => &rename.from,
                other => other.path(),
            };
            levels
                .entry(Reverse(depth(path)))
                .or_default()
                .push((*index, action));
        }
        let renames = self
            .actions
            .iter()
            .any(|(_, a)| matches!(a, Action::Rename(_)));
        if renames {
            self.context.target.create_dir(&self.stage).await?;
        }
        self.by_level(levels, |index, action| self.move_aside(index, action))
            .await
    }

    /// Second pass: staged paths to their new names, shallowest first.
    pub async fn land(&self) -> Result<Counts, CopyError> {
        let mut levels: BTreeMap<usize, Vec<(u64, &RenameAction)>> = BTreeMap::new();
        for (index, action) in self.actions {
            if let Action::Rename(rename) = action {
                levels
                    .entry(depth(&rename.to))
                    .or_default()
                    .push((*index, rename));
            }
        }
        let counts = self
            .by_level(levels, |index, rename| self.land_one(index, rename))
            .await?;
        let target = &self.context.target;
        if target.stat(&self.stage).await?.is_some() {
            target.remove_dir(&self.stage).await?;
        }
        Ok(counts)
    }

    /// Runs the parts level by level, each level's concurrently; a part an
    /// earlier run journaled is skipped, a finished one journaled.
    async fn by_level<K, T, F>(
        &self,
        levels: BTreeMap<K, Vec<(u64, T)>>,
        work: impl Fn(u64, T) -> F,
    ) -> Result<Counts, CopyError>
    where
        F: Future<Output = Result<Counts, CopyError>>,
    {
        let mut total = Counts::default();
        for level in levels.into_values() {
            let parts = level.into_iter().map(|(index, item)| {
                let key = self.step.part_key(self.job, index);
                let done = self.recovered.part_done(self.job, self.step, index);
                let work = (!done).then(|| work(index, item));
                async move {
                    let Some(work) = work else {
                        return Ok(Counts::default());
                    };
                    let counts = work.await?;
                    self.journal
                        .record(&key, Mark::Done)
                        .await
                        .map_err(CopyError::Journal)?;
                    Ok::<_, CopyError>(counts)
                }
            });
            let done: Vec<Counts> = stream::iter(parts)
                .buffer_unordered(self.concurrency)
                .try_collect()
                .await?;
            for counts in done {
                total.renamed += counts.renamed;
                total.files_deleted += counts.files_deleted;
                total.dirs_deleted += counts.dirs_deleted;
            }
        }
        Ok(total)
    }

    async fn move_aside(&self, index: u64, action: &Action) -> Result<Counts, CopyError> {
        let (path, kind, seen) = match action {
            Action::Rename(r) => (&r.from, r.entry, r.seen),
            Action::Delete(d) => (&d.path, d.entry, d.seen),
            _ => unreachable!("only renames and subtree deletes are moves"),
        };
        let at = join(&self.context.root, path);
        let now = self.context.target.stat(&at).await?;
        let unchanged = now.as_ref().map(|now| {
            now.kind == kind
                && (kind == EntryKind::Dir
                    || (now.size, now.mtime_ms) == (seen.size, seen.mtime_ms))
        });
        let staged = join(&self.stage, &index.to_string());
        match (action, unchanged) {
            (_, Some(false)) => Err(CopyError::Stale(format!(
                "{at} changed since the plan; not moved, plan again"
            ))),
            (Action::Rename(_), Some(true)) => {
                self.context.target.rename(&at, &staged).await?;
                Ok(Counts::default())
            }
            // Moved aside by a run that died before journaling it.
            (Action::Rename(_), None) if self.context.target.stat(&staged).await?.is_some() => {
                Ok(Counts::default())
            }
            (Action::Rename(_), None) => Err(CopyError::Stale(format!(
                "{at} no longer exists; not renamed, plan again"
            ))),
            (_, Some(true)) => {
                self.context.target.remove_tree(&at).await?;
                self.finished(&at, Outcome::Deleted);
                let dir = kind == EntryKind::Dir;
                Ok(Counts {
                    files_deleted: u64::from(!dir),
                    dirs_deleted: u64::from(dir),
                    ..Counts::default()
                })
            }
            // Already gone: deleted by a run that died before journaling it.
            (_, None) => Ok(Counts::default()),
        }
    }

    async fn land_one(&self, index: u64, rename: &RenameAction) -> Result<Counts, CopyError> {
        let staged = join(&self.stage, &index.to_string());
        let to = join(&self.context.root, &rename.to);
        let (waiting, there) = futures::try_join!(
            self.context.target.stat(&staged),
            self.context.target.stat(&to)
        )?;
        match (waiting, there) {
            (Some(_), Some(_)) => {
                return Err(CopyError::Stale(format!(
                    "{to} appeared since the plan; {} waits in {staged}, plan again",
                    rename.from
                )))
            }
            (Some(_), None) => {
                // Its folder may be one the source created since the base.
                self.context
                    .target
                    .create_dir(parent_and_name(&to).0)
                    .await?;
                self.context.target.rename(&staged, &to).await?;
            }
            // Landed by a run that died before journaling it.
            (None, Some(_)) => {}
            (None, None) => {
                return Err(CopyError::Storage(StorageError::new(
                    "rename",
                    &staged,
                    ErrorKind::NotFound,
                    format!("{} was moved aside but is no longer there", rename.from),
                )))
            }
        }
        self.finished(
            &to,
            Outcome::Renamed {
                from: join(&self.context.root, &rename.from),
            },
        );
        Ok(Counts {
            renamed: 1,
            ..Counts::default()
        })
    }

    fn finished(&self, path: &str, outcome: Outcome) {
        self.observer.event(&Event::Finished {
            path: path.to_string(),
            outcome,
        });
    }
}

fn depth(path: &str) -> usize {
    path.split('/').count()
}

/// Before an incremental job starts: its source snapshot is still there,
/// and (for a diff plan not yet begun) the target is still as the base
/// snapshot left it, so the diff applies.
pub(crate) async fn check_cycle(context: &JobContext, resumed: bool) -> Result<(), CopyError> {
    let plan = &context.plan;
    let Some(cycle) = &plan.snapshot else {
        return Ok(());
    };
    let snapshot = snapshot_path(&cycle.source_dir, &cycle.name);
    if context.source.stat(&snapshot).await?.is_none() {
        return Err(CopyError::Stale(format!(
            "the source snapshot {snapshot} no longer exists (pruned after a later plan was applied?); plan again"
        )));
    }
    if let (Some(base), false) = (&cycle.base, resumed) {
        let target = namenode::hdfs(context.target.as_ref())?;
        let changes = namenode::snapshot_diff(target, &plan.target_root, base, "").await?;
        if let Some(first) = changes.first() {
            return Err(CopyError::Stale(format!(
                "{} changed since snapshot {base} ({} changes, the first: {first}); nothing done, plan again (hsync plan --full resyncs)",
                plan.target_root,
                changes.len(),
            )));
        }
    }
    Ok(())
}

/// The last step of an incremental job: the target gets the source
/// snapshot's name, which makes it the next plan's base; then each side
/// keeps the newest `keep_snapshots` synced hsync snapshots of the job (and
/// any newer source snapshot a later plan took).
pub(crate) async fn take_snapshot(context: &JobContext) -> Result<String, CopyError> {
    let plan = &context.plan;
    let cycle = plan
        .snapshot
        .as_ref()
        .expect("only incremental jobs have a snapshot step");
    let keep = plan.options.incremental.map_or(1, |i| i.keep_snapshots);
    let source = namenode::hdfs(context.source.as_ref())?;
    let target = namenode::hdfs(context.target.as_ref())?;
    let number = |name: &str| SnapshotCycle::sequence(&plan.name, name);
    let current = number(&cycle.name).unwrap_or(u64::MAX);

    let on_target = namenode::list_snapshots(target, &plan.target_root).await?;
    if !on_target.contains(&cycle.name) {
        namenode::create_snapshot(target, &plan.target_root, &cycle.name).await?;
    }
    let mut synced: Vec<u64> = on_target
        .iter()
        .filter_map(|name| number(name))
        .chain([current])
        .filter(|n| *n <= current)
        .collect();
    synced.sort_unstable_by(|a, b| b.cmp(a));
    synced.dedup();
    synced.truncate(keep.max(1));

    let pruned = |names: Vec<String>| {
        names
            .into_iter()
            .filter(|name| number(name).is_some_and(|n| n <= current && !synced.contains(&n)))
            .collect::<Vec<_>>()
    };
    for name in pruned(on_target) {
        namenode::delete_snapshot(target, &plan.target_root, &name).await?;
    }
    let on_source = namenode::list_snapshots(source, &cycle.source_dir).await?;
    for name in pruned(on_source) {
        namenode::delete_snapshot(source, &cycle.source_dir, &name).await?;
    }
    Ok(cycle.name.clone())
}
