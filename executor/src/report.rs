//! What an apply tells the outside world: live events while it runs and a
//! JSON summary at the end (in the spirit of pydistcp's Job Status).

use hsync_plan::{Action, Plan};
use serde::Serialize;

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
}

impl Summary {
    /// A summary's starting point: what the plan expects to copy, what it
    /// leaves alone and what it listed.
    pub fn expected(plan: &Plan) -> Summary {
        let mut summary = Summary {
            plan: plan.fingerprint.clone(),
            ..Summary::default()
        };
        for job in &plan.jobs {
            summary.files_skipped += job.end.unchanged.files;
            summary.listing_calls += job.end.listed.directories;
            for action in &job.actions {
                match action {
                    Action::Copy(copy) => {
                        summary.files_expected += 1;
                        summary.bytes_expected += copy.size;
                    }
                    Action::Symlink(_) => summary.files_expected += 1,
                    _ => {}
                }
            }
        }
        summary
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
