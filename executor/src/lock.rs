//! One writer per target: a lock file created exclusively on the target
//! filesystem, beside the target root, saying who holds it.

use std::sync::Arc;

use hsync_storage::{
    lock_sibling, parent_and_name, CreateOptions, ErrorKind, Storage, StorageError,
};
use serde::{Deserialize, Serialize};

/// Who holds a lock, as written in the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    pub user: String,
    pub plan: String,
    /// Milliseconds since the Unix epoch.
    pub started_ms: u128,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{} (pid {}) applying plan {} since {} ms after the epoch",
            self.user,
            self.host,
            self.pid,
            &self.plan[..self.plan.len().min(16)],
            self.started_ms
        )
    }
}

/// Why a target could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the target {target} is locked by {holder}; if that run is gone, remove the lock with `hsync unlock {target}`"
    )]
    Held { target: String, holder: Box<Holder> },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The lock file of a target root: a hidden sibling, never listed by the
/// planner (it carries hsync's temporary mark).
pub fn lock_path(target_root: &str) -> String {
    lock_sibling(target_root)
}

/// A held lock; [`Lock::release`] removes it. A crashed run leaves it behind
/// on purpose: the next run sees who held it.
pub struct Lock {
    storage: Arc<dyn Storage>,
    path: String,
}

impl Lock {
    /// Takes the lock of `target_root` for `plan`. A lock left by a process of
    /// this host that no longer runs is taken over; any other is refused.
    pub async fn acquire(
        storage: &Arc<dyn Storage>,
        target_root: &str,
        plan: &str,
    ) -> Result<Lock, LockError> {
        let path = lock_path(target_root);
        let me = Holder {
            host: hostname(),
            pid: std::process::id(),
            user: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
            plan: plan.to_string(),
            started_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
        };
        let (parent, _) = parent_and_name(&path);
        storage.create_dir(parent).await?;
        loop {
            match create_exclusive(storage, &path, &me).await {
                Ok(()) => {
                    return Ok(Lock {
                        storage: Arc::clone(storage),
                        path,
                    });
                }
                Err(e) if e.kind == ErrorKind::AlreadyExists => {
                    let holder = read(storage, &path).await?;
                    let gone = holder
                        .as_ref()
                        .is_none_or(|h| h.host == me.host && !alive(h.pid));
                    if !gone {
                        let holder = Box::new(holder.expect("a live holder was read"));
                        return Err(LockError::Held {
                            target: target_root.to_string(),
                            holder,
                        });
                    }
                    tracing::warn!(lock = %path, "taking over a lock left by a run that is gone");
                    remove_if_present(storage, &path).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub async fn release(self) -> Result<(), StorageError> {
        remove_if_present(&self.storage, &self.path).await
    }
}

/// Shows, then removes, the lock of `target_root`; `None` if there was none.
pub async fn unlock(
    storage: &Arc<dyn Storage>,
    target_root: &str,
) -> Result<Option<Holder>, StorageError> {
    let path = lock_path(target_root);
    if storage.stat(&path).await?.is_none() {
        return Ok(None);
    }
    let holder = read(storage, &path).await?;
    remove_if_present(storage, &path).await?;
    Ok(Some(holder.unwrap_or(Holder {
        host: "?".into(),
        pid: 0,
        user: "?".into(),
        plan: "an unreadable lock file".into(),
        started_ms: 0,
    })))
}

async fn create_exclusive(
    storage: &Arc<dyn Storage>,
    path: &str,
    holder: &Holder,
) -> Result<(), StorageError> {
    let options = CreateOptions {
        exclusive: true,
        ..CreateOptions::default()
    };
    let mut writer = storage.create(path, &options).await?;
    let text = serde_json::to_vec(holder).expect("a holder serialises");
    writer.write(text.into()).await?;
    writer.close().await
}

/// The holder named in a lock file; `None` if it is gone or unreadable.
async fn read(storage: &Arc<dyn Storage>, path: &str) -> Result<Option<Holder>, StorageError> {
    let mut reader = match storage.open(path).await {
        Ok(reader) => reader,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut text = Vec::new();
    loop {
        let chunk = reader.read(64 * 1024).await?;
        if chunk.is_empty() {
            break;
        }
        text.extend_from_slice(&chunk);
    }
    Ok(serde_json::from_slice(&text).ok())
}

async fn remove_if_present(storage: &Arc<dyn Storage>, path: &str) -> Result<(), StorageError> {
    match storage.remove_file(path).await {
        Err(e) if !e.is_not_found() => Err(e),
        _ => Ok(()),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Whether a process of this host still runs.
fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
