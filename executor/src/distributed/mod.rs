//! A distributed apply: one plan, many machines. The process that starts it
//! prepares (locks the targets, makes the folders, replays the moves) and
//! writes the plan and its chunks into a [`RunFolder`] on the target
//! filesystem; an [`Engine`] runs one worker per chunk wherever it places
//! them (YARN, or processes of this machine), each journaling into the run
//! folder; the starting process then commits (checks every chunk's copies
//! against the target, deletes, folder attributes, publish, snapshot) and
//! merges the chunks' reports into one summary.
//!
//! Each phase resumes: the prepare and commit journal locally as a
//! single-process apply does, a chunk's retry reads its journal from the
//! run folder, and a chunk whose report says it is complete is not run
//! again.

mod engine;
mod run_folder;

use std::path::Path;
use std::sync::Arc;

use hsync_plan::PlanFile;
use hsync_plan::{Chunk, ChunkList, Chunking};
use hsync_storage::{lock, Connections};

pub use engine::{CommandEngine, Engine, EngineError, LocalEngine, YarnEngine, YarnOptions};
pub use run_folder::{ChunkFailure, ChunkReport, RunFolder, Ticket};

use crate::journal::{self, Recovered};
use crate::report::{ChunkFigures, Event, Failure, Stage};
use crate::{
    lock_targets, release_after, run, ApplyError, ApplyOptions, Ledger, Observer, Part, Span,
    Summary,
};

/// How a distributed apply spreads the copies.
pub struct Spread<'a> {
    pub engine: &'a dyn Engine,
    /// Workers at once.
    pub workers: usize,
    pub chunking: Chunking,
}

/// Applies the plan at `plan_path` through `spread`'s engine; the same
/// tree as [`crate::apply`] gives.
pub async fn apply(
    plan: &PlanFile,
    plan_path: &Path,
    connections: &Connections,
    options: &ApplyOptions,
    spread: &Spread<'_>,
    observer: Arc<dyn Observer>,
) -> Result<Summary, ApplyError> {
    for job in &plan.outline.jobs {
        let header = &job.header;
        for fs in [&header.source_fs, &header.target_fs] {
            if !spread.engine.reaches(fs) {
                let what = match fs {
                    hsync_storage::FsSpec::Local => "local files".to_string(),
                    other => other.describe().to_string(),
                };
                return Err(ApplyError::Distributed(format!(
                    "job `{}`: the {} engine's workers run on the cluster's nodes, which \
                     cannot reach {what}; apply it without --engine, or with --engine local",
                    header.name,
                    spread.engine.name(),
                )));
            }
        }
    }
    let started = std::time::Instant::now();
    let locks = lock_targets(plan, connections).await?;
    let result = phases(plan, plan_path, connections, options, spread, observer).await;
    let mut summary = release_after(locks, result).await?;
    summary.duration_secs = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn phases(
    plan: &PlanFile,
    plan_path: &Path,
    connections: &Connections,
    options: &ApplyOptions,
    spread: &Spread<'_>,
    observer: Arc<dyn Observer>,
) -> Result<Summary, ApplyError> {
    let outline = &plan.outline;
    let ledger = Ledger::local(&options.state_dir, outline)?;
    let folder = RunFolder::of(outline, connections)?;
    if ledger.recovered.finished_ms.is_some() {
        // Applied already (the run folder's removal may not have been):
        // only what the check finds missing is done again, which needs no
        // workers.
        folder.remove().await?;
        return run(plan, connections, options, Part::Whole, ledger, observer).await;
    }
    let prepared = run(
        plan,
        connections,
        options,
        Part::Prepare,
        ledger,
        Arc::clone(&observer),
    )
    .await?;
    if !prepared.failures.is_empty() || prepared.steps_not_done > 0 {
        return Ok(prepared);
    }

    folder.create().await?;
    let chunks = match folder.chunks().await? {
        // A resumed run keeps the chunks its first run cut.
        Some(chunks) if chunks.check(outline).is_ok() => chunks,
        _ => {
            folder.upload(plan_path, &folder.plan_path()).await?;
            let chunks = ChunkList::of(plan, spread.chunking)?;
            // What an apply of this plan without workers copied before.
            let earlier = journal::recover(&options.state_dir, outline).map_err(|source| {
                ApplyError::Journal {
                    path: options.state_dir.display().to_string(),
                    source,
                }
            })?;
            for chunk in &chunks.chunks {
                let lines = earlier.copies_in(span_of(chunk));
                if !lines.is_empty() {
                    folder.seed_journal(chunk.index, lines).await?;
                }
            }
            // Written last: a run killed before it cuts and seeds again.
            folder.write_chunks(&chunks).await?;
            chunks
        }
    };
    let mut pending = Vec::new();
    for chunk in &chunks.chunks {
        if !folder
            .report(chunk.index)
            .await?
            .is_some_and(|r| r.complete)
        {
            pending.push(chunk.index);
        }
    }
    observer.event(&Event::Stage(Stage::Copying {
        engine: spread.engine.name(),
        pending: pending.len(),
        chunks: chunks.chunks.len(),
        workers: spread.workers,
    }));
    if !pending.is_empty() && !options.interrupt.is_set() {
        let ran = spread.engine.run(&folder, &pending, spread.workers);
        tokio::select! {
            ran = ran => ran.map_err(|e| ApplyError::Distributed(e.to_string()))?,
            () = options.interrupt.wait() => {}
        }
    }

    observer.event(&Event::Stage(Stage::Committing));
    let mut ledger = Ledger::local(&options.state_dir, outline)?;
    let mut reports = Vec::new();
    for chunk in &chunks.chunks {
        ledger.recovered.read(
            folder
                .journal_lines(chunk.index)
                .await?
                .iter()
                .map(String::as_str),
        );
        if let Some(report) = folder.report(chunk.index).await? {
            reports.push(report);
        }
    }
    let mut summary = run(plan, connections, options, Part::Commit, ledger, observer).await?;
    // What the prepare did is in no other count.
    summary.dirs_created += prepared.dirs_created;
    summary.paths_renamed += prepared.paths_renamed;
    summary.files_deleted += prepared.files_deleted;
    summary.dirs_deleted += prepared.dirs_deleted;
    summary.retries += prepared.retries;
    summary.journal_check = prepared.journal_check.or(summary.journal_check);
    merge(&mut summary, &reports, &pending);
    if summary.failures.is_empty() && summary.steps_not_done == 0 {
        folder.remove().await?;
    }
    Ok(summary)
}

/// The chunks' copies in the commit's summary: the commit found them done
/// (and did not count them), the chunks say who copied what. The chunks an
/// earlier run of the apply finished (not in `ran`) were already done.
fn merge(summary: &mut Summary, reports: &[ChunkReport], ran: &[u32]) {
    let (earlier, reports): (Vec<_>, Vec<_>) =
        reports.iter().partition(|r| !ran.contains(&r.chunk));
    for report in earlier {
        summary.files_already_done += report.files_copied + report.files_already_done;
    }
    for report in &reports {
        summary.files_copied += report.files_copied;
        summary.bytes_copied += report.bytes_copied;
        summary.files_already_done += report.files_already_done;
        summary.retries += report.retries;
    }
    // The commit names each copy a chunk left undone; the chunk says why.
    let undone: std::collections::HashSet<&str> = reports
        .iter()
        .flat_map(|r| r.failures.iter().map(|f| f.path.as_str()))
        .collect();
    summary
        .failures
        .retain(|f| !undone.contains(f.path.as_str()));
    for report in reports {
        for failure in &report.failures {
            summary.failures.push(Failure {
                path: failure.path.clone(),
                cause: failure.cause.clone(),
                kind: failure_kind(&failure.kind),
            });
            if failure.kind == "failed" {
                summary.files_failed += 1;
            } else if failure.kind == "stale" {
                summary.files_stale += 1;
            }
        }
        summary.chunks.push(ChunkFigures {
            chunk: report.chunk,
            host: report.host.clone(),
            files_copied: report.files_copied,
            bytes_copied: report.bytes_copied,
            duration_secs: report.duration_secs,
            complete: report.complete,
        });
    }
}

fn span_of(chunk: &Chunk) -> Span {
    Span {
        job: chunk.job,
        first: chunk.first,
        last: chunk.last,
    }
}

fn failure_kind(kind: &str) -> &'static str {
    match kind {
        "stale" => "stale",
        "not-done" => "not-done",
        _ => "failed",
    }
}

/// The run folder's note of the round of workers an engine last started.
const ROUND_NOTE: &str = "round";

/// What a worker is told, one line of its stdin each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// Run this chunk (an engine that places a task per chunk).
    Chunk(u32),
    /// Claim chunks as worker `slot` until none is left (an engine that
    /// places one long-lived task per worker).
    Slot(usize),
}

impl Assignment {
    /// A line as engines write it: `7` or `slot 2`, after Hadoop
    /// Streaming's `OFFSET<TAB>` where it adds one.
    pub fn parse(line: &str) -> Option<Assignment> {
        let text = line.rsplit('\t').next()?.trim();
        match text.strip_prefix("slot ") {
            Some(slot) => slot.trim().parse().ok().map(Assignment::Slot),
            None => text.parse().ok().map(Assignment::Chunk),
        }
    }
}

/// The chunks a worker in one slot claims, in plan order.
pub struct Claims {
    folder: RunFolder,
    slot: usize,
    chunks: Vec<u32>,
    at: usize,
}

impl Claims {
    pub async fn new(
        ticket: Ticket,
        slot: usize,
        connections: &Connections,
    ) -> Result<Claims, ApplyError> {
        let folder = RunFolder::reach(ticket, connections)?;
        let Some(list) = folder.chunks().await? else {
            return Err(ApplyError::Distributed(format!(
                "the run folder {} has no chunk list",
                folder.ticket.folder
            )));
        };
        let chunks = list.chunks.iter().map(|c| c.index).collect();
        Ok(Claims {
            folder,
            slot,
            chunks,
            at: 0,
        })
    }

    /// The next chunk this worker is to run: claimed by no other worker of
    /// the round, and not complete; none once a newer round has begun (its
    /// apply was started again while this worker ran on).
    pub async fn next(&mut self) -> Result<Option<u32>, ApplyError> {
        while let Some(&chunk) = self.chunks.get(self.at) {
            self.at += 1;
            let round = self.folder.read_note(ROUND_NOTE).await?;
            if round.as_deref() != Some(self.folder.ticket.round.as_str()) {
                return Ok(None);
            }
            if !self.folder.claim(chunk, self.slot).await? {
                continue;
            }
            let complete = self.folder.report(chunk).await?.is_some_and(|r| r.complete);
            if !complete {
                return Ok(Some(chunk));
            }
        }
        Ok(None)
    }
}

/// Runs chunk `chunk` of the run a ticket names, on whichever machine the
/// engine chose: the plan is fetched from the run folder, the chunk's
/// journal read back from it, and the report written into it.
pub async fn work(
    ticket: Ticket,
    chunk: u32,
    scratch: &Path,
    connections: &Connections,
    options: &ApplyOptions,
    observer: Arc<dyn Observer>,
) -> Result<ChunkReport, ApplyError> {
    let folder = RunFolder::reach(ticket, connections)?;
    if let Some(report) = folder.report(chunk).await? {
        if report.complete {
            return Ok(report);
        }
    }
    let local = scratch.join(format!("plan-{}.json", folder.ticket.plan));
    if !local.exists() {
        folder.download(&folder.plan_path(), &local).await?;
    }
    let plan = PlanFile::open(&local)?;
    let refuse = |why: String| Err(ApplyError::Distributed(why));
    if plan.outline.fingerprint != folder.ticket.plan {
        return refuse(format!(
            "the run folder {} holds another plan than its ticket names",
            folder.ticket.folder
        ));
    }
    let chunks = folder.chunks().await?;
    let Some(chunks) = chunks.filter(|c| c.check(&plan.outline).is_ok()) else {
        return refuse(format!(
            "the run folder {} has no chunks of this plan",
            folder.ticket.folder
        ));
    };
    let Some(found) = chunks.chunks.iter().find(|c| c.index == chunk) else {
        return refuse(format!("the plan has no chunk {chunk}"));
    };
    // Workers run only while the apply that started them holds the locks.
    for job in &plan.outline.jobs {
        let header = &job.header;
        let storage = connections.get(&header.target_fs)?;
        let path = header.options.lock_placement().path(&header.target_root);
        let held = lock::find(&storage, &header.target_root).await?;
        if !held
            .iter()
            .any(|found| found.path == path && found.holder.plan == folder.ticket.plan)
        {
            return refuse(format!(
                "the target {} is not locked for this plan: the apply that started this \
                 worker is gone or done",
                header.target_root
            ));
        }
    }
    let span = span_of(found);
    let mut recovered = Recovered::default();
    recovered.read(
        folder
            .journal_lines(chunk)
            .await?
            .iter()
            .map(String::as_str),
    );
    let ledger = Ledger {
        recovered,
        journal: folder.journal(chunk).await?,
        place: folder.ticket.folder.clone(),
    };
    let summary = run(
        &plan,
        connections,
        options,
        Part::Chunk(span),
        ledger,
        observer,
    )
    .await?;
    let report = ChunkReport {
        chunk,
        host: lock::hostname(),
        complete: summary.failures.is_empty() && summary.steps_not_done == 0,
        files_copied: summary.files_copied,
        bytes_copied: summary.bytes_copied,
        files_already_done: summary.files_already_done,
        retries: summary.retries,
        duration_secs: summary.duration_secs,
        failures: summary
            .failures
            .iter()
            .map(|f| ChunkFailure {
                path: f.path.clone(),
                cause: f.cause.clone(),
                kind: f.kind.to_string(),
            })
            .collect(),
    };
    if !options.interrupt.is_set() {
        folder.write_report(&report).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::Assignment;

    #[test]
    fn a_worker_reads_its_assignment_with_or_without_streamings_offset() {
        assert_eq!(Assignment::parse("7"), Some(Assignment::Chunk(7)));
        assert_eq!(Assignment::parse("13\t7"), Some(Assignment::Chunk(7)));
        assert_eq!(Assignment::parse("slot 2"), Some(Assignment::Slot(2)));
        assert_eq!(Assignment::parse("0\tslot 3\n"), Some(Assignment::Slot(3)));
        assert_eq!(Assignment::parse("seven"), None);
        assert_eq!(Assignment::parse(""), None);
    }
}
