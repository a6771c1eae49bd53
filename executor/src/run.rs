//! The scheduler: takes whatever step is ready next (no static split), runs
//! it on tokio within the job's limits, and records every outcome.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hsync_plan::{Action, Commit, CopyAction, JobPlan, Plan};
use hsync_storage::{join, temp_sibling, Attributes, Connections, ErrorKind, Storage, XAttr};

use crate::moves;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinSet;

use crate::dag::{self, Dag, Edge, Step};
use crate::journal::{self, Journal, Mark, Recovered};
use crate::report::{Event, Failure, JournalCheck, Observer, Outcome, RunOutcome, Summary};
use crate::throttle::Throttle;
use crate::transfer::{CopyError, Transfer};
use crate::verify;
use crate::{ApplyError, ApplyOptions, Interrupt};

/// Metadata calls (mkdir, attributes, deletes) in flight at once.
const METADATA_CONCURRENCY: usize = 64;
/// Files that may wait in their close per transfer slot: on HDFS a close
/// waits until the DataNode has reported the last block, which takes no
/// bandwidth, so small files keep many closes in flight.
const CLOSES_PER_TRANSFER: usize = 8;
/// Attempts at a transfer that fails for a transient cause.
const ATTEMPTS: u32 = 3;

/// Everything a step needs, shared by all running steps.
struct Context {
    plan: Plan,
    jobs: Vec<JobContext>,
    journal: Journal,
    recovered: Recovered,
    observer: Arc<dyn Observer>,
    metadata: Semaphore,
    /// Ties temporary names to this plan.
    tag: String,
    buffer_size: usize,
    /// Set at the first failure unless failures are ignored: a step that was
    /// already waiting for a slot then does not start either.
    stopping: std::sync::atomic::AtomicBool,
    /// Transfers tried again after a transient failure.
    retries: std::sync::atomic::AtomicU64,
    interrupt: Interrupt,
    /// The earlier runs' journal, checked against the target.
    check: Option<JournalCheck>,
}

pub(crate) struct JobContext {
    pub source: Arc<dyn Storage>,
    pub target: Arc<dyn Storage>,
    /// Where files land: the target root, or its staging sibling for atomic commit.
    pub root: String,
    transfers: Semaphore,
    /// Files whose data is written and whose close is waiting on the NameNode.
    closing: Semaphore,
    throttle: Option<Throttle>,
}

pub struct Run {
    context: Arc<Context>,
    dag: Dag,
    ignore_failures: bool,
}

impl Run {
    pub async fn prepare(
        plan: &Plan,
        connections: &Connections,
        options: &ApplyOptions,
        observer: Arc<dyn Observer>,
    ) -> Result<Run, ApplyError> {
        let tag = hsync_storage::plan_tag(&plan.fingerprint).to_string();
        let path = journal::journal_path(&options.state_dir, &plan.fingerprint, 0);
        let journal_error = |source| ApplyError::Journal {
            path: path.display().to_string(),
            source,
        };
        let mut recovered = journal::recover(&path).map_err(journal_error)?;
        let mut jobs = Vec::with_capacity(plan.jobs.len());
        for (index, job) in plan.jobs.iter().enumerate() {
            let parallel = options.parallel.unwrap_or(job.options.parallel).max(1);
            let published = recovered.done.contains(&Step::Publish { job: index }.key());
            jobs.push(JobContext {
                source: connections.get(&job.source_fs)?,
                target: connections.get(&job.target_fs)?,
                root: match job.options.commit {
                    Commit::Atomic if !published => temp_sibling(&job.target_root, &tag),
                    _ => job.target_root.clone(),
                },
                transfers: Semaphore::new(parallel),
                closing: Semaphore::new(parallel * CLOSES_PER_TRANSFER),
                throttle: job.options.bandwidth.map(Throttle::new),
            });
        }
        // Nothing journaled is trusted before the target bears it out.
        let verify::Checked { check, renamed } =
            verify::check(plan, &mut jobs, &mut recovered, &tag).await?;
        if let Some(check) = &check {
            observer.event(&Event::JournalChecked(check.clone()));
        }
        let journal = Journal::open(&path).map_err(journal_error)?;
        for key in renamed {
            journal.note(&key, Mark::Done);
        }
        let context = Context {
            plan: plan.clone(),
            jobs,
            journal,
            recovered,
            observer,
            metadata: Semaphore::new(METADATA_CONCURRENCY),
            tag,
            buffer_size: options.buffer_size.max(4096),
            retries: Default::default(),
            stopping: Default::default(),
            interrupt: options.interrupt.clone(),
            check,
        };
        Ok(Run {
            context: Arc::new(context),
            dag: dag::build(plan),
            ignore_failures: options.ignore_failures,
        })
    }

    pub async fn execute(self) -> Result<Summary, ApplyError> {
        let started = Instant::now();
        let mut summary = Summary::expected(&self.context.plan);
        let mut waiting: Vec<usize> = self
            .dag
            .node_indices()
            .map(|n| self.dag.edges_directed(n, Direction::Incoming).count())
            .collect();
        let mut blocked: Vec<Option<String>> = vec![None; self.dag.node_count()];
        let mut ready: VecDeque<NodeIndex> = self
            .dag
            .node_indices()
            .filter(|n| waiting[n.index()] == 0)
            .collect();
        let mut settled: VecDeque<(NodeIndex, Outcome)> = VecDeque::new();
        let mut running = JoinSet::new();
        loop {
            // Start every ready step, or settle it without running.
            while let Some(node) = ready.pop_front() {
                let blocked = blocked[node.index()].take();
                if self.context.interrupt.is_set() {
                    settled.push_back((node, Outcome::NotDone(INTERRUPTED.into())));
                } else if let Some(cause) = blocked {
                    settled.push_back((node, Outcome::NotDone(cause)));
                } else if let Some(cause) = self.context.stop_cause() {
                    settled.push_back((node, Outcome::NotDone(cause.into())));
                } else {
                    let context = Arc::clone(&self.context);
                    let step = self.dag[node];
                    running.spawn(async move { (node, context.perform(step).await) });
                }
            }
            let (node, outcome) = match settled.pop_front() {
                Some(settled) => settled,
                None => match running.join_next().await {
                    Some(joined) => joined.expect("a step panicked"),
                    None => break,
                },
            };
            let ok = self.context.account(self.dag[node], &outcome, &mut summary);
            if !ok && !self.ignore_failures && !matches!(outcome, Outcome::NotDone(_)) {
                self.context
                    .stopping
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            for edge in self.dag.edges_directed(node, Direction::Outgoing) {
                let next = edge.target();
                if !ok && *edge.weight() == Edge::Needs && blocked[next.index()].is_none() {
                    blocked[next.index()] = Some(format!(
                        "needs {}, which was not done",
                        self.context.describe(self.dag[node])
                    ));
                }
                waiting[next.index()] -= 1;
                if waiting[next.index()] == 0 {
                    ready.push_back(next);
                }
            }
        }
        let complete = summary.failures.is_empty() && summary.steps_not_done == 0;
        let check = &self.context.check;
        let redone = check.as_ref().is_some_and(|c| c.missing > 0);
        if complete && (self.context.recovered.finished_ms.is_none() || redone) {
            // Flushes the copies' noted `done` marks too.
            if let Err(e) = self.context.journal.record_finished().await {
                tracing::warn!("the journal did not record the finish: {e}");
            }
        } else {
            // The copies' `done` marks were only noted; one lost would cost a
            // later run of this plan a check of the target, no more.
            let _ = self.context.journal.flush().await;
        }
        summary.journal_check = check.clone();
        summary.duration_secs = started.elapsed().as_secs_f64();
        summary.retries = self
            .context
            .retries
            .load(std::sync::atomic::Ordering::Relaxed);
        summary.outcome = match (complete, self.ignore_failures) {
            (true, _) => RunOutcome::Success,
            (false, _) if self.context.interrupt.is_set() => RunOutcome::Interrupted,
            (false, true) => RunOutcome::Partial,
            (false, false) => RunOutcome::Failed,
        };
        Ok(summary)
    }
}

/// Why a step was not started in a fail-fast run.
const STOPPED: &str = "not started: the run stopped after a failure (see --ignore-failures)";
/// Why a step was not started in an interrupted run: not worth a line each.
const INTERRUPTED: &str = "not started: the run was interrupted";

impl Context {
    /// Why no new step may start, if none may.
    fn stop_cause(&self) -> Option<&'static str> {
        if self.interrupt.is_set() {
            Some(INTERRUPTED)
        } else if self.stopping.load(std::sync::atomic::Ordering::Relaxed) {
            Some(STOPPED)
        } else {
            None
        }
    }

    /// Counts one outcome; returns whether the step succeeded.
    fn account(&self, step: Step, outcome: &Outcome, summary: &mut Summary) -> bool {
        let path = self.describe(step);
        let fail = |summary: &mut Summary, kind, cause: &str| {
            summary.failures.push(Failure {
                path: path.clone(),
                cause: cause.to_string(),
                kind,
            });
        };
        match outcome {
            Outcome::Copied { bytes } => {
                summary.files_copied += 1;
                summary.bytes_copied += bytes;
            }
            Outcome::AlreadyDone if matches!(step, Step::Copy { .. }) => {
                summary.files_already_done += 1
            }
            Outcome::Created => summary.dirs_created += 1,
            Outcome::Deleted if matches!(step, Step::ClearStaging { .. }) => {
                summary.dirs_deleted += 1
            }
            Outcome::Deleted => match self.action(step) {
                Some(Action::Delete(d)) if d.entry == hsync_storage::EntryKind::Dir => {
                    summary.dirs_deleted += 1
                }
                _ => summary.files_deleted += 1,
            },
            Outcome::Moved(moves) => {
                summary.paths_renamed += moves.renamed;
                summary.files_deleted += moves.files_deleted;
                summary.dirs_deleted += moves.dirs_deleted;
            }
            Outcome::AlreadyDone
            | Outcome::AttributesSet
            | Outcome::Published
            | Outcome::Renamed { .. }
            | Outcome::SnapshotTaken { .. } => {}
            Outcome::Stale(cause) => {
                summary.files_stale += 1;
                fail(summary, "stale", cause);
            }
            Outcome::Failed(cause) => {
                if matches!(step, Step::Copy { .. }) {
                    summary.files_failed += 1;
                }
                fail(summary, "failed", cause);
            }
            Outcome::NotDone(cause) if cause == INTERRUPTED => {
                // What an interrupt left for the resumed run: counted, no line.
                summary.steps_not_done += 1;
                return false;
            }
            Outcome::NotDone(cause) => {
                summary.steps_not_done += 1;
                // Internal steps are not worth a line; paths a reviewer saw are.
                if matches!(
                    step,
                    Step::Copy { .. }
                        | Step::Symlink { .. }
                        | Step::Delete { .. }
                        | Step::Mkdir { .. }
                ) {
                    fail(summary, "not-done", cause);
                }
            }
        }
        let ok = !matches!(
            outcome,
            Outcome::Stale(_) | Outcome::Failed(_) | Outcome::NotDone(_)
        );
        // A folder's attributes done earlier are no news: its mkdir says so.
        let attributes_done = matches!(outcome, Outcome::AlreadyDone)
            && matches!(
                step,
                Step::DirAttributes { .. } | Step::FileAttributes { .. }
            );
        let internal = attributes_done
            || matches!(
                step,
                Step::CopiesDone { .. }
                    | Step::Root { .. }
                    | Step::MoveAside { .. }
                    | Step::LandRenames { .. }
            );
        if !internal || !ok {
            self.observer.event(&Event::Finished {
                path: self.describe(step),
                outcome: outcome.clone(),
            });
        }
        ok
    }

    fn action(&self, step: Step) -> Option<&Action> {
        let action = dag::action_of(step)?;
        Some(&self.plan.jobs[dag::job_of(step)].actions[action])
    }

    /// The target path a step is about, for messages.
    fn describe(&self, step: Step) -> String {
        let job = &self.plan.jobs[dag::job_of(step)];
        match (step, self.action(step)) {
            (_, Some(action)) => join(&job.target_root, action.path()),
            (Step::ClearStaging { index, .. }, None) => {
                temp_sibling(&job.target_root, &job.leftover_staging[index])
            }
            (_, None) => job.target_root.clone(),
        }
    }

    async fn perform(&self, step: Step) -> Outcome {
        let key = step.key();
        if self.recovered.done.contains(&key) {
            return Outcome::AlreadyDone;
        }
        let job = dag::job_of(step);
        let (plan, context) = (&self.plan.jobs[job], &self.jobs[job]);
        let result = match (step, self.action(step)) {
            (Step::Copy { .. }, Some(Action::Copy(copy))) => {
                let slot = context.transfers.acquire().await.expect("semaphore open");
                if let Some(cause) = self.stop_cause() {
                    return Outcome::NotDone(cause.into());
                }
                self.copy(&key, plan, context, copy, slot).await
            }
            (Step::CopiesDone { .. }, _) => return Outcome::AlreadyDone,
            (step, action) => {
                let _slot = self.metadata.acquire().await.expect("semaphore open");
                if let Some(cause) = self.stop_cause() {
                    return Outcome::NotDone(cause.into());
                }
                self.metadata_step(step, action, plan, context).await
            }
        };
        match result {
            Ok(outcome) => {
                let journaled = !matches!(step, Step::Root { .. } | Step::Copy { .. });
                if journaled {
                    if let Err(e) = self.journal.record(&key, Mark::Done).await {
                        return Outcome::Failed(format!("journal: {e}"));
                    }
                }
                outcome
            }
            Err(CopyError::Stale(cause)) => Outcome::Stale(cause),
            Err(CopyError::Escapes(cause)) => Outcome::Failed(cause),
            Err(e @ CopyError::Interrupted) => Outcome::NotDone(e.to_string()),
            Err(CopyError::Storage(e)) => Outcome::Failed(e.to_string()),
        }
    }

    async fn metadata_step(
        &self,
        step: Step,
        action: Option<&Action>,
        plan: &JobPlan,
        context: &JobContext,
    ) -> Result<Outcome, CopyError> {
        let target = &context.target;
        let at = |path: &str| join(&context.root, path);
        if let Some(action) = action {
            inside(target, &context.root, &at(action.path())).await?;
        }
        Ok(match (step, action) {
            (Step::Root { .. }, _) => {
                // The staging folder, or the target root (also once an
                // atomic target is published: see `verify`).
                target.create_dir(&context.root).await?;
                if plan.snapshot.is_some() {
                    let job = dag::job_of(step);
                    let resumed = self
                        .recovered
                        .done
                        .iter()
                        .chain(&self.recovered.committing)
                        .any(|key| key.starts_with(&format!("{job}/")));
                    moves::check_cycle(plan, context, resumed).await?;
                }
                Outcome::AlreadyDone
            }
            (Step::ClearStaging { index, .. }, _) => {
                // The loader let through only tags: this is hsync's own
                // staging sibling of the target root, nothing else.
                let staging = temp_sibling(&plan.target_root, &plan.leftover_staging[index]);
                match target.stat(&staging).await? {
                    None => Outcome::AlreadyDone,
                    Some(_) => {
                        target.remove_tree(&staging).await?;
                        Outcome::Deleted
                    }
                }
            }
            (Step::MoveAside { .. }, _) => {
                let moves = self.moves(step, plan, context);
                Outcome::Moved(moves.aside().await?)
            }
            (Step::LandRenames { .. }, _) => {
                let moves = self.moves(step, plan, context);
                Outcome::Moved(moves.land().await?)
            }
            (Step::Snapshot { .. }, _) => {
                let name = moves::take_snapshot(plan, context).await?;
                Outcome::SnapshotTaken { name }
            }
            (Step::Symlink { .. }, Some(Action::Symlink(link))) => {
                self.symlink(target, &at(&link.path), link).await?
            }
            (Step::Mkdir { .. }, Some(Action::Mkdir(mkdir))) => {
                target.create_dir(&at(&mkdir.path)).await?;
                Outcome::Created
            }
            (Step::FileAttributes { .. }, Some(Action::Copy(copy))) => {
                let path = at(&copy.path);
                // Before the other attributes: a permission or owner taken
                // from the source could leave hsync unable to write them.
                let namespaces = plan.copied_xattrs();
                if !namespaces.is_empty() {
                    let source = join(&plan.source_roots[copy.source.root], &copy.source.path);
                    let xattrs: Vec<XAttr> = context
                        .source
                        .xattrs(&source)
                        .await?
                        .into_iter()
                        .filter(|x| namespaces.contains(&x.namespace))
                        .collect();
                    if !xattrs.is_empty() {
                        target.set_xattrs(&path, &xattrs).await?;
                    }
                }
                // Replication was given to the create call already.
                let attributes = Attributes {
                    replication: None,
                    ..copy.attributes.clone()
                };
                if !attributes.is_empty() {
                    target.set_attributes(&path, &attributes).await?;
                }
                Outcome::AttributesSet
            }
            (Step::DirAttributes { .. }, Some(Action::Mkdir(a))) => {
                set_dir_attributes(target, &at(&a.path), &a.attributes).await?
            }
            (Step::DirAttributes { .. }, Some(Action::SetAttributes(a))) => {
                set_dir_attributes(target, &at(&a.path), &a.attributes).await?
            }
            (Step::Delete { .. }, Some(Action::Delete(delete))) => {
                let path = at(&delete.path);
                match target.stat(&path).await? {
                    None => Outcome::AlreadyDone,
                    Some(now)
                        if now.kind != delete.entry
                            || (now.kind == hsync_storage::EntryKind::File
                                && (now.size, now.mtime_ms)
                                    != (delete.seen.size, delete.seen.mtime_ms)) =>
                    {
                        return Err(CopyError::Stale(format!(
                            "{path} changed since the plan; not deleted, plan again"
                        )));
                    }
                    Some(now) if now.kind == hsync_storage::EntryKind::Dir => {
                        target.remove_dir(&path).await?;
                        Outcome::Deleted
                    }
                    Some(_) => {
                        target.remove_file(&path).await?;
                        Outcome::Deleted
                    }
                }
            }
            (Step::Publish { .. }, _) => {
                if target.stat(&context.root).await?.is_some() {
                    if target.stat(&plan.target_root).await?.is_some() {
                        return Err(CopyError::Stale(format!(
                            "{} appeared while the atomic copy was staged; nothing published, plan again",
                            plan.target_root
                        )));
                    }
                    target.rename(&context.root, &plan.target_root).await?;
                }
                Outcome::Published
            }
            (step, _) => unreachable!("step {step:?} does not match its action"),
        })
    }

    fn moves<'a>(
        &'a self,
        step: Step,
        plan: &'a JobPlan,
        context: &'a JobContext,
    ) -> moves::Moves<'a> {
        moves::Moves {
            step,
            plan,
            target: &context.target,
            root: &context.root,
            stage: temp_sibling(&join(&context.root, "renames"), &self.tag),
            journal: &self.journal,
            recovered: &self.recovered,
            observer: self.observer.as_ref(),
            concurrency: METADATA_CONCURRENCY,
        }
    }

    /// One file: check the target is still what the plan saw, land the
    /// source under a temporary name, check the source did not change
    /// (unless it cannot), journal `committing`, rename, journal `done`.
    async fn copy(
        &self,
        key: &str,
        plan: &JobPlan,
        context: &JobContext,
        copy: &CopyAction,
        slot: SemaphorePermit<'_>,
    ) -> Result<Outcome, CopyError> {
        let source = join(&plan.source_roots[copy.source.root], &copy.source.path);
        let target = join(&context.root, &copy.path);
        let temp = temp_sibling(&target, &self.tag);
        if self.recovered.committing.contains(key) {
            // An earlier run completed the data, and the check of the
            // journal found it under its temporary name: only the rename is
            // missing.
            context.target.rename(&temp, &target).await?;
            self.journal.note(key, Mark::Done);
            return Ok(Outcome::AlreadyDone);
        }
        // No check of the source before the read: the one after it catches
        // any change since the plan, and a vanished source fails its open.
        let source_root = &plan.source_roots[copy.source.root];
        inside(&context.source, source_root, &source).await?;
        inside(&context.target, &context.root, &target).await?;
        check_target_unchanged(&target, copy, plan, context).await?;

        self.observer.event(&Event::Started {
            path: target.clone(),
            size: copy.size,
        });
        let on_bytes = |n| self.observer.event(&Event::Bytes(n));
        let mut attempt = 1;
        let mut slot = Some(slot);
        let landing = async {
            loop {
                let held = match slot.take() {
                    Some(slot) => slot,
                    None => context.transfers.acquire().await.expect("semaphore open"),
                };
                let transfer = Transfer {
                    source_fs: &context.source,
                    source: &source,
                    target_fs: &context.target,
                    temp: &temp,
                    copy,
                    chunk_size: self.buffer_size,
                    throttle: context.throttle.as_ref(),
                };
                let result = async {
                    let writer = transfer.write_temp(&on_bytes).await?;
                    // The close waits on the NameNode, not on bandwidth: the next
                    // file gets the transfer slot meanwhile.
                    let _closing = context.closing.acquire().await.expect("semaphore open");
                    drop(held);
                    writer.close().await.map_err(CopyError::from)
                }
                .await;
                match result {
                    Err(CopyError::Storage(e))
                        if e.kind == ErrorKind::Transient && attempt < ATTEMPTS =>
                    {
                        tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                        attempt += 1;
                        self.retries
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    other => break other,
                }
            }
        };
        // An interrupt rolls back a file whose data is in flight; once the
        // data is complete, the file commits.
        let landed = tokio::select! {
            landed = landing => landed,
            () = self.interrupt.wait() => Err(CopyError::Interrupted),
        };
        // The source must not have moved on since the plan; a snapshot cannot.
        let landed = match landed {
            Ok(()) if !context.source.immutable(&source) => {
                self.check_unchanged(&source, copy, context).await
            }
            other => other,
        };
        if let Err(e) = landed {
            let _ = context.target.remove_file(&temp).await;
            return Err(e);
        }
        self.journal
            .record(key, Mark::Committing)
            .await
            .map_err(journal_failed)?;
        context.target.rename(&temp, &target).await?;
        self.journal.note(key, Mark::Done);
        Ok(Outcome::Copied { bytes: copy.size })
    }

    /// A link made under a temporary name and renamed into place, over the
    /// link the plan saw if any; a rename replaces a link, never follows it.
    async fn symlink(
        &self,
        target: &Arc<dyn Storage>,
        path: &str,
        link: &hsync_plan::SymlinkAction,
    ) -> Result<Outcome, CopyError> {
        let now = match target.stat(path).await? {
            None => None,
            Some(e) if e.kind == hsync_storage::EntryKind::Symlink => {
                Some(Some(target.read_link(path).await?))
            }
            Some(_) => Some(None),
        };
        if now == Some(Some(link.link.clone())) {
            return Ok(Outcome::AlreadyDone); // renamed into place by an earlier run
        }
        if now != link.replaces.clone().map(Some) {
            return Err(CopyError::Stale(format!(
                "{} changed since the plan; not replaced, plan again",
                hsync_storage::display(path)
            )));
        }
        let temp = temp_sibling(path, &self.tag);
        if target.stat(&temp).await?.is_some() {
            target.remove_file(&temp).await?;
        }
        target.create_symlink(&link.link, &temp).await?;
        target.rename(&temp, path).await?;
        Ok(Outcome::Copied { bytes: 0 })
    }

    async fn check_unchanged(
        &self,
        source: &str,
        copy: &CopyAction,
        context: &JobContext,
    ) -> Result<(), CopyError> {
        match context.source.stat(source).await? {
            None => Err(crate::transfer::vanished(source)),
            Some(now) if (now.size, now.mtime_ms) != (copy.size, copy.mtime_ms) => {
                Err(CopyError::Stale(format!(
                    "{source} changed since the plan (size {} → {}, mtime {} → {}); plan again",
                    copy.size, now.size, copy.mtime_ms, now.mtime_ms
                )))
            }
            Some(_) => Ok(()),
        }
    }
}

async fn set_dir_attributes(
    target: &Arc<dyn Storage>,
    path: &str,
    attributes: &Attributes,
) -> Result<Outcome, CopyError> {
    if !attributes.is_empty() {
        target.set_attributes(path, attributes).await?;
    }
    Ok(Outcome::AttributesSet)
}

/// The target must still be as the plan saw it: absent, or the file it
/// planned to replace (a staged atomic target is hsync's own).
async fn check_target_unchanged(
    target: &str,
    copy: &CopyAction,
    plan: &JobPlan,
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
async fn inside(storage: &Arc<dyn Storage>, root: &str, path: &str) -> Result<(), CopyError> {
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

pub(crate) fn journal_failed(e: std::io::Error) -> CopyError {
    CopyError::Storage(hsync_storage::StorageError::new(
        "journal",
        "",
        ErrorKind::Other,
        e,
    ))
}
