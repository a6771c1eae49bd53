//! Moving one file's bytes: read and write run concurrently through a small
//! queue of chunks; the file lands under a temporary name and is renamed into
//! place only when complete and the source proved unchanged.

use std::sync::Arc;

use bytes::Bytes;
use hsync_plan::CopyAction;
use hsync_storage::{CreateOptions, ErrorKind, FileWriter, Storage, StorageError};
use tokio::sync::mpsc;

use crate::throttle::Throttle;

/// Chunks buffered between the reader and the writer.
const READ_AHEAD: usize = 4;

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

impl Transfer<'_> {
    /// Copies the source to the temporary name, checking the planned size,
    /// and reports progress through `on_bytes`. Returns the writer still
    /// open: closing it is the caller's, as it may wait on the NameNode.
    pub async fn write_temp(
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
        let total = read?;
        if total != copy.size {
            return Err(CopyError::Stale(format!(
                "{source}: read {total} bytes but the plan saw {}; the source changed, plan again",
                copy.size
            )));
        }
        Ok(writer)
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
