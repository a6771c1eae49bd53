//! STUB until i13-chunks lands.
use crate::{LoadError, PlanFile};
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub index: u32,
    pub job: usize,
    pub first: u64,
    pub last: u64,
    pub files: u64,
    pub bytes: u64,
    pub first_path: String,
    pub last_path: String,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunking {
    pub chunks: u32,
}
impl Chunking {
    pub fn for_workers(n: usize) -> Chunking {
        Chunking {
            chunks: (n * 4) as u32,
        }
    }
}
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkList {
    pub plan: String,
    pub chunking: Chunking,
    pub chunks: Vec<Chunk>,
}
impl ChunkList {
    pub fn cut(plan: &PlanFile, chunking: Chunking) -> Result<ChunkList, LoadError> {
        let mut chunks = Vec::new();
        let mut job = 0usize;
        let mut at = 0u64;
        for record in plan.records()? {
            match record? {
                crate::Record::Job(_) => {
                    at = 0;
                }
                crate::Record::End(_) => {
                    job += 1;
                }
                crate::Record::Action(crate::Action::Copy(c)) => {
                    let index = chunks.len() as u32;
                    if index < chunking.chunks {
                        chunks.push(Chunk {
                            index,
                            job,
                            first: at,
                            last: at,
                            files: 1,
                            bytes: c.size,
                            first_path: c.path.clone(),
                            last_path: c.path.clone(),
                        });
                    } else {
                        let last: &mut Chunk = chunks.last_mut().unwrap();
                        if last.job == job {
                            last.last = at;
                            last.files += 1;
                        } else {
                            chunks.push(Chunk {
                                index,
                                job,
                                first: at,
                                last: at,
                                files: 1,
                                bytes: c.size,
                                first_path: c.path.clone(),
                                last_path: c.path.clone(),
                            });
                        }
                    }
                    at += 1;
                }
                crate::Record::Action(_) => at += 1,
                _ => {}
            }
        }
        Ok(ChunkList {
            plan: plan.outline.fingerprint.clone(),
            chunking,
            chunks,
        })
    }
}
