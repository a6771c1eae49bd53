//! The steps themselves: what each does on the target, within the job's
//! limits, and what it journals.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hsync_plan::{Action, CopyAction, JobHeader};
use hsync_storage::{join, temp_sibling, Attributes, ErrorKind, Storage, XAttr};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::guards::{inside, source_unchanged, target_unchanged, Contained};
use crate::journal::{Journal, Mark, Recovered};
use crate::moves;
use crate::part::{Part, Share};
use crate::report::{Event, Observer, Outcome, INTERRUPTED, REFUSED, STOPPED};
use crate::step::Step;
use crate::throttle::Throttle;
use crate::transfer::{CopyError, Landed, Transfer};
use crate::Interrupt;

/// Metadata calls (mkdir, attributes, deletes) in flight at once.
pub(crate) const METADATA_CONCURRENCY: usize = 64;
/// Files that may wait in their close per transfer slot: on HDFS a close
/// waits until the DataNode has reported the last block, which takes no
/// bandwidth, so small files keep many closes in flight.
const CLOSES_PER_TRANSFER: usize = 8;
/// Attempts at a transfer that fails for a transient cause.
const ATTEMPTS: u32 = 3;

/// Everything a step needs, shared by all running steps.
pub(crate) struct Context {
    pub jobs: Vec<JobContext>,
    pub journal: Journal,
    pub recovered: Recovered,
    pub observer: Arc<dyn Observer>,
    pub metadata: Semaphore,
    /// Ties temporary names to this plan.
    pub tag: String,
    pub buffer_size: usize,
    /// Set at the first failure unless failures are ignored: a step that was
    /// already waiting for a slot then does not start either.
    pub stopping: AtomicBool,
    /// Set when a cluster refused the credentials (or they expired).
    pub refused: AtomicBool,
    /// Transfers tried again after a transient failure.
    pub retries: AtomicU64,
    pub interrupt: Interrupt,
    /// The steps this run performs.
    pub part: Part,
}

/// Why the commit of a distributed apply finds a copy not done.
const NOT_COPIED: &str = "not copied: its chunk did not finish; run the same apply again";

pub(crate) struct JobContext {
    pub plan: JobHeader,
    pub source: Arc<dyn Storage>,
    pub target: Arc<dyn Storage>,
    /// Where files land: the target root, or its staging sibling for atomic commit.
    pub root: String,
    transfers: Semaphore,
    /// Files whose data is written and whose close is waiting on the NameNode.
    closing: Semaphore,
    throttle: Option<Throttle>,
    /// Folders found inside the source roots and the target root.
    source_folders: Contained,
    target_folders: Contained,
}

impl JobContext {
    pub fn new(
        plan: JobHeader,
        source: Arc<dyn Storage>,
        target: Arc<dyn Storage>,
        root: String,
        parallel: usize,
    ) -> JobContext {
        JobContext {
            throttle: plan.options.bandwidth.map(Throttle::new),
            plan,
            source,
            target,
            root,
            transfers: Semaphore::new(parallel),
            closing: Semaphore::new(parallel * CLOSES_PER_TRANSFER),
            source_folders: Contained::default(),
            target_folders: Contained::default(),
        }
    }
}

/// What a step works on.
#[derive(Debug, Clone, Default)]
pub(crate) enum Payload {
    #[default]
    None,
    Action(Arc<Action>),
    /// The job's moves, by action ordinal.
    Moves(Arc<Vec<(u64, Action)>>),
    /// A folder's times, kept while its contents are deleted.
    Times(Arc<KeptTimes>),
}

#[derive(Debug)]
pub(crate) struct KeptTimes {
    /// The folder, relative to the root.
    pub path: String,
    pub mtime_ms: std::sync::Mutex<Option<i64>>,
}

impl Payload {
    pub fn action(&self) -> Option<&Action> {
        match self {
            Payload::Action(action) => Some(action),
            _ => None,
        }
    }
}

impl Context {
    /// Why no new step may start, if none may.
    pub fn stop_cause(&self) -> Option<&'static str> {
        if self.interrupt.is_set() {
            Some(INTERRUPTED)
        } else if self.refused.load(Ordering::Relaxed) {
            Some(REFUSED)
        } else if self.stopping.load(Ordering::Relaxed) {
            Some(STOPPED)
        } else {
            None
        }
    }

    /// The target path a step is about, for messages.
    pub fn describe(&self, job: usize, step: Step, payload: &Payload) -> String {
        let plan = &self.jobs[job].plan;
        match (step, payload) {
            (_, Payload::Action(action)) => join(&plan.target_root, action.path()),
            (_, Payload::Times(times)) => join(&plan.target_root, &times.path),
            (Step::ClearStaging(index), _) => {
                temp_sibling(&plan.target_root, &plan.leftover_staging[index])
            }
            _ => plan.target_root.clone(),
        }
    }

    pub async fn perform(&self, job: usize, step: Step, payload: Payload) -> Outcome {
        match self.part.share(job, step) {
            Share::Here => {}
            Share::Elsewhere => return Outcome::Elsewhere,
            // The chunks' reports count these.
            Share::Chunks if self.recovered.done(job, step) => return Outcome::Elsewhere,
            Share::Chunks => return Outcome::NotDone(NOT_COPIED.to_string()),
            Share::Prepared if self.recovered.done(job, step) => return Outcome::Elsewhere,
            Share::Prepared => {}
        }
        if self.recovered.done(job, step) {
            return Outcome::AlreadyDone;
        }
        let context = &self.jobs[job];
        let result = match (step, payload.action()) {
            (Step::Copy(action), Some(Action::Copy(copy))) => {
                let slot = context.transfers.acquire().await.expect("semaphore open");
                if let Some(cause) = self.stop_cause() {
                    return Outcome::NotDone(cause.into());
                }
                self.copy(job, action, context, copy, slot).await
            }
            (Step::WalkDone, _) => Ok(Outcome::AlreadyDone),
            (step, _) => {
                let _slot = self.metadata.acquire().await.expect("semaphore open");
                if let Some(cause) = self.stop_cause() {
                    return Outcome::NotDone(cause.into());
                }
                self.metadata_step(job, step, &payload, context).await
            }
        };
        let result = match result {
            Ok(outcome) if step.journaled() => self
                .journal
                .record(&step.key(job), Mark::Done)
                .await
                .map(|()| outcome)
                .map_err(CopyError::Journal),
            other => other,
        };
        match result {
            Ok(outcome) => outcome,
            Err(CopyError::Stale(cause)) => Outcome::Stale(cause),
            Err(CopyError::Escapes(cause)) => Outcome::Failed(cause),
            Err(e @ CopyError::Interrupted) => Outcome::NotDone(e.to_string()),
            Err(CopyError::Storage(e)) if e.kind == ErrorKind::Unauthenticated => {
                self.refused.store(true, Ordering::Relaxed);
                Outcome::Failed(e.to_string())
            }
            Err(e @ (CopyError::Storage(_) | CopyError::Journal(_))) => {
                Outcome::Failed(e.to_string())
            }
        }
    }

    async fn metadata_step(
        &self,
        job: usize,
        step: Step,
        payload: &Payload,
        context: &JobContext,
    ) -> Result<Outcome, CopyError> {
        let (plan, target) = (&context.plan, &context.target);
        let at = |path: &str| join(&context.root, path);
        let action = payload.action();
        if let Some(action) = action {
            inside(
                target,
                &context.root,
                &at(action.path()),
                &context.target_folders,
            )
            .await?;
        }
        Ok(match (step, action) {
            (Step::Root, _) => {
                // The staging folder, or the target root (also once an
                // atomic target is published: see `verify`).
                target.create_dir(&context.root).await?;
                if plan.snapshot.is_some() {
                    moves::check_cycle(context, self.recovered.any(job)).await?;
                }
                Outcome::AlreadyDone
            }
            (Step::ClearStaging(index), _) => {
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
            (Step::MoveAside | Step::LandRenames, _) => {
                let Payload::Moves(actions) = payload else {
                    unreachable!("a move step carries the moves")
                };
                let moves = moves::Moves {
                    job,
                    step,
                    actions,
                    context,
                    stage: temp_sibling(&join(&context.root, "renames"), &self.tag),
                    journal: &self.journal,
                    recovered: &self.recovered,
                    observer: self.observer.as_ref(),
                    concurrency: METADATA_CONCURRENCY,
                };
                match step {
                    Step::MoveAside => Outcome::Moved(moves.aside().await?),
                    _ => Outcome::Moved(moves.land().await?),
                }
            }
            (Step::KeepTimes, _) => {
                if let Payload::Times(times) = payload {
                    let now = target.stat(&at(&times.path)).await?;
                    *times.mtime_ms.lock().expect("kept times") = now.map(|e| e.mtime_ms);
                }
                Outcome::AlreadyDone
            }
            (Step::Emptied, _) => {
                let kept = match payload {
                    Payload::Times(times) => *times.mtime_ms.lock().expect("kept times"),
                    _ => None,
                };
                if let (Some(mtime_ms), Payload::Times(times)) = (kept, payload) {
                    let attributes = Attributes {
                        mtime_ms: Some(mtime_ms),
                        ..Attributes::default()
                    };
                    set_attributes(target, &at(&times.path), &attributes).await?;
                }
                Outcome::AlreadyDone
            }
            (Step::Snapshot, _) => Outcome::SnapshotTaken {
                name: moves::take_snapshot(context).await?,
            },
            (Step::Symlink(_), Some(Action::Symlink(link))) => {
                self.symlink(target, &at(&link.path), link).await?
            }
            (Step::Mkdir(_), Some(Action::Mkdir(mkdir))) => {
                target.create_dir(&at(&mkdir.path)).await?;
                Outcome::Created
            }
            (Step::FileAttributes(_), Some(Action::Copy(copy))) => {
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
                set_attributes(target, &path, &attributes).await?
            }
            (Step::DirAttributes(_), Some(Action::Mkdir(a))) => {
                set_attributes(target, &at(&a.path), &a.attributes).await?
            }
            (Step::DirAttributes(_), Some(Action::SetAttributes(a))) => {
                set_attributes(target, &at(&a.path), &a.attributes).await?
            }
            (Step::Delete(_), Some(Action::Delete(delete))) => {
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
                    // A subtree the planner left with the other deletes.
                    Some(_) if delete.recursive => {
                        target.remove_tree(&path).await?;
                        Outcome::Deleted
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
            (Step::Publish, _) => {
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

    /// One file: check the target is still what the plan saw, land the
    /// source under a temporary name, check the source did not change
    /// (unless it cannot), journal `committing`, rename, journal `done`.
    async fn copy(
        &self,
        job: usize,
        action: u64,
        context: &JobContext,
        copy: &CopyAction,
        slot: SemaphorePermit<'_>,
    ) -> Result<Outcome, CopyError> {
        let plan = &context.plan;
        let key = Step::Copy(action).key(job);
        let source = join(&plan.source_roots[copy.source.root], &copy.source.path);
        let target = join(&context.root, &copy.path);
        let temp = temp_sibling(&target, &self.tag);
        if self.recovered.committing(job, action) {
            // An earlier run completed the data, and the check of the
            // journal found it under its temporary name: only the rename is
            // missing.
            context.target.rename(&temp, &target).await?;
            self.journal.note(&key, Mark::Done);
            return Ok(Outcome::AlreadyDone);
        }
        // No check of the source before the read: the one after it catches
        // any change since the plan, and a vanished source fails its open.
        let source_root = &plan.source_roots[copy.source.root];
        inside(
            &context.source,
            source_root,
            &source,
            &context.source_folders,
        )
        .await?;
        inside(
            &context.target,
            &context.root,
            &target,
            &context.target_folders,
        )
        .await?;
        target_unchanged(&target, copy, plan, context).await?;

        self.observer.event(&Event::Started {
            path: target.clone(),
            size: copy.size,
        });
        let on_bytes = |n| self.observer.event(&Event::Bytes(n));
        let transfer = Transfer {
            source_fs: &context.source,
            source: &source,
            target_fs: &context.target,
            temp: &temp,
            copy,
            chunk_size: self.buffer_size,
            throttle: context.throttle.as_ref(),
        };
        let mut attempt = 1;
        let mut slot = Some(slot);
        let landing = async {
            loop {
                let held = match slot.take() {
                    Some(slot) => slot,
                    None => context.transfers.acquire().await.expect("semaphore open"),
                };
                let result = async {
                    let landed = transfer.land(&on_bytes).await?;
                    // The close waits on the NameNode, not on bandwidth: the next
                    // file gets the transfer slot meanwhile. A whole local file
                    // waits for its group's sync, which is bounded by the window.
                    let _closing = match landed {
                        Landed::Writer(_) => {
                            Some(context.closing.acquire().await.expect("semaphore open"))
                        }
                        Landed::Whole(_) => None,
                    };
                    drop(held);
                    landed.close().await
                }
                .await;
                match result {
                    Err(CopyError::Storage(e))
                        if e.kind == ErrorKind::Transient && attempt < ATTEMPTS =>
                    {
                        tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                        attempt += 1;
                        self.retries.fetch_add(1, Ordering::Relaxed);
                    }
                    other => break other,
                }
            }
        };
        // An interrupt rolls back a file whose data is in flight; once the
        // data is complete, the file commits. A whole-file copy is one
        // blocking call that cannot be stopped: it is waited for, so that
        // its temporary file is never removed before it is made.
        let landed = match transfer.whole_file() {
            Some(_) => landing.await,
            None => tokio::select! {
                landed = landing => landed,
                () = self.interrupt.wait() => Err(CopyError::Interrupted),
            },
        };
        // The source must not have moved on since the plan; a snapshot cannot.
        let landed = match landed {
            Ok(()) if !context.source.immutable(&source) => {
                source_unchanged(&source, copy, context).await
            }
            other => other,
        };
        if let Err(e) = landed {
            let _ = context.target.remove_file(&temp).await;
            return Err(e);
        }
        let committing = match transfer.whole_file() {
            Some(_) => self.journal.record_grouped(&key, Mark::Committing).await,
            None => self.journal.record(&key, Mark::Committing).await,
        };
        committing.map_err(CopyError::Journal)?;
        context.target.rename(&temp, &target).await?;
        self.journal.note(&key, Mark::Done);
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
}

async fn set_attributes(
    target: &Arc<dyn Storage>,
    path: &str,
    attributes: &Attributes,
) -> Result<Outcome, CopyError> {
    if !attributes.is_empty() {
        target.set_attributes(path, attributes).await?;
    }
    Ok(Outcome::AttributesSet)
}
