//! A distributed apply's run folder, on the target filesystem where every
//! worker can reach it: the plan and its chunk list, and each chunk's
//! journal and report. Readable and writable by the applying user only.
//!
//! ```text
//! RUN/plan.json              the plan, as reviewed
//! RUN/chunks.json            its chunks (hsync_plan::chunks)
//! RUN/chunks/00003/journal/  the chunk's journal: one file per durable batch
//! RUN/chunks/00003/report.json  what the chunk's last run did
//! ```

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use hsync_plan::ChunkList;
use hsync_plan::Outline;
use hsync_storage::{
    is_temp_name, join, temp_sibling, Attributes, Connections, CreateOptions, FsSpec, Storage,
    StorageError,
};
use serde::{Deserialize, Serialize};

use crate::journal::{Append, Journal};

/// What a worker is given to find the run: shipped to it as a small file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ticket {
    /// The filesystem the run folder is on.
    pub fs: FsSpec,
    pub folder: String,
    /// The plan's fingerprint: a worker refuses a run folder of another plan.
    pub plan: String,
    /// Which round of workers an engine started: claims are per round.
    #[serde(default)]
    pub round: String,
}

/// The run folder of one plan.
#[derive(Debug, Clone)]
pub struct RunFolder {
    pub storage: Arc<dyn Storage>,
    pub ticket: Ticket,
}

/// Bytes read from the run folder at most, per file: its files are small,
/// except the plan, which is downloaded as a stream.
const SMALL_FILE: usize = 64 << 20;

impl RunFolder {
    /// Where the run folder of `outline` is: beside the lock of its first
    /// target (in the plan's order of targets).
    pub fn of(outline: &Outline, connections: &Connections) -> Result<RunFolder, StorageError> {
        let first = outline
            .jobs
            .iter()
            .map(|job| &job.header)
            .min_by(|a, b| (&a.target_fs, &a.target_root).cmp(&(&b.target_fs, &b.target_root)))
            .expect("a plan has a job");
        let tag = hsync_storage::plan_tag(&outline.fingerprint);
        let folder = first
            .options
            .lock_placement()
            .run_folder(&first.target_root, tag);
        let ticket = Ticket {
            fs: first.target_fs.clone(),
            folder,
            plan: outline.fingerprint.clone(),
            round: String::new(),
        };
        RunFolder::reach(ticket, connections)
    }

    /// The run folder a ticket names.
    pub fn reach(ticket: Ticket, connections: &Connections) -> Result<RunFolder, StorageError> {
        Ok(RunFolder {
            storage: connections.get(&ticket.fs)?,
            ticket,
        })
    }

    /// Creates the folder, for the applying user only.
    pub async fn create(&self) -> Result<(), StorageError> {
        self.storage.create_dir(&self.ticket.folder).await?;
        let private = Attributes {
            permission: Some(0o700),
            ..Attributes::default()
        };
        self.storage
            .set_attributes(&self.ticket.folder, &private)
            .await
    }

    /// Removes the folder and everything in it: the run is over.
    pub async fn remove(&self) -> Result<(), StorageError> {
        match self.storage.remove_tree(&self.ticket.folder).await {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }

    fn path(&self, name: &str) -> String {
        join(&self.ticket.folder, name)
    }

    pub fn plan_path(&self) -> String {
        self.path("plan.json")
    }

    fn chunk_dir(&self, chunk: u32) -> String {
        self.path(&format!("chunks/{chunk:05}"))
    }

    fn journal_dir(&self, chunk: u32) -> String {
        join(&self.chunk_dir(chunk), "journal")
    }

    fn report_path(&self, chunk: u32) -> String {
        join(&self.chunk_dir(chunk), "report.json")
    }

    /// The chunk list, if the run has one.
    pub async fn chunks(&self) -> Result<Option<ChunkList>, StorageError> {
        let path = self.path("chunks.json");
        let Some(bytes) = read_small(&*self.storage, &path).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| damaged(&path, e))
    }

    pub async fn write_chunks(&self, chunks: &ChunkList) -> Result<(), StorageError> {
        let text = serde_json::to_vec_pretty(chunks).expect("a chunk list serialises");
        write_whole(&*self.storage, &self.path("chunks.json"), text.into()).await
    }

    /// The report of a chunk's last run, if it wrote one.
    pub async fn report(&self, chunk: u32) -> Result<Option<ChunkReport>, StorageError> {
        let path = self.report_path(chunk);
        let Some(bytes) = read_small(&*self.storage, &path).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| damaged(&path, e))
    }

    pub async fn write_report(&self, report: &ChunkReport) -> Result<(), StorageError> {
        let text = serde_json::to_vec_pretty(report).expect("a report serialises");
        write_whole(&*self.storage, &self.report_path(report.chunk), text.into()).await
    }

    /// Claims `chunk` for the worker in `slot` of this round: whether it is
    /// that worker's to run (claimed now, or by its own earlier attempt,
    /// which engines never run beside it).
    pub async fn claim(&self, chunk: u32, slot: usize) -> Result<bool, StorageError> {
        let folder = self.path(&format!("claims/{}", self.ticket.round));
        self.storage.create_dir(&folder).await?;
        let path = join(&folder, &format!("{chunk:05}"));
        let temp = temp_sibling(&path, &format!("slot-{slot}"));
        let mine = slot.to_string();
        let mut writer = self
            .storage
            .create(&temp, &CreateOptions::default())
            .await?;
        writer
            .write(Bytes::copy_from_slice(mine.as_bytes()))
            .await?;
        writer.close().await?;
        match self.storage.rename_new(&temp, &path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind == hsync_storage::ErrorKind::AlreadyExists => {
                self.storage.remove_file(&temp).await?;
                let holder = read_small(&*self.storage, &path).await?.unwrap_or_default();
                Ok(holder == mine.as_bytes())
            }
            Err(e) => Err(e),
        }
    }

    /// A short note an engine keeps in the run folder (its job's id).
    pub async fn read_note(&self, name: &str) -> Result<Option<String>, StorageError> {
        let bytes = read_small(&*self.storage, &self.path(name)).await?;
        Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    pub async fn write_note(&self, name: &str, text: &str) -> Result<(), StorageError> {
        let bytes = Bytes::copy_from_slice(text.as_bytes());
        write_whole(&*self.storage, &self.path(name), bytes).await
    }

    /// Copies a local file into the run folder as `to`.
    pub async fn upload(&self, from: &Path, to: &str) -> Result<(), StorageError> {
        let bytes = tokio::fs::read(from)
            .await
            .map_err(|e| StorageError::from_io("read", &from.display().to_string(), e))?;
        write_whole(&*self.storage, to, bytes.into()).await
    }

    /// Copies the run folder's file `from` to the local path `to`.
    pub async fn download(&self, from: &str, to: &Path) -> Result<(), StorageError> {
        use tokio::io::AsyncWriteExt;
        let mut reader = self.storage.open(from).await?;
        let local = |e| StorageError::from_io("write", &to.display().to_string(), e);
        let mut file = tokio::fs::File::create(to).await.map_err(local)?;
        loop {
            let chunk = reader.read(1 << 20).await?;
            if chunk.is_empty() {
                break;
            }
            file.write_all(&chunk).await.map_err(local)?;
        }
        file.flush().await.map_err(local)
    }

    /// Every line the chunk's journal holds, in the order its batches were
    /// written.
    pub async fn journal_lines(&self, chunk: u32) -> Result<Vec<String>, StorageError> {
        let dir = self.journal_dir(chunk);
        let mut names: Vec<String> = match self.storage.list_dir(&dir).await {
            Ok(entries) => entries.into_iter().map(|e| e.name).collect(),
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        names.retain(|name| !is_temp_name(name));
        names.sort();
        let mut lines = Vec::new();
        for name in names {
            let path = join(&dir, &name);
            let bytes = read_small(&*self.storage, &path).await?.unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            lines.extend(text.lines().map(str::to_string));
        }
        Ok(lines)
    }

    /// Starts the chunk's journal with `lines` (what a single-process run
    /// of the plan did of it), before any run of the chunk's.
    pub async fn seed_journal(&self, chunk: u32, lines: String) -> Result<(), StorageError> {
        let folder = self.journal_dir(chunk);
        self.storage.create_dir(&folder).await?;
        // Sorts before every run's batches, which start with a time.
        let path = join(&folder, "0000000000000-seed.jsonl");
        write_whole(&*self.storage, &path, lines.into()).await
    }

    /// A journal for one run of the chunk: each durable batch a new file,
    /// written whole before it takes its name.
    pub async fn journal(&self, chunk: u32) -> Result<Journal, StorageError> {
        let folder = self.journal_dir(chunk);
        self.storage.create_dir(&folder).await?;
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let batches = Batches {
            storage: Arc::clone(&self.storage),
            // Sorted by name is sorted by time: later runs' marks come after.
            run: format!("{:013}-{}", since_epoch.as_millis(), std::process::id()),
            folder,
            next: 0,
            runtime: tokio::runtime::Handle::current(),
        };
        Journal::start(batches)
            .map_err(|e| StorageError::from_io("start journal", &self.ticket.folder, e))
    }
}

/// A chunk's journal on a filesystem without appends hsync can rely on:
/// each batch a small file of its own.
struct Batches {
    storage: Arc<dyn Storage>,
    folder: String,
    run: String,
    next: u64,
    runtime: tokio::runtime::Handle,
}

impl Append for Batches {
    fn append(&mut self, text: &str) -> std::io::Result<()> {
        let path = join(
            &self.folder,
            &format!("{}-{:08}.jsonl", self.run, self.next),
        );
        self.next += 1;
        let bytes = Bytes::copy_from_slice(text.as_bytes());
        self.runtime
            .block_on(write_whole(&*self.storage, &path, bytes))
            .map_err(std::io::Error::other)
    }
}

/// Writes `bytes` as the file `path`, whole: under a temporary name first,
/// renamed into place once closed (so durable, on HDFS).
async fn write_whole(storage: &dyn Storage, path: &str, bytes: Bytes) -> Result<(), StorageError> {
    let temp = temp_sibling(path, "writing");
    let mut writer = storage.create(&temp, &CreateOptions::default()).await?;
    writer.write(bytes).await?;
    writer.close().await?;
    storage.rename(&temp, path).await
}

async fn read_small(storage: &dyn Storage, path: &str) -> Result<Option<Vec<u8>>, StorageError> {
    let mut reader = match storage.open(path).await {
        Ok(reader) => reader,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    loop {
        let chunk = reader.read(1 << 20).await?;
        if chunk.is_empty() || bytes.len() > SMALL_FILE {
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

fn damaged(path: &str, e: serde_json::Error) -> StorageError {
    StorageError::new(
        "read",
        path,
        hsync_storage::ErrorKind::Other,
        format!("damaged: {e}"),
    )
}

/// What one run of a chunk did, as the commit merges it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkReport {
    pub chunk: u32,
    /// The node that ran it.
    pub host: String,
    /// Every copy of the chunk is in place.
    pub complete: bool,
    pub files_copied: u64,
    pub bytes_copied: u64,
    pub files_already_done: u64,
    pub retries: u64,
    pub duration_secs: f64,
    pub failures: Vec<ChunkFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkFailure {
    pub path: String,
    pub cause: String,
    pub kind: String,
}
