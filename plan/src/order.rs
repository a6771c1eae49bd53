//! The order of a job's actions in a plan: a contract between the planner,
//! which writes them as it walks, and apply, which acts on them as they
//! come and so holds a window of the plan, not the plan.
//!
//! 1. The moves (renames and subtree deletes of a snapshot diff), in any
//!    order: apply holds them, as their number is the diff's.
//! 2. The walk, depth-first: paths ordered component by component, so that
//!    each folder's subtree is contiguous and a folder's own action (its
//!    `mkdir` or `set-attributes`) comes before anything inside it.
//! 3. The deletes, each entry's after the deletes of everything inside it.
//!
//! The reader checks it (see [`OrderCheck`]): a plan out of order is
//! refused before anything is applied.

use std::cmp::Ordering;

use crate::Action;

/// Where an action belongs in its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Moves,
    Walk,
    Deletes,
}

impl Phase {
    /// The phase the planner puts `action` in.
    pub fn of(action: &Action) -> Phase {
        match action {
            Action::Rename(_) => Phase::Moves,
            Action::Delete(delete) if delete.recursive => Phase::Moves,
            Action::Delete(_) => Phase::Deletes,
            _ => Phase::Walk,
        }
    }
}

/// Paths component by component: `a`, `a/b`, `a.txt` (plain string order
/// would put `a.txt` between `a` and `a/b`).
pub fn walk_cmp(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Depth-first, everything inside a folder before the folder.
pub fn delete_cmp(a: &str, b: &str) -> Ordering {
    if is_inside(b, a) {
        Ordering::Greater
    } else if is_inside(a, b) {
        Ordering::Less
    } else {
        walk_cmp(a, b)
    }
}

/// Whether `path` lies strictly inside the folder `folder` (`""` is the root).
pub fn is_inside(path: &str, folder: &str) -> bool {
    folder.is_empty() && !path.is_empty()
        || path.len() > folder.len()
            && path.starts_with(folder)
            && path.as_bytes()[folder.len()] == b'/'
}

/// The order a planner sorts a job's actions into.
pub fn cmp(a: &Action, b: &Action) -> Ordering {
    let (phase_a, phase_b) = (Phase::of(a), Phase::of(b));
    phase_a.cmp(&phase_b).then_with(|| match phase_a {
        Phase::Deletes => delete_cmp(a.path(), b.path()),
        Phase::Moves | Phase::Walk => walk_cmp(a.path(), b.path()),
    })
}

/// Checks a job's actions against the contract as they come, holding only
/// the last path.
#[derive(Debug)]
pub struct OrderCheck {
    phase: Phase,
    last: String,
}

impl Default for OrderCheck {
    fn default() -> OrderCheck {
        OrderCheck {
            phase: Phase::Moves,
            last: String::new(),
        }
    }
}

impl OrderCheck {
    /// The phase of the next action, or why it is out of order. A subtree
    /// delete after the moves is one of the deletes (a planner may keep
    /// them with the other deletes).
    pub fn next(&mut self, action: &Action) -> Result<Phase, String> {
        let path = action.path();
        let phase = match (Phase::of(action), self.phase) {
            (Phase::Moves, Phase::Moves) => return Ok(Phase::Moves),
            (Phase::Moves, Phase::Walk | Phase::Deletes) if matches!(action, Action::Delete(_)) => {
                Phase::Deletes
            }
            (Phase::Moves, _) => {
                return Err(format!(
                    "the rename to `{}` comes after the walk began (renames come first)",
                    hsync_fs_model::display(path)
                ))
            }
            (phase, _) => phase,
        };
        if phase < self.phase {
            return Err(format!(
                "`{}` comes after the deletes began (deletes come last)",
                hsync_fs_model::display(path)
            ));
        }
        if phase == self.phase {
            let (order, rule) = match phase {
                Phase::Deletes => (
                    delete_cmp(&self.last, path),
                    "deletes go depth-first, what a folder holds before the folder",
                ),
                _ => (
                    walk_cmp(&self.last, path),
                    "the walk goes depth-first, by path component by component",
                ),
            };
            if order != Ordering::Less {
                return Err(format!(
                    "`{}` comes after `{}` ({rule})",
                    hsync_fs_model::display(path),
                    hsync_fs_model::display(&self.last)
                ));
            }
        }
        self.phase = phase;
        self.last.clear();
        self.last.push_str(path);
        Ok(phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folders_subtree_is_contiguous_in_walk_order() {
        let mut paths = vec!["a.txt", "a/b", "a", "a-b", "a/b/c", "b"];
        paths.sort_by(|a, b| walk_cmp(a, b));
        assert_eq!(paths, ["a", "a/b", "a/b/c", "a-b", "a.txt", "b"]);
    }

    #[test]
    fn a_folder_is_deleted_after_what_it_holds() {
        let mut paths = vec!["a", "a.txt", "a/b", "a/b/c", "a/d", "b"];
        paths.sort_by(|a, b| delete_cmp(a, b));
        assert_eq!(paths, ["a/b/c", "a/b", "a/d", "a", "a.txt", "b"]);
    }

    #[test]
    fn inside_means_strictly_below() {
        assert!(is_inside("a/b", "a"));
        assert!(is_inside("a", ""));
        assert!(!is_inside("a", "a"));
        assert!(!is_inside("ab", "a"));
        assert!(!is_inside("", ""));
    }
}
