//! The hsync planner: reads a manifest, lists both sides of every job
//! once per directory, and decides the actions of a [`Plan`].
//!
//! The modules follow the flow: [`manifest`] (what the team declared) →
//! [`filter`] (which paths a job takes) → [`listing`] (what each side
//! holds) → [`diff`] (what to do about it).

mod diff;
pub mod filter;
mod listing;
pub mod manifest;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::stream::{self, StreamExt, TryStreamExt};
use hsync_plan::{
    Action, Compared, CopyAction, Fallback, FallbackReason, JobPlan, Listed, ManifestRef, Plan,
    FORMAT_VERSION,
};
use hsync_storage::{join, Connections, Entry, EntryKind, Storage, StorageError};

use listing::ListingStats;
use manifest::{Job, Manifest};

/// Listings in flight per side of a job.
const LISTING_CONCURRENCY: usize = 32;

/// Why planning stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    #[error("two sources map to the same target path `{target}`: {first} and {second}")]
    #[diagnostic(
        code(hsync::plan::collision),
        help(
            "DistCp aborts here too: rename one source, split the job, or use layout = \"nested\""
        )
    )]
    Collision {
        target: String,
        first: String,
        second: String,
    },
    #[error(
        "`{path}` is a {} in the source but a {} in the target",
        kind_name(*.source_kind),
        kind_name(*.target_kind)
    )]
    #[diagnostic(
        code(hsync::plan::type_conflict),
        help("remove or rename the target entry, then plan again")
    )]
    TypeConflict {
        path: String,
        source_kind: EntryKind,
        target_kind: EntryKind,
    },
    #[error("job `{job}`: the source {path} does not exist")]
    #[diagnostic(code(hsync::plan::missing_source))]
    MissingSource { job: String, path: String },
    #[error("job `{job}`: the target {path} exists and is not a directory")]
    #[diagnostic(code(hsync::plan::target_not_dir))]
    TargetNotDir { job: String, path: String },
    #[error("job `{job}`: commit = \"atomic\" publishes a new target, but {path} already exists")]
    #[diagnostic(
        code(hsync::plan::atomic_target_exists),
        help(
            "remove the target first, or use commit = \"file\" with mode = \"update\" to sync it"
        )
    )]
    AtomicTargetExists { job: String, path: String },
    #[error("job `{job}`: {source}")]
    #[diagnostic(code(hsync::plan::storage))]
    Storage { job: String, source: StorageError },
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "file",
        EntryKind::Dir => "directory",
        EntryKind::Symlink => "symbolic link",
    }
}

/// Plans every job of a manifest.
pub async fn plan(manifest: &Manifest, connections: &Connections) -> Result<Plan, PlanError> {
    let mut jobs = Vec::with_capacity(manifest.jobs.len());
    for job in &manifest.jobs {
        jobs.push(plan_job(job, connections).await?);
    }
    let plan = Plan {
        format_version: FORMAT_VERSION,
        manifest: ManifestRef {
            path: manifest.path.display().to_string(),
            digest: manifest.digest.clone(),
        },
        jobs,
        fingerprint: String::new(),
    }
    .seal();
    Ok(plan)
}

async fn plan_job(job: &Job, connections: &Connections) -> Result<JobPlan, PlanError> {
    let stats = &ListingStats::default();
    let storage_error = |source| PlanError::Storage {
        job: job.name.clone(),
        source,
    };
    let source_fs = connections.get(&job.source_fs).map_err(storage_error)?;
    let target_fs = connections.get(&job.target_fs).map_err(storage_error)?;

    // The roots are the only paths stat'ed; everything below is listed.
    let mut roots = Vec::with_capacity(job.sources.len());
    for root in &job.sources {
        let entry = source_fs.stat(root).await.map_err(storage_error)?;
        let entry = entry.ok_or_else(|| PlanError::MissingSource {
            job: job.name.clone(),
            path: root.clone(),
        })?;
        let tree = match entry.kind {
            EntryKind::Dir => {
                let admit = |relative: &str, _: &Entry| job.filter.admits(relative);
                listing::walk(&source_fs, root, admit, LISTING_CONCURRENCY, stats)
                    .await
                    .map_err(storage_error)?
            }
            _ => listing::Tree::default(),
        };
        roots.push((entry, tree));
    }
    let sides: Vec<diff::SourceSide> = job
        .sources
        .iter()
        .zip(&roots)
        .map(|(root, (root_entry, tree))| diff::SourceSide {
            root,
            root_entry,
            tree,
        })
        .collect();
    let wanted = diff::wanted(&sides, job.options.layout, &job.filter)?;

    let target_tree = match target_fs.stat(&job.target).await.map_err(storage_error)? {
        None => listing::Tree::default(),
        Some(entry) if entry.kind != EntryKind::Dir => {
            return Err(PlanError::TargetNotDir {
                job: job.name.clone(),
                path: job.target.clone(),
            })
        }
        Some(_) if job.options.commit == hsync_plan::Commit::Atomic => {
            return Err(PlanError::AtomicTargetExists {
                job: job.name.clone(),
                path: job.target.clone(),
            })
        }
        Some(_) => {
            // Only what the sources want is listed, unless deletes need the rest.
            let admit = |relative: &str, _: &Entry| {
                wanted.contains_key(relative)
                    || (job.options.delete
                        && diff::in_scope(relative, job.options.layout, &job.filter))
            };
            listing::walk(&target_fs, &job.target, admit, LISTING_CONCURRENCY, stats)
                .await
                .map_err(storage_error)?
        }
    };

    let mut decided = diff::decide(&wanted, &target_tree, &job.options, &job.filter)?;
    let candidates = std::mem::take(&mut decided.to_checksum);
    let comparisons = compare_contents(job, candidates, &source_fs, &target_fs)
        .await
        .map_err(storage_error)?;
    let compared = tally(&comparisons);
    for (copy, differs, _) in comparisons {
        decided.settle(copy, differs);
    }
    // Deterministic order: everything by path, deletes after the rest.
    decided.actions.sort_by(|a, b| {
        let is_delete = |a: &Action| matches!(a, Action::Delete(_));
        (is_delete(a), a.path()).cmp(&(is_delete(b), b.path()))
    });
    Ok(JobPlan {
        name: job.name.clone(),
        source_fs: job.source_fs.clone(),
        source_roots: job.sources.clone(),
        target_fs: job.target_fs.clone(),
        target_root: job.target.clone(),
        options: job.options.clone(),
        actions: decided.actions,
        unchanged: decided.unchanged,
        listed: Listed {
            directories: stats.calls(),
            entries: stats.entries(),
        },
        compared,
    })
}

/// One candidate compared: whether the contents differ, and why both sides
/// were read if they were (`None`: the native checksums decided).
type Comparison = (CopyAction, bool, Option<FallbackKey>);

/// What a [`Fallback`] groups by: the reason and the two algorithms.
type FallbackKey = (FallbackReason, Option<String>, Option<String>);

/// Compares same-size files, `parallel` pairs at a time: by the
/// filesystems' own checksums when both sides have one of the same
/// algorithm (for HDFS, the same block size and CRC settings), which reads
/// no data; otherwise by a blake3 of both sides, read concurrently.
async fn compare_contents(
    job: &Job,
    candidates: Vec<CopyAction>,
    source_fs: &Arc<dyn Storage>,
    target_fs: &Arc<dyn Storage>,
) -> Result<Vec<Comparison>, StorageError> {
    stream::iter(candidates)
        .map(|copy| async move {
            let source = join(&job.sources[copy.source.root], &copy.source.path);
            let target = join(&job.target, &copy.path);
            let checksums = futures::try_join!(
                source_fs.file_checksum(&source),
                target_fs.file_checksum(&target)
            )?;
            let fallback = match checksums {
                (Some(a), Some(b)) if a.algorithm == b.algorithm => {
                    return Ok((copy, a.bytes != b.bytes, None));
                }
                (None, _) => (FallbackReason::NoSourceChecksum, None, None),
                (_, None) => (FallbackReason::NoTargetChecksum, None, None),
                (Some(a), Some(b)) => (
                    FallbackReason::AlgorithmsDiffer,
                    Some(a.algorithm),
                    Some(b.algorithm),
                ),
            };
            let (a, b) =
                futures::try_join!(digest(source_fs, &source), digest(target_fs, &target))?;
            Ok((copy, a != b, Some(fallback)))
        })
        .buffered(job.options.parallel)
        .try_collect()
        .await
}

/// Counts the comparisons for the plan: fallbacks grouped and sorted by
/// reason and algorithms, each with its first path.
fn tally(comparisons: &[Comparison]) -> Compared {
    let mut compared = Compared::default();
    let mut fallbacks: BTreeMap<&FallbackKey, (u64, &str)> = BTreeMap::new();
    for (copy, _, fallback) in comparisons {
        let Some(key) = fallback else {
            compared.native += 1;
            continue;
        };
        compared.read += 1;
        let (files, example) = fallbacks.entry(key).or_insert((0, &copy.path));
        *files += 1;
        *example = (*example).min(&copy.path);
    }
    compared.fallbacks = fallbacks
        .into_iter()
        .map(|((reason, source, target), (files, example))| Fallback {
            reason: *reason,
            source_algorithm: source.clone(),
            target_algorithm: target.clone(),
            files,
            example: example.to_string(),
        })
        .collect();
    compared
}

async fn digest(storage: &Arc<dyn Storage>, path: &str) -> Result<blake3::Hash, StorageError> {
    let mut reader = storage.open(path).await?;
    let mut hasher = blake3::Hasher::new();
    loop {
        let chunk = reader.read(1 << 20).await?;
        if chunk.is_empty() {
            return Ok(hasher.finalize());
        }
        hasher.update(&chunk);
    }
}
