//! What an apply prints for people: a line per finished path (to a log or
//! a pipe), what the check of an earlier journal found, and the closing
//! line of the summary.

use hsync_executor::{JournalCheck, Outcome, RunOutcome, Stage, Summary};
use hsync_storage::{display, one_line};

use super::units::{bytes, count};

/// A log line; names go through [`display`] and causes through
/// [`one_line`], so a name can neither break the line nor drive the terminal.
pub fn finished(path: &str, outcome: &Outcome) -> Option<String> {
    let shown = display(path);
    Some(match outcome {
        Outcome::Copied { bytes: n } => format!("copied   {shown} ({})", bytes(*n)),
        Outcome::AlreadyDone => format!("done     {shown} (by an earlier run)"),
        Outcome::Created => format!("created  {shown}/"),
        Outcome::Deleted => format!("deleted  {shown}"),
        Outcome::Published => format!("published {shown}"),
        Outcome::Renamed { from } => format!("renamed  {} -> {shown}", display(from)),
        Outcome::SnapshotTaken { name } => {
            format!("snapshot {shown}/.snapshot/{}", display(name))
        }
        Outcome::Stale(cause) => format!("stale    {shown}: {}", one_line(cause)),
        Outcome::Failed(cause) => format!("FAILED   {shown}: {}", one_line(cause)),
        Outcome::NotDone(cause) => format!("not done {shown}: {}", one_line(cause)),
        Outcome::AttributesSet | Outcome::Moved(_) | Outcome::Elsewhere => return None,
    })
}

/// A distributed apply's next phase.
pub fn staged(stage: &Stage) -> String {
    match stage {
        Stage::Copying {
            engine,
            pending,
            chunks,
            workers,
        } => {
            let done = chunks - pending;
            let resumed = match done {
                0 => String::new(),
                n => format!(" ({} done by an earlier run)", count(n as u64, "chunk")),
            };
            format!(
                "copying  {} of {chunks} on {} ({engine}){resumed}",
                count(*pending as u64, "chunk"),
                count(*workers as u64, "worker"),
            )
        }
        Stage::Committing => "commit   checking what the chunks copied".to_string(),
    }
}

/// What the check of an earlier run's journal found.
pub fn journal_checked(check: &JournalCheck) -> String {
    let run = match &check.finished_at {
        Some(at) => format!("this plan was applied completely at {at}"),
        None => "resuming an interrupted apply of this plan".to_string(),
    };
    let found = match check.missing {
        0 => "all in place".to_string(),
        n => format!("{n} missing, to be done again"),
    };
    format!(
        "{run}; checked the {} it journaled against the target ({}): {found}",
        count(check.checked, "path"),
        count(check.listings, "listing"),
    )
}

/// `apply complete: 7 files copied (192 B), ...`.
pub fn summary(summary: &Summary) -> String {
    let renamed = match summary.paths_renamed {
        0 => String::new(),
        n => format!("{n} renamed, "),
    };
    format!(
        "apply {}: {} copied ({}), {renamed}{} already done, {} deleted, {} failed, {} stale, {} not done",
        match summary.outcome {
            RunOutcome::Success => "complete",
            RunOutcome::Partial => "partial",
            RunOutcome::Failed => "FAILED",
            RunOutcome::Interrupted => "interrupted",
        },
        count(summary.files_copied, "file"),
        bytes(summary.bytes_copied),
        summary.files_already_done,
        summary.files_deleted + summary.dirs_deleted,
        summary.files_failed,
        summary.files_stale,
        summary.steps_not_done,
    )
}
