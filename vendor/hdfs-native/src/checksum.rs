//! hsync patch: file checksums, as [`Client::get_file_checksum`](crate::Client::get_file_checksum)
//! computes them.
//!
//! HDFS has no stored file checksum: the client builds one from the block
//! checksums the DataNodes report, as Hadoop's `DFSClient.getFileChecksum`
//! does. The NameNode gives the block locations; for each block a DataNode
//! answers the `OP_BLOCK_CHECKSUM` data-transfer operation with the MD5 of the
//! block's CRCs; the file checksum is the MD5 of those MD5s, zero-padded the
//! way Hadoop's buffer pads them (see `hadoop_buffer`). The result is what
//! `hdfs dfs -checksum` prints.
//!
//! The same bytes give the same checksum only under the same block layout
//! and CRC settings. The algorithm name carries them: bytes per CRC, the CRC
//! type and, for a file of several blocks, the CRCs in a (full) first block,
//! which is the block size over the bytes per CRC. Compare two checksums only
//! when their names are equal.

use log::warn;
use md5::{Digest, Md5};
use tokio::runtime::Handle;

use crate::common::config::Configuration;
use crate::hdfs::connection::{DatanodeConnection, Op};
use crate::hdfs::protocol::NamenodeProtocol;
use crate::proto::hdfs::{
    BlockOpResponseProto, ChecksumTypeProto, DatanodeIdProto, LocatedBlockProto,
    LocatedBlocksProto, OpBlockChecksumProto, OpBlockChecksumResponseProto, Status,
};
use crate::{HdfsError, Result};

/// The CRC a file's checksum is built on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrcType {
    /// CRC-32 (gzip's), Hadoop's `MD5MD5CRC32GzipFileChecksum`.
    Crc32,
    /// CRC-32C (Castagnoli), Hadoop's `MD5MD5CRC32CastagnoliFileChecksum`
    /// and the default since Hadoop 2.
    Crc32c,
}

/// Hadoop's `MD5MD5CRC32FileChecksum`: the MD5 of the MD5s of each block's
/// CRCs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileChecksum {
    /// Bytes each CRC covers (`dfs.bytes-per-checksum`).
    pub bytes_per_crc: u32,
    /// CRCs in the first block when the file has more than one block, else 0.
    pub crc_per_block: u64,
    pub crc_type: CrcType,
    pub md5: [u8; 16],
}

impl FileChecksum {
    /// Hadoop's algorithm name, e.g. `MD5-of-2048MD5-of-512CRC32C`.
    pub fn algorithm_name(&self) -> String {
        let crc = match self.crc_type {
            CrcType::Crc32 => "CRC32",
            CrcType::Crc32c => "CRC32C",
        };
        format!(
            "MD5-of-{}MD5-of-{}{crc}",
            self.crc_per_block, self.bytes_per_crc
        )
    }

    /// Hadoop's serialised form (`FileChecksum.getBytes`, 28 bytes): bytes
    /// per CRC (32 bits), CRCs per block (64 bits), both big-endian, then the
    /// MD5. `hdfs dfs -checksum` prints it in hex.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(28);
        bytes.extend_from_slice(&self.bytes_per_crc.to_be_bytes());
        bytes.extend_from_slice(&self.crc_per_block.to_be_bytes());
        bytes.extend_from_slice(&self.md5);
        bytes
    }
}

/// The checksum of the file at the NameNode path `path`, or `None` where
/// Hadoop has none (null): blocks of mixed CRC types, or CRC type NULL.
pub(crate) async fn get_file_checksum(
    protocol: &NamenodeProtocol,
    path: &str,
    config: &Configuration,
    handle: &Handle,
) -> Result<Option<FileChecksum>> {
    let mut located = locate(protocol, path).await?;
    if located.ec_policy.is_some() {
        return Err(HdfsError::UnsupportedFeature(
            "checksums of erasure-coded files (OP_BLOCK_GROUP_CHECKSUM)".to_string(),
        ));
    }
    // A file in a snapshot may be shorter than its last block is now.
    let mut remaining = if path.contains("/.snapshot/") {
        located.file_length
    } else {
        i64::MAX as u64
    };
    let mut block_md5s = Vec::with_capacity(16 * located.blocks.len());
    let mut first: Option<(u32, u64, ChecksumTypeProto)> = None;
    let mut mixed = false;
    let mut retried: Option<usize> = None;
    let mut i = 0;
    while i < located.blocks.len() && remaining > 0 {
        let mut block = located.blocks[i].clone();
        let num_bytes = block.b.num_bytes.unwrap_or(0).min(remaining);
        block.b.num_bytes = Some(num_bytes);
        let reply = match block_checksum(protocol, &block, config, handle).await {
            Ok(reply) => reply,
            // Tokens expire: fetch fresh ones and ask again, once per block.
            Err(failure) if failure.token_refused && retried != Some(i) => {
                retried = Some(i);
                located = locate(protocol, path).await?;
                continue;
            }
            Err(failure) => {
                return Err(HdfsError::DataTransferError(format!(
                    "no DataNode gave the checksum of block {} of {path}: {}",
                    block.b.block_id,
                    failure.errors.join("; ")
                )));
            }
        };
        let crc_type = reply
            .crc_type
            .and_then(|t| ChecksumTypeProto::try_from(t).ok())
            .ok_or_else(|| {
                HdfsError::UnsupportedFeature(
                    "block checksums without a CRC type (a DataNode older than Hadoop 2)"
                        .to_string(),
                )
            })?;
        match first {
            None => {
                // Hadoop counts CRCs per block only for a file of several blocks.
                let crc_per_block = if located.blocks.len() > 1 {
                    reply.crc_per_block
                } else {
                    0
                };
                first = Some((reply.bytes_per_crc, crc_per_block, crc_type));
            }
            Some((bytes_per_crc, _, _)) if bytes_per_crc != reply.bytes_per_crc => {
                return Err(HdfsError::OperationFailed(format!(
                    "bytes per checksum differ between the blocks of {path}: {bytes_per_crc} and {}",
                    reply.bytes_per_crc
                )));
            }
            Some((_, _, first_type)) => mixed |= first_type != crc_type,
        }
        if reply.block_checksum.len() != 16 {
            return Err(HdfsError::DataTransferError(format!(
                "block checksum of {} bytes for {path}, not an MD5",
                reply.block_checksum.len()
            )));
        }
        block_md5s.extend_from_slice(&reply.block_checksum);
        remaining -= num_bytes;
        i += 1;
    }

    let md5 = Md5::digest(hadoop_buffer(block_md5s)).into();
    let (bytes_per_crc, crc_per_block, crc_type) = match first {
        // A file without blocks: Hadoop's fixed answer.
        None if located.blocks.is_empty() => (0, 0, CrcType::Crc32),
        Some((bytes, crcs, ChecksumTypeProto::ChecksumCrc32)) if !mixed => {
            (bytes, crcs, CrcType::Crc32)
        }
        Some((bytes, crcs, ChecksumTypeProto::ChecksumCrc32c)) if !mixed => {
            (bytes, crcs, CrcType::Crc32c)
        }
        _ => return Ok(None),
    };
    Ok(Some(FileChecksum {
        bytes_per_crc,
        crc_per_block,
        crc_type,
        md5,
    }))
}

/// The bytes Hadoop hashes: not only the block MD5s but the whole buffer
/// they were written to (`DataOutputBuffer.getData`), a Java
/// `ByteArrayOutputStream` that starts at 32 bytes and doubles as it fills,
/// zeros after the data. An empty file is thus the MD5 of 32 zero bytes, and
/// a file of three blocks that of 48 bytes of MD5s and 16 zeros.
fn hadoop_buffer(mut data: Vec<u8>) -> Vec<u8> {
    let mut capacity = 32;
    while capacity < data.len() {
        capacity *= 2;
    }
    data.resize(capacity, 0);
    data
}

async fn locate(protocol: &NamenodeProtocol, path: &str) -> Result<LocatedBlocksProto> {
    protocol
        .get_block_locations(path, 0, i64::MAX as u64)
        .await?
        .locations
        .ok_or_else(|| HdfsError::FileNotFound(path.to_string()))
}

/// Why no DataNode of a block answered.
struct BlockFailure {
    /// One of them refused the block token (it may have expired).
    token_refused: bool,
    errors: Vec<String>,
}

/// Asks the DataNodes holding `block`, in the NameNode's order, for its
/// checksum until one answers.
async fn block_checksum(
    protocol: &NamenodeProtocol,
    block: &LocatedBlockProto,
    config: &Configuration,
    handle: &Handle,
) -> std::result::Result<OpBlockChecksumResponseProto, BlockFailure> {
    let mut failure = BlockFailure {
        token_refused: false,
        errors: Vec::new(),
    };
    for datanode in &block.locs {
        let error = match ask_datanode(protocol, &datanode.id, block, config, handle).await {
            Ok(response) => match (response.status(), response.checksum_response) {
                (Status::Success, Some(checksum)) => return Ok(checksum),
                (status, _) => {
                    failure.token_refused |= status == Status::ErrorAccessToken;
                    format!("{status:?} {}", response.message.unwrap_or_default())
                }
            },
            Err(e) => e.to_string(),
        };
        let address = format!("{}:{}", datanode.id.ip_addr, datanode.id.xfer_port);
        warn!("block checksum from DataNode {address} failed: {error}");
        failure.errors.push(format!("{address}: {error}"));
    }
    Err(failure)
}

async fn ask_datanode(
    protocol: &NamenodeProtocol,
    datanode: &DatanodeIdProto,
    block: &LocatedBlockProto,
    config: &Configuration,
    handle: &Handle,
) -> Result<BlockOpResponseProto> {
    let mut connection = DatanodeConnection::connect(
        datanode,
        &block.block_token,
        protocol.get_cached_data_encryption_key().await?,
        config,
        handle,
    )
    .await?;
    let header = connection
        .build_header(&block.b, Some(block.block_token.clone()))
        .base_header;
    let message = OpBlockChecksumProto {
        header,
        block_checksum_options: None,
    };
    connection.send(Op::BlockChecksum, &message).await
}
