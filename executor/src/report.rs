//! What an apply tells the outside world: live events while it runs and a
//! JSON summary at the end (in the spirit of pydistcp's Job Status).

use hsync_plan::Outline;
use serde::Serialize;

use crate::step::Step;

/// Why a step was not started in a fail-fast run.
pub(crate) const STOPPED: &str =
    "not started: the run stopped after a failure (see --ignore-failures)";
/// Why a step was not started once a cluster refused the credentials, even
/// with failures ignored: every later call would fail the same way.
pub(crate) const REFUSED: &str =
    "not started: a cluster refused the credentials; once they are renewed, the same apply \
     resumes";
/// Why a step was not started in an interrupted run: not worth a line each.
pub(crate) const INTERRUPTED: &str = "not started: the run was interrupted";

/// Something that happened to one path, for live display and logs.
#[derive(Debug, Clone)]
pub enum Event {
    /// A file transfer started.
    Started { path: String, size: u64 },
    /// Bytes landed on the target.
    Bytes(u64),
    /// A path is finished, one way or another.
    Finished { path: String, outcome: Outcome },
    /// What an earlier run of the plan journaled was checked against the
    /// target, before anything started.
    JournalChecked(JournalCheck),
    /// A distributed apply moved on to its next phase.
    Stage(Stage),
}

/// The phases of a distributed apply, as they begin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// The folders are made: `pending` chunks of `chunks` go to the engine.
    Copying {
        engine: &'static str,
        pending: usize,
        chunks: usize,
        workers: usize,
    },
    /// The engine is done: the commit checks what the chunks journaled.
    Committing,
}

/// An earlier run's journal, checked against the target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JournalCheck {
    /// When a run applied the whole plan (milliseconds since the epoch).
    #[serde(skip)]
    pub finished_ms: Option<u64>,
    /// The same, as a reader reads it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Folders and files the journal says exist.
    pub checked: u64,
    /// Those the target did not hold: done again.
    pub missing: u64,
    /// Directory listings the check took (one per directory).
    pub listings: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Copied {
        bytes: u64,
    },
    /// Finished by an earlier, interrupted run of the same plan.
    AlreadyDone,
    Created,
    Deleted,
    /// Moved here from `from` (a rename replayed from a snapshot diff).
    Renamed {
        from: String,
    },
    /// The moves of a job, done: per-path events were sent as they landed.
    Moved(Moves),
    AttributesSet,
    Published,
    /// The target's snapshot of an incremental job is taken.
    SnapshotTaken {
        name: String,
    },
    Stale(String),
    Failed(String),
    /// Not started: something it needs failed, or the run stopped early.
    NotDone(String),
    /// Another part of a distributed apply's (see [`crate::Part`]).
    Elsewhere,
}

/// What one job's moves did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moves {
    pub renamed: u64,
    pub files_deleted: u64,
    pub dirs_deleted: u64,
}

/// Receives events; the CLI turns them into a progress bar or log lines.
pub trait Observer: Send + Sync {
    fn event(&self, event: &Event);
}

/// The end-of-run summary, printed as JSON.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub plan: String,
    pub outcome: RunOutcome,
    pub files_expected: u64,
    pub bytes_expected: u64,
    pub files_copied: u64,
    pub bytes_copied: u64,
    /// Finished by an earlier run of the same plan.
    pub files_already_done: u64,
    /// Left alone because they were already in sync at plan time.
    pub files_skipped: u64,
    pub files_failed: u64,
    pub files_stale: u64,
    pub files_deleted: u64,
    pub dirs_created: u64,
    pub dirs_deleted: u64,
    /// Files and folders moved as the source moved them (snapshot diffs).
    pub paths_renamed: u64,
    pub steps_not_done: u64,
    /// Directory listings the plan was made from (one per directory).
    pub listing_calls: u64,
    /// Transfers tried again after a transient failure (a DataNode gone, a
    /// connection reset).
    pub retries: u64,
    pub duration_secs: f64,
    /// What an earlier run of this plan journaled, checked against the
    /// target; absent on a first run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal_check: Option<JournalCheck>,
    pub failures: Vec<Failure>,
    /// Why a lock of this run could not be removed; the next apply of the
    /// same user takes it over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_left: Option<String>,
    /// A distributed apply's chunks that this run ran: who copied what
    /// (those an earlier run finished count as already done).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<ChunkFigures>,
}

/// One chunk of a distributed apply, as its last run reported it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkFigures {
    pub chunk: u32,
    /// The node that ran it.
    pub host: String,
    pub files_copied: u64,
    pub bytes_copied: u64,
    pub duration_secs: f64,
    pub complete: bool,
}

impl Summary {
    /// A summary's starting point: what the plan expects to copy, what it
    /// leaves alone and what it listed.
    pub fn expected(plan: &Outline) -> Summary {
        let mut summary = Summary {
            plan: plan.fingerprint.clone(),
            ..Summary::default()
        };
        for job in &plan.jobs {
            summary.files_skipped += job.end.unchanged.files;
            summary.listing_calls += job.end.listed.directories;
            summary.files_expected += job.files;
            summary.bytes_expected += job.bytes;
        }
        summary
    }

    /// Counts one outcome of `step`, about `path` (a folder if `dir`), and
    /// tells the observer what a reviewer hears of; returns whether the
    /// step succeeded.
    pub(crate) fn account(
        &mut self,
        observer: &dyn Observer,
        step: Step,
        outcome: &Outcome,
        path: String,
        dir: bool,
    ) -> bool {
        let fail = |summary: &mut Summary, kind, cause: &str| {
            summary.failures.push(Failure {
                path: path.clone(),
                cause: cause.to_string(),
                kind,
            });
        };
        match outcome {
            Outcome::Elsewhere => return true,
            Outcome::Copied { bytes } => {
                self.files_copied += 1;
                self.bytes_copied += bytes;
            }
            Outcome::AlreadyDone if matches!(step, Step::Copy(_)) => self.files_already_done += 1,
            Outcome::Created => self.dirs_created += 1,
            Outcome::Deleted if dir || matches!(step, Step::ClearStaging(_)) => {
                self.dirs_deleted += 1
            }
            Outcome::Deleted => self.files_deleted += 1,
            Outcome::Moved(moves) => {
                self.paths_renamed += moves.renamed;
                self.files_deleted += moves.files_deleted;
                self.dirs_deleted += moves.dirs_deleted;
            }
            Outcome::AlreadyDone
            | Outcome::AttributesSet
            | Outcome::Published
            | Outcome::Renamed { .. }
            | Outcome::SnapshotTaken { .. } => {}
            Outcome::Stale(cause) => {
                self.files_stale += 1;
                fail(self, "stale", cause);
            }
            Outcome::Failed(cause) => {
                if matches!(step, Step::Copy(_)) {
                    self.files_failed += 1;
                }
                fail(self, "failed", cause);
            }
            Outcome::NotDone(cause) if cause == INTERRUPTED => {
                // What an interrupt left for the resumed run: counted, no line.
                self.steps_not_done += 1;
                return false;
            }
            Outcome::NotDone(cause) => {
                self.steps_not_done += 1;
                // Internal steps are not worth a line; paths a reviewer saw are.
                if matches!(
                    step,
                    Step::Copy(_) | Step::Symlink(_) | Step::Delete(_) | Step::Mkdir(_)
                ) {
                    fail(self, "not-done", cause);
                }
            }
        }
        let ok = !matches!(
            outcome,
            Outcome::Stale(_) | Outcome::Failed(_) | Outcome::NotDone(_)
        );
        // A folder's attributes done earlier are no news: its mkdir says so.
        let attributes_done = matches!(outcome, Outcome::AlreadyDone)
            && matches!(step, Step::DirAttributes(_) | Step::FileAttributes(_));
        if !(attributes_done || step.internal()) || !ok {
            observer.event(&Event::Finished {
                path,
                outcome: outcome.clone(),
            });
        }
        ok
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    #[default]
    Success,
    /// Some paths failed or were stale; everything else was done.
    Partial,
    Failed,
    /// Stopped by a signal: what was done is journaled, the same apply resumes.
    Interrupted,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub path: String,
    pub cause: String,
    /// `stale` (plan again), `failed` or `not-done`.
    pub kind: &'static str,
}
