//! The journal never lies: before a run trusts what an earlier run of the
//! same plan journaled (folders made, files copied or committing), it
//! checks each against the target, with one listing per directory, never a
//! call per file: attributes it set too, since a plan made again of trees
//! that look the same is the same plan, and someone may have changed them
//! since (a file left in place touched again, a folder's times). The plan is read as a stream for it: a folder's claims
//! gather while the walk is inside it and are checked once the walk has
//! left it, up to [`LISTING_CONCURRENCY`] folders at once, so what the check
//! holds is the claims of the open folders and the listings in flight.
//! What is missing is done again, with the attributes of its folders.

use std::collections::HashMap;
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use hsync_plan::order::is_inside;
use hsync_plan::{Action, Commit, PlanFile, Record};
use hsync_storage::{
    join, parent_and_name, temp_sibling, Attributes, Entry, EntryKind, Storage, StorageError,
};

use crate::journal::{Journal, Mark, Recovered};
use crate::report::JournalCheck;
use crate::step::Step;
use crate::steps::JobContext;
use crate::ApplyError;

/// Listings in flight at once.
const LISTING_CONCURRENCY: usize = 32;

/// A directory's entries by name; `None` when it does not exist.
type Listing = Option<HashMap<String, Entry>>;

/// A folder or file the journal says exists, or attributes it says were set.
struct Claim {
    action: u64,
    name: String,
    what: Claimed,
}

enum Claimed {
    Folder,
    /// A copied file of this size.
    File(u64),
    /// A set-attributes action: the entry bears its attributes.
    Attributes(EntryKind, Attributes),
}

/// A folder of the walk the check is inside.
struct Folder {
    path: String,
    /// The action of the folder's own attributes, if the plan has one.
    attributes: Option<u64>,
    claims: Vec<Claim>,
}

/// A folder's claims, listed.
struct Listed {
    job: usize,
    claims: Vec<Claim>,
    /// The attribute actions of the folder and every folder above it.
    attributes: Vec<u64>,
    listing: Listing,
}

/// Checks every journaled claim of `recovered` against the target of its
/// job and drops those the target does not bear out; a copy found renamed
/// into place after its `committing` mark is journaled done. An atomic job
/// the journal says was published whose target is gone starts over in its
/// staging folder. `None` when the journal claims nothing.
pub(crate) async fn check(
    plan: &PlanFile,
    jobs: &mut [JobContext],
    recovered: &mut Recovered,
    tag: &str,
    journal: &Journal,
) -> Result<Option<JournalCheck>, ApplyError> {
    let mut check = JournalCheck {
        finished_ms: recovered.finished_ms,
        finished_at: recovered
            .finished_ms
            .map(|ms| hsync_storage::lock::utc(ms.into())),
        ..JournalCheck::default()
    };
    let mut any = false;
    let mut checking = vec![false; jobs.len()];
    for (job, context) in jobs.iter_mut().enumerate() {
        let claimed = recovered.claimed(job);
        let attributes = recovered.set_attributes(job);
        let mut published = recovered.done(job, Step::Publish);
        if claimed == 0 && !attributes && !published {
            continue;
        }
        any = true;
        let header = &context.plan;
        let staging = temp_sibling(&header.target_root, tag);
        if header.options.commit == Commit::Atomic && !published {
            // A resumed atomic target present without its staging folder
            // was published by a run that died before journaling it (the
            // plan saw no target, so nothing else can have put it there).
            let target = &context.target;
            if target.stat(&staging).await?.is_none()
                && target.stat(&header.target_root).await?.is_some()
            {
                recovered.set_done(job, Step::Publish);
                context.root = header.target_root.clone();
                published = true;
            }
        }
        if published && context.target.stat(&context.root).await?.is_none() {
            // The published target is gone: the job starts over, staged.
            recovered.forget_job(job);
            check.checked += claimed;
            check.missing += claimed;
            context.root = staging;
            continue;
        }
        checking[job] = claimed > 0 || attributes;
    }
    if !checking.contains(&true) {
        return Ok(any.then_some(check));
    }

    let mut listings = FuturesUnordered::new();
    let mut job = 0;
    let mut ordinal = 0;
    let mut folders: Vec<Folder> = Vec::new();
    for record in plan.records()? {
        let action = match record? {
            Record::Job(_) => {
                ordinal = 0;
                folders = vec![Folder {
                    path: String::new(),
                    attributes: None,
                    claims: Vec::new(),
                }];
                continue;
            }
            Record::End(_) => {
                while let Some(folder) = folders.pop() {
                    let listed = list(&jobs[job], job, folder, &folders);
                    listings.extend(listed);
                }
                job += 1;
                continue;
            }
            Record::Skipped(_) => continue,
            Record::Action(action) => action,
        };
        let at = ordinal;
        ordinal += 1;
        if !checking[job] {
            continue;
        }
        let path = action.path();
        let claim = match &action {
            Action::Mkdir(_) => (recovered.done(job, Step::Mkdir(at))).then_some(Claimed::Folder),
            Action::Copy(copy) => (recovered.done(job, Step::Copy(at))
                || recovered.committing(job, at))
            .then_some(Claimed::File(copy.size)),
            // The target root is never listed from its parent: trusted.
            Action::SetAttributes(set) if !set.path.is_empty() => (recovered
                .done(job, Step::DirAttributes(at)))
            .then(|| Claimed::Attributes(set.entry, set.attributes.clone())),
            _ => None,
        };
        let folder = matches!(&action, Action::Mkdir(_))
            || matches!(&action, Action::SetAttributes(set) if set.entry == EntryKind::Dir);
        if claim.is_none() && !folder {
            continue;
        }
        // The walk goes depth-first: the folders it left are done with.
        let (parent, name) = parent_and_name(path);
        while let Some(top) = folders.last() {
            if top.path == parent || is_inside(parent, &top.path) {
                break;
            }
            let folder = folders.pop().expect("a folder");
            listings.extend(list(&jobs[job], job, folder, &folders));
        }
        // Folders the plan has no action for, down to the parent.
        while let Some(top) = folders.last() {
            if top.path == parent {
                break;
            }
            let below = &parent[top.path.len()..].trim_start_matches('/');
            let next = below.split('/').next().unwrap_or_default();
            folders.push(Folder {
                path: join_relative(&top.path, next),
                attributes: None,
                claims: Vec::new(),
            });
        }
        if let (Some(what), Some(top)) = (claim, folders.last_mut()) {
            top.claims.push(Claim {
                action: at,
                name: name.to_string(),
                what,
            });
        }
        if folder {
            folders.push(Folder {
                path: path.to_string(),
                attributes: Some(at),
                claims: Vec::new(),
            });
        }
        while listings.len() >= LISTING_CONCURRENCY {
            let listed = listings.next().await.expect("listings in flight")?;
            settle(listed, recovered, &mut check, tag, journal);
        }
    }
    while let Some(listed) = listings.next().await {
        settle(listed?, recovered, &mut check, tag, journal);
    }
    Ok(Some(check))
}

fn join_relative(folder: &str, name: &str) -> String {
    match folder {
        "" => name.to_string(),
        folder => format!("{folder}/{name}"),
    }
}

/// The listing of a folder the walk left, if anything in it is claimed.
fn list(
    context: &JobContext,
    job: usize,
    folder: Folder,
    above: &[Folder],
) -> Option<impl std::future::Future<Output = Result<Listed, StorageError>>> {
    if folder.claims.is_empty() {
        return None;
    }
    let attributes = folder
        .attributes
        .into_iter()
        .chain(above.iter().rev().filter_map(|f| f.attributes))
        .collect();
    let storage: Arc<dyn Storage> = Arc::clone(&context.target);
    let path = join(&context.root, &folder.path);
    let claims = folder.claims;
    Some(async move {
        let listing = match storage.list_dir(&path).await {
            Ok(entries) => Some(entries.into_iter().map(|e| (e.name.clone(), e)).collect()),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        Ok(Listed {
            job,
            claims,
            attributes,
            listing,
        })
    })
}

/// Each claim of a listed folder kept or dropped by what the folder holds.
fn settle(
    listed: Listed,
    recovered: &mut Recovered,
    check: &mut JournalCheck,
    tag: &str,
    journal: &Journal,
) {
    check.listings += 1;
    let job = listed.job;
    let entry = |name: &str| listed.listing.as_ref().and_then(|l| l.get(name));
    for claim in &listed.claims {
        check.checked += 1;
        let at = claim.action;
        let present = match &claim.what {
            Claimed::Folder => entry(&claim.name).is_some_and(|e| e.kind == EntryKind::Dir),
            Claimed::Attributes(kind, attributes) => {
                entry(&claim.name).is_some_and(|e| e.kind == *kind && bears(e, attributes))
            }
            &Claimed::File(size) => {
                let whole = |e: Option<&Entry>| {
                    e.is_some_and(|e| e.kind == EntryKind::File && e.size == size)
                };
                let temp = temp_sibling(&claim.name, tag);
                let temp = parent_and_name(&temp).1;
                if recovered.committing(job, at) && !whole(entry(temp)) {
                    // Not waiting under its temporary name: renamed
                    // already, or to be copied again.
                    recovered.clear_committing(job, at);
                    if whole(entry(&claim.name)) {
                        recovered.set_done(job, Step::Copy(at));
                        journal.note(&Step::Copy(at).key(job), Mark::Done);
                    }
                }
                recovered.committing(job, at) || whole(entry(&claim.name))
            }
        };
        if present {
            continue;
        }
        check.missing += 1;
        // Redone paths need their own attributes again, and so does every
        // folder above them (its times change with its contents); setting
        // attributes again changes nothing else.
        let (made, attributes) = match claim.what {
            Claimed::Folder => (Step::Mkdir(at), Step::DirAttributes(at)),
            Claimed::File(_) => (Step::Copy(at), Step::FileAttributes(at)),
            Claimed::Attributes(..) => {
                recovered.forget(job, Step::DirAttributes(at));
                continue;
            }
        };
        recovered.forget(job, made);
        recovered.forget(job, attributes);
        for &folder in &listed.attributes {
            recovered.forget(job, Step::DirAttributes(folder));
        }
    }
}

/// Whether `entry` has every attribute that `attributes` sets.
fn bears(entry: &Entry, attributes: &Attributes) -> bool {
    let Attributes {
        mtime_ms,
        permission,
        owner,
        group,
        replication,
    } = attributes;
    mtime_ms.is_none_or(|m| m == entry.mtime_ms)
        && permission.is_none_or(|p| p == entry.permission)
        && owner.as_ref().is_none_or(|o| *o == entry.owner)
        && group.as_ref().is_none_or(|g| *g == entry.group)
        && replication.is_none_or(|r| r == entry.replication)
}
