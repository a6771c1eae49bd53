//! The diff: from the listed source and target trees and a job's options,
//! decide every action and why. Pure: no I/O happens here, so every DistCp
//! rule is a unit test away.

use std::collections::{BTreeMap, BTreeSet};

use hsync_plan::{
    Action, Compare, CopyAction, DeleteAction, JobOptions, Layout, MkdirAction, Mode, Preserve,
    Reason, Seen, SetAttributesAction, SourceRef, SymlinkAction, Totals,
};
use hsync_storage::{Attributes, Entry, EntryKind};

use crate::filter::PathFilter;
use crate::listing::{join_relative, Tree};
use crate::PlanError;

/// One listed source root.
pub struct SourceSide<'a> {
    pub root: &'a str,
    /// The root's own status (a directory or a single file).
    pub root_entry: &'a Entry,
    pub tree: &'a Tree,
}

/// What the target should hold at one path, and where it comes from.
#[derive(Debug, Clone)]
pub struct Wanted<'a> {
    pub source: SourceRef,
    pub entry: &'a Entry,
    /// A folder above the last include depth: created only for what is below it.
    pub partial: bool,
    /// The text of a symlink recreated as it is (`symlinks = "copy"`).
    pub link: Option<&'a str>,
}

/// Maps every source entry to its target path (relative to the target root).
/// Two sources that put a file at the same target path are refused.
pub fn wanted<'a>(
    sources: &[SourceSide<'a>],
    layout: Layout,
    filter: &PathFilter,
) -> Result<BTreeMap<String, Wanted<'a>>, PlanError> {
    let mut wanted: BTreeMap<String, Wanted<'a>> = BTreeMap::new();
    let mut add =
        |target: String, want: Wanted<'a>, source_path: String| -> Result<(), PlanError> {
            if let Some(first) = wanted.get(&target) {
                let both_dirs =
                    first.entry.kind == EntryKind::Dir && want.entry.kind == EntryKind::Dir;
                if !both_dirs {
                    let first_path =
                        hsync_storage::join(sources[first.source.root].root, &first.source.path);
                    return Err(PlanError::Collision {
                        target,
                        first: first_path,
                        second: source_path,
                    });
                }
                return Ok(());
            }
            wanted.insert(target, want);
            Ok(())
        };
    for (index, side) in sources.iter().enumerate() {
        let name = &side.root_entry.name;
        let source = |path: &str| SourceRef {
            root: index,
            path: path.to_string(),
        };
        if side.root_entry.kind.is_special() {
            continue; // listed by `skipped`
        }
        if side.root_entry.kind != EntryKind::Dir {
            let want = Wanted {
                source: source(""),
                entry: side.root_entry,
                partial: false,
                link: None,
            };
            add(name.clone(), want, side.root.to_string())?;
            continue;
        }
        let prefix = match layout {
            Layout::Contents => String::new(),
            Layout::Nested => {
                let want = Wanted {
                    source: source(""),
                    entry: side.root_entry,
                    partial: false,
                    link: None,
                };
                add(name.clone(), want, side.root.to_string())?;
                name.clone()
            }
        };
        for (relative, entry) in &side.tree.entries {
            let partial = entry.kind == EntryKind::Dir && filter.is_partial(relative);
            let source_path = side.tree.source_path(relative);
            let want = Wanted {
                source: source(source_path),
                entry,
                partial,
                link: side.tree.links.get(relative).map(String::as_str),
            };
            add(
                join_relative(&prefix, relative),
                want,
                hsync_storage::join(side.root, source_path),
            )?;
        }
    }
    // A partial folder stays only if something below it is wanted.
    let needed: BTreeSet<String> = wanted
        .iter()
        .filter(|(_, w)| !w.partial)
        .flat_map(|(path, _)| ancestors(path))
        .collect();
    wanted.retain(|path, w| !w.partial || needed.contains(path));
    Ok(wanted)
}

/// Whether a target path is governed by the job's filter, and so may be
/// deleted when extraneous: paths the filter does not take, or that lie
/// below a folder it does not take, are left alone.
pub fn in_scope(target_relative: &str, layout: Layout, filter: &PathFilter) -> bool {
    let below_source = match layout {
        Layout::Contents => target_relative,
        Layout::Nested => match target_relative.split_once('/') {
            Some((_, below)) => below,
            None => return true,
        },
    };
    ancestors(below_source)
        .chain(std::iter::once(below_source.to_string()))
        .all(|path| filter.admits(&path))
}

/// The decided actions of one job, before checksum comparison.
#[derive(Debug, Default)]
pub struct Decided {
    pub actions: Vec<Action>,
    pub unchanged: Totals,
    /// Same-size files to compare by content (the streaming walk compares
    /// them; a snapshot diff's new subtrees have none).
    pub to_checksum: Vec<CopyAction>,
}

/// What one wanted entry asks for, against what the target holds there.
#[derive(Debug)]
pub enum EntryDecision {
    /// An action to take.
    Do(Action),
    /// Left as it is: it counts as unchanged (`bytes` of it), and may still
    /// get the preserved attributes, as in DistCp.
    Unchanged {
        bytes: u64,
        set: Option<SetAttributesAction>,
    },
    /// An existing folder: its attributes are set if they differ, or (with
    /// times preserved) once something inside it changes.
    ExistingDir {
        attributes: Attributes,
        differs: bool,
    },
    /// A same-size file whose contents decide; `drifted` is set should
    /// they be equal (a copy brings the attributes otherwise).
    CompareContent {
        copy: CopyAction,
        drifted: Option<SetAttributesAction>,
    },
}

/// The rules for one wanted entry at `path`: `existing` is the target's
/// entry there, `existing_link` its text when it is a link copied as such.
pub fn decide_entry(
    path: &str,
    want: &Wanted<'_>,
    existing: Option<&Entry>,
    existing_link: Option<&str>,
    options: &JobOptions,
) -> Result<EntryDecision, PlanError> {
    if let Some(existing) = existing {
        // A file never lands on a FIFO, a device or a link, nor a link
        // on a file: each is the user's to remove.
        if existing.kind != want.entry.kind {
            return Err(PlanError::TypeConflict {
                path: path.to_string(),
                source_kind: want.entry.kind,
                target_kind: existing.kind,
            });
        }
    }
    let attributes = preserved(want.entry, &options.preserve);
    Ok(match (want.entry.kind, existing) {
        (EntryKind::Dir, None) => EntryDecision::Do(Action::Mkdir(MkdirAction {
            path: path.to_string(),
            attributes,
        })),
        (EntryKind::Dir, Some(existing)) => EntryDecision::ExistingDir {
            differs: attributes != preserved(existing, &options.preserve),
            attributes,
        },
        (EntryKind::Symlink, existing) => {
            let link = want.link.map(str::to_string).unwrap_or_default();
            let now = existing.map(|_| existing_link.unwrap_or_default().to_string());
            let keep = match &now {
                None => false,
                Some(_) if options.mode == Mode::Skip => true,
                Some(now) => *now == link,
            };
            match keep {
                true => EntryDecision::Unchanged {
                    bytes: 0,
                    set: None,
                },
                false => EntryDecision::Do(Action::Symlink(SymlinkAction {
                    path: path.to_string(),
                    link,
                    replaces: now,
                })),
            }
        }
        (_, existing) => {
            // Refused only where a copy is made: a file left alone is fine.
            let copy = || copy_of(path, want.source.clone(), want.entry, existing, options);
            let Some(existing) = existing else {
                return Ok(EntryDecision::Do(Action::Copy(copy()?)));
            };
            // As DistCp: a file left in place still gets the attributes
            // the job preserves.
            let drifted = (attributes != preserved(existing, &options.preserve)).then(|| {
                SetAttributesAction {
                    path: path.to_string(),
                    entry: EntryKind::File,
                    attributes,
                }
            });
            match file_verdict(want.entry, existing, options) {
                Verdict::Same => EntryDecision::Unchanged {
                    bytes: want.entry.size,
                    set: drifted,
                },
                Verdict::Differs(reason) => {
                    EntryDecision::Do(Action::Copy(CopyAction { reason, ..copy()? }))
                }
                Verdict::CompareContent => EntryDecision::CompareContent {
                    copy: CopyAction {
                        reason: Reason::ChecksumDiffers,
                        ..copy()?
                    },
                    drifted,
                },
            }
        }
    })
}

/// The delete of an extraneous target entry, or of hsync's `leftover`.
pub fn delete_of(path: String, entry: &Entry, leftover: bool) -> DeleteAction {
    DeleteAction {
        path,
        entry: entry.kind,
        seen: Seen {
            size: entry.size,
            mtime_ms: entry.mtime_ms,
        },
        leftover,
        // A leftover folder is a rename's staging, removed with its contents.
        recursive: leftover && entry.kind == EntryKind::Dir,
    }
}

/// Whether an existing folder gets its attributes set: they differ, or
/// times are preserved and something inside it changed.
pub fn folder_needs_attributes(differs: bool, touched: bool, options: &JobOptions) -> bool {
    differs || (touched && options.preserve.contains(&Preserve::Times))
}

pub fn decide(
    wanted: &BTreeMap<String, Wanted<'_>>,
    target: &Tree,
    options: &JobOptions,
    filter: &PathFilter,
) -> Result<Decided, PlanError> {
    let mut decided = Decided::default();
    let mut existing_dirs = Vec::new();
    for (path, want) in wanted {
        let existing = target.entries.get(path);
        let link = target.links.get(path).map(String::as_str);
        match decide_entry(path, want, existing, link, options)? {
            EntryDecision::Do(action) => decided.actions.push(action),
            EntryDecision::Unchanged { bytes, set } => {
                decided.unchanged.files += 1;
                decided.unchanged.bytes += bytes;
                decided.actions.extend(set.map(Action::SetAttributes));
            }
            EntryDecision::ExistingDir {
                attributes,
                differs,
            } => existing_dirs.push((path, attributes, differs)),
            EntryDecision::CompareContent { copy, .. } => decided.to_checksum.push(copy),
        }
    }
    if options.delete {
        // A folder is removed only once empty: one holding entries the walk
        // left out, or above one, stays.
        let kept: BTreeSet<String> = target
            .partly_listed
            .iter()
            .flat_map(|path| ancestors(path).chain(std::iter::once(path.clone())))
            .collect();
        for (path, entry) in &target.entries {
            let keep = entry.kind == EntryKind::Dir && kept.contains(path);
            if !keep && !wanted.contains_key(path) && in_scope(path, options.layout, filter) {
                let delete = delete_of(path.clone(), entry, false);
                decided.actions.push(Action::Delete(delete));
            }
        }
    }
    // Temporary files of an interrupted apply of another plan are hsync's
    // own, and always cleaned up.
    for (path, entry) in &target.leftovers {
        let delete = delete_of(path.clone(), entry, true);
        decided.actions.push(Action::Delete(delete));
    }
    // A folder's times change when its contents do, so with times preserved
    // every folder that gets a change has its attributes set again after.
    // A checksum candidate is no change until its contents are compared.
    // Attributes set on a file leave its folder's times alone.
    let touched: BTreeSet<String> = decided
        .actions
        .iter()
        .filter(|action| !matches!(action, Action::SetAttributes(_)))
        .map(|action| hsync_storage::parent_and_name(action.path()).0.to_string())
        .collect();
    for (path, attributes, differs) in existing_dirs {
        if folder_needs_attributes(differs, touched.contains(path.as_str()), options) {
            decided
                .actions
                .push(Action::SetAttributes(SetAttributesAction {
                    path: path.clone(),
                    entry: EntryKind::Dir,
                    attributes,
                }));
        }
    }
    Ok(decided)
}

/// A copy of the source `entry` to `path` (reason: missing), replacing
/// `existing` if there is one, with the attributes the job preserves.
/// An erasure-coded file has no replication to preserve: refused, never
/// written with its block group's nominal factor. A file of an encryption
/// zone, on either side, is refused too: its bytes need a key hsync cannot get.
pub fn copy_of(
    path: &str,
    source: SourceRef,
    entry: &Entry,
    existing: Option<&Entry>,
    options: &JobOptions,
) -> Result<CopyAction, PlanError> {
    for (side, target) in [(Some(entry), false), (existing, true)] {
        if side.is_some_and(|e| e.encrypted) {
            return Err(PlanError::EncryptionZone {
                path: path.to_string(),
                target,
            });
        }
    }
    if let Some(policy) = &entry.ec_policy {
        if options.preserve.contains(&Preserve::Replication) {
            return Err(PlanError::ErasureCodedReplication {
                path: path.to_string(),
                policy: policy.clone(),
            });
        }
    }
    Ok(CopyAction {
        path: path.to_string(),
        reason: Reason::Missing,
        source,
        size: entry.size,
        mtime_ms: entry.mtime_ms,
        replaces: existing.map(|e| Seen {
            size: e.size,
            mtime_ms: e.mtime_ms,
        }),
        attributes: preserved(entry, &options.preserve),
        block_size: options
            .preserve
            .contains(&Preserve::Blocksize)
            .then_some(entry.block_size)
            .filter(|size| *size > 0),
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Same,
    Differs(Reason),
    CompareContent,
}

/// DistCp's rules for a file present on both sides.
fn file_verdict(source: &Entry, target: &Entry, options: &JobOptions) -> Verdict {
    match options.mode {
        Mode::Skip => Verdict::Same,
        Mode::Overwrite => Verdict::Differs(Reason::Overwrite),
        Mode::Update => {
            for key in &options.compare {
                match key {
                    Compare::Size if source.size != target.size => {
                        return Verdict::Differs(Reason::SizeDiffers)
                    }
                    Compare::Mtime if source.mtime_ms != target.mtime_ms => {
                        return Verdict::Differs(Reason::MtimeDiffers)
                    }
                    _ => {}
                }
            }
            if options.compare.contains(&Compare::Checksum) && source.size != target.size {
                // Different sizes always differ in content.
                return Verdict::Differs(Reason::SizeDiffers);
            }
            // As DistCp: a block size is set when a file is written, so a
            // file that must keep the source's is written again.
            let block_sizes = (source.block_size, target.block_size);
            if options.preserve.contains(&Preserve::Blocksize)
                && block_sizes.0 > 0
                && block_sizes.1 > 0
                && block_sizes.0 != block_sizes.1
            {
                return Verdict::Differs(Reason::BlocksizeDiffers);
            }
            if options.compare.contains(&Compare::Checksum) {
                return Verdict::CompareContent;
            }
            Verdict::Same
        }
    }
}

/// The attributes a job preserves, taken from a source entry.
pub fn preserved(entry: &Entry, preserve: &[Preserve]) -> Attributes {
    let mut attributes = Attributes::default();
    for flag in preserve {
        match flag {
            // Only the modification time: access times change with every
            // read (listing a folder included), and a plan must not.
            Preserve::Times => attributes.mtime_ms = Some(entry.mtime_ms),
            Preserve::Permission => attributes.permission = Some(entry.permission),
            Preserve::Owner => attributes.owner = Some(entry.owner.clone()),
            Preserve::Group => attributes.group = Some(entry.group.clone()),
            Preserve::Replication if entry.kind == EntryKind::File => {
                attributes.replication = Some(entry.replication)
            }
            _ => {}
        }
    }
    attributes
}

/// `a/b/c` → `a`, `a/b` (not the path itself, not the root).
fn ancestors(path: &str) -> impl Iterator<Item = String> + '_ {
    path.match_indices('/')
        .map(move |(i, _)| path[..i].to_string())
}

#[cfg(test)]
mod tests;
