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
//! for the temporary file), so it is noted without waiting and becomes
//! durable with the next record that is waited for.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

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
}

/// What an earlier run of the same plan recorded.
#[derive(Debug, Default)]
pub struct Recovered {
    pub done: HashSet<String>,
    pub committing: HashSet<String>,
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

/// A record to append (none for a flush), and whom to tell once it is
/// durable (no one for a note).
type Request = (Option<Record>, Option<oneshot::Sender<std::io::Result<()>>>);

/// A handle to the journal writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct Journal {
    sender: mpsc::UnboundedSender<Request>,
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
        Ok(Journal { sender })
    }

    /// Records a mark and returns once it is durable.
    pub async fn record(&self, step: &str, mark: Mark) -> std::io::Result<()> {
        self.durable(Some(record(step, mark))).await
    }

    /// Queues a mark without waiting: it is written in order with the
    /// others, durable once a later record or [`Journal::flush`] is.
    pub fn note(&self, step: &str, mark: Mark) -> std::io::Result<()> {
        self.sender
            .send((Some(record(step, mark)), None))
            .map_err(|_| closed())
    }

    /// Returns once every mark queued so far is durable.
    pub async fn flush(&self) -> std::io::Result<()> {
        self.durable(None).await
    }

    async fn durable(&self, record: Option<Record>) -> std::io::Result<()> {
        let (ack, done) = oneshot::channel();
        self.sender
            .send((record, Some(ack)))
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

fn closed() -> std::io::Error {
    std::io::Error::other("the journal writer stopped")
}

/// Group commit: take every waiting record, write them, and fsync once if
/// anyone waits for them; ack all. After a failed write (perhaps of notes
/// only) every later ack fails too: the file may hold a torn line.
fn write_loop(mut file: File, mut receiver: mpsc::UnboundedReceiver<Request>) {
    let mut failed: Option<std::io::Error> = None;
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while let Ok(next) = receiver.try_recv() {
            batch.push(next);
        }
        let mut text = String::new();
        for record in batch.iter().filter_map(|(record, _)| record.as_ref()) {
            text.push_str(&serde_json::to_string(record).expect("records serialise"));
            text.push('\n');
        }
        let acks: Vec<_> = batch.into_iter().filter_map(|(_, ack)| ack).collect();
        if failed.is_none() {
            let written = file.write_all(text.as_bytes());
            failed = written
                .and_then(|()| match acks.is_empty() {
                    true => Ok(()),
                    false => file.sync_data(),
                })
                .err();
        }
        for ack in acks {
            let _ = ack.send(match &failed {
                None => Ok(()),
                Some(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            });
        }
    }
}
