//! Durability in groups: a local file written whole is closed without its
//! own fsync, and one thread makes a whole group durable with one `syncfs`
//! per filesystem. An fsync per small file costs a journal commit each;
//! one commit covers the group, so the rename that publishes a file still
//! comes only after its data is on disk.

use std::fs;
use std::os::fd::AsRawFd;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::{Result, StorageError};

/// A group is synced once it has this many files...
const GROUP: usize = 256;
/// ...or this long after its first file arrived, whichever comes first
/// (files that arrived during the last group's sync wait no longer).
const GATHER: Duration = Duration::from_millis(20);

/// A file written whole and closed for writing, whose data is not yet
/// durable: it must go through [`Unsynced::durable`] before it is renamed
/// into place. Its descriptor is kept until then only if no other file of
/// the group is on the same filesystem: one is enough for its `syncfs`.
#[derive(Debug)]
pub struct Unsynced {
    file: fs::File,
    /// The filesystem holding it (`st_dev`).
    device: u64,
    path: String,
}

impl Unsynced {
    pub(crate) fn new(file: fs::File, device: u64, path: &str) -> Unsynced {
        Unsynced {
            file,
            device,
            path: path.to_string(),
        }
    }

    /// Returns once the file's data is durable: the `syncfs` of a group
    /// that holds it has returned.
    pub async fn durable(self) -> Result<()> {
        let path = self.path.clone();
        let (done, synced) = oneshot::channel();
        syncer().add(self, done);
        let failure = match synced.await {
            Ok(None) => return Ok(()),
            Ok(Some(failure)) => failure,
            Err(_) => Failure::Other("the sync thread stopped".into()),
        };
        let error = match failure {
            Failure::Os(code) => std::io::Error::from_raw_os_error(code),
            Failure::Other(message) => std::io::Error::other(message),
        };
        Err(StorageError::from_io("sync", &path, error))
    }
}

/// Why a group's `syncfs` failed (an `io::Error` cannot be shared by the group).
#[derive(Debug, Clone)]
enum Failure {
    Os(i32),
    Other(String),
}

struct Waiting {
    device: u64,
    done: oneshot::Sender<Option<Failure>>,
}

#[derive(Default)]
struct Group {
    /// When its first file arrived.
    since: Option<Instant>,
    waiting: Vec<Waiting>,
    /// One open file on each filesystem the group has files on.
    filesystems: Vec<(u64, fs::File)>,
}

struct Syncer {
    pending: Mutex<Group>,
    arrived: Condvar,
}

fn syncer() -> &'static Syncer {
    static SYNCER: OnceLock<&'static Syncer> = OnceLock::new();
    SYNCER.get_or_init(|| {
        let syncer: &'static Syncer = Box::leak(Box::new(Syncer {
            pending: Mutex::new(Group::default()),
            arrived: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("hsync-syncfs".into())
            .spawn(move || syncer.run())
            .expect("cannot start the sync thread");
        syncer
    })
}

impl Syncer {
    fn add(&self, file: Unsynced, done: oneshot::Sender<Option<Failure>>) {
        let mut pending = self.pending.lock().expect("sync queue poisoned");
        let device = file.device;
        if pending.filesystems.iter().all(|(d, _)| *d != device) {
            pending.filesystems.push((device, file.file));
        }
        pending.since.get_or_insert_with(Instant::now);
        pending.waiting.push(Waiting { device, done });
        // The thread needs waking only to start a group or to end one early.
        if matches!(pending.waiting.len(), 1 | GROUP) {
            self.arrived.notify_one();
        }
    }

    fn run(&self) {
        loop {
            let group = self.gather();
            let results: Vec<(u64, Option<Failure>)> = (group.filesystems.iter())
                .map(|(device, file)| (*device, sync_filesystem(file)))
                .collect();
            for waiting in group.waiting {
                let result = results.iter().find(|(d, _)| *d == waiting.device);
                // A receiver gone (its copy was interrupted) needs no answer.
                let _ = waiting.done.send(result.and_then(|(_, r)| r.clone()));
            }
        }
    }

    /// Waits for a first file, then for the group to fill or its time to pass.
    fn gather(&self) -> Group {
        let mut pending = self.pending.lock().expect("sync queue poisoned");
        while pending.waiting.is_empty() {
            pending = self.arrived.wait(pending).expect("sync queue poisoned");
        }
        let deadline = pending.since.unwrap_or_else(Instant::now) + GATHER;
        while pending.waiting.len() < GROUP {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            pending = (self.arrived.wait_timeout(pending, deadline - now))
                .expect("sync queue poisoned")
                .0;
        }
        std::mem::take(&mut *pending)
    }
}

fn sync_filesystem(file: &fs::File) -> Option<Failure> {
    // SAFETY: syncfs only reads the descriptor, which `file` keeps open.
    if unsafe { libc::syncfs(file.as_raw_fd()) } == 0 {
        return None;
    }
    let error = std::io::Error::last_os_error();
    Some(match error.raw_os_error() {
        Some(code) => Failure::Os(code),
        None => Failure::Other(error.to_string()),
    })
}
