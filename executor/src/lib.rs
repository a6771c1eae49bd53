//! The hsync executor: runs a [`Plan`] as a DAG on tokio, at most
//! `parallel` transfers per job, each file landing through a temporary name
//! and a rename, every finished step recorded in a durable journal.
//!
//! [`dag`] orders the steps, [`run`] schedules and performs them,
//! [`transfer`] moves bytes, [`moves`] replays renames and takes snapshots, [`journal`] makes a killed run resumable,
//! [`verify`] checks what it says against the target before it is trusted,
//! and [`report`] says what happened. Targets are locked with
//! [`hsync_storage::lock`] for the whole run.

mod dag;
pub mod journal;
mod moves;
mod report;
mod run;
mod throttle;
mod transfer;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use hsync_plan::Plan;
use hsync_storage::{lock, Connections};

pub use report::{Event, Failure, JournalCheck, Moves, Observer, Outcome, RunOutcome, Summary};

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
}

/// Runs `plan` and returns its summary; failures of single paths are in the
/// summary, not an error.
pub async fn apply(
    plan: &Plan,
    connections: &Connections,
    options: &ApplyOptions,
    observer: Arc<dyn Observer>,
) -> Result<Summary, ApplyError> {
    // One writer per target: every target root is locked for the whole run.
    let mut locks = Vec::new();
    let mut roots: Vec<_> = plan
        .jobs
        .iter()
        .map(|j| (&j.target_fs, &j.target_root, j.options.lock_placement()))
        .collect();
    roots.sort();
    roots.dedup();
    for (fs, root, placement) in roots {
        let storage = connections.get(fs)?;
        match lock::Lock::acquire(&storage, root, placement, &plan.fingerprint).await {
            Ok(lock) => locks.push(lock),
            Err(e) => {
                release(locks).await?;
                return Err(e.into());
            }
        }
    }
    let result = match run::Run::prepare(plan, connections, options, observer).await {
        Ok(run) => run.execute().await,
        Err(e) => Err(e),
    };
    release(locks).await?;
    result
}

async fn release(locks: Vec<lock::Lock>) -> Result<(), ApplyError> {
    for lock in locks {
        lock.release().await?;
    }
    Ok(())
}
