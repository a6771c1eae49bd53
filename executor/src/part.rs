//! Which steps of a plan one run performs: all of them, or one phase of a
//! distributed apply, where the starting process prepares and commits and
//! workers copy the chunks in between (see [`crate::distributed`]).

use crate::step::Step;

/// The share of a plan a run performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Part {
    /// Every step, in one process.
    #[default]
    Whole,
    /// What must come before the copies: the roots, the staging folders
    /// cleared, the snapshot-diff moves, the folders.
    Prepare,
    /// The copies of one chunk, with their attributes.
    Chunk(Span),
    /// What comes after the copies: deletes, folder attributes, publish,
    /// snapshot. A copy the chunks did not journal is not done.
    Commit,
}

/// The copies of one job whose action ordinals are `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub job: usize,
    pub first: u64,
    pub last: u64,
}

/// Who performs a step, seen from one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Share {
    /// This run.
    Here,
    /// Another part: the step counts as settled here, and is not journaled.
    Elsewhere,
    /// A chunk's, which it had to journal before the commit.
    Chunks,
    /// The prepare's: this run does it again only if the check of the
    /// journal found it undone.
    Prepared,
}

/// What the prepare does.
fn prepares(step: Step) -> bool {
    matches!(
        step,
        Step::Root
            | Step::ClearStaging(_)
            | Step::MoveAside
            | Step::LandRenames
            | Step::Mkdir(_)
            | Step::Symlink(_)
    )
}

impl Part {
    pub(crate) fn share(self, job: usize, step: Step) -> Share {
        let copying = matches!(step, Step::Copy(_) | Step::FileAttributes(_));
        match self {
            Part::Whole => Share::Here,
            Part::Prepare if prepares(step) => Share::Here,
            Part::Prepare => Share::Elsewhere,
            Part::Chunk(span) => match step.action() {
                Some(at) if copying && span.holds(job, at) => Share::Here,
                _ => Share::Elsewhere,
            },
            Part::Commit if copying => Share::Chunks,
            Part::Commit if prepares(step) => Share::Prepared,
            Part::Commit => Share::Here,
        }
    }

    /// Whether a complete run of this part completes the plan.
    pub(crate) fn completes_plan(self) -> bool {
        matches!(self, Part::Whole | Part::Commit)
    }
}

impl Span {
    pub fn holds(self, job: usize, action: u64) -> bool {
        job == self.job && (self.first..=self.last).contains(&action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_of_a_plan_is_performed_by_exactly_one_part() {
        let span = Span {
            job: 0,
            first: 0,
            last: 9,
        };
        let steps = [
            Step::Root,
            Step::ClearStaging(0),
            Step::MoveAside,
            Step::LandRenames,
            Step::Mkdir(1),
            Step::Copy(2),
            Step::Symlink(3),
            Step::FileAttributes(2),
            Step::DirAttributes(1),
            Step::WalkDone,
            Step::KeepTimes,
            Step::Emptied,
            Step::Delete(4),
            Step::Publish,
            Step::Snapshot,
        ];
        for step in steps {
            let performers = [Part::Prepare, Part::Chunk(span), Part::Commit]
                .into_iter()
                .filter(|part| part.share(0, step) == Share::Here)
                .count();
            assert_eq!(performers, 1, "{step:?}");
            // The commit does a prepare's step again only if it is undone.
            let prepared = Part::Prepare.share(0, step) == Share::Here;
            assert_eq!(
                Part::Commit.share(0, step) == Share::Prepared,
                prepared,
                "{step:?}"
            );
            if matches!(step, Step::Copy(_) | Step::FileAttributes(_)) {
                assert_eq!(Part::Commit.share(0, step), Share::Chunks, "{step:?}");
            }
        }
    }

    #[test]
    fn a_chunk_performs_only_the_copies_of_its_span() {
        let span = Span {
            job: 1,
            first: 5,
            last: 7,
        };
        let part = Part::Chunk(span);
        assert_eq!(part.share(1, Step::Copy(5)), Share::Here);
        assert_eq!(part.share(1, Step::FileAttributes(7)), Share::Here);
        assert_eq!(part.share(1, Step::Copy(8)), Share::Elsewhere);
        assert_eq!(part.share(0, Step::Copy(6)), Share::Elsewhere);
        assert_eq!(part.share(1, Step::Mkdir(6)), Share::Elsewhere);
    }
}
