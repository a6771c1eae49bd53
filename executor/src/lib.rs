//! The hsync executor: runs a plan file as a stream on tokio, at most
//! `parallel` transfers per job, each file landing through a temporary name
//! and a rename, every finished step recorded in a durable journal.
//!
//! [`schedule`] reads the plan and holds a bounded window of [`step`]s in
//! the order they may run, [`steps`] performs them with the checks of
//! [`guards`], [`transfer`] moves bytes, [`moves`] replays renames and takes
//! snapshots, [`journal`] makes a killed run resumable, [`verify`] checks
//! what it says against the target before it is trusted, and [`report`]
//! counts and says what happened. Targets are locked with
//! [`hsync_storage::lock`] for the whole run.

pub mod distributed;
mod guards;
pub mod journal;
mod moves;
mod part;
mod report;
mod schedule;
mod step;
mod steps;
mod throttle;
mod transfer;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hsync_plan::{Commit, LoadError, Outline, PlanFile};
use hsync_storage::{lock, temp_sibling, Connections};
use tokio::sync::Semaphore;

pub use part::{Part, Span};
pub use report::{
    ChunkFigures, Event, Failure, JournalCheck, Moves, Observer, Outcome, RunOutcome, Stage,
    Summary,
};

use crate::journal::Journal;
use crate::step::Step;
use crate::steps::{Context, JobContext, METADATA_CONCURRENCY};

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Overrides every job's `parallel`.
    pub parallel: Option<usize>,
    /// Go on past failures, as DistCp's `-i`; otherwise no new step starts
    /// after the first failure (steps in flight finish and commit).
    pub ignore_failures: bool,
    /// Where the journal lives.
    pub state_dir: PathBuf,
    /// Bytes per read and write of a transfer.
    pub buffer_size: usize,
    /// Stops the run early when set (a signal).
    pub interrupt: Interrupt,
}

/// Asks a running apply to stop: no new step starts, files in flight roll
/// back (their temporary files removed), the rest is journaled as usual, so
/// the same apply resumes later.
#[derive(Debug, Clone)]
pub struct Interrupt(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Interrupt {
    fn default() -> Interrupt {
        Interrupt(Arc::new(tokio::sync::watch::channel(false).0))
    }
}

impl Interrupt {
    pub fn interrupt(&self) {
        self.0.send_replace(true);
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the run is interrupted.
    pub async fn wait(&self) {
        let mut receiver = self.0.subscribe();
        let _ = receiver.wait_for(|set| *set).await;
    }
}

/// Why an apply could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot open the journal {path}: {source}")]
    Journal {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Storage(#[from] hsync_storage::StorageError),
    #[error(transparent)]
    Locked(#[from] lock::LockError),
    /// The plan could not be read again as it was checked.
    #[error(transparent)]
    Plan(#[from] LoadError),
    /// A distributed apply could not place or find its workers' share.
    #[error("{0}")]
    Distributed(String),
}

/// Runs the plan and returns its summary; failures of single paths are in
/// the summary, not an error.
pub async fn apply(
    plan: &PlanFile,
    connections: &Connections,
    options: &ApplyOptions,
    observer: Arc<dyn Observer>,
) -> Result<Summary, ApplyError> {
    let locks = lock_targets(plan, connections).await?;
    let result = match Ledger::local(&options.state_dir, &plan.outline) {
        Ok(ledger) => run(plan, connections, options, Part::Whole, ledger, observer).await,
        Err(e) => Err(e),
    };
    release_after(locks, result).await
}

/// Releases the locks of a run that ended with `result`. A lock that cannot
/// be removed (the cluster gone, or refusing expired credentials) does not
/// swallow the summary of what the run did: the summary says so.
pub(crate) async fn release_after(
    locks: Vec<lock::Lock>,
    mut result: Result<Summary, ApplyError>,
) -> Result<Summary, ApplyError> {
    if let Err(e) = release(locks).await {
        match &mut result {
            Ok(summary) => {
                summary.lock_left = Some(hsync_storage::one_line(&e.to_string()).into_owned());
            }
            Err(_) => tracing::warn!("{e}"),
        }
    }
    result
}

/// One writer per target: every target root of the plan locked, for the
/// whole run.
pub(crate) async fn lock_targets(
    plan: &PlanFile,
    connections: &Connections,
) -> Result<Vec<lock::Lock>, ApplyError> {
    let outline = &plan.outline;
    let mut locks = Vec::new();
    let mut roots: Vec<_> = outline
        .jobs
        .iter()
        .map(|j| {
            let header = &j.header;
            (
                &header.target_fs,
                &header.target_root,
                header.options.lock_placement(),
            )
        })
        .collect();
    roots.sort();
    roots.dedup();
    for (fs, root, placement) in roots {
        let storage = connections.get(fs)?;
        match lock::Lock::acquire(&storage, root, placement, &outline.fingerprint).await {
            Ok(lock) => locks.push(lock),
            Err(e) => {
                release(locks).await?;
                return Err(e.into());
            }
        }
    }
    Ok(locks)
}

/// What earlier runs of a plan journaled, and the journal this run writes.
pub(crate) struct Ledger {
    recovered: journal::Recovered,
    journal: Journal,
    /// Where the journal is, for messages.
    place: String,
}

impl Ledger {
    /// The plan's journal in the local state folder.
    pub(crate) fn local(
        state_dir: &std::path::Path,
        outline: &Outline,
    ) -> Result<Ledger, ApplyError> {
        let path = journal::journal_path(state_dir, &outline.fingerprint, 0);
        let place = path.display().to_string();
        let error = |source| ApplyError::Journal {
            path: place.clone(),
            source,
        };
        let recovered = journal::recover(state_dir, outline).map_err(error)?;
        let journal = Journal::open(&path).map_err(error)?;
        Ok(Ledger {
            recovered,
            journal,
            place,
        })
    }
}

async fn run(
    plan: &PlanFile,
    connections: &Connections,
    options: &ApplyOptions,
    part: Part,
    ledger: Ledger,
    observer: Arc<dyn Observer>,
) -> Result<Summary, ApplyError> {
    let started = Instant::now();
    let outline = &plan.outline;
    let tag = hsync_storage::plan_tag(&outline.fingerprint).to_string();
    let state_dir = &options.state_dir;
    let Ledger {
        mut recovered,
        journal,
        place,
    } = ledger;
    let mut jobs = Vec::with_capacity(outline.jobs.len());
    for (index, job) in outline.jobs.iter().enumerate() {
        let header = &job.header;
        let parallel = options.parallel.unwrap_or(header.options.parallel).max(1);
        let published = recovered.done(index, Step::Publish);
        let root = match header.options.commit {
            Commit::Atomic if !published => temp_sibling(&header.target_root, &tag),
            _ => header.target_root.clone(),
        };
        jobs.push(JobContext::new(
            header.clone(),
            connections.get(&header.source_fs)?,
            connections.get(&header.target_fs)?,
            root,
            parallel,
        ));
    }
    // Nothing journaled is trusted before the target bears it out.
    let check = verify::check(plan, &mut jobs, &mut recovered, &tag, &journal).await?;
    if let Some(check) = &check {
        // A commit checks what its own run's prepare and chunks did.
        if part != Part::Commit {
            observer.event(&Event::JournalChecked(check.clone()));
        }
    }
    let finished = recovered.finished_ms.is_some();
    let context = Arc::new(Context {
        jobs,
        journal,
        recovered,
        observer,
        metadata: Semaphore::new(METADATA_CONCURRENCY),
        tag,
        buffer_size: options.buffer_size.max(4096),
        retries: Default::default(),
        stopping: Default::default(),
        refused: Default::default(),
        interrupt: options.interrupt.clone(),
        part,
    });
    let expected = match part {
        Part::Whole | Part::Commit => Summary::expected(outline),
        Part::Prepare | Part::Chunk(_) => Summary::default(),
    };
    let scheduler =
        schedule::Scheduler::new(Arc::clone(&context), expected, options.ignore_failures);
    let mut summary = scheduler.run(plan).await?;

    let complete = summary.failures.is_empty() && summary.steps_not_done == 0;
    // The copies' `done` marks were only noted; one lost would cost a later
    // run of this plan a check of the target, no more.
    let flushed = context.journal.flush().await;
    if let Err(e) = &flushed {
        tracing::warn!("the journal {place} did not take its last marks: {e}");
    }
    if complete && part.completes_plan() {
        let redone = check.as_ref().is_some_and(|c| c.missing > 0);
        let finish = flushed
            .and_then(|()| journal::finish(state_dir, &outline.fingerprint, !finished || redone));
        if let Err(e) = finish {
            tracing::warn!("the journal did not record the finish: {e}");
        }
    }
    summary.plan = outline.fingerprint.clone();
    summary.journal_check = check;
    summary.duration_secs = started.elapsed().as_secs_f64();
    summary.retries = context.retries.load(std::sync::atomic::Ordering::Relaxed);
    summary.outcome = match (complete, options.ignore_failures) {
        (true, _) => RunOutcome::Success,
        (false, _) if options.interrupt.is_set() => RunOutcome::Interrupted,
        (false, true) => RunOutcome::Partial,
        (false, false) => RunOutcome::Failed,
    };
    Ok(summary)
}

async fn release(locks: Vec<lock::Lock>) -> Result<(), ApplyError> {
    for lock in locks {
        lock.release().await?;
    }
    Ok(())
}
