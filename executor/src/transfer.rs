//! Moving one file's bytes: read and write run concurrently through a small
//! queue of chunks (a small local file is copied in one blocking call); the
//! file lands under a temporary name and is renamed into place only when
//! complete, durable and the source proved unchanged.

use std::sync::Arc;

use bytes::Bytes;
use hsync_plan::CopyAction;
use hsync_storage::{
    CreateOptions, ErrorKind, FileWriter, LocalStorage, Storage, StorageError, Unsynced,
};
use tokio::sync::mpsc;

use crate::throttle::Throttle;

/// Chunks buffered between the reader and the writer.
const READ_AHEAD: usize = 4;
/// Local files up to this size are copied to a local target in one
/// blocking call; larger ones stream, so that progress shows and an
/// interrupt stops them between chunks.
const WHOLE_FILE_MAX: u64 = 8 << 20;

/// Why one file was not copied.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The source is not what the plan saw: not an error of the copy, a
    /// reason to plan again.
    #[error("{0}")]
    Stale(String),
    /// The path would lead outside its root: never read, written or deleted.
    #[error("{0}")]
    Escapes(String),
    /// The run was interrupted while the data was in flight; the temporary
    /// file is removed.
    #[error("interrupted while copying; the partial copy was removed")]
    Interrupted,
    /// The journal could not record the step: it is not known as done.
    #[error("journal: {0}")]
    Journal(std::io::Error),
}

/// One file to move: from `source` to the temporary name `temp`.
pub struct Transfer<'a> {
    pub source_fs: &'a Arc<dyn Storage>,
    pub source: &'a str,
    pub target_fs: &'a Arc<dyn Storage>,
    pub temp: &'a str,
    pub copy: &'a CopyAction,
    /// Bytes per read and write.
    pub chunk_size: usize,
    pub throttle: Option<&'a Throttle>,
}

/// A file complete under its temporary name, not yet durable.
pub enum Landed {
    /// Still open: its close may wait on the NameNode.
    Writer(Box<dyn FileWriter>),
    /// Written whole by a local copy, durable with the next group's `syncfs`.
    Whole(Unsynced),
}

impl Landed {
    /// Returns once the data is durable.
    pub async fn close(self) -> Result<(), CopyError> {
        match self {
            Landed::Writer(writer) => writer.close().await?,
            Landed::Whole(file) => file.durable().await?,
        }
        Ok(())
    }
}

impl Transfer<'_> {
    /// The local target, when the file is copied in one blocking call.
    pub fn whole_file(&self) -> Option<&LocalStorage> {
        let small = self.copy.size <= WHOLE_FILE_MAX && self.source_fs.as_local().is_some();
        self.target_fs.as_local().filter(|_| small)
    }

    /// Copies the source to the temporary name, checking the planned size,
    /// and reports progress through `on_bytes`. Making it durable is the
    /// caller's ([`Landed::close`]), as it may wait on the NameNode.
    pub async fn land(&self, on_bytes: &(dyn Fn(u64) + Sync)) -> Result<Landed, CopyError> {
        let Some(local) = self.whole_file() else {
            return self.stream(on_bytes).await.map(Landed::Writer);
        };
        let (source, planned) = (self.source, self.copy.size);
        if let Some(throttle) = self.throttle {
            throttle.take(planned as usize).await;
        }
        let (total, file) =
            (local.copy_new(source, self.temp, planned).await).map_err(|e| match e.kind {
                ErrorKind::NotFound if e.path == source => vanished(source),
                _ => e.into(),
            })?;
        as_planned(source, total, planned)?;
        on_bytes(total);
        Ok(Landed::Whole(file))
    }

    async fn stream(
        &self,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<Box<dyn FileWriter>, CopyError> {
        let Transfer {
            source_fs,
            source,
            target_fs,
            temp,
            copy,
            chunk_size,
            throttle,
        } = *self;
        let mut reader = source_fs.open(source).await.map_err(|e| match e.kind {
            ErrorKind::NotFound => vanished(source),
            _ => e.into(),
        })?;
        let options = CreateOptions {
            block_size: copy.block_size,
            replication: copy.attributes.replication,
        };
        let mut writer = target_fs.create(temp, &options).await?;

        let (sender, mut receiver) = mpsc::channel::<Bytes>(READ_AHEAD);
        let read = async move {
            let mut total = 0u64;
            loop {
                let chunk = reader.read(chunk_size).await?;
                if chunk.is_empty() {
                    return Ok::<u64, CopyError>(total);
                }
                total += chunk.len() as u64;
                if total > copy.size {
                    return Err(grew(source, copy.size));
                }
                if sender.send(chunk).await.is_err() {
                    return Ok(total); // the writer failed; its error is the one to report
                }
            }
        };
        let write = async {
            while let Some(chunk) = receiver.recv().await {
                if let Some(throttle) = throttle {
                    throttle.take(chunk.len()).await;
                }
                let len = chunk.len() as u64;
                writer.write(chunk).await?;
                on_bytes(len);
            }
            Ok::<_, CopyError>(writer)
        };
        let (read, write) = tokio::join!(read, write);
        let writer = write?;
        as_planned(source, read?, copy.size)?;
        Ok(writer)
    }
}

fn as_planned(source: &str, total: u64, planned: u64) -> Result<(), CopyError> {
    match total {
        _ if total > planned => Err(grew(source, planned)),
        _ if total < planned => Err(CopyError::Stale(format!(
            "{source}: read {total} bytes but the plan saw {planned}; the source changed, plan again"
        ))),
        _ => Ok(()),
    }
}

fn grew(source: &str, planned: u64) -> CopyError {
    CopyError::Stale(format!(
        "{source}: grew beyond the planned {planned} bytes while being copied; plan again"
    ))
}

pub(crate) fn vanished(source: &str) -> CopyError {
    CopyError::Stale(format!("{source} no longer exists; plan again"))
}
