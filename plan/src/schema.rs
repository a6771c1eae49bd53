use hsync_fs_model::{Attributes, EntryKind, FsSpec, Preserve, XAttrNamespace};
use serde::{Deserialize, Serialize};

/// A whole plan in memory, one entry per manifest job: for plans a person
/// reads, and tests. `plan` and `apply` stream a plan file instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Bumped on any change a loader must know about; see [`crate::FORMAT_VERSION`].
    pub format_version: u32,
    pub manifest: ManifestRef,
    pub jobs: Vec<JobPlan>,
    /// blake3 of the plan file's lines before its trailer.
    pub fingerprint: String,
}

/// Which manifest the plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestRef {
    pub path: String,
    /// blake3 of the manifest's bytes.
    pub digest: String,
}

/// One job: where from, where to, how, and what to do. A job plan is its
/// [`JobHeader`] (known before any listing), its actions and skipped
/// entries in file order, and its [`JobEnd`] (what planning counted); the
/// plan file holds them in that order, so neither side holds a whole job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPlan {
    pub header: JobHeader,
    /// Sorted by target path; copies and directories first, deletes last.
    pub actions: Vec<Action>,
    /// Entries left alone and why (special files, symlinks by the job's
    /// `symlinks` policy, names that are not UTF-8), sorted by path. They
    /// are not changes: a plan with only these has nothing to do.
    pub skipped: Vec<Skipped>,
    pub end: JobEnd,
}

/// Reads of a job's header go through the job, as they always did.
impl std::ops::Deref for JobPlan {
    type Target = JobHeader;

    fn deref(&self) -> &JobHeader {
        &self.header
    }
}

/// What a job is, written before its actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobHeader {
    pub name: String,
    pub source_fs: FsSpec,
    /// Absolute source roots on `source_fs`; actions refer to them by index.
    pub source_roots: Vec<String>,
    pub target_fs: FsSpec,
    /// Absolute target root on `target_fs`; action paths are relative to it.
    pub target_root: String,
    pub options: JobOptions,
    /// For `incremental = "snapshot"` jobs, the snapshot cycle this plan
    /// completes; `source_roots` then holds the snapshot's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotCycle>,
    /// Atomic jobs: the staging folders interrupted applies of other plans
    /// left beside the target root, by tag (`.NAME.hsync-tmp.TAG`), removed
    /// with all they hold. Only a tag is written, so the plan can name no
    /// other path outside the root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftover_staging: Vec<String>,
}

/// What planning a job counted, written after its actions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobEnd {
    /// Files that are already in sync and left alone.
    pub unchanged: Totals,
    /// What planning listed, both sides: one listing call per directory.
    pub listed: Listed,
    /// How same-size files were compared under `compare = ["checksum"]`;
    /// absent when none were.
    #[serde(default, skip_serializing_if = "Compared::is_empty")]
    pub compared: Compared,
}

/// One turn of an incremental job's snapshot cycle (DistCp's `-diff s1 s2`,
/// with hsync naming and taking the snapshots).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotCycle {
    /// The live, snapshottable source directory.
    pub source_dir: String,
    /// The source snapshot the plan copies from, taken by `plan`; apply
    /// takes the same name on the target once everything is done.
    pub name: String,
    /// The newest snapshot both sides share: a plan with one holds only the
    /// changes since it (a diff plan); without one it compares whole trees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The target holds `name` already (nothing changed in the source since
    /// the last sync): apply takes no snapshot.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_target: bool,
}

/// One entry the plan leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skipped {
    /// Relative to the target root: where a source entry would have landed,
    /// or where a target entry is. For `name-not-utf8` the escaped spelling
    /// (`hsync_fs_model::display`: `"bad\xff"`, quotes included).
    pub path: String,
    /// The source entry (root index and path below it); absent for an entry
    /// of the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    pub entry: EntryKind,
    pub reason: SkipReason,
}

/// Why an entry is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// A FIFO, socket or device: never opened (a FIFO would block the read).
    SpecialFile,
    /// A symlink under `symlinks = "skip"`.
    Symlink,
    /// `symlinks = "follow"`: the link leads outside its source root.
    SymlinkOutsideRoot,
    /// `symlinks = "follow"`: the link points at nothing.
    SymlinkDangles,
    /// `symlinks = "follow"`: the link leads back into a folder above it, or
    /// into a chain of links that never ends.
    SymlinkLoop,
    /// The local name is not UTF-8: no plan or HDFS path can hold it.
    NameNotUtf8,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listed {
    pub directories: u64,
    pub entries: u64,
}

/// The content comparisons of a job: by the filesystems' own checksums where
/// both sides have comparable ones (block-size independent ones first),
/// else by reading both sides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compared {
    /// Pairs compared by their `COMPOSITE_CRC` checksums (HDFS
    /// `getFileChecksum`, Hadoop 3.1+ on both sides), whatever the block size
    /// or erasure coding; no data read.
    pub composite_crc: u64,
    /// Pairs compared by their `MD5MD5CRC32` checksums (the same block size
    /// and CRC settings on both sides), where either side offers no
    /// `COMPOSITE_CRC`; no data read.
    pub md5_crc: u64,
    /// Pairs read on both sides and compared by blake3.
    pub read: u64,
    /// Why the `read` pairs could not be compared natively, by reason and
    /// algorithms, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<Fallback>,
}

/// Pairs that fell back to reading, for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    pub reason: FallbackReason,
    /// For `algorithms-differ`, the source's checksum algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_algorithm: Option<String>,
    /// For `algorithms-differ`, the target's checksum algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_algorithm: Option<String>,
    pub files: u64,
    /// The first of those files by target path.
    pub example: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FallbackReason {
    /// The source gives no checksum of the file: a local filesystem, or an
    /// HDFS file without one (of mixed CRC types, or erasure-coded on a
    /// cluster whose other side offers no `COMPOSITE_CRC`).
    NoSourceChecksum,
    /// The target gives no checksum of the file, likewise.
    NoTargetChecksum,
    /// Both have one, of different algorithms: for HDFS, another block size,
    /// bytes per CRC or CRC type.
    AlgorithmsDiffer,
}

/// The job's options, resolved: defaults filled in, nothing left implicit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobOptions {
    pub mode: Mode,
    pub layout: Layout,
    /// Per-depth include filter (DistCp+ semantics), as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// Exclude regexes on the path below the source root, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    pub compare: Vec<Compare>,
    pub delete: bool,
    pub preserve: Vec<Preserve>,
    pub commit: Commit,
    pub parallel: usize,
    /// Bytes per second, for the whole job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<u64>,
    /// Plan from snapshot diffs instead of whole listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<Incremental>,
    /// What to do with symlinks in the sources.
    #[serde(default, skip_serializing_if = "Symlinks::is_skip")]
    pub symlinks: Symlinks,
}

/// The `symlinks` policy of a job. A source root that is a link is always
/// followed: the manifest names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Symlinks {
    /// Left alone, counted and listed in the plan.
    #[default]
    Skip,
    /// What a link points to is copied when it lies inside the same source
    /// root (a link to a folder is walked as a folder); other links are
    /// skipped and listed with the reason.
    Follow,
    /// The link itself is recreated with the same text (local to local).
    Copy,
}

impl Symlinks {
    pub fn is_skip(&self) -> bool {
        *self == Symlinks::Skip
    }
}

/// How an incremental job finds its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    pub by: IncrementalBy,
    /// hsync snapshots kept on each side after an apply (the newest synced ones).
    pub keep_snapshots: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncrementalBy {
    /// HDFS snapshot diffs of the source (HDFS-7535/8828).
    Snapshot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Files that exist at the target are left alone (DistCp's default).
    Skip,
    /// Files that differ by the compare keys are rewritten (`-update`).
    Update,
    /// Every file is rewritten (`-overwrite`).
    Overwrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// The contents of each source go into the target.
    Contents,
    /// Each source goes into the target under its own name.
    Nested,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compare {
    Size,
    Mtime,
    Checksum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Commit {
    /// Each file lands through a temporary name and a rename.
    File,
    /// The whole target is staged aside and renamed into place at the end.
    Atomic,
}

/// One step of a job; every path is relative to the job's target root.
/// A loader refuses a kind it does not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Action {
    /// Create a missing directory; its attributes are set after its contents.
    Mkdir(MkdirAction),
    /// Copy one file through a temporary name.
    Copy(CopyAction),
    /// Delete one extraneous file, or directory once its contents are gone.
    Delete(DeleteAction),
    /// Set attributes on an existing directory, after its contents.
    SetAttributes(SetAttributesAction),
    /// Move a target path as the source moved it (snapshot-diff plans):
    /// every rename and subtree delete first moves paths out of the way,
    /// deepest first, then the renames land, shallowest first.
    Rename(RenameAction),
    /// Create a symlink (`symlinks = "copy"`), or replace one whose text
    /// differs, through a temporary name.
    Symlink(SymlinkAction),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymlinkAction {
    pub path: String,
    /// The link text, exactly as the source link holds it.
    pub link: String,
    /// The text of the target link it replaces, as the planner saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MkdirAction {
    pub path: String,
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyAction {
    pub path: String,
    pub reason: Reason,
    pub source: SourceRef,
    /// The source as the planner saw it; apply refuses a source that moved on.
    pub size: u64,
    pub mtime_ms: i64,
    /// The target file the planner saw, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Seen>,
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAttributesAction {
    pub path: String,
    /// A folder (the default, not written) or a file left in place.
    #[serde(default = "folder", skip_serializing_if = "is_folder")]
    pub entry: EntryKind,
    pub attributes: Attributes,
}

fn folder() -> EntryKind {
    EntryKind::Dir
}

fn is_folder(entry: &EntryKind) -> bool {
    *entry == EntryKind::Dir
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAction {
    pub path: String,
    pub entry: EntryKind,
    pub seen: Seen,
    /// A temporary file an interrupted apply left behind, removed whatever
    /// the job's `delete` says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leftover: bool,
    /// Deletes a directory with everything in it (a snapshot diff names only
    /// the top of a deleted subtree); done with the renames, before copies.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recursive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameAction {
    /// Where the entry is before the apply.
    pub from: String,
    /// Where it ends up.
    pub to: String,
    pub entry: EntryKind,
    /// The target entry at `from` as the planner saw it.
    pub seen: Seen,
}

/// A source file: which root, and the path below it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    pub root: usize,
    pub path: String,
}

/// Size and mtime of a path as the planner saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    pub size: u64,
    pub mtime_ms: i64,
}

/// Why an action exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Missing,
    SizeDiffers,
    MtimeDiffers,
    /// Another block size than the source's, with `blocksize` preserved.
    BlocksizeDiffers,
    ChecksumDiffers,
    Overwrite,
    /// Created in the source since the base snapshot.
    Created,
    /// Changed in the source since the base snapshot.
    Modified,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    pub files: u64,
    pub bytes: u64,
}

impl Plan {
    /// Whether applying the plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.jobs.iter().any(JobPlan::has_changes)
    }
}

impl JobHeader {
    /// The `xattr` namespaces each copied file carries over. With
    /// `preserve = ["xattr"]`, those a client may set (`user`, `trusted`);
    /// and, as DistCp does, `raw` (an encryption zone's per-file keys) with
    /// or without it when both sides are `/.reserved/raw` paths, the only
    /// place those are visible.
    pub fn copied_xattrs(&self) -> Vec<XAttrNamespace> {
        let mut namespaces = Vec::new();
        if self.preserves(Preserve::Xattr) {
            namespaces.extend([XAttrNamespace::User, XAttrNamespace::Trusted]);
        }
        let raw = |path: &str| path.starts_with("/.reserved/raw/");
        let hdfs = |fs: &FsSpec| matches!(fs, FsSpec::Hdfs(_));
        if hdfs(&self.source_fs)
            && hdfs(&self.target_fs)
            && self.source_roots.iter().all(|root| raw(root))
            && raw(&self.target_root)
        {
            namespaces.push(XAttrNamespace::Raw);
        }
        namespaces
    }

    /// The staging folders of [`JobPlan::leftover_staging`], as paths.
    pub fn leftover_staging_paths(&self) -> impl Iterator<Item = String> + '_ {
        self.leftover_staging
            .iter()
            .map(|tag| hsync_fs_model::temp_sibling(&self.target_root, tag))
    }

    pub fn preserves(&self, flag: Preserve) -> bool {
        self.options.preserve.contains(&flag)
    }

    /// Whether applying the job would change anything besides its
    /// `actions`: a new snapshot to take on the target, or staging to clear.
    pub fn has_changes_besides_actions(&self) -> bool {
        let new_snapshot = self.snapshot.as_ref().is_some_and(|c| !c.on_target);
        new_snapshot || !self.leftover_staging.is_empty()
    }
}

impl JobPlan {
    /// Whether applying the job would change anything: an action, or a new
    /// snapshot to take on the target.
    pub fn has_changes(&self) -> bool {
        !self.actions.is_empty() || self.has_changes_besides_actions()
    }
}

impl JobOptions {
    /// Where the job's target lock lives: inside the root, unless the root
    /// is absent until published (atomic) or snapshotted (incremental).
    pub fn lock_placement(&self) -> hsync_fs_model::lock::Placement {
        use hsync_fs_model::lock::Placement;
        match (self.commit, self.incremental) {
            (Commit::File, None) => Placement::Inside,
            _ => Placement::Beside,
        }
    }
}

impl SnapshotCycle {
    /// hsync's name for snapshot number `sequence` of `job`: `hsync-JOB-N`.
    /// The prefix tells hsync's snapshots from a team's own, which hsync
    /// never touches.
    pub fn snapshot_name(job: &str, sequence: u64) -> String {
        format!("hsync-{job}-{sequence}")
    }

    /// The number of one of `job`'s snapshots, or `None` for any other name.
    pub fn sequence(job: &str, name: &str) -> Option<u64> {
        let number = name
            .strip_prefix("hsync-")?
            .strip_prefix(job)?
            .strip_prefix('-')?;
        // Digits only: `+1` or `01` are not names hsync gives.
        let canonical = !number.starts_with(['+', '0']) || number == "0";
        number.parse().ok().filter(|_| canonical)
    }
}

impl Action {
    pub fn path(&self) -> &str {
        match self {
            Action::Mkdir(a) => &a.path,
            Action::Copy(a) => &a.path,
            Action::Delete(a) => &a.path,
            Action::SetAttributes(a) => &a.path,
            Action::Rename(a) => &a.to,
            Action::Symlink(a) => &a.path,
        }
    }
}

impl Compared {
    pub fn is_empty(&self) -> bool {
        self.composite_crc == 0 && self.md5_crc == 0 && self.read == 0
    }
}
