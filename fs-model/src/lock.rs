//! Where a job's target lock lives: the plan decides it, the backends take
//! the lock there.

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

    /// The folder the lock is created in.
    pub fn folder(self, target_root: &str) -> String {
        match self {
            Placement::Inside => target_root.to_string(),
            Placement::Beside => parent_and_name(target_root).0.to_string(),
        }
    }
}
