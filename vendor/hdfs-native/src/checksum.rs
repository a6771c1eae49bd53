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
//!
//! hsync patch: COMPOSITE_CRC checksums. Under [`CombineMode::CompositeCrc`]
//! (Hadoop 3.1+'s `dfs.checksum.combine.mode=COMPOSITE_CRC`) each DataNode
//! answers the CRC of its whole block instead, and the client composes them
//! into the CRC of the file, as Hadoop's `CrcComposer` does: the same for
//! any block size, and for an erasure-coded file (whose block groups are
//! asked with `OP_BLOCK_GROUP_CHECKSUM`) as for its replicated copy. Its
//! name is `COMPOSITE-CRC32C`, its bytes the CRC, as `hdfs dfs
//! -Ddfs.checksum.combine.mode=COMPOSITE_CRC -checksum` prints them.

use log::warn;
use md5::{Digest, Md5};
use tokio::runtime::Handle;

use crate::common::config::Configuration;
use crate::hdfs::connection::{DatanodeConnection, Op};
use crate::hdfs::protocol::NamenodeProtocol;
use crate::proto::hdfs::{
    BlockChecksumOptionsProto, BlockChecksumTypeProto, BlockOpResponseProto, ChecksumTypeProto,
    DatanodeIdProto, DatanodeInfosProto, ErasureCodingPolicyProto, LocatedBlockProto,
    LocatedBlocksProto, OpBlockChecksumProto, OpBlockChecksumResponseProto,
    OpBlockGroupChecksumProto, Status,
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

/// A file's checksum, as Hadoop's `FileSystem.getFileChecksum` gives it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FileChecksum {
    Md5Md5Crc32(Md5Md5Crc32Checksum),
    /// hsync patch: COMPOSITE_CRC checksums.
    CompositeCrc(CompositeCrcChecksum),
}

impl FileChecksum {
    /// Hadoop's algorithm name, e.g. `MD5-of-2048MD5-of-512CRC32C` or
    /// `COMPOSITE-CRC32C`.
    pub fn algorithm_name(&self) -> String {
        match self {
            FileChecksum::Md5Md5Crc32(c) => c.algorithm_name(),
            FileChecksum::CompositeCrc(c) => c.algorithm_name(),
        }
    }

    /// Hadoop's serialised form (`FileChecksum.getBytes`), which
    /// `hdfs dfs -checksum` prints in hex.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            FileChecksum::Md5Md5Crc32(c) => c.to_bytes(),
            FileChecksum::CompositeCrc(c) => c.to_bytes(),
        }
    }
}

fn crc_name(crc_type: CrcType) -> &'static str {
    match crc_type {
        CrcType::Crc32 => "CRC32",
        CrcType::Crc32c => "CRC32C",
    }
}

/// Hadoop's `MD5MD5CRC32FileChecksum`: the MD5 of the MD5s of each block's
/// CRCs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Md5Md5Crc32Checksum {
    /// Bytes each CRC covers (`dfs.bytes-per-checksum`).
    pub bytes_per_crc: u32,
    /// CRCs in the first block when the file has more than one block, else 0.
    pub crc_per_block: u64,
    pub crc_type: CrcType,
    pub md5: [u8; 16],
}

impl Md5Md5Crc32Checksum {
    /// Hadoop's algorithm name, e.g. `MD5-of-2048MD5-of-512CRC32C`.
    pub fn algorithm_name(&self) -> String {
        format!(
            "MD5-of-{}MD5-of-{}{}",
            self.crc_per_block,
            self.bytes_per_crc,
            crc_name(self.crc_type)
        )
    }

    /// Hadoop's serialised form (28 bytes): bytes per CRC (32 bits), CRCs
    /// per block (64 bits), both big-endian, then the MD5.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(28);
        bytes.extend_from_slice(&self.bytes_per_crc.to_be_bytes());
        bytes.extend_from_slice(&self.crc_per_block.to_be_bytes());
        bytes.extend_from_slice(&self.md5);
        bytes
    }
}

// hsync patch: COMPOSITE_CRC checksums.
/// Hadoop's `CompositeCrcFileChecksum`: the CRC of the file's bytes,
/// composed from its blocks' CRCs, so independent of the block size and of
/// erasure coding.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CompositeCrcChecksum {
    pub crc_type: CrcType,
    /// Bytes each CRC of the DataNodes covers (not part of the value).
    pub bytes_per_crc: u32,
    pub crc: u32,
}

impl CompositeCrcChecksum {
    /// Hadoop's algorithm name: `COMPOSITE-CRC32C` or `COMPOSITE-CRC32`.
    pub fn algorithm_name(&self) -> String {
        format!("COMPOSITE-{}", crc_name(self.crc_type))
    }

    /// Hadoop's serialised form: the CRC, 4 bytes big-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.crc.to_be_bytes().to_vec()
    }
}

/// How the block checksums of a file are combined: Hadoop's
/// `dfs.checksum.combine.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CombineMode {
    /// `MD5MD5CRC`, the default: the MD5 of the block MD5s. It depends on
    /// the block size.
    Md5Md5Crc,
    /// hsync patch: COMPOSITE_CRC checksums. `COMPOSITE_CRC` (Hadoop 3.1+):
    /// the CRC of the whole file, composed from the blocks' CRCs, whatever
    /// the block size or layout (replicated or erasure-coded).
    CompositeCrc,
}

/// The checksum of the file at the NameNode path `path` under `mode`, or
/// `None` where Hadoop has none (null): blocks of mixed CRC types, or CRC
/// type NULL. A file without blocks has Hadoop's fixed `MD5MD5CRC32` answer
/// in either mode. Under [`CombineMode::CompositeCrc`], a DataNode that
/// ignores the request (older than Hadoop 3.1: its answer lacks the block
/// checksum options) is `UnsupportedFeature`, never a wrong value.
pub(crate) async fn get_file_checksum(
    protocol: &NamenodeProtocol,
    path: &str,
    mode: CombineMode,
    config: &Configuration,
    handle: &Handle,
) -> Result<Option<FileChecksum>> {
    let mut located = locate(protocol, path).await?;
    // A file in a snapshot may be shorter than its last block is now.
    let mut remaining = if path.contains("/.snapshot/") {
        located.file_length
    } else {
        i64::MAX as u64
    };
    let mut block_sums = Vec::with_capacity(16 * located.blocks.len());
    // hsync patch: COMPOSITE_CRC checksums. Each block's CRC and the bytes
    // it covers.
    let mut block_crcs = Vec::with_capacity(located.blocks.len());
    let mut first: Option<(u32, u64, ChecksumTypeProto)> = None;
    let mut mixed = false;
    let mut retried: Option<usize> = None;
    let mut i = 0;
    while i < located.blocks.len() && remaining > 0 {
        let block = &located.blocks[i];
        let num_bytes = block.b.num_bytes.unwrap_or(0).min(remaining);
        let request = BlockRequest {
            block,
            ec_policy: located.ec_policy.as_ref(),
            num_bytes,
            mode,
        };
        let reply = match block_checksum(protocol, &request, config, handle).await {
            Ok(reply) => reply,
            // Tokens expire: fetch fresh ones and ask again, once per block.
            Err(failure) if failure.token_refused && retried != Some(i) => {
                retried = Some(i);
                located = locate(protocol, path).await?;
                continue;
            }
            // hsync patch: COMPOSITE_CRC checksums.
            Err(failure) if failure.not_offered => {
                return Err(HdfsError::UnsupportedFeature(format!(
                    "COMPOSITE_CRC block checksums (not offered by the DataNodes of block {} of \
                     {path}, older than Hadoop 3.1)",
                    block.b.block_id
                )));
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
        let expected = match mode {
            CombineMode::Md5Md5Crc => 16,
            CombineMode::CompositeCrc => 4,
        };
        if reply.block_checksum.len() != expected {
            return Err(HdfsError::DataTransferError(format!(
                "block checksum of {} bytes for {path}, expected {expected}",
                reply.block_checksum.len()
            )));
        }
        if mode == CombineMode::CompositeCrc {
            let crc: [u8; 4] = reply.block_checksum[..].try_into().expect("4 bytes");
            block_crcs.push((u32::from_be_bytes(crc), num_bytes));
        }
        block_sums.extend_from_slice(&reply.block_checksum);
        remaining -= num_bytes;
        i += 1;
    }

    let (bytes_per_crc, crc_per_block, crc_type) = match first {
        // A file without blocks: Hadoop's fixed answer, in either mode.
        None if located.blocks.is_empty() => (0, 0, CrcType::Crc32),
        Some((bytes, crcs, ChecksumTypeProto::ChecksumCrc32)) if !mixed => {
            (bytes, crcs, CrcType::Crc32)
        }
        Some((bytes, crcs, ChecksumTypeProto::ChecksumCrc32c)) if !mixed => {
            (bytes, crcs, CrcType::Crc32c)
        }
        _ => return Ok(None),
    };
    // hsync patch: COMPOSITE_CRC checksums.
    if mode == CombineMode::CompositeCrc && first.is_some() {
        return Ok(Some(FileChecksum::CompositeCrc(CompositeCrcChecksum {
            crc_type,
            bytes_per_crc,
            crc: compose_all(crc_type, &block_crcs),
        })));
    }
    Ok(Some(FileChecksum::Md5Md5Crc32(Md5Md5Crc32Checksum {
        bytes_per_crc,
        crc_per_block,
        crc_type,
        md5: Md5::digest(hadoop_buffer(block_sums)).into(),
    })))
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

/// One block's checksum request: a replicated block, or a block group of an
/// erasure-coded file (`ec_policy`).
struct BlockRequest<'a> {
    block: &'a LocatedBlockProto,
    ec_policy: Option<&'a ErasureCodingPolicyProto>,
    /// The bytes to cover: the block's, or fewer for a snapshot's file.
    num_bytes: u64,
    mode: CombineMode,
}

/// Why no DataNode of a block answered.
struct BlockFailure {
    /// One of them refused the block token (it may have expired).
    token_refused: bool,
    /// hsync patch: COMPOSITE_CRC checksums. One of them answered with an
    /// MD5 for a COMPOSITE_CRC request: it ignores the option.
    not_offered: bool,
    errors: Vec<String>,
}

/// Asks the DataNodes holding `request`'s block, in the NameNode's order,
/// for its checksum until one answers.
async fn block_checksum(
    protocol: &NamenodeProtocol,
    request: &BlockRequest<'_>,
    config: &Configuration,
    handle: &Handle,
) -> std::result::Result<OpBlockChecksumResponseProto, BlockFailure> {
    let mut failure = BlockFailure {
        token_refused: false,
        not_offered: false,
        errors: Vec::new(),
    };
    for datanode in &request.block.locs {
        let error = match ask_datanode(protocol, &datanode.id, request, config, handle).await {
            Ok(response) => match (response.status(), response.checksum_response) {
                (Status::Success, Some(checksum)) if offers(request.mode, &checksum) => {
                    return Ok(checksum)
                }
                (Status::Success, Some(_)) => {
                    failure.not_offered = true;
                    "answered without COMPOSITE_CRC".to_string()
                }
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

// hsync patch: COMPOSITE_CRC checksums.
/// Whether `reply` is of the kind `mode` asked for. A DataNode before
/// Hadoop 3.1 ignores the request's options and answers an MD5 without
/// options of its own.
fn offers(mode: CombineMode, reply: &OpBlockChecksumResponseProto) -> bool {
    match mode {
        CombineMode::Md5Md5Crc => true,
        CombineMode::CompositeCrc => reply
            .block_checksum_options
            .is_some_and(|o| o.block_checksum_type() == BlockChecksumTypeProto::CompositeCrc),
    }
}

async fn ask_datanode(
    protocol: &NamenodeProtocol,
    datanode: &DatanodeIdProto,
    request: &BlockRequest<'_>,
    config: &Configuration,
    handle: &Handle,
) -> Result<BlockOpResponseProto> {
    let block = request.block;
    let mut connection = DatanodeConnection::connect(
        datanode,
        &block.block_token,
        protocol.get_cached_data_encryption_key().await?,
        config,
        handle,
    )
    .await?;
    // hsync patch: COMPOSITE_CRC checksums. Hadoop's client asks for a
    // stripe length of 0: one CRC of the whole block.
    let options = match request.mode {
        CombineMode::Md5Md5Crc => None,
        CombineMode::CompositeCrc => Some(BlockChecksumOptionsProto {
            block_checksum_type: Some(BlockChecksumTypeProto::CompositeCrc as i32),
            stripe_length: Some(0),
        }),
    };
    // hsync patch: COMPOSITE_CRC checksums. A block group of an
    // erasure-coded file is asked as a whole (`OP_BLOCK_GROUP_CHECKSUM`):
    // the DataNode gathers its internal blocks' checksums.
    if let Some(ec_policy) = request.ec_policy {
        let header = connection
            .build_header(&block.b, Some(block.block_token.clone()))
            .base_header;
        let message = OpBlockGroupChecksumProto {
            header,
            datanodes: DatanodeInfosProto {
                datanodes: block.locs.clone(),
            },
            block_tokens: block.block_tokens.clone(),
            ec_policy: ec_policy.clone(),
            block_indices: block
                .block_indices
                .iter()
                .flatten()
                .map(|&i| u32::from(i))
                .collect(),
            requested_num_bytes: request.num_bytes,
            block_checksum_options: options.or(Some(BlockChecksumOptionsProto {
                block_checksum_type: Some(BlockChecksumTypeProto::Md5crc as i32),
                stripe_length: Some(0),
            })),
        };
        return connection.send(Op::BlockGroupChecksum, &message).await;
    }
    let mut b = block.b.clone();
    b.num_bytes = Some(request.num_bytes);
    let header = connection
        .build_header(&b, Some(block.block_token.clone()))
        .base_header;
    let message = OpBlockChecksumProto {
        header,
        block_checksum_options: options,
    };
    connection.send(Op::BlockChecksum, &message).await
}

// hsync patch: COMPOSITE_CRC checksums. Hadoop's `CrcUtil`: a CRC is a
// polynomial over GF(2) in reflected form (the top bit is x^0), and
// `crc(A ++ B) = crc(A) * x^(8 |B|) + crc(B)` modulo the CRC's polynomial.

/// The reflected polynomial of `crc_type` (`CrcUtil.getCrcPolynomialForType`).
fn polynomial(crc_type: CrcType) -> u32 {
    match crc_type {
        CrcType::Crc32 => 0xEDB8_8320,
        CrcType::Crc32c => 0x82F6_3B78,
    }
}

/// `CrcUtil.galoisFieldMultiply`: `p * q mod m`.
fn multiply(p: u32, q: u32, m: u32) -> u32 {
    let mut sum = 0;
    let mut term = 0x8000_0000u32;
    let mut px = p;
    while term != 0 {
        if q & term != 0 {
            sum ^= px;
        }
        let carry = px & 1 != 0;
        px >>= 1;
        if carry {
            px ^= m;
        }
        term >>= 1;
    }
    sum
}

/// `CrcUtil.getMonomial`: `x^(8 bytes) mod m`, by squaring from x^8.
fn monomial(bytes: u64, m: u32) -> u32 {
    let mut product = 0x8000_0000u32;
    let mut power = 0x0080_0000u32;
    let mut degree = bytes;
    while degree > 0 {
        if degree & 1 != 0 {
            product = multiply(product, power, m);
        }
        power = multiply(power, power, m);
        degree >>= 1;
    }
    product
}

/// `CrcComposer.update` over the blocks in order, then its one-stripe
/// `digest`: the CRC of the concatenated blocks.
fn compose_all(crc_type: CrcType, blocks: &[(u32, u64)]) -> u32 {
    let m = polynomial(crc_type);
    blocks.iter().fold(0, |composite, &(crc, bytes)| {
        if composite == 0 {
            crc
        } else {
            multiply(composite, monomial(bytes, m), m) ^ crc
        }
    })
}
