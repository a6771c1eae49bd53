//! The durable journal of an apply: which steps finished, so that a killed
//! run resumes without redoing them.
//!
//! One append-only JSON-lines file per plan fingerprint and shard. A copy
//! is journaled twice: `committing` once its data is complete under the
//! temporary name (before the rename), `done` once it is in place with its
//! attributes. A resumed run that finds `committing` without `done` only
//! finishes the rename, so no file is ever written twice. Writers are
//! grouped: concurrent records share one write and one fsync. A copy's
//! `done` need not be durable (a lost one only makes the resumed run check
//! for the temporary file), so it is only noted in memory and written with
//! the next record that is. A run that applied the whole plan records when
//! (`finished`), so that applying it again can say so.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

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
    /// When, for the `finished` record (milliseconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_ms: Option<u64>,
}

/// The step of the record a run writes once it applied the whole plan.
const FINISHED: &str = "finished";

/// What an earlier run of the same plan recorded.
#[derive(Debug, Default)]
pub struct Recovered {
    pub done: HashSet<String>,
    pub committing: HashSet<String>,
    /// When a run last applied the whole plan.
    pub finished_ms: Option<u64>,
}

/// Where a plan's journal lives: `<state dir>/<fingerprint>/shard-<n>.jsonl`.
pub fn journal_path(state_dir: &Path, fingerprint: &str, shard: usize) -> PathBuf {
    state_dir
        .join(fingerprint)
        .join(format!("shard-{shard}.jsonl"))
}

/// Reads what a journal holds; a torn last line (a crash mid-write) is ignored.
pub fn recover(path: &Path) -> std::io::Result<Recovered> {
    let mut recovered = Recovered::default();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(recovered),
        Err(e) => return Err(e),
    };
    for line in BufReader::new(file).lines() {
        let Ok(record) = serde_json::from_str::<Record>(&line?) else {
            continue;
        };
        if record.step == FINISHED {
            recovered.finished_ms = record.at_ms;
            continue;
        }
        match record.mark {
            Mark::Committing => recovered.committing.insert(record.step),
            Mark::Done => recovered.done.insert(record.step),
        };
    }
    recovered
        .committing
        .retain(|step| !recovered.done.contains(step));
    Ok(recovered)
}

/// Records to append, and whom to tell once they are durable.
type Request = (Vec<Record>, oneshot::Sender<std::io::Result<()>>);

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
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let (sender, receiver) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("hsync-journal".into())
            .spawn(move || write_loop(file, receiver))?;
        Ok(Journal {
            sender,
            notes: Default::default(),
        })
    }

    /// Records a mark and returns once it is durable, with every mark
    /// noted before it.
    pub async fn record(&self, step: &str, mark: Mark) -> std::io::Result<()> {
        self.durable(Some(record(step, mark))).await
    }

    /// Records, durably, that the whole plan is applied, now.
    pub async fn record_finished(&self) -> std::io::Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let finished = Record {
            at_ms: Some(now),
            ..record(FINISHED, Mark::Done)
        };
        self.durable(Some(finished)).await
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
        self.durable(None).await
    }

    async fn durable(&self, record: Option<Record>) -> std::io::Result<()> {
        let mut records = std::mem::take(&mut *self.notes.lock().expect("journal notes"));
        records.extend(record);
        let (ack, done) = oneshot::channel();
        let closed = || std::io::Error::other("the journal writer stopped");
        self.sender.send((records, ack)).map_err(|_| closed())?;
        done.await.map_err(|_| closed())?
    }
}

fn record(step: &str, mark: Mark) -> Record {
    Record {
        step: step.to_string(),
        mark,
        at_ms: None,
    }
}

/// Group commit: take every waiting request, write their records, fsync
/// once, ack all.
fn write_loop(mut file: File, mut receiver: mpsc::UnboundedReceiver<Request>) {
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while let Ok(next) = receiver.try_recv() {
            batch.push(next);
        }
        let mut text = String::new();
        for record in batch.iter().flat_map(|(records, _)| records) {
            text.push_str(&serde_json::to_string(record).expect("records serialise"));
            text.push('\n');
        }
        let result = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_data());
        for (_, ack) in batch {
            let _ = ack.send(
                result
                    .as_ref()
                    .map(|_| ())
                    .map_err(|e| std::io::Error::new(e.kind(), e.to_string())),
            );
        }
    }
}
