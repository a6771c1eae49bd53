//! The durable journal of an apply: which steps finished, so that a killed
//! run resumes without redoing them.
//!
//! One append-only JSON-lines file per plan fingerprint and shard, naming
//! steps by job and action ordinal (`0/17/copy`), read back into bitsets by
//! ordinal: recovery holds no set of paths. A copy is journaled twice:
//! `committing` once its data is complete under the temporary name (before
//! the rename), `done` once it is in place with its attributes. A resumed
//! run that finds `committing` without `done` only finishes the rename, so
//! no file is ever written twice. Writers are grouped: concurrent records
//! share one write and one fsync. A copy's `done` need not be durable (a
//! lost one only makes the resumed run check for the temporary file), so it
//! is only noted in memory and written with the next record that is.
//!
//! A run that applied the whole plan records so in the state folder's
//! `finished.jsonl` (the plan's fingerprint and when) and removes the
//! plan's journal: "finished" says every step is done, which is all that
//! applying the plan again needs, so journals do not pile up.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hsync_plan::Outline;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::part::Span;
use crate::step::Step;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    Committing,
    Done,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    step: String,
    mark: Mark,
}

/// A set of ordinals.
#[derive(Debug, Default, Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn full(len: u64) -> Bits {
        let mut words = vec![u64::MAX; len.div_ceil(64) as usize];
        if !len.is_multiple_of(64) {
            if let Some(last) = words.last_mut() {
                *last = (1 << (len % 64)) - 1;
            }
        }
        Bits(words)
    }

    fn get(&self, at: u64) -> bool {
        self.0
            .get((at / 64) as usize)
            .is_some_and(|word| word & (1 << (at % 64)) != 0)
    }

    fn set(&mut self, at: u64) {
        let word = (at / 64) as usize;
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << (at % 64);
    }

    fn clear(&mut self, at: u64) {
        if let Some(word) = self.0.get_mut((at / 64) as usize) {
            *word &= !(1 << (at % 64));
        }
    }

    fn count(&self) -> u64 {
        self.0.iter().map(|word| u64::from(word.count_ones())).sum()
    }
}

/// What a journal key names: the kind of step (or part of a move step),
/// and its ordinal (0 for steps of a whole job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Mkdir,
    Copy,
    Symlink,
    Attributes,
    DirAttributes,
    Delete,
    ClearStaging,
    MoveAside,
    LandRenames,
    AsidePart,
    LandPart,
    WalkDone,
    Publish,
    Snapshot,
}

/// Kinds of steps on actions, by ordinal.
const ACTION_KINDS: [Kind; 8] = [
    Kind::Mkdir,
    Kind::Copy,
    Kind::Symlink,
    Kind::Attributes,
    Kind::DirAttributes,
    Kind::Delete,
    Kind::AsidePart,
    Kind::LandPart,
];
const JOB_KINDS: [Kind; 5] = [
    Kind::MoveAside,
    Kind::LandRenames,
    Kind::WalkDone,
    Kind::Publish,
    Kind::Snapshot,
];

fn slot(step: Step) -> Option<(Kind, u64)> {
    Some(match step {
        Step::Mkdir(n) => (Kind::Mkdir, n),
        Step::Copy(n) => (Kind::Copy, n),
        Step::Symlink(n) => (Kind::Symlink, n),
        Step::FileAttributes(n) => (Kind::Attributes, n),
        Step::DirAttributes(n) => (Kind::DirAttributes, n),
        Step::Delete(n) => (Kind::Delete, n),
        Step::ClearStaging(n) => (Kind::ClearStaging, n as u64),
        Step::MoveAside => (Kind::MoveAside, 0),
        Step::LandRenames => (Kind::LandRenames, 0),
        Step::WalkDone => (Kind::WalkDone, 0),
        Step::Publish => (Kind::Publish, 0),
        Step::Snapshot => (Kind::Snapshot, 0),
        Step::Root | Step::KeepTimes | Step::Emptied => return None,
    })
}

/// The job, kind and ordinal a journal key names (see [`Step::key`]).
fn parse(key: &str) -> Option<(usize, Kind, u64)> {
    let mut parts = key.split('/');
    let job = parts.next()?.parse().ok()?;
    let second = parts.next()?;
    let third = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let number = |text: Option<&str>| text.and_then(|t| t.parse::<u64>().ok());
    Some(match (second, third) {
        ("clear-staging", n) => (job, Kind::ClearStaging, number(n)?),
        ("move-aside", None) => (job, Kind::MoveAside, 0),
        ("move-aside", n) => (job, Kind::AsidePart, number(n)?),
        ("land-renames", None) => (job, Kind::LandRenames, 0),
        ("land-renames", n) => (job, Kind::LandPart, number(n)?),
        ("walk-done", None) => (job, Kind::WalkDone, 0),
        ("publish", None) => (job, Kind::Publish, 0),
        ("snapshot", None) => (job, Kind::Snapshot, 0),
        (action, Some(kind)) => {
            let kind = match kind {
                "mkdir" => Kind::Mkdir,
                "copy" => Kind::Copy,
                "symlink" => Kind::Symlink,
                "attributes" => Kind::Attributes,
                "dir-attributes" => Kind::DirAttributes,
                "delete" => Kind::Delete,
                _ => return None,
            };
            (job, kind, action.parse().ok()?)
        }
        _ => return None,
    })
}

/// What earlier runs of the same plan recorded, by job and ordinal.
#[derive(Debug, Default)]
pub struct Recovered {
    done: HashMap<(usize, Kind), Bits>,
    /// Copies whose data was complete under the temporary name, by job.
    committing: HashMap<usize, Bits>,
    /// When a run last applied the whole plan.
    pub finished_ms: Option<u64>,
}

impl Recovered {
    pub fn done(&self, job: usize, step: Step) -> bool {
        slot(step).is_some_and(|(kind, n)| self.done.get(&(job, kind)).is_some_and(|b| b.get(n)))
    }

    /// Whether part `action` of a move step is done.
    pub fn part_done(&self, job: usize, step: Step, action: u64) -> bool {
        let kind = match step {
            Step::MoveAside => Kind::AsidePart,
            _ => Kind::LandPart,
        };
        self.done
            .get(&(job, kind))
            .is_some_and(|bits| bits.get(action))
    }

    /// Whether the copy of action `action` waits under its temporary name.
    pub fn committing(&self, job: usize, action: u64) -> bool {
        self.committing
            .get(&job)
            .is_some_and(|bits| bits.get(action))
    }

    /// Whether the journal says anything of the job.
    pub fn any(&self, job: usize) -> bool {
        let some = |bits: &Bits| bits.0.iter().any(|word| *word != 0);
        self.done
            .iter()
            .any(|((j, _), bits)| *j == job && some(bits))
            || self.committing.get(&job).is_some_and(some)
    }

    /// Whether the journal says attributes of the job's folders, or of
    /// files left in place, were set.
    pub fn set_attributes(&self, job: usize) -> bool {
        (self.done.get(&(job, Kind::DirAttributes))).is_some_and(|bits| bits.count() > 0)
    }

    /// Folders and files of the job the journal says exist.
    pub fn claimed(&self, job: usize) -> u64 {
        let count = |kind| self.done.get(&(job, kind)).map_or(0, Bits::count);
        let committing = self.committing.get(&job).map_or(0, Bits::count);
        count(Kind::Mkdir) + count(Kind::Copy) + committing
    }

    pub fn set_done(&mut self, job: usize, step: Step) {
        if let Some((kind, n)) = slot(step) {
            self.done.entry((job, kind)).or_default().set(n);
        }
        if let Step::Copy(n) = step {
            self.clear_committing(job, n);
        }
    }

    /// Forgets that `step` was done (and, for a copy, that it was committing).
    pub fn forget(&mut self, job: usize, step: Step) {
        if let Some((kind, n)) = slot(step) {
            if let Some(bits) = self.done.get_mut(&(job, kind)) {
                bits.clear(n);
            }
        }
        if let Step::Copy(n) = step {
            self.clear_committing(job, n);
        }
    }

    pub fn clear_committing(&mut self, job: usize, action: u64) {
        if let Some(bits) = self.committing.get_mut(&job) {
            bits.clear(action);
        }
    }

    /// Forgets everything of the job: it starts over.
    pub fn forget_job(&mut self, job: usize) {
        self.done.retain(|(j, _), _| *j != job);
        self.committing.remove(&job);
    }

    /// Every step of the plan done: what a finished run leaves.
    fn all_done(&mut self, outline: &Outline) {
        for (job, plan) in outline.jobs.iter().enumerate() {
            for kind in ACTION_KINDS {
                self.done.insert((job, kind), Bits::full(plan.actions));
            }
            for kind in JOB_KINDS {
                self.done.insert((job, kind), Bits::full(1));
            }
            let staging = plan.header.leftover_staging.len() as u64;
            self.done
                .insert((job, Kind::ClearStaging), Bits::full(staging));
        }
    }
}

/// Creates the state folder `dir` (and any missing parent) readable and
/// writable by this user only: its journals name every path an apply copied.
/// A folder that exists keeps the mode it has.
pub fn create_state_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Where a plan's journal lives: `<state dir>/<fingerprint>/shard-<n>.jsonl`.
pub fn journal_path(state_dir: &Path, fingerprint: &str, shard: usize) -> PathBuf {
    state_dir
        .join(fingerprint)
        .join(format!("shard-{shard}.jsonl"))
}

/// Reads what earlier runs of the plan left: whether one finished it, and
/// its journal; a torn last line (a crash mid-write) is ignored.
pub fn recover(state_dir: &Path, outline: &Outline) -> std::io::Result<Recovered> {
    let mut recovered = Recovered {
        finished_ms: finished::at(state_dir, &outline.fingerprint)?,
        ..Recovered::default()
    };
    if recovered.finished_ms.is_some() {
        recovered.all_done(outline);
    }
    let path = journal_path(state_dir, &outline.fingerprint, 0);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(recovered),
        Err(e) => return Err(e),
    };
    let lines = BufReader::new(file)
        .lines()
        .collect::<std::io::Result<Vec<_>>>()?;
    recovered.read(lines.iter().map(String::as_str));
    Ok(recovered)
}

impl Recovered {
    /// Journal lines of what is recorded of the copies in `span` (and their
    /// attributes): where a chunk of a distributed apply starts from when a
    /// single-process run of the plan came first.
    pub(crate) fn copies_in(&self, span: Span) -> String {
        let mut text = String::new();
        let mut line = |step: Step, mark| {
            text.push_str(
                &serde_json::to_string(&record(&step.key(span.job), mark))
                    .expect("records serialise"),
            );
            text.push('\n');
        };
        for n in span.first..=span.last {
            if self.done(span.job, Step::Copy(n)) {
                line(Step::Copy(n), Mark::Done);
            } else if self.committing(span.job, n) {
                line(Step::Copy(n), Mark::Committing);
            }
            if self.done(span.job, Step::FileAttributes(n)) {
                line(Step::FileAttributes(n), Mark::Done);
            }
        }
        text
    }

    /// Adds the marks of journal lines, in the order they were written.
    pub fn read<'a>(&mut self, lines: impl IntoIterator<Item = &'a str>) {
        let mut deleting = Vec::new();
        for line in lines {
            let Ok(record) = serde_json::from_str::<Record>(line) else {
                continue;
            };
            let Some((job, kind, n)) = parse(&record.step) else {
                continue;
            };
            if kind == Kind::WalkDone {
                deleting.push(job);
            }
            match (record.mark, kind) {
                (Mark::Committing, Kind::Copy) if !self.done(job, Step::Copy(n)) => {
                    self.committing.entry(job).or_default().set(n)
                }
                (Mark::Committing, _) => {}
                (Mark::Done, _) => {
                    self.done.entry((job, kind)).or_default().set(n);
                    if kind == Kind::Copy {
                        self.clear_committing(job, n);
                    }
                }
            }
        }
        // A run killed among the deletes may have changed the times of their
        // folders after the walk set them: the walk sets them again.
        for job in deleting {
            self.done.remove(&(job, Kind::DirAttributes));
        }
    }
}

/// The whole plan is applied: records so, now (unless `record` is false:
/// an earlier run's record stands), then removes its journal.
pub fn finish(state_dir: &Path, fingerprint: &str, record: bool) -> std::io::Result<()> {
    if record {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        finished::record(state_dir, fingerprint, now)?;
    }
    prune(state_dir, fingerprint)
}

/// Removes a finished plan's journal: `finished.jsonl` says all it said.
pub fn prune(state_dir: &Path, fingerprint: &str) -> std::io::Result<()> {
    match std::fs::remove_dir_all(state_dir.join(fingerprint)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The plans applied completely, one line each, newest last.
mod finished {
    use std::fs::{File, OpenOptions};
    use std::io::{BufRead, BufReader, Write};
    use std::path::Path;

    use serde::{Deserialize, Serialize};

    /// Plans remembered; a plan older than these, applied again, finds its
    /// targets changed and is refused as stale, as a plan never applied is.
    pub const KEEP: usize = 1000;

    #[derive(Serialize, Deserialize)]
    struct Line {
        plan: String,
        at_ms: u64,
    }

    fn path(state_dir: &Path) -> std::path::PathBuf {
        state_dir.join("finished.jsonl")
    }

    fn read(state_dir: &Path) -> std::io::Result<Vec<Line>> {
        let file = match File::open(path(state_dir)) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut lines = Vec::new();
        for line in BufReader::new(file).lines() {
            if let Ok(line) = serde_json::from_str(&line?) {
                lines.push(line);
            }
        }
        Ok(lines)
    }

    /// When the plan was last applied completely, if it was.
    pub fn at(state_dir: &Path, fingerprint: &str) -> std::io::Result<Option<u64>> {
        Ok(read(state_dir)?
            .into_iter()
            .rev()
            .find(|line| line.plan == fingerprint)
            .map(|line| line.at_ms))
    }

    /// Appends the plan, durably; past twice [`KEEP`] lines, the newest
    /// [`KEEP`] replace the file (whole, through a rename).
    pub fn record(state_dir: &Path, fingerprint: &str, at_ms: u64) -> std::io::Result<()> {
        record_keeping(state_dir, fingerprint, at_ms, KEEP)
    }

    pub(super) fn record_keeping(
        state_dir: &Path,
        fingerprint: &str,
        at_ms: u64,
        keep: usize,
    ) -> std::io::Result<()> {
        super::create_state_dir(state_dir)?;
        let mut text = serde_json::to_string(&Line {
            plan: fingerprint.to_string(),
            at_ms,
        })?;
        text.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path(state_dir))?;
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
        let mut lines = read(state_dir)?;
        if lines.len() <= 2 * keep {
            return Ok(());
        }
        lines.drain(..lines.len() - keep);
        let temp = state_dir.join(format!("finished.jsonl.hsync-tmp.{}", std::process::id()));
        let mut out = File::create(&temp)?;
        for line in &lines {
            out.write_all(serde_json::to_string(line)?.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.sync_all()?;
        std::fs::rename(&temp, path(state_dir))
    }
}

/// Records to append, and whom to tell once they are durable.
/// Records to make durable; whether they may wait for others ([`LINGER`]).
type Request = (Vec<Record>, bool, oneshot::Sender<std::io::Result<()>>);

/// How long a batch of records that may wait gathers more before its
/// fsync, while more keep coming at most this far apart: the copies of one
/// `syncfs` group wake together, and one fsync then covers them all
/// instead of one each.
const LINGER: Duration = Duration::from_millis(2);
/// The longest a batch gathers.
const LINGER_MAX: Duration = Duration::from_millis(10);

/// A handle to the journal writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct Journal {
    sender: mpsc::UnboundedSender<Request>,
    /// Noted marks, handed to the writer with the next durable record.
    notes: Arc<Mutex<Vec<Record>>>,
}

impl Journal {
    /// Opens (or continues) the journal at `path` and starts its writer.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(parent) = path.parent() {
            create_state_dir(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Journal::start(LocalFile(file))
    }

    /// Starts a writer that appends each batch of records to `appender`.
    pub(crate) fn start(appender: impl Append) -> std::io::Result<Journal> {
        let (sender, receiver) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("hsync-journal".into())
            .spawn(move || write_loop(appender, receiver))?;
        Ok(Journal {
            sender,
            notes: Default::default(),
        })
    }

    /// Records a mark and returns once it is durable, with every mark
    /// noted before it.
    pub async fn record(&self, step: &str, mark: Mark) -> std::io::Result<()> {
        self.durable(Some(record(step, mark)), false).await
    }

    /// As [`Journal::record`], for a mark that comes with many others at
    /// once: its fsync waits a little for them.
    pub async fn record_grouped(&self, step: &str, mark: Mark) -> std::io::Result<()> {
        self.durable(Some(record(step, mark)), true).await
    }

    /// Notes a mark without writing it: it goes out with the next durable
    /// record, or at [`Journal::flush`].
    pub fn note(&self, step: &str, mark: Mark) {
        self.notes
            .lock()
            .expect("journal notes")
            .push(record(step, mark));
    }

    /// Returns once every mark noted so far is durable.
    pub async fn flush(&self) -> std::io::Result<()> {
        self.durable(None, false).await
    }

    async fn durable(&self, record: Option<Record>, grouped: bool) -> std::io::Result<()> {
        let mut records = std::mem::take(&mut *self.notes.lock().expect("journal notes"));
        records.extend(record);
        if records.is_empty() {
            // Records handed over earlier are their callers' to wait for.
            return Ok(());
        }
        let (ack, done) = oneshot::channel();
        let closed = || std::io::Error::other("the journal writer stopped");
        self.sender
            .send((records, grouped, ack))
            .map_err(|_| closed())?;
        done.await.map_err(|_| closed())?
    }
}

fn record(step: &str, mark: Mark) -> Record {
    Record {
        step: step.to_string(),
        mark,
    }
}

/// Where a journal's batches of records go: once `append` returns, the
/// batch is durable.
pub(crate) trait Append: Send + 'static {
    fn append(&mut self, text: &str) -> std::io::Result<()>;
}

/// A local journal file, synced after each batch.
struct LocalFile(File);

impl Append for LocalFile {
    fn append(&mut self, text: &str) -> std::io::Result<()> {
        self.0.write_all(text.as_bytes())?;
        self.0.sync_data()
    }
}

/// Group commit: take every waiting request (after [`LINGER`] if all may
/// wait), write their records in one durable append, ack all.
fn write_loop(mut appender: impl Append, mut receiver: mpsc::UnboundedReceiver<Request>) {
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while let Ok(next) = receiver.try_recv() {
            batch.push(next);
        }
        let end = Instant::now() + LINGER_MAX;
        while batch.iter().all(|(_, grouped, _)| *grouped) && Instant::now() < end {
            std::thread::sleep(LINGER);
            let before = batch.len();
            while let Ok(next) = receiver.try_recv() {
                batch.push(next);
            }
            if batch.len() == before {
                break;
            }
        }
        let mut text = String::new();
        for record in batch.iter().flat_map(|(records, _, _)| records) {
            text.push_str(&serde_json::to_string(record).expect("records serialise"));
            text.push('\n');
        }
        let result = appender.append(&text);
        for (_, _, ack) in batch {
            let _ = ack.send(
                result
                    .as_ref()
                    .map(|_| ())
                    .map_err(|e| std::io::Error::new(e.kind(), e.to_string())),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of every file below `dir`, and how many entries.
    fn usage(dir: &Path) -> (u64, usize) {
        let mut total = (0, 0);
        for entry in std::fs::read_dir(dir).expect("list") {
            let entry = entry.expect("an entry");
            let meta = entry.metadata().expect("stat");
            total.1 += 1;
            if meta.is_dir() {
                let (bytes, entries) = usage(&entry.path());
                total = (total.0 + bytes, total.1 + entries);
            } else {
                total.0 += meta.len();
            }
        }
        total
    }

    #[tokio::test]
    async fn the_state_folder_stays_small_after_a_thousand_finished_runs() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let state = dir.path();
        // Fewer plans kept than the real KEEP, so that the thousand runs
        // compact the list several times.
        let keep = 100;
        for run in 0..1000u32 {
            let fingerprint = format!("{run:064x}");
            let journal = Journal::open(&journal_path(state, &fingerprint, 0)).expect("open");
            journal.note("0/0/copy", Mark::Done);
            finished::record_keeping(state, &fingerprint, 1, keep).expect("finish");
            prune(state, &fingerprint).expect("prune");
        }
        // No journal is left, and one line per plan of the newest ones.
        let (bytes, entries) = usage(state);
        assert_eq!(entries, 1, "only finished.jsonl is left");
        assert!(
            bytes < 2 * keep as u64 * 100,
            "{bytes} bytes after 1000 runs"
        );
        let plan = |run: u32| format!("{run:064x}");
        assert_eq!(finished::at(state, &plan(999)).expect("read"), Some(1));
        assert_eq!(finished::at(state, &plan(0)).expect("read"), None);
    }

    #[test]
    fn every_key_a_step_has_is_read_back_as_that_step() {
        let steps = [
            Step::Mkdir(7),
            Step::Copy(0),
            Step::Symlink(3),
            Step::FileAttributes(9),
            Step::DirAttributes(64),
            Step::Delete(65),
            Step::ClearStaging(2),
            Step::MoveAside,
            Step::LandRenames,
            Step::WalkDone,
            Step::Publish,
            Step::Snapshot,
        ];
        for step in steps {
            let (kind, ordinal) = slot(step).expect("a journaled step");
            assert_eq!(parse(&step.key(3)), Some((3, kind, ordinal)), "{step:?}");
        }
        assert_eq!(
            parse(&Step::MoveAside.part_key(1, 12)),
            Some((1, Kind::AsidePart, 12))
        );
        assert_eq!(
            parse(&Step::LandRenames.part_key(1, 5)),
            Some((1, Kind::LandPart, 5))
        );
        assert_eq!(parse("0/x/copy"), None);
        assert_eq!(parse("0/1/copy/2"), None);
    }

    #[test]
    fn a_bitset_holds_ordinals_at_word_edges() {
        let mut bits = Bits::full(65);
        assert!(bits.get(64) && !bits.get(65));
        bits.clear(63);
        assert_eq!(bits.count(), 64);
        bits.set(200);
        assert!(bits.get(200) && !bits.get(199));
    }
}
