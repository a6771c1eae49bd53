//! One writer per target: a lock file created exclusively on the target
//! filesystem, saying who holds it. It lives inside the target root (the
//! one place the target's owner can always write), under a name listings
//! skip, so no plan lists it and no delete touches it; beside the root only
//! where the root must not hold it (an atomic target, absent until
//! published; an incremental target, whose snapshots would keep it).
//! `apply` takes it, `plan` reads it (an apply running), `unlock` removes
//! it when its holder is gone.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use hsync_fs_model::lock::Placement;

use crate::{
    join, one_line, parent_and_name, temp_sibling, Attributes, CreateOptions, ErrorKind, Storage,
    StorageError,
};

/// Who holds a lock, as written in the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    pub user: String,
    pub plan: String,
    /// Milliseconds since the Unix epoch.
    pub started_ms: u128,
    /// Whether the lock file could not be read: another user's (0600),
    /// who holds it is theirs to know.
    #[serde(skip)]
    pub unreadable: bool,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.unreadable {
            return write!(
                f,
                "another user's apply (its lock file is readable by that user alone)"
            );
        }
        if self.pid == 0 {
            // Locks are written whole before they take their name.
            return write!(
                f,
                "an apply whose lock file is damaged (it names no holder)"
            );
        }
        // Read from a file anyone with write access may have written.
        let plan: String = self.plan.chars().take(16).collect();
        write!(
            f,
            "{}@{} (pid {}) applying plan {}… since {}",
            one_line(&self.user),
            one_line(&self.host),
            self.pid,
            one_line(&plan),
            utc(self.started_ms)
        )
    }
}

/// Whether a lock's holder still runs, as far as this host can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// A process of this host that still runs.
    Alive,
    /// A process of this host that no longer runs.
    Gone,
    /// Another host's process, or a lock file that names none.
    Unknown,
}

impl Holder {
    pub fn liveness(&self) -> Liveness {
        if self.pid == 0 || self.host != hostname() {
            Liveness::Unknown
        } else if alive(self.pid) {
            Liveness::Alive
        } else {
            Liveness::Gone
        }
    }

    /// The tag of the temporary files this holder's apply writes (see
    /// [`crate::temp_sibling`]); `None` for a lock that names no plan.
    pub fn tag(&self) -> Option<&str> {
        (!self.plan.is_empty()).then(|| crate::plan_tag(&self.plan))
    }
}

/// `2026-11-23 20:15:02 UTC` from milliseconds since the epoch.
pub fn utc(ms: u128) -> String {
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
    #[error(
        "cannot create the lock {path} of the target {target}: permission denied; apply needs write access to {folder}"
    )]
    Permission {
        target: String,
        path: String,
        folder: String,
    },
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
    /// Takes the lock of `target_root` for `plan`, creating the folder it
    /// lives in. A lock left by this user's process of this host that no
    /// longer runs is taken over; any other is refused.
    pub async fn acquire(
        storage: &Arc<dyn Storage>,
        target_root: &str,
        placement: Placement,
        plan: &str,
    ) -> Result<Lock, LockError> {
        let path = placement.path(target_root);
        let folder = placement.folder(target_root);
        let denied = |e: StorageError| match e.kind {
            ErrorKind::PermissionDenied => LockError::Permission {
                target: target_root.to_string(),
                path: path.clone(),
                folder: folder.clone(),
            },
            _ => e.into(),
        };
        let me = Holder {
            host: hostname(),
            pid: std::process::id(),
            user: storage
                .acting_user()
                .map(str::to_string)
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "unknown".into()),
            plan: plan.to_string(),
            started_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            unreadable: false,
        };
        storage.create_dir(&folder).await.map_err(denied)?;
        loop {
            match create_exclusive(storage, &path, &me).await {
                Ok(()) => {
                    remove_dead_writers(storage, &path).await.map_err(denied)?;
                    return Ok(Lock {
                        storage: Arc::clone(storage),
                        path,
                    });
                }
                Err(e) if e.kind == ErrorKind::AlreadyExists => {
                    let Some(holder) = read(storage, &path).await? else {
                        continue; // released meanwhile: try again
                    };
                    // A damaged lock names no live process: not ours to
                    // take either; nor is another user's, whatever became of
                    // its process.
                    if holder.liveness() != Liveness::Gone || holder.user != me.user {
                        return Err(LockError::Held {
                            target: target_root.to_string(),
                            holder: Box::new(holder),
                        });
                    }
                    tracing::warn!(lock = %path, "taking over a lock left by a run that is gone");
                    remove_if_present(storage, &path).await.map_err(denied)?;
                }
                Err(e) => return Err(denied(e)),
            }
        }
    }

    pub async fn release(self) -> Result<(), StorageError> {
        remove_if_present(&self.storage, &self.path).await
    }
}

/// A lock found on a target.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: String,
    pub holder: Holder,
}

/// The locks of `target_root`, wherever a lock may live.
pub async fn find(
    storage: &Arc<dyn Storage>,
    target_root: &str,
) -> Result<Vec<Found>, StorageError> {
    let mut found = Vec::new();
    for placement in [Placement::Inside, Placement::Beside] {
        let path = placement.path(target_root);
        if let Some(holder) = read(storage, &path).await? {
            found.push(Found { path, holder });
        }
    }
    Ok(found)
}

/// The holder of the lock at `path` if it may still run (alive, or
/// unknowable from this host): the apply it names is to be left alone.
pub async fn live_holder(
    storage: &Arc<dyn Storage>,
    path: &str,
) -> Result<Option<Holder>, StorageError> {
    Ok(read(storage, path)
        .await?
        .filter(|holder| holder.liveness() != Liveness::Gone))
}

/// Removes a lock found by [`find`].
pub async fn remove(storage: &Arc<dyn Storage>, found: &Found) -> Result<(), StorageError> {
    remove_if_present(storage, &found.path).await
}

async fn create_exclusive(
    storage: &Arc<dyn Storage>,
    path: &str,
    holder: &Holder,
) -> Result<(), StorageError> {
    // Written whole under a name of this process, then given the lock's
    // name only if no other has it: a run killed at any moment leaves no
    // lock half written (which would name no holder, and block every run
    // until `hsync unlock`), at most its own temporary file, which the next
    // run on this host removes (see `remove_dead_writers`).
    let temp = writing_path(path, &holder.host, holder.pid);
    let mut writer = storage.create(&temp, &CreateOptions::default()).await?;
    let text = serde_json::to_vec(holder).expect("a holder serialises");
    writer.write(text.into()).await?;
    writer.close().await?;
    // hsync's state on a target is the applying user's alone.
    let private = Attributes {
        permission: Some(0o600),
        ..Attributes::default()
    };
    let published = async {
        storage.set_attributes(&temp, &private).await?;
        storage.rename_new(&temp, path).await
    }
    .await;
    if published.is_err() {
        let _ = storage.remove_file(&temp).await;
    }
    published
}

/// Where the process `pid` of `host` writes the lock `path` before it
/// takes the lock's name.
fn writing_path(path: &str, host: &str, pid: u32) -> String {
    temp_sibling(path, &format!("{WRITING}{pid}@{host}"))
}

/// Marks the temporary names of locks being written.
const WRITING: &str = "writing-";

/// Removes the lock files that processes of this host that no longer run
/// were writing when they died: one listing of the lock's folder.
async fn remove_dead_writers(storage: &Arc<dyn Storage>, path: &str) -> Result<(), StorageError> {
    let (folder, _) = parent_and_name(path);
    let prefix = parent_and_name(&temp_sibling(path, WRITING)).1.to_string();
    let host = hostname();
    for entry in storage.list_dir(folder).await? {
        let Some((pid, writer_host)) = entry
            .name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('@'))
        else {
            continue;
        };
        let dead = writer_host == host && pid.parse().is_ok_and(|pid| !alive(pid));
        if dead {
            remove_if_present(storage, &join(folder, &entry.name)).await?;
        }
    }
    Ok(())
}

/// Who the lock file at `path` names: `None` if there is none, an unknown
/// holder if it holds no complete record (damaged: locks are written whole).
async fn read(storage: &Arc<dyn Storage>, path: &str) -> Result<Option<Holder>, StorageError> {
    let mut reader = match storage.open(path).await {
        Ok(reader) => reader,
        Err(e) if e.is_not_found() => return Ok(None),
        // Another user's lock, readable by them alone.
        Err(e) if e.kind == ErrorKind::PermissionDenied => {
            return Ok(Some(Holder {
                unreadable: true,
                ..unknown_holder()
            }))
        }
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
    Ok(Some(
        serde_json::from_slice(&text).unwrap_or_else(|_| unknown_holder()),
    ))
}

fn unknown_holder() -> Holder {
    Holder {
        host: "?".into(),
        pid: 0,
        user: "an unknown user".into(),
        plan: String::new(),
        started_ms: 0,
        unreadable: false,
    }
}

async fn remove_if_present(storage: &Arc<dyn Storage>, path: &str) -> Result<(), StorageError> {
    match storage.remove_file(path).await {
        Err(e) if !e.is_not_found() => Err(e),
        _ => Ok(()),
    }
}

/// This host's name, as lock files record it.
pub fn hostname() -> String {
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
