//! The units of work of a job, and their names in the journal.

/// One unit of work of a job. Action steps carry their action's ordinal in
/// the job (its place among the job's actions in the plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Create the job's target root (or its staging root, for atomic commit).
    Root,
    /// Atomic jobs: a staging folder an interrupted apply of another plan
    /// left beside the target root removed (an index into the job's
    /// `leftover_staging`), before the root is staged.
    ClearStaging(usize),
    /// Renamed paths moved into a staging folder and subtrees deleted,
    /// deepest first, so no move depends on another (DistCp's `-diff`).
    MoveAside,
    /// Renamed paths moved from staging to their new names, shallowest first.
    LandRenames,
    Mkdir(u64),
    /// Data through a temporary name, then the rename into place.
    Copy(u64),
    /// A symlink made through a temporary name (`symlinks = "copy"`).
    Symlink(u64),
    /// A copied file's preserved attributes.
    FileAttributes(u64),
    /// A folder's attributes, once everything inside it is done (or those
    /// of a file left in place).
    DirAttributes(u64),
    /// Nothing to do but be journaled: it waits for every step of the walk
    /// (copies, attributes), and deletes wait on it.
    WalkDone,
    /// The times of a folder whose contents are to be deleted, read before
    /// the deletes, so that they can be put back after.
    KeepTimes,
    /// Stands for a folder whose contents are deleted: the folder's own
    /// delete, if it comes, waits for them; else (with times preserved) the
    /// times read by [`Step::KeepTimes`] are put back once they are done.
    Emptied,
    Delete(u64),
    /// Atomic commit: the staged target renamed into place.
    Publish,
    /// Incremental jobs: the source's snapshot taken on the target, once
    /// everything else is done, and old hsync snapshots pruned.
    Snapshot,
}

/// How a step depends on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The step needs the other's result (a file needs its folder).
    Needs,
    /// The step only comes after the other, whatever its outcome.
    After,
}

impl Step {
    /// The action the step works on, if any.
    pub fn action(self) -> Option<u64> {
        match self {
            Step::Mkdir(action)
            | Step::Copy(action)
            | Step::Symlink(action)
            | Step::FileAttributes(action)
            | Step::DirAttributes(action)
            | Step::Delete(action) => Some(action),
            _ => None,
        }
    }

    /// Whether the step's outcome is journaled when it is done: copies
    /// journal themselves, and the rest is not worth a record.
    pub fn journaled(self) -> bool {
        !matches!(
            self,
            Step::Root | Step::Copy(_) | Step::KeepTimes | Step::Emptied
        )
    }

    /// Whether a reviewer never hears of the step unless it fails.
    pub fn internal(self) -> bool {
        matches!(
            self,
            Step::WalkDone
                | Step::KeepTimes
                | Step::Emptied
                | Step::Root
                | Step::MoveAside
                | Step::LandRenames
        )
    }

    /// A stable name for the journal: the same plan always gives the same keys.
    pub fn key(self, job: usize) -> String {
        match self {
            Step::Root => format!("{job}/root"),
            Step::ClearStaging(index) => format!("{job}/clear-staging/{index}"),
            Step::MoveAside => format!("{job}/move-aside"),
            Step::LandRenames => format!("{job}/land-renames"),
            Step::Mkdir(action) => format!("{job}/{action}/mkdir"),
            Step::Copy(action) => format!("{job}/{action}/copy"),
            Step::Symlink(action) => format!("{job}/{action}/symlink"),
            Step::FileAttributes(action) => format!("{job}/{action}/attributes"),
            Step::DirAttributes(action) => format!("{job}/{action}/dir-attributes"),
            Step::WalkDone => format!("{job}/walk-done"),
            Step::KeepTimes => format!("{job}/keep-times"),
            Step::Emptied => format!("{job}/emptied"),
            Step::Delete(action) => format!("{job}/{action}/delete"),
            Step::Publish => format!("{job}/publish"),
            Step::Snapshot => format!("{job}/snapshot"),
        }
    }

    /// Journal keys of the parts of a move step, one per action.
    pub fn part_key(self, job: usize, action: u64) -> String {
        format!("{}/{action}", self.key(job))
    }
}
