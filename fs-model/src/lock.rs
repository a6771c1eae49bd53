//! Where a job's target lock lives: the plan decides it, the backends take
//! the lock there.

use crate::path::RUN_MARK;
use crate::{join, lock_sibling, parent_and_name};

/// The name of the lock inside a target root: hidden, hsync's own.
const LOCK_NAME: &str = ".hsync-tmp.lock";

/// Where a job's lock lives, relative to its target root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Placement {
    /// `ROOT/.hsync-tmp.lock`: the root is created first.
    Inside,
    /// `PARENT/.NAME.hsync-tmp.lock`, beside the root.
    Beside,
}

impl Placement {
    /// The lock file of `target_root`.
    pub fn path(self, target_root: &str) -> String {
        match self {
            Placement::Inside => join(target_root, LOCK_NAME),
            Placement::Beside => lock_sibling(target_root),
        }
    }

    /// The run folder of a distributed apply of plan `tag` to `target_root`:
    /// where the lock is, hidden and marked as hsync's own like it.
    /// Its name carries the plan's tag, so a plan made while the apply
    /// runs leaves it alone as it leaves that apply's temporary files.
    pub fn run_folder(self, target_root: &str, tag: &str) -> String {
        let name = format!("{RUN_MARK}{tag}");
        match self {
            Placement::Inside => join(target_root, &format!(".hsync-tmp.{name}")),
            Placement::Beside => crate::temp_sibling(target_root, &name),
        }
    }

    /// The folder the lock is created in.
    pub fn folder(self, target_root: &str) -> String {
        match self {
            Placement::Inside => target_root.to_string(),
            Placement::Beside => parent_and_name(target_root).0.to_string(),
        }
    }
}
