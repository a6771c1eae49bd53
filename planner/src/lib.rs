//! The hsync planner: reads a manifest, lists both sides of every job
//! once per directory, and decides the actions of a [`Plan`].
//!
//! The modules follow the flow: [`manifest`] (what the team declared) →
//! [`filter`] (which paths a job takes) → [`listing`] (what each side
//! holds) → [`diff`] (what to do about it).

mod diff;
pub mod filter;
mod incremental;
mod listing;
pub mod manifest;
mod overlap;
mod walk;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use futures::stream::{self, StreamExt, TryStreamExt};
use hsync_plan::{
    Action, Compared, CopyAction, Fallback, FallbackReason, JobEnd, JobHeader, Listed, ManifestRef,
    PlanSink, Totals,
};
use hsync_storage::{
    display, join, ChecksumMode, Connections, Entry, EntryKind, Storage, StorageError,
};

use listing::ListingStats;
use manifest::{Job, Manifest};

/// Listings (or stats) in flight per side of a job.
const LISTING_CONCURRENCY: usize = 32;

/// How to plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions<'a> {
    /// Incremental jobs compare whole trees instead of replaying a snapshot
    /// diff (the first run does anyway): the way back to a known state after
    /// the target changed.
    pub full: bool,
    /// The file the plan is written to, if any: a target that deletes must
    /// not hold it (nor so the journal apply keeps beside it).
    pub out: Option<&'a Path>,
}

/// Why planning stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    #[error(
        "two sources map to the same target path `{}`: {} and {}",
        display(target),
        display(first),
        display(second)
    )]
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
        "`{}` is a {} in the source but a {} in the target",
        display(path),
        .source_kind.describe(),
        .target_kind.describe()
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
    #[error(
        "`{}` is erasure-coded ({policy}): it has no replication factor for preserve = [\"replication\"] to keep",
        display(path)
    )]
    #[diagnostic(
        code(hsync::plan::erasure_coded_replication),
        help("drop \"replication\" from preserve (copies then get the target folder's erasure coding policy or default replication), or exclude the erasure-coded files")
    )]
    ErasureCodedReplication { path: String, policy: String },
    #[error(
        "the {} `{}` is in an HDFS encryption zone: hsync cannot {} it (it has no KMS client for the zone's key)",
        if *.target { "target file" } else { "source file of" },
        display(path),
        if *.target { "write over" } else { "decrypt" }
    )]
    #[diagnostic(
        code(hsync::plan::encryption_zone),
        help("copy the encrypted bytes as they are, between zones that share the key: give every source and the target as /.reserved/raw/... paths (the superuser's; each file's raw.* key attributes go with it, as in DistCp), or exclude the zone")
    )]
    EncryptionZone { path: String, target: bool },
    #[error("job `{job}`: the source {} does not exist", display(path))]
    #[diagnostic(code(hsync::plan::missing_source))]
    MissingSource { job: String, path: String },
    #[error(
        "job `{job}`: the target {} exists and is not a directory",
        display(path)
    )]
    #[diagnostic(code(hsync::plan::target_not_dir))]
    TargetNotDir { job: String, path: String },
    #[error(
        "job `{job}`: commit = \"atomic\" publishes a new target, but {} already exists",
        display(path)
    )]
    #[diagnostic(
        code(hsync::plan::atomic_target_exists),
        help(
            "remove the target first, or use commit = \"file\" with mode = \"update\" to sync it"
        )
    )]
    AtomicTargetExists { job: String, path: String },
    #[error("job `{job}`: the {side} directory {path} does not exist")]
    #[diagnostic(
        code(hsync::plan::missing_snapshot_root),
        help("an incremental job snapshots both its source and its target: create the directory, and have an HDFS administrator run `hdfs dfsadmin -allowSnapshot {path}`")
    )]
    MissingSnapshotRoot {
        job: String,
        side: &'static str,
        path: String,
    },
    #[error("job `{job}`: the {side} directory {path} is not snapshottable")]
    #[diagnostic(
        code(hsync::plan::not_snapshottable),
        help(
            "an HDFS administrator allows snapshots of it: `hdfs dfsadmin -allowSnapshot {path}`"
        )
    )]
    NotSnapshottable {
        job: String,
        side: &'static str,
        path: String,
    },
    #[error("job `{job}`: the target {path} changed since snapshot {snapshot} ({count} changes):{changes}")]
    #[diagnostic(
        code(hsync::plan::target_changed),
        help("a snapshot diff can only be replayed on a target that is still as that snapshot left it. `hsync plan --full` compares the whole trees instead and brings the target back in line (undoing the changes above); the next plan is incremental again")
    )]
    TargetChanged {
        job: String,
        path: String,
        snapshot: String,
        count: usize,
        /// The first few, one per line.
        changes: String,
    },
    #[error("{message}")]
    #[diagnostic(code(hsync::plan::overlap), help("{help}"))]
    Overlap {
        /// What is wrong, then both paths, one per line.
        message: String,
        help: String,
    },
    /// The cause is in the message, not a `source`: miette would print it twice.
    #[error("job `{job}`: {error}")]
    #[diagnostic(code(hsync::plan::storage))]
    Storage { job: String, error: StorageError },
    /// The plan (or the planner's scratch file) could not be written.
    #[error("cannot write the plan: {source}")]
    #[diagnostic(code(hsync::plan::write))]
    Write { source: std::io::Error },
    /// The manifest, a source list or the plan file could not be resolved.
    #[error("a file the plan is made from or written to: {source}")]
    #[diagnostic(code(hsync::plan::storage))]
    Input { source: StorageError },
}

impl PlanError {
    /// Wraps a storage failure of job `job`.
    pub(crate) fn storage(job: &str) -> impl Fn(StorageError) -> PlanError + Copy + '_ {
        move |error| PlanError::Storage {
            job: job.to_string(),
            error,
        }
    }
}

/// The manifest a plan is made from, as its file records it.
pub fn manifest_ref(manifest: &Manifest) -> ManifestRef {
    ManifestRef {
        path: manifest.path.display().to_string(),
        digest: manifest.digest.clone(),
    }
}

/// Plans every job of a manifest into `sink`, record by record as the
/// walks decide them; returns warnings for the user (a target locked by an
/// apply that may still run).
pub async fn plan(
    manifest: &Manifest,
    connections: &Connections,
    options: PlanOptions<'_>,
    sink: &mut dyn PlanSink,
) -> Result<Vec<String>, PlanError> {
    refuse_overlaps(manifest, connections, options.out).await?;
    let mut warnings = Vec::new();
    for job in &manifest.jobs {
        warnings.extend(plan_job(job, connections, options, sink).await?);
    }
    Ok(warnings)
}

/// The manifest's checks of overlapping roots, again on the real paths
/// (symlinks resolved) before anything is listed: a symlink can make two
/// paths that look apart the same folder. `out` is where the plan goes.
async fn refuse_overlaps(
    manifest: &Manifest,
    connections: &Connections,
    out: Option<&Path>,
) -> Result<(), PlanError> {
    let mut written = manifest.paths();
    if let Some(out) = out {
        let shown = out.display().to_string();
        let absolute = std::path::absolute(out).map_err(|e| PlanError::Input {
            source: StorageError::from_io("resolve", &shown, e),
        })?;
        written.inputs.push(overlap::Input {
            of: overlap::InputOf::PlanFile,
            path: manifest::local_path(&absolute, Path::new("/")),
        });
    }
    let mut jobs = Vec::with_capacity(written.jobs.len());
    for (job, roots) in manifest.jobs.iter().zip(&written.jobs) {
        let storage_error = PlanError::storage(&job.name);
        let source_fs = connections.get(&job.source_fs).map_err(storage_error)?;
        let target_fs = connections.get(&job.target_fs).map_err(storage_error)?;
        let mut sources = Vec::with_capacity(roots.sources.len());
        for source in &roots.sources {
            sources.push(resolve(&source_fs, source).await.map_err(storage_error)?);
        }
        let target = resolve(&target_fs, &roots.target)
            .await
            .map_err(storage_error)?;
        jobs.push(overlap::Roots {
            sources,
            target,
            ..job.roots()
        });
    }
    let real = overlap::Paths {
        jobs,
        inputs: real_inputs(&written.inputs, connections).await?,
    };
    match overlap::conflicts(&real).first() {
        None => Ok(()),
        Some(conflict) => Err(PlanError::Overlap {
            message: conflict.describe(&written, &real),
            help: conflict.help(&real),
        }),
    }
}

/// Each input where a delete would reach it: its own entry in its folder's
/// real path, and, when it is a symlink, the file it leads to.
async fn real_inputs(
    inputs: &[overlap::Input],
    connections: &Connections,
) -> Result<Vec<overlap::Input>, PlanError> {
    let storage_error = |source| PlanError::Input { source };
    let local = connections
        .get(&hsync_storage::FsSpec::Local)
        .map_err(storage_error)?;
    let mut real = Vec::with_capacity(inputs.len());
    for input in inputs {
        let (folder, name) = hsync_storage::parent_and_name(&input.path);
        let entry = join(&resolve(&local, folder).await.map_err(storage_error)?, name);
        let file = resolve(&local, &input.path).await.map_err(storage_error)?;
        for path in [entry.clone()]
            .into_iter()
            .chain((file != entry).then_some(file))
        {
            real.push(overlap::Input { of: input.of, path });
        }
    }
    Ok(real)
}

/// `path` with every symlink resolved; a path that does not exist yet is
/// its nearest existing ancestor's real path with the rest appended.
async fn resolve(storage: &Arc<dyn Storage>, path: &str) -> Result<String, StorageError> {
    let mut missing: Vec<&str> = Vec::new();
    let mut at = path;
    loop {
        if let Some(real) = storage.real_path(at).await? {
            return Ok(missing
                .iter()
                .rev()
                .fold(real, |path, name| join(&path, name)));
        }
        let (parent, name) = hsync_storage::parent_and_name(at);
        if parent.is_empty() || name.is_empty() {
            return Ok(path.to_string());
        }
        missing.push(name);
        at = parent;
    }
}

async fn plan_job(
    job: &Job,
    connections: &Connections,
    options: PlanOptions<'_>,
    sink: &mut dyn PlanSink,
) -> Result<Option<String>, PlanError> {
    let counted = Arc::new(ListingStats::default());
    let stats = &*counted;
    let storage_error = PlanError::storage(&job.name);
    let written = |source| PlanError::Write { source };
    let source_fs = connections.get(&job.source_fs).map_err(storage_error)?;
    let target_fs = connections.get(&job.target_fs).map_err(storage_error)?;
    let lock = job.options.lock_placement().path(&job.target);
    let holder = hsync_storage::lock::live_holder(&target_fs, &lock)
        .await
        .map_err(storage_error)?;
    let (basis, snapshot) = match job.options.incremental {
        None => (Basis::Compare(job.sources.clone()), None),
        Some(_) => {
            let incremental =
                incremental::plan(job, &source_fs, &target_fs, options.full, stats).await?;
            (incremental.basis, Some(incremental.cycle))
        }
    };
    let (roots, target) = match &basis {
        Basis::Compare(sources) => {
            let roots = source_roots(job, sources, &source_fs).await?;
            (roots, target_root(job, &target_fs).await?)
        }
        Basis::Replay(_) => (Vec::new(), true),
    };
    let source_roots = match &snapshot {
        Some(cycle) => vec![hsync_storage::namenode::snapshot_path(
            &cycle.source_dir,
            &cycle.name,
        )],
        None => roots.iter().map(|root| root.path.clone()).collect(),
    };
    let mut leftover_staging = match job.options.commit {
        hsync_plan::Commit::Atomic => listing::staging_leftovers(&target_fs, &job.target, stats)
            .await
            .map_err(storage_error)?,
        hsync_plan::Commit::File => Vec::new(),
    };
    // An apply that may still run owns its temporary files and staging.
    let theirs = |tag: Option<&str>| {
        holder
            .as_ref()
            .is_some_and(|holder| holder.tag().is_none() || tag == holder.tag())
    };
    leftover_staging.retain(|tag| !theirs(Some(tag)));
    let keep = |delete: &hsync_plan::DeleteAction| {
        let name = hsync_storage::parent_and_name(&delete.path).1;
        !delete.leftover || !theirs(hsync_storage::temp_tag(name))
    };
    let warning = holder.as_ref().map(|holder| {
        format!(
            "job `{}`: the target {} is locked by {holder}, an apply that may still be running; \
             its temporary files are left alone (plan again once it is done)",
            job.name, job.target
        )
    });
    let header = JobHeader {
        name: job.name.clone(),
        source_fs: job.source_fs.clone(),
        source_roots,
        target_fs: job.target_fs.clone(),
        target_root: job.target.clone(),
        options: job.options.clone(),
        snapshot,
        leftover_staging,
    };
    sink.job(&header).map_err(written)?;
    let (unchanged, compared) = match basis {
        Basis::Compare(_) => {
            let fs = (&source_fs, &target_fs);
            let walked = walk::compare(job, &roots, target, fs, &counted, &keep, sink).await?;
            (walked.unchanged, walked.compared)
        }
        Basis::Replay(mut planned) => {
            // The order apply relies on: moves, the walk depth-first, deletes last.
            planned.actions.sort_by(hsync_plan::order::cmp);
            for action in &planned.actions {
                let ours = match action {
                    Action::Delete(delete) => keep(delete),
                    _ => true,
                };
                if ours {
                    sink.action(action).map_err(written)?;
                }
            }
            for skipped in &planned.skipped {
                sink.skipped(skipped).map_err(written)?;
            }
            (planned.unchanged, planned.compared)
        }
    };
    let end = JobEnd {
        unchanged,
        listed: Listed {
            directories: stats.calls(),
            entries: stats.entries(),
        },
        compared,
    };
    sink.end_job(&end).map_err(written)?;
    Ok(warning)
}

/// What a job's actions come from: the whole trees compared (from these
/// sources), or a snapshot diff replayed.
pub(crate) enum Basis {
    Compare(Vec<String>),
    Replay(Planned),
}

/// The actions of a replayed snapshot diff and what it leaves alone.
#[derive(Debug, Default)]
pub(crate) struct Planned {
    pub actions: Vec<Action>,
    pub unchanged: Totals,
    /// How same-size files were compared (`compare = ["checksum"]`).
    pub compared: Compared,
    /// What the listings left alone.
    pub skipped: Vec<hsync_plan::Skipped>,
}

/// The job's source roots as read; a missing one is refused. The roots
/// are the only paths stat'ed; everything below is listed.
async fn source_roots(
    job: &Job,
    sources: &[String],
    source_fs: &Arc<dyn Storage>,
) -> Result<Vec<walk::SourceRoot>, PlanError> {
    let mut roots = Vec::with_capacity(sources.len());
    for root in sources {
        let found = stat_root(source_fs, root)
            .await
            .map_err(PlanError::storage(&job.name))?;
        let (path, entry) = found.ok_or_else(|| PlanError::MissingSource {
            job: job.name.clone(),
            path: root.clone(),
        })?;
        roots.push(walk::SourceRoot { path, entry });
    }
    Ok(roots)
}

/// Whether the target root exists (a folder), as the job may write it.
async fn target_root(job: &Job, target_fs: &Arc<dyn Storage>) -> Result<bool, PlanError> {
    let stat = target_fs.stat(&job.target).await;
    match stat.map_err(PlanError::storage(&job.name))? {
        None => Ok(false),
        Some(entry) if entry.kind != EntryKind::Dir => Err(PlanError::TargetNotDir {
            job: job.name.clone(),
            path: job.target.clone(),
        }),
        Some(_) if job.options.commit == hsync_plan::Commit::Atomic => {
            Err(PlanError::AtomicTargetExists {
                job: job.name.clone(),
                path: job.target.clone(),
            })
        }
        Some(_) => Ok(true),
    }
}

/// A source root's status, and the path to read it by. The manifest names
/// a root, so a root that is a symlink is followed whatever the job's
/// `symlinks` says: it is read by its real path (the plan records what was
/// read, however the link moves later) and keeps the link's name, so a link
/// to a folder is planned as that folder. A dangling one is missing.
async fn stat_root(
    storage: &Arc<dyn Storage>,
    root: &str,
) -> Result<Option<(String, Entry)>, StorageError> {
    let Some(entry) = storage.stat(root).await? else {
        return Ok(None);
    };
    if entry.kind != EntryKind::Symlink {
        return Ok(Some((root.to_string(), entry)));
    }
    let Some(real) = storage.real_path(root).await? else {
        return Ok(None);
    };
    let target = storage.stat(&real).await?;
    Ok(target.map(|target| {
        let entry = Entry {
            name: entry.name,
            ..target
        };
        (real, entry)
    }))
}

/// One candidate compared: whether the contents differ, and what decided.
pub(crate) type Comparison = (CopyAction, bool, Decider);

/// What decided a comparison: one kind of native checksum, or reading both
/// sides, and why.
pub(crate) enum Decider {
    Checksum(ChecksumMode),
    Read(FallbackKey),
}

/// What a [`Fallback`] groups by: the reason and the two algorithms.
type FallbackKey = (FallbackReason, Option<String>, Option<String>);

/// Compares same-size files, `parallel` pairs at a time: by the
/// filesystems' own checksums when both sides have one of the same
/// algorithm, which reads no data — `COMPOSITE_CRC` first (any block size or
/// layout), then `MD5MD5CRC32` (for HDFS, the same block size and CRC
/// settings); otherwise by a blake3 of both sides, read concurrently.
pub(crate) async fn compare_contents(
    job: &Job,
    sources: &[String],
    candidates: Vec<CopyAction>,
    source_fs: &Arc<dyn Storage>,
    target_fs: &Arc<dyn Storage>,
) -> Result<Vec<Comparison>, StorageError> {
    stream::iter(candidates)
        .map(|copy| async move {
            let source = join(&sources[copy.source.root], &copy.source.path);
            let target = join(&job.target, &copy.path);
            let mut checksums = (None, None);
            for mode in [ChecksumMode::CompositeCrc, ChecksumMode::Md5Md5Crc32] {
                checksums = futures::try_join!(
                    source_fs.file_checksum(&source, mode),
                    target_fs.file_checksum(&target, mode)
                )?;
                if let (Some(a), Some(b)) = &checksums {
                    if a.algorithm == b.algorithm {
                        return Ok((copy, a.bytes != b.bytes, Decider::Checksum(mode)));
                    }
                }
            }
            // Why the last kind, the one every HDFS has, could not decide.
            let fallback = match checksums {
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
            Ok((copy, a != b, Decider::Read(fallback)))
        })
        .buffered(job.options.parallel)
        .try_collect()
        .await
}

/// Counts the comparisons for the plan: fallbacks grouped and sorted by
/// reason and algorithms, each with its first path.
#[derive(Default)]
pub(crate) struct Tally {
    compared: Compared,
    fallbacks: BTreeMap<FallbackKey, (u64, String)>,
}

impl Tally {
    pub fn add(&mut self, comparisons: &[Comparison]) {
        for (copy, _, decider) in comparisons {
            let key = match decider {
                Decider::Checksum(ChecksumMode::CompositeCrc) => {
                    self.compared.composite_crc += 1;
                    continue;
                }
                Decider::Checksum(ChecksumMode::Md5Md5Crc32) => {
                    self.compared.md5_crc += 1;
                    continue;
                }
                Decider::Read(key) => key,
            };
            self.compared.read += 1;
            let (files, example) = self
                .fallbacks
                .entry(key.clone())
                .or_insert((0, copy.path.clone()));
            *files += 1;
            if copy.path < *example {
                example.clone_from(&copy.path);
            }
        }
    }

    pub fn finish(self) -> Compared {
        let fallbacks = self
            .fallbacks
            .into_iter()
            .map(|((reason, source, target), (files, example))| Fallback {
                reason,
                source_algorithm: source,
                target_algorithm: target,
                files,
                example,
            })
            .collect();
        Compared {
            fallbacks,
            ..self.compared
        }
    }
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
