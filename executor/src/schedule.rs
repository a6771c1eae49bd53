//! The scheduler: reads the plan as a stream, job after job, and turns each
//! action into steps as it arrives, holding a bounded window of them. Steps
//! depend on one another as the plan's order allows (see
//! [`hsync_plan::order`]): parents before children, data before attributes,
//! copies before deletes, a folder's attributes once the walk has left it
//! and everything inside it is done, a folder's delete after the deletes of
//! what it held. Whatever step is ready next runs (no static split) on
//! tokio within the job's limits, and every outcome is counted.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hsync_plan::order::{is_inside, Phase};
use hsync_plan::{Action, Commit, LoadError, PlanFile, Preserve, Record};
use hsync_storage::EntryKind;
use tokio::task::JoinSet;

use crate::report::{Outcome, Summary, INTERRUPTED};
use crate::step::{Edge, Step};
use crate::steps::{Context, KeptTimes, Payload};
use crate::ApplyError;

/// Steps held at once, beyond those that wait for the walk to leave a
/// folder: what bounds apply's memory, whatever the size of the plan.
const WINDOW: usize = 4096;

type NodeId = usize;

struct Node {
    step: Step,
    payload: Payload,
    /// Steps it waits for, plus holds (its builder's, or the walk's while
    /// it is inside the node's folder).
    waiting: usize,
    dependents: Vec<(NodeId, Edge)>,
    /// Why it will not run: something it needs was not done.
    blocked: Option<String>,
    /// Once finished: `None` if it succeeded, else why its dependents fail.
    finished: Option<Option<String>>,
    /// Holders that may yet make steps depend on it (a folder's creator
    /// while the walk is inside the folder, the job's base and barrier).
    pins: u32,
}

/// The steps of the window, their dependencies, and which are ready.
#[derive(Default)]
struct Graph {
    nodes: Vec<Option<Node>>,
    free: Vec<NodeId>,
    live: usize,
    ready: VecDeque<NodeId>,
}

impl Graph {
    /// A new step, held until [`Graph::release`].
    fn add(&mut self, step: Step, payload: Payload) -> NodeId {
        let node = Node {
            step,
            payload,
            waiting: 1,
            dependents: Vec::new(),
            blocked: None,
            finished: None,
            pins: 0,
        };
        self.live += 1;
        match self.free.pop() {
            Some(id) => {
                self.nodes[id] = Some(node);
                id
            }
            None => {
                self.nodes.push(Some(node));
                self.nodes.len() - 1
            }
        }
    }

    fn node(&mut self, id: NodeId) -> &mut Node {
        self.nodes[id].as_mut().expect("a live step")
    }

    /// `node` waits for `on` (which is pinned or not yet finished).
    fn depend(&mut self, node: NodeId, on: NodeId, edge: Edge) {
        match self.node(on).finished.clone() {
            None => {
                self.node(on).dependents.push((node, edge));
                self.node(node).waiting += 1;
            }
            Some(Some(cause)) if edge == Edge::Needs => {
                self.node(node).blocked.get_or_insert(cause);
            }
            Some(_) => {}
        }
    }

    /// Drops one hold or dependency of `node`: it is ready at the last.
    fn release(&mut self, id: NodeId) {
        let node = self.node(id);
        node.waiting -= 1;
        if node.waiting == 0 {
            self.ready.push_back(id);
        }
    }

    fn pin(&mut self, id: NodeId) {
        self.node(id).pins += 1;
    }

    fn unpin(&mut self, id: NodeId) {
        let node = self.node(id);
        node.pins -= 1;
        if node.pins == 0 && node.finished.is_some() {
            self.remove(id);
        }
    }

    /// Settles `id`: its dependents learn whether it succeeded (`failed`
    /// says why they fail if they need it).
    fn finish(&mut self, id: NodeId, failed: Option<String>) {
        let dependents = std::mem::take(&mut self.node(id).dependents);
        for (dependent, edge) in dependents {
            if let (Some(cause), Edge::Needs) = (&failed, edge) {
                self.node(dependent)
                    .blocked
                    .get_or_insert_with(|| cause.clone());
            }
            self.release(dependent);
        }
        let node = self.node(id);
        node.finished = Some(failed);
        if node.pins == 0 {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: NodeId) {
        self.nodes[id] = None;
        self.free.push(id);
        self.live -= 1;
    }
}

/// A folder the walk is inside.
struct Folder {
    path: String,
    /// Its mkdir, which what it holds needs (pinned).
    creator: Option<NodeId>,
    /// Its attributes: they wait for everything inside, and for the walk
    /// to leave it (a hold).
    attributes: NodeId,
}

/// A folder whose contents are being deleted: its [`Step::Emptied`] step
/// waits for their deletes (and becomes the folder's own delete if it
/// comes), and for the deletes to leave it (a hold).
struct Emptied {
    path: String,
    node: NodeId,
    /// With times preserved, the [`Step::KeepTimes`] the deletes inside
    /// come after (pinned).
    keep: Option<NodeId>,
}

/// One job being read and run.
struct Job {
    index: usize,
    phase: Phase,
    /// Every copy gets an attributes step (extended attributes are read
    /// from the source once the file is in place).
    xattrs: bool,
    /// Folder times are preserved: deletes put them back.
    keep_times: bool,
    /// What everything of the job needs: its root, or the moves after it (pinned).
    base: NodeId,
    /// Waits for every step of the walk; deletes come after it (pinned).
    barrier: Option<NodeId>,
    moves: Vec<(u64, Action)>,
    folders: Vec<Folder>,
    emptied: Vec<Emptied>,
    /// Actions read so far.
    ordinal: u64,
    /// The first step of the job that was not done: nothing is published
    /// or snapshotted after it.
    failure: Option<String>,
}

impl Job {
    /// Job `index` before any of its actions is read, everything hanging on `base`.
    fn new(index: usize, xattrs: bool, keep_times: bool, base: NodeId) -> Job {
        Job {
            index,
            phase: Phase::Moves,
            xattrs,
            keep_times,
            base,
            barrier: None,
            moves: Vec::new(),
            folders: Vec::new(),
            emptied: Vec::new(),
            ordinal: 0,
            failure: None,
        }
    }
}

pub(crate) struct Scheduler {
    context: Arc<Context>,
    graph: Graph,
    running: JoinSet<(NodeId, Outcome)>,
    settled: VecDeque<(NodeId, Outcome)>,
    summary: Summary,
    ignore_failures: bool,
    job: Job,
}

impl Scheduler {
    pub fn new(context: Arc<Context>, summary: Summary, ignore_failures: bool) -> Scheduler {
        Scheduler {
            context,
            graph: Graph::default(),
            running: JoinSet::new(),
            settled: VecDeque::new(),
            summary,
            ignore_failures,
            job: Job::new(0, false, false, 0),
        }
    }

    /// Runs every job of the plan, one after the other (so that one job's
    /// window is held at a time), and returns the counts; a plan that
    /// cannot be read to its end stops the run.
    pub async fn run(mut self, plan: &PlanFile) -> Result<Summary, ApplyError> {
        let mut records = plan.records()?;
        let mut error = None;
        for index in 0..self.context.jobs.len() {
            match records.next() {
                Some(Ok(Record::Job(_))) => {}
                Some(Err(e)) => error = Some(e),
                _ => error = Some(changed(plan)),
            }
            if error.is_some() {
                break;
            }
            self.start_job(index);
            loop {
                self.drive(false).await;
                match records.next() {
                    Some(Ok(Record::Action(action))) => self.add(action),
                    Some(Ok(Record::Skipped(_))) => {}
                    Some(Ok(Record::End(_))) => break,
                    Some(Ok(Record::Job(_))) | None => error = Some(changed(plan)),
                    Some(Err(e)) => error = Some(e),
                }
                if error.is_some() {
                    // Nothing new starts; what runs finishes and is journaled.
                    self.context.stopping.store(true, Ordering::Relaxed);
                    break;
                }
            }
            self.end_job().await;
            if error.is_some() {
                break;
            }
        }
        if error.is_none() {
            // The trailer: the fingerprint of what was read.
            error = records.find_map(Result::err);
        }
        match error {
            Some(e) => Err(e.into()),
            None => Ok(self.summary),
        }
    }

    fn start_job(&mut self, index: usize) {
        let header = &self.context.jobs[index].plan;
        let staging = header.leftover_staging.len();
        let xattrs = !header.copied_xattrs().is_empty();
        let keep_times = header.options.preserve.contains(&Preserve::Times);
        let root = self.graph.add(Step::Root, Payload::None);
        self.graph.pin(root);
        for index in 0..staging {
            let clear = self.graph.add(Step::ClearStaging(index), Payload::None);
            self.graph.depend(root, clear, Edge::After);
            self.graph.release(clear);
        }
        self.graph.release(root);
        self.job = Job::new(index, xattrs, keep_times, root);
    }

    /// One action of the plan, as it comes: held with the moves, or made
    /// into steps.
    fn add(&mut self, action: Action) {
        let at = self.job.ordinal;
        self.job.ordinal += 1;
        // The reader refused any other order (see `hsync_plan::order`).
        let phase = match (Phase::of(&action), self.job.phase) {
            (Phase::Moves, Phase::Moves) => {
                self.job.moves.push((at, action));
                return;
            }
            (Phase::Moves, _) => Phase::Deletes,
            (phase, _) => phase,
        };
        if self.job.phase == Phase::Moves {
            self.begin_walk();
        }
        if phase == Phase::Deletes && self.job.phase == Phase::Walk {
            self.end_walk();
        }
        match phase {
            Phase::Deletes => self.delete(at, action),
            _ => self.walk(at, action),
        }
    }

    /// The moves are all read: they come first, then the walk.
    fn begin_walk(&mut self) {
        let graph = &mut self.graph;
        let job = &mut self.job;
        if !job.moves.is_empty() {
            let moves = Arc::new(std::mem::take(&mut job.moves));
            let aside = graph.add(Step::MoveAside, Payload::Moves(Arc::clone(&moves)));
            let land = graph.add(Step::LandRenames, Payload::Moves(moves));
            graph.depend(aside, job.base, Edge::Needs);
            graph.depend(land, aside, Edge::Needs);
            graph.release(aside);
            graph.release(land);
            graph.pin(land);
            graph.unpin(job.base);
            job.base = land;
        }
        let barrier = graph.add(Step::WalkDone, Payload::None);
        graph.depend(barrier, job.base, Edge::Needs);
        graph.pin(barrier);
        job.barrier = Some(barrier);
        job.phase = Phase::Walk;
    }

    /// The walk is over: its folders are left, and the deletes may begin
    /// once the copies are done.
    fn end_walk(&mut self) {
        while let Some(folder) = self.job.folders.pop() {
            self.leave(folder);
        }
        if let Some(barrier) = self.job.barrier {
            self.graph.release(barrier);
        }
        self.job.phase = Phase::Deletes;
    }

    fn leave(&mut self, folder: Folder) {
        if let Some(creator) = folder.creator {
            self.graph.unpin(creator);
        }
        self.graph.release(folder.attributes);
    }

    fn walk(&mut self, at: u64, action: Action) {
        let path = action.path();
        while let Some(top) = self.job.folders.last() {
            if is_inside(path, &top.path) {
                break;
            }
            let folder = self.job.folders.pop().expect("a folder");
            self.leave(folder);
        }
        let folders = &self.job.folders;
        let creator = folders.iter().rev().find_map(|f| f.creator);
        let creator = creator.unwrap_or(self.job.base);
        let parent = folders.last().map(|f| f.attributes);
        let path = path.to_string();
        let dir = match &action {
            Action::Mkdir(_) => true,
            Action::SetAttributes(set) => set.entry == EntryKind::Dir,
            _ => false,
        };
        let copy_attributes = match &action {
            Action::Copy(copy) => !copy.attributes.is_empty() || self.job.xattrs,
            _ => false,
        };
        let payload = Payload::Action(Arc::new(action));
        let graph = &mut self.graph;
        let barrier = self.job.barrier;
        // A step inside a folder comes before the folder's attributes.
        // and before the deletes.
        let step = |graph: &mut Graph, step: Step, needs: NodeId| {
            let id = graph.add(step, payload.clone());
            graph.depend(id, needs, Edge::Needs);
            if let Some(parent) = parent {
                graph.depend(parent, id, Edge::After);
            }
            if let Some(barrier) = barrier {
                graph.depend(barrier, id, Edge::After);
            }
            id
        };
        match payload.action() {
            Some(Action::Mkdir(_)) => {
                let mkdir = step(graph, Step::Mkdir(at), creator);
                let attributes = step(graph, Step::DirAttributes(at), mkdir);
                graph.release(mkdir);
                graph.pin(mkdir);
                self.job.folders.push(Folder {
                    path,
                    creator: Some(mkdir),
                    attributes,
                });
            }
            Some(Action::SetAttributes(_)) if dir => {
                let attributes = step(graph, Step::DirAttributes(at), creator);
                self.job.folders.push(Folder {
                    path,
                    creator: None,
                    attributes,
                });
            }
            Some(Action::SetAttributes(_)) => {
                let attributes = step(graph, Step::DirAttributes(at), creator);
                graph.release(attributes);
            }
            Some(action @ (Action::Copy(_) | Action::Symlink(_))) => {
                let kind = match action {
                    Action::Copy(_) => Step::Copy(at),
                    _ => Step::Symlink(at),
                };
                let copy = step(graph, kind, creator);
                let attributes =
                    copy_attributes.then(|| step(graph, Step::FileAttributes(at), copy));
                graph.release(copy);
                if let Some(attributes) = attributes {
                    graph.release(attributes);
                }
            }
            _ => unreachable!("only walk actions are walked"),
        }
    }

    /// A delete: after the walk, and after the deletes of everything the
    /// entry holds, which come before it; with times preserved, its
    /// folder's times are put back after.
    fn delete(&mut self, at: u64, action: Action) {
        let path = action.path().to_string();
        let payload = Payload::Action(Arc::new(action));
        let mut own = None;
        while let Some(top) = self.job.emptied.last() {
            if is_inside(&path, &top.path) {
                break;
            }
            let top = self.job.emptied.pop().expect("a folder");
            if let Some(keep) = top.keep {
                self.graph.unpin(keep);
            }
            if top.path == path {
                // The folder whose contents were deleted is deleted itself.
                let node = self.graph.node(top.node);
                node.step = Step::Delete(at);
                node.payload = payload.clone();
                own = Some(top.node);
                break;
            }
            self.graph.release(top.node);
        }
        let id = match own {
            Some(id) => id,
            None => {
                // The folders above it that the deletes enter here.
                let entered: Vec<usize> = path
                    .match_indices('/')
                    .map(|(i, _)| i)
                    .filter(|&i| {
                        let top = self.job.emptied.last();
                        top.is_none_or(|top| is_inside(&path[..i], &top.path))
                    })
                    .collect();
                for end in entered {
                    self.enter(&path[..end]);
                }
                let id = self.graph.add(Step::Delete(at), payload);
                self.inside_emptied(id);
                id
            }
        };
        self.graph.depend(id, self.job.base, Edge::Needs);
        if let Some(barrier) = self.job.barrier {
            self.graph.depend(id, barrier, Edge::After);
        }
        self.graph.release(id);
    }

    /// The deletes enter a folder: its times are read before they begin.
    fn enter(&mut self, folder: &str) {
        let (graph, job) = (&mut self.graph, &self.job);
        let (payload, keep) = match job.keep_times {
            true => {
                let times = Payload::Times(Arc::new(KeptTimes {
                    path: folder.to_string(),
                    mtime_ms: Default::default(),
                }));
                let keep = graph.add(Step::KeepTimes, times.clone());
                if let Some(barrier) = job.barrier {
                    graph.depend(keep, barrier, Edge::After);
                }
                graph.pin(keep);
                graph.release(keep);
                (times, Some(keep))
            }
            false => (Payload::None, None),
        };
        let node = graph.add(Step::Emptied, payload);
        self.inside_emptied(node);
        self.job.emptied.push(Emptied {
            path: folder.to_string(),
            node,
            keep,
        });
    }

    /// `id` is inside the innermost folder the deletes are in: it comes
    /// after that folder's times are read, and before they are put back.
    fn inside_emptied(&mut self, id: NodeId) {
        if let Some(folder) = self.job.emptied.last() {
            self.graph.depend(folder.node, id, Edge::Needs);
            if let Some(keep) = folder.keep {
                self.graph.depend(id, keep, Edge::After);
            }
        }
    }

    /// The job's records are all read: everything left runs, then the
    /// step that must come after everything (publish, snapshot).
    async fn end_job(&mut self) {
        if self.job.phase == Phase::Moves {
            self.begin_walk();
        }
        if self.job.phase == Phase::Walk {
            self.end_walk();
        }
        while let Some(emptied) = self.job.emptied.pop() {
            if let Some(keep) = emptied.keep {
                self.graph.unpin(keep);
            }
            self.graph.release(emptied.node);
        }
        self.drive(true).await;
        let header = &self.context.jobs[self.job.index].plan;
        let last = match (header.options.commit, &header.snapshot) {
            (Commit::Atomic, _) => Some(Step::Publish),
            (Commit::File, Some(_)) => Some(Step::Snapshot),
            (Commit::File, None) => None,
        };
        if let Some(last) = last {
            let id = self.graph.add(last, Payload::None);
            self.graph.node(id).blocked = self.job.failure.clone();
            self.graph.release(id);
            self.drive(true).await;
        }
        self.graph.unpin(self.job.base);
        if let Some(barrier) = self.job.barrier.take() {
            self.graph.unpin(barrier);
        }
    }

    /// Starts or settles ready steps and settles finished ones until the
    /// window has room for the next action (or, with `drain`, until no
    /// step is left).
    async fn drive(&mut self, drain: bool) {
        loop {
            while let Some(id) = self.graph.ready.pop_front() {
                self.start(id);
            }
            if let Some((id, outcome)) = self.settled.pop_front() {
                self.settle(id, outcome);
                continue;
            }
            if !drain && self.graph.live < WINDOW {
                return;
            }
            match self.running.join_next().await {
                Some(joined) => {
                    let (id, outcome) = joined.expect("a step panicked");
                    self.settle(id, outcome);
                }
                // Only steps waiting for more of the plan are left.
                None => return,
            }
        }
    }

    fn start(&mut self, id: NodeId) {
        let context = &self.context;
        let node = self.graph.node(id);
        let not_done = if context.interrupt.is_set() {
            Some(INTERRUPTED.to_string())
        } else if let Some(cause) = node.blocked.take() {
            Some(cause)
        } else {
            context.stop_cause().map(str::to_string)
        };
        match not_done {
            Some(cause) => self.settled.push_back((id, Outcome::NotDone(cause))),
            None => {
                let context = Arc::clone(context);
                let (step, payload) = (node.step, node.payload.clone());
                let job = self.job.index;
                self.running
                    .spawn(async move { (id, context.perform(job, step, payload).await) });
            }
        }
    }

    fn settle(&mut self, id: NodeId, outcome: Outcome) {
        let node = self.graph.node(id);
        let (step, payload) = (node.step, std::mem::take(&mut node.payload));
        let path = self.context.describe(self.job.index, step, &payload);
        let ok = match (step, &outcome) {
            // Stands for its folder's contents: they have their own lines.
            (Step::Emptied, Outcome::NotDone(_)) => false,
            _ => {
                let dir = matches!(payload.action(), Some(Action::Delete(d)) if d.entry == EntryKind::Dir);
                let observer = self.context.observer.as_ref();
                self.summary
                    .account(observer, step, &outcome, path.clone(), dir)
            }
        };
        if !ok && !self.ignore_failures && !matches!(outcome, Outcome::NotDone(_)) {
            self.context.stopping.store(true, Ordering::Relaxed);
        }
        let failed = (!ok).then(|| format!("needs {path}, which was not done"));
        if let Some(cause) = &failed {
            self.job.failure.get_or_insert_with(|| cause.clone());
        }
        self.graph.finish(id, failed);
    }
}

/// The plan's records did not come as the first reading found them.
fn changed(plan: &PlanFile) -> LoadError {
    LoadError::Changed {
        path: plan.path().to_string(),
    }
}
