//! The hsync plan file: the contract between `hsync plan` and `hsync apply`.
//!
//! A plan names every filesystem, root, option and action of a run, so that
//! `apply` needs nothing else and does nothing else. It is deterministic
//! (sorted, no wall-clock time) and sealed by a blake3 fingerprint of its own
//! content; see [`file`] for how it is written and read as a stream.

mod chunks;
mod file;
pub mod order;
mod schema;

pub use chunks::{Chunk, ChunkList, Chunking, OtherPlan};
pub use file::{
    JobOutline, LoadError, Outline, PlanFile, PlanReader, PlanSink, PlanWriter, Record,
    FORMAT_VERSION,
};
pub use hsync_fs_model::Preserve;
pub use schema::{
    Action, Commit, Compare, Compared, CopyAction, DeleteAction, Fallback, FallbackReason,
    Incremental, IncrementalBy, JobEnd, JobHeader, JobOptions, JobPlan, Layout, Listed,
    ManifestRef, MkdirAction, Mode, Plan, Reason, RenameAction, Seen, SetAttributesAction,
    SkipReason, Skipped, SnapshotCycle, SourceRef, SymlinkAction, Symlinks, Totals,
};
