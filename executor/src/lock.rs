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
        if self.pid == 0 {
            return write!(
                f,
                "an apply whose lock file is still being written, or is damaged"
            );
        }
        let plan: String = self.plan.chars().take(16).collect();
        write!(
            f,
            "{}@{} (pid {}) applying plan {plan}… since {}",
            self.user,
            self.host,
            self.pid,
            utc(self.started_ms)
        )
    }
}

/// `2026-11-23 20:15:02 UTC` from milliseconds since the epoch.
fn utc(ms: u128) -> String {
    let secs = (ms / 1000) as i64;
    let (days, time) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (time / 3600, time % 3600 / 60, time % 60);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02} UTC")
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
        let path = lock_sibling(target_root);
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
                    let holder = match read(storage, &path).await? {
                        Found::Gone => continue, // released meanwhile: try again
                        // Being written by a run that just took it, or damaged:
                        // either way not ours to take; `hsync unlock` clears it.
                        Found::Unreadable => unknown_holder(),
                        Found::Holder(holder) => holder,
                    };
                    if holder.host != me.host || alive(holder.pid) {
                        return Err(LockError::Held {
                            target: target_root.to_string(),
                            holder: Box::new(holder),
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
    let path = lock_sibling(target_root);
    if storage.stat(&path).await?.is_none() {
        return Ok(None);
    }
    let holder = match read(storage, &path).await? {
        Found::Gone => return Ok(None),
        Found::Unreadable => unknown_holder(),
        Found::Holder(holder) => holder,
    };
    remove_if_present(storage, &path).await?;
    Ok(Some(holder))
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

/// What a lock file says.
enum Found {
    /// It no longer exists.
    Gone,
    /// It exists but holds no complete record (still being written, or damaged).
    Unreadable,
    Holder(Holder),
}

async fn read(storage: &Arc<dyn Storage>, path: &str) -> Result<Found, StorageError> {
    let mut reader = match storage.open(path).await {
        Ok(reader) => reader,
        Err(e) if e.is_not_found() => return Ok(Found::Gone),
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
    Ok(serde_json::from_slice(&text).map_or(Found::Unreadable, Found::Holder))
}

fn unknown_holder() -> Holder {
    Holder {
        host: "?".into(),
        pid: 0,
        user: "an unknown user".into(),
        plan: String::new(),
        started_ms: 0,
    }
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

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn lock_times_read_as_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
