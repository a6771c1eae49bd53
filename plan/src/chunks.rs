//! Chunks: a plan's copies cut into runs that the workers of a distributed
//! apply take one at a time, as DistCp's dynamic strategy does: several
//! chunks per worker, so a fast worker takes more of them.
//!
//! A chunk is a run of one job's copy actions, contiguous in plan order and
//! named by the ordinals of its first and last copy; the other actions
//! between them are not the chunk's. Asked for K chunks, a chunk closes
//! once it holds a K-th of the plan's copies or a K-th of their bytes, and
//! a copy of more than a K-th of the bytes is a chunk of its own: many
//! small files are grouped, a huge one stands alone. There are about K
//! chunks (more where huge files or job ends close them early), never more
//! than there are copies. Cutting reads the plan as a stream and holds only
//! the chunks; the same plan and options always give the same chunks.

use serde::{Deserialize, Serialize};

use crate::{Action, CopyAction, LoadError, Outline, PlanFile, Record};

/// One run of a job's copies, as a worker takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chunk {
    /// Its place among the plan's chunks, from 0.
    pub index: u32,
    /// Its job, by its place in the plan, from 0.
    pub job: usize,
    /// The ordinals (within the job, from 0) of its first and last copy
    /// action; the copies between them, inclusive, are the chunk's.
    pub first: u64,
    pub last: u64,
    /// Its copies, and their bytes.
    pub files: u64,
    pub bytes: u64,
    /// The target paths of its first and last copy.
    pub first_path: String,
    pub last_path: String,
}

/// How a plan's copies are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chunking {
    /// The chunks asked for, taken as at least 1 and at most
    /// [`Chunking::MAX_CHUNKS`] or the plan's copies.
    pub chunks: u32,
}

impl Chunking {
    /// Chunks per worker by default: a worker that finishes early takes
    /// another chunk rather than waiting for the slowest.
    pub const PER_WORKER: u32 = 4;

    /// More chunks than any cluster runs tasks.
    pub const MAX_CHUNKS: u32 = 1 << 20;

    /// [`Chunking::PER_WORKER`] chunks for each of `workers`.
    pub fn for_workers(workers: u32) -> Chunking {
        Chunking {
            chunks: workers.saturating_mul(Chunking::PER_WORKER),
        }
    }

    /// Cuts the copies of a checked plan, reading its records again; a plan
    /// changed since it was opened ends in the reader's error.
    pub fn cut(&self, plan: &PlanFile) -> Result<Vec<Chunk>, LoadError> {
        self.cut_records(&plan.outline, plan.records()?)
    }

    /// Cuts the copies of `records`, a plan whose totals `outline` holds.
    fn cut_records(
        &self,
        outline: &Outline,
        records: impl Iterator<Item = Result<Record, LoadError>>,
    ) -> Result<Vec<Chunk>, LoadError> {
        let mut cutter = Cutter::new(Shares::of(self, outline));
        let mut jobs = 0;
        let mut ordinal = 0;
        for record in records {
            match record? {
                Record::Job(_) => {
                    cutter.job = jobs;
                    jobs += 1;
                    ordinal = 0;
                }
                Record::Action(action) => {
                    if let Action::Copy(copy) = &action {
                        cutter.copy(ordinal, copy);
                    }
                    ordinal += 1;
                }
                Record::End(_) => cutter.close(),
                Record::Skipped(_) => {}
            }
        }
        Ok(cutter.chunks)
    }
}

/// A plan's chunks as a distributed apply keeps them (JSON, in its run
/// folder): which plan they cut, how, and the chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkList {
    /// The fingerprint of the plan the chunks cut.
    pub fingerprint: String,
    pub chunking: Chunking,
    pub chunks: Vec<Chunk>,
}

/// A chunk list refused for a plan it was not cut from.
#[derive(Debug, thiserror::Error)]
#[error("the chunk list was cut from the plan with fingerprint {list}, not from this plan (fingerprint {plan})")]
pub struct OtherPlan {
    pub list: String,
    pub plan: String,
}

impl ChunkList {
    /// The chunks of a checked plan.
    pub fn of(plan: &PlanFile, chunking: Chunking) -> Result<ChunkList, LoadError> {
        Ok(ChunkList {
            fingerprint: plan.outline.fingerprint.clone(),
            chunking,
            chunks: chunking.cut(plan)?,
        })
    }

    /// Whether the list was cut from the plan of `outline`: ordinals of
    /// another plan name other actions.
    pub fn check(&self, outline: &Outline) -> Result<(), OtherPlan> {
        match self.fingerprint == outline.fingerprint {
            true => Ok(()),
            false => Err(OtherPlan {
                list: self.fingerprint.clone(),
                plan: outline.fingerprint.clone(),
            }),
        }
    }

    /// All the chunks hold: every copy of the plan, and their bytes.
    pub fn totals(&self) -> (u64, u64) {
        let files = self.chunks.iter().map(|c| c.files).sum();
        let bytes = self.chunks.iter().map(|c| c.bytes).sum();
        (files, bytes)
    }
}

/// A chunk's share of the plan: compared as `chunks * part` against
/// `total`, in integers, so no rounding makes two cuts differ.
#[derive(Debug, Clone, Copy)]
struct Shares {
    chunks: u128,
    files: u128,
    bytes: u128,
}

impl Shares {
    fn of(chunking: &Chunking, outline: &Outline) -> Shares {
        let files: u64 = outline.jobs.iter().map(|job| job.copies).sum();
        let bytes: u64 = outline.jobs.iter().map(|job| job.bytes).sum();
        let most = u64::from(chunking.chunks.min(Chunking::MAX_CHUNKS));
        Shares {
            chunks: u128::from(most.min(files).max(1)),
            files: u128::from(files),
            bytes: u128::from(bytes),
        }
    }

    /// A copy of more than a chunk's share of the bytes.
    fn alone(&self, size: u64) -> bool {
        self.chunks * u128::from(size) > self.bytes
    }

    /// A chunk that holds its share of the files or of the bytes (a plan
    /// of empty files is cut by files alone).
    fn full(&self, chunk: &Chunk) -> bool {
        let reaches = |part: u64, total: u128| self.chunks * u128::from(part) >= total;
        reaches(chunk.files, self.files) || (self.bytes > 0 && reaches(chunk.bytes, self.bytes))
    }
}

/// The chunks so far and the one being filled.
struct Cutter {
    shares: Shares,
    /// The job being read.
    job: usize,
    open: Option<Chunk>,
    chunks: Vec<Chunk>,
}

impl Cutter {
    fn new(shares: Shares) -> Cutter {
        Cutter {
            shares,
            job: 0,
            open: None,
            chunks: Vec::new(),
        }
    }

    fn copy(&mut self, ordinal: u64, copy: &CopyAction) {
        if self.shares.alone(copy.size) {
            self.close();
        }
        // Each chunk closes full of files, full of bytes, before a huge
        // copy or at a job's end: at most 3 * MAX_CHUNKS plus one a job.
        let index = self.chunks.len() as u32;
        let job = self.job;
        let chunk = self.open.get_or_insert_with(|| Chunk {
            index,
            job,
            first: ordinal,
            last: ordinal,
            files: 0,
            bytes: 0,
            first_path: copy.path.clone(),
            last_path: String::new(),
        });
        chunk.last = ordinal;
        chunk.files += 1;
        chunk.bytes += copy.size;
        chunk.last_path.clone_from(&copy.path);
        if self.shares.full(chunk) {
            self.close();
        }
    }

    fn close(&mut self) {
        self.chunks.extend(self.open.take());
    }
}

#[cfg(test)]
mod tests;
