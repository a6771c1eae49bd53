//! The streaming compare: the sources and the target walked together,
//! folder by folder in the plan's order, each folder's actions decided and
//! written as the walk passes it.
//!
//! What the walk holds is one folder's merged listing per level it is
//! inside, and the listings fetched ahead of it ([`Prefetch`]); deletes and
//! skipped entries wait in scratch files until the walk is over (the
//! plan's order puts them last). A folder's own record comes before what
//! it holds, so everything it depends on is settled first: the contents of
//! its files (checksums), whether a folder above the last include depth is
//! needed at all (a look ahead, whose listings the walk then reuses), and,
//! where times are preserved, whether a folder only the target has is
//! deleted (a probe).

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Seek, Write};
use std::marker::PhantomData;
use std::ops::Range;
use std::sync::Arc;

use futures::future::LocalBoxFuture;
use hsync_plan::{
    Action, CopyAction, DeleteAction, Layout, PlanSink, Preserve, SetAttributesAction, SkipReason,
    Skipped, SourceRef, Totals,
};
use hsync_storage::{display, join, Entry, EntryKind, Storage, StorageError};
use serde::{de::DeserializeOwned, Serialize};
use tokio::task::JoinSet;

use crate::diff::{self, EntryDecision, Wanted};
use crate::listing::{self, join_relative, Folder, Listed, ListingStats, Pending, Policy, Side};
use crate::manifest::Job;
use crate::{compare_contents, PlanError, Tally, LISTING_CONCURRENCY};

/// A source root as the plan reads it.
pub struct SourceRoot {
    /// Its real path (a root that is a symlink, resolved).
    pub path: String,
    /// Its status, under the name the manifest gives it.
    pub entry: Entry,
}

/// What the walk counted, for the job's end record.
pub struct Walked {
    pub unchanged: Totals,
    pub compared: hsync_plan::Compared,
}

/// Walks a job's sources and target (`target` is whether the target root
/// exists), writing the walk's actions to `sink` as it goes, then the
/// deletes and the skipped entries. `keep` says which leftovers of
/// interrupted applies may be removed (not those of a live apply).
#[allow(clippy::too_many_arguments)]
pub async fn compare(
    job: &Job,
    roots: &[SourceRoot],
    target: bool,
    (source_fs, target_fs): (&Arc<dyn Storage>, &Arc<dyn Storage>),
    stats: &Arc<ListingStats>,
    keep: &dyn Fn(&DeleteAction) -> bool,
    sink: &mut dyn PlanSink,
) -> Result<Walked, PlanError> {
    let storage_error = PlanError::storage(&job.name);
    let mut policies = Vec::with_capacity(roots.len());
    for root in roots {
        let policy = Policy::new(source_fs, &root.path, Side::Source, job.options.symlinks);
        policies.push(policy.await.map_err(storage_error)?);
    }
    let mut walk = Walk {
        job,
        roots,
        policies,
        target_policy: Policy {
            side: Side::Target,
            symlinks: job.options.symlinks,
            root_real: String::new(),
        },
        source_fs,
        target_fs,
        prefetch: Prefetch::new(source_fs, target_fs, stats),
        ahead: BTreeMap::new(),
        deletes: Spill::new()?,
        skipped: Spill::new()?,
        keep,
        unchanged: Totals::default(),
        tally: Tally::default(),
        times: job.options.preserve.contains(&Preserve::Times),
    };
    let root = walk.root_node(target);
    walk.visit(root, sink).await?;
    for delete in walk.deletes.drain()? {
        sink.action(&Action::Delete(delete?)).map_err(written)?;
    }
    for skipped in walk.skipped.drain()? {
        sink.skipped(&skipped?).map_err(written)?;
    }
    Ok(Walked {
        unchanged: walk.unchanged,
        compared: walk.tally.finish(),
    })
}

fn written(source: io::Error) -> PlanError {
    PlanError::Write { source }
}

/// A folder of the target's namespace the walk enters.
struct Node {
    /// Relative to the target root (`""`: the root).
    path: String,
    /// Its own record: what the folder's parent decided of it.
    own: Own,
    /// The source folders merged here, by root.
    sources: Vec<SourceDir>,
    /// The target folder, when the target has one to list.
    target: Option<Listing>,
}

enum Own {
    /// The target root: no record of its own.
    Root,
    Mkdir(Action),
    /// A folder both sides have.
    Existing {
        attributes: hsync_storage::Attributes,
        differs: bool,
    },
    /// A folder only the target has (its status): deleted once empty.
    TargetOnly(Entry),
}

/// A source folder merged into a node.
struct SourceDir {
    root: usize,
    dir: Pending,
    listing: Listing,
}

/// A folder's listing: fetched ahead (a ticket), or already classified by
/// the look ahead.
enum Listing {
    Ticket(u64),
    Ready(Folder),
}

/// What a folder's entry comes to, in the order of the folder's names.
enum Child {
    /// A record of the walk (a copy, a symlink, a file's attributes).
    Record(Action),
    Unchanged(u64, Option<SetAttributesAction>),
    /// A same-size file, until its contents are compared.
    Compare(usize),
    Folder(Box<Node>),
    Delete(DeleteAction),
}

/// What one folder's names come to, in order; whether the folder stays
/// (something in it was left out); and the same-size files to compare.
type Merged = (
    Vec<Child>,
    bool,
    Vec<(CopyAction, Option<SetAttributesAction>)>,
);

/// An entry of a target folder: listed, or hsync's leftover.
enum Found {
    Listed(Listed),
    Leftover(Entry),
}

impl Found {
    fn name(&self) -> &str {
        match self {
            Found::Listed(listed) => &listed.entry.name,
            Found::Leftover(entry) => &entry.name,
        }
    }
}

/// One source entry that wants a target path.
struct Candidate {
    root: usize,
    listed: Listed,
    /// Where it is read from, below its root.
    source_path: String,
    /// For a folder, the source folder to list.
    dir: Option<Pending>,
    partial: bool,
}

impl Candidate {
    fn name(&self) -> &str {
        &self.listed.entry.name
    }

    fn wanted(&self) -> Wanted<'_> {
        Wanted {
            source: SourceRef {
                root: self.root,
                path: self.source_path.clone(),
            },
            entry: &self.listed.entry,
            partial: self.partial,
            link: self.listed.link.as_deref(),
        }
    }
}

struct Walk<'a> {
    job: &'a Job,
    roots: &'a [SourceRoot],
    policies: Vec<Policy>,
    target_policy: Policy,
    source_fs: &'a Arc<dyn Storage>,
    target_fs: &'a Arc<dyn Storage>,
    prefetch: Prefetch,
    /// Source folders the look ahead classified, by root and path, until
    /// the walk reaches them.
    ahead: BTreeMap<(usize, String), Folder>,
    deletes: Spill<DeleteAction>,
    skipped: Spill<Skipped>,
    keep: &'a dyn Fn(&DeleteAction) -> bool,
    unchanged: Totals,
    tally: Tally,
    times: bool,
}

impl<'a> Walk<'a> {
    fn root_node(&mut self, target: bool) -> Node {
        let sources = match self.job.options.layout {
            Layout::Nested => Vec::new(),
            Layout::Contents => (0..self.roots.len())
                .filter(|&root| self.roots[root].entry.kind == EntryKind::Dir)
                .map(|root| self.source_dir(root, Pending::default()))
                .collect(),
        };
        let target = target.then(|| {
            let path = self.job.target.clone();
            Listing::Ticket(self.prefetch.request(None, path))
        });
        Node {
            path: String::new(),
            own: Own::Root,
            sources,
            target,
        }
    }

    /// A source folder to merge: classified already, or fetched ahead.
    fn source_dir(&mut self, root: usize, dir: Pending) -> SourceDir {
        let listing = match self.ahead.remove(&(root, dir.relative.clone())) {
            Some(folder) => Listing::Ready(folder),
            None => {
                let path = join(&self.roots[root].path, dir.real());
                Listing::Ticket(self.prefetch.request(Some(root), path))
            }
        };
        SourceDir { root, dir, listing }
    }

    /// Walks `node` and everything below it; whether it must stay (it
    /// holds entries the walk left out).
    fn visit<'s>(
        &'s mut self,
        mut node: Node,
        sink: &'s mut dyn PlanSink,
    ) -> LocalBoxFuture<'s, Result<bool, PlanError>> {
        Box::pin(async move {
            let sources = std::mem::take(&mut node.sources);
            let target = node.target.take();
            let (children, mut kept, compares) = self.merge(&node.path, sources, target).await?;
            let results = self.compare(compares).await?;
            // A folder's times change with what it holds, attributes aside.
            let touched = children.iter().any(|child| match child {
                Child::Record(action) => !matches!(action, Action::SetAttributes(_)),
                Child::Unchanged(..) => false,
                Child::Compare(at) => results[*at].1,
                Child::Folder(folder) => matches!(folder.own, Own::Mkdir(_)),
                Child::Delete(_) => true,
            });
            self.record(&node, touched, &children, sink).await?;
            let mut results = results.into_iter().map(Some).collect::<Vec<_>>();
            for child in children {
                match child {
                    Child::Record(action) => sink.action(&action).map_err(written)?,
                    Child::Unchanged(bytes, set) => self.unchanged_one(bytes, set, sink)?,
                    Child::Compare(at) => {
                        let (copy, differs, drifted) = results[at].take().expect("once");
                        match differs {
                            true => sink.action(&Action::Copy(copy)).map_err(written)?,
                            false => self.unchanged_one(copy.size, drifted, sink)?,
                        }
                    }
                    Child::Folder(folder) => {
                        let delete = match &folder.own {
                            Own::TargetOnly(entry) => {
                                Some(diff::delete_of(folder.path.clone(), entry, false))
                            }
                            _ => None,
                        };
                        let stays = self.visit(*folder, sink).await?;
                        kept |= stays;
                        if let Some(delete) = delete.filter(|_| !stays) {
                            self.deletes.push(&delete)?;
                        }
                    }
                    Child::Delete(delete) => self.deletes.push(&delete)?,
                }
            }
            Ok(kept)
        })
    }

    fn unchanged_one(
        &mut self,
        bytes: u64,
        set: Option<SetAttributesAction>,
        sink: &mut dyn PlanSink,
    ) -> Result<(), PlanError> {
        self.unchanged.files += 1;
        self.unchanged.bytes += bytes;
        match set {
            Some(set) => sink.action(&Action::SetAttributes(set)).map_err(written),
            None => Ok(()),
        }
    }

    /// The folder's own record, before anything it holds. An existing
    /// folder that nothing inside changes, with times preserved, is still
    /// touched by the delete of a folder only the target has, unless that
    /// folder stays: probed.
    async fn record(
        &mut self,
        node: &Node,
        touched: bool,
        children: &[Child],
        sink: &mut dyn PlanSink,
    ) -> Result<(), PlanError> {
        let options = &self.job.options;
        match &node.own {
            Own::Root | Own::TargetOnly(_) => Ok(()),
            Own::Mkdir(mkdir) => sink.action(mkdir).map_err(written),
            Own::Existing {
                attributes,
                differs,
            } => {
                let mut touched = touched;
                if !touched && !differs && self.times {
                    for child in children {
                        if let Child::Folder(folder) = child {
                            if matches!(folder.own, Own::TargetOnly(_))
                                && !self.stays(folder).await?
                            {
                                touched = true;
                                break;
                            }
                        }
                    }
                }
                if !diff::folder_needs_attributes(*differs, touched, options) {
                    return Ok(());
                }
                let set = SetAttributesAction {
                    path: node.path.clone(),
                    entry: EntryKind::Dir,
                    attributes: attributes.clone(),
                };
                sink.action(&Action::SetAttributes(set)).map_err(written)
            }
        }
    }

    /// Whether a folder only the target has stays (something inside it is
    /// left out): its subtree listed once more, up to the first such entry.
    async fn stays(&self, folder: &Node) -> Result<bool, PlanError> {
        let mut pending = vec![folder.path.clone()];
        while let Some(relative) = pending.pop() {
            let path = join(&self.job.target, &relative);
            let listed = listing::fetch(self.target_fs, &path, &self.prefetch.stats).await;
            let dir = Pending {
                relative,
                ..Pending::default()
            };
            let admit = |dir: &Pending, entry: &Entry| {
                self.in_scope(&join_relative(&dir.relative, &entry.name))
            };
            let folder = self.classify_target(&dir, listed, admit).await?;
            if folder.partly {
                return Ok(true);
            }
            pending.extend(
                folder
                    .entries
                    .iter()
                    .filter(|listed| listed.entry.kind == EntryKind::Dir)
                    .map(|listed| join_relative(&dir.relative, &listed.entry.name)),
            );
        }
        Ok(false)
    }

    fn in_scope(&self, target_relative: &str) -> bool {
        let options = &self.job.options;
        options.delete && diff::in_scope(target_relative, options.layout, &self.job.filter)
    }

    /// Compares the same-size files of one folder, `parallel` at a time:
    /// each candidate, whether it differs, and its drifted attributes.
    async fn compare(
        &mut self,
        candidates: Vec<(CopyAction, Option<SetAttributesAction>)>,
    ) -> Result<Vec<(CopyAction, bool, Option<SetAttributesAction>)>, PlanError> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let sources: Vec<String> = self.roots.iter().map(|r| r.path.clone()).collect();
        let (copies, drifted): (Vec<_>, Vec<_>) = candidates.into_iter().unzip();
        let comparisons =
            compare_contents(self.job, &sources, copies, self.source_fs, self.target_fs)
                .await
                .map_err(PlanError::storage(&self.job.name))?;
        self.tally.add(&comparisons);
        Ok(comparisons
            .into_iter()
            .zip(drifted)
            .map(|((copy, differs, _), drifted)| (copy, differs, drifted))
            .collect())
    }

    /// Lists the node's folders on both sides and decides each name in
    /// it: its children in order, whether the folder stays for what was
    /// left out, and the same-size files to compare. Each side's listing
    /// comes sorted by name, so the sides are merged as they are.
    async fn merge(
        &mut self,
        path: &str,
        sources: Vec<SourceDir>,
        target: Option<Listing>,
    ) -> Result<Merged, PlanError> {
        let mut skipped = Vec::new();
        let mut candidates: Vec<Candidate> = Vec::new();
        if path.is_empty() {
            self.root_candidates(&mut candidates, &mut skipped);
        }
        let several = sources.len() + candidates.len() > 1;
        for source in sources {
            let folder = match source.listing {
                Listing::Ready(folder) => folder,
                Listing::Ticket(ticket) => self.source_folder(&source, ticket).await?,
            };
            let at = (source.root, &source.dir);
            self.add_candidates(at, folder, &mut candidates, &mut skipped, path);
        }
        if several {
            // Stable: the roots stay in order within a name.
            candidates.sort_by(|a, b| a.name().cmp(b.name()));
        }
        // The first source of a name is the one taken; a second one
        // collides unless both are folders, whose contents merge.
        let mut groups: Vec<Range<usize>> = Vec::with_capacity(candidates.len());
        let mut start = 0;
        while start < candidates.len() {
            let name = candidates[start].name();
            let len = candidates[start..]
                .iter()
                .take_while(|c| c.name() == name)
                .count();
            let group = &candidates[start..start + len];
            for second in &group[1..] {
                let both_dirs = group[0].listed.entry.kind == EntryKind::Dir
                    && second.listed.entry.kind == EntryKind::Dir;
                if !both_dirs {
                    return Err(PlanError::Collision {
                        target: join_relative(path, name),
                        first: self.full_path(&group[0]),
                        second: self.full_path(second),
                    });
                }
            }
            if !group[0].partial || self.needed(group, &mut skipped).await? {
                groups.push(start..start + len);
            }
            start += len;
        }
        // The target: what the sources want, and, for deletes, the rest of
        // what the filter governs.
        let mut kept = false;
        let mut found = Vec::new();
        if let Some(Listing::Ticket(ticket)) = target {
            let dir = Pending {
                relative: path.to_string(),
                ..Pending::default()
            };
            let listed = self.prefetch.take(ticket).await;
            let wanted = |name: &str| {
                groups
                    .binary_search_by(|g| candidates[g.start].name().cmp(name))
                    .is_ok()
            };
            let admit = |dir: &Pending, entry: &Entry| {
                wanted(&entry.name) || self.in_scope(&join_relative(&dir.relative, &entry.name))
            };
            let folder = self.classify_target(&dir, listed, admit).await?;
            kept = folder.partly;
            for (entry, reason) in folder.skipped {
                skipped.push(Skipped {
                    path: spell(listing::skipped_path(path, &entry)),
                    source: None,
                    entry: entry.kind,
                    reason,
                });
            }
            found.extend(folder.entries.into_iter().map(Found::Listed));
            found.extend(folder.leftovers.into_iter().map(Found::Leftover));
            // Two sorted runs: merged in one pass.
            found.sort_by(|a, b| a.name().cmp(b.name()));
        }
        skipped.sort();
        for skipped in &skipped {
            self.skipped.push(skipped)?;
        }

        let mut children = Vec::with_capacity(groups.len() + found.len());
        let mut compares = Vec::new();
        let mut found = found.into_iter().peekable();
        for group in groups {
            let list = &candidates[group];
            let name = list[0].name();
            while let Some(only) = found.next_if(|f| f.name() < name) {
                children.extend(self.target_only(path, only));
            }
            let existing = match found.next_if(|f| f.name() == name) {
                Some(Found::Listed(listed)) => Some(listed),
                _ => None,
            };
            let path = join_relative(path, name);
            let decision = diff::decide_entry(
                &path,
                &list[0].wanted(),
                existing.as_ref().map(|e| &e.entry),
                existing.as_ref().and_then(|e| e.link.as_deref()),
                &self.job.options,
            )?;
            children.push(match decision {
                EntryDecision::Do(Action::Mkdir(mkdir)) => {
                    self.folder(path, Own::Mkdir(Action::Mkdir(mkdir)), list, false)
                }
                EntryDecision::ExistingDir {
                    attributes,
                    differs,
                } => {
                    let own = Own::Existing {
                        attributes,
                        differs,
                    };
                    self.folder(path, own, list, true)
                }
                EntryDecision::Do(action) => Child::Record(action),
                EntryDecision::Unchanged { bytes, set } => Child::Unchanged(bytes, set),
                EntryDecision::CompareContent { copy, drifted } => {
                    compares.push((copy, drifted));
                    Child::Compare(compares.len() - 1)
                }
            });
        }
        for only in found {
            children.extend(self.target_only(path, only));
        }
        Ok((children, kept, compares))
    }

    /// An entry only the target has: extraneous (the listing admitted it
    /// for deletes), or hsync's leftover, removed unless a live apply owns it.
    fn target_only(&mut self, parent: &str, found: Found) -> Option<Child> {
        match found {
            Found::Listed(listed) => {
                let path = join_relative(parent, &listed.entry.name);
                Some(match listed.entry.kind {
                    EntryKind::Dir => self.folder(path, Own::TargetOnly(listed.entry), &[], true),
                    _ => Child::Delete(diff::delete_of(path, &listed.entry, false)),
                })
            }
            Found::Leftover(entry) => {
                let delete = diff::delete_of(join_relative(parent, &entry.name), &entry, true);
                (self.keep)(&delete).then_some(Child::Delete(delete))
            }
        }
    }

    /// A folder child: the source folders of `list` merged in it, and the
    /// target's if it has one.
    fn folder(&mut self, path: String, own: Own, list: &[Candidate], target: bool) -> Child {
        let sources = list
            .iter()
            .filter_map(|c| c.dir.clone().map(|dir| (c.root, dir)))
            .map(|(root, dir)| self.source_dir(root, dir))
            .collect();
        let target = target.then(|| {
            let at = join(&self.job.target, &path);
            Listing::Ticket(self.prefetch.request(None, at))
        });
        Child::Folder(Box::new(Node {
            path,
            own,
            sources,
            target,
        }))
    }

    /// The roots themselves as entries of the target root: a file root
    /// lands under its name in both layouts, a folder root in `nested`.
    fn root_candidates(&self, candidates: &mut Vec<Candidate>, skipped: &mut Vec<Skipped>) {
        for (index, root) in self.roots.iter().enumerate() {
            let entry = &root.entry;
            if entry.kind.is_special() {
                skipped.push(Skipped {
                    path: entry.name.clone(),
                    source: Some(SourceRef {
                        root: index,
                        path: String::new(),
                    }),
                    entry: entry.kind,
                    reason: SkipReason::SpecialFile,
                });
                continue;
            }
            let dir = entry.kind == EntryKind::Dir;
            if dir && self.job.options.layout == Layout::Contents {
                continue;
            }
            let candidate = Candidate {
                root: index,
                listed: Listed {
                    entry: entry.clone(),
                    real: None,
                    followed: false,
                    link: None,
                },
                source_path: String::new(),
                dir: dir.then(Pending::default),
                partial: false,
            };
            candidates.push(candidate);
        }
    }

    /// A source folder's listing, classified.
    async fn source_folder(
        &mut self,
        source: &SourceDir,
        ticket: u64,
    ) -> Result<Folder, PlanError> {
        let listed = self.prefetch.take(ticket).await;
        self.classify_source(source.root, &source.dir, listed).await
    }

    /// The listing of folder `dir` of source `root`, classified by the
    /// job's filter.
    async fn classify_source(
        &self,
        root: usize,
        dir: &Pending,
        listed: Result<Vec<Entry>, StorageError>,
    ) -> Result<Folder, PlanError> {
        let storage_error = PlanError::storage(&self.job.name);
        let filter = &self.job.filter;
        let admit = |dir: &Pending, entry: &Entry| filter.admits_entry(&dir.relative, &entry.name);
        listing::classify(
            self.source_fs,
            &self.roots[root].path,
            dir,
            listed.map_err(storage_error)?,
            admit,
            &self.policies[root],
        )
        .await
        .map_err(storage_error)
    }

    /// The listing of the target's folder `dir`, classified: `admit` says
    /// what of it the walk looks at.
    async fn classify_target(
        &self,
        dir: &Pending,
        listed: Result<Vec<Entry>, StorageError>,
        admit: impl Fn(&Pending, &Entry) -> bool,
    ) -> Result<Folder, PlanError> {
        let storage_error = PlanError::storage(&self.job.name);
        listing::classify(
            self.target_fs,
            &self.job.target,
            dir,
            listed.map_err(storage_error)?,
            admit,
            &self.target_policy,
        )
        .await
        .map_err(storage_error)
    }

    /// Adds a source folder's entries to the names of the node at
    /// `target_path`, and notes what it skipped where it would have landed.
    fn add_candidates(
        &self,
        (root, dir): (usize, &Pending),
        folder: Folder,
        candidates: &mut Vec<Candidate>,
        skipped: &mut Vec<Skipped>,
        target_path: &str,
    ) {
        let parent = &dir.relative;
        for (entry, reason) in folder.skipped {
            let relative = listing::skipped_path(parent, &entry);
            let name = listing::skipped_path("", &entry);
            let path = match target_path {
                "" => name,
                _ => [target_path.as_bytes(), b"/", &name].concat(),
            };
            skipped.push(Skipped {
                path: spell(path),
                source: Some(SourceRef {
                    root,
                    path: spell(relative),
                }),
                entry: entry.kind,
                reason,
            });
        }
        for listed in folder.entries {
            let relative = join_relative(parent, &listed.entry.name);
            let is_dir = listed.entry.kind == EntryKind::Dir;
            let candidate = Candidate {
                root,
                source_path: listed.real.clone().unwrap_or_else(|| relative.clone()),
                dir: is_dir.then(|| dir.child(&listed)),
                partial: is_dir && self.job.filter.is_partial(&relative),
                listed,
            };
            candidates.push(candidate);
        }
    }

    fn full_path(&self, candidate: &Candidate) -> String {
        join(&self.roots[candidate.root].path, &candidate.source_path)
    }

    /// Whether a folder above the last include depth leads to anything the
    /// filter takes (else it is not created). The folders it lists are
    /// kept for the walk; those of a folder found not needed are dropped,
    /// their skipped entries noted.
    fn needed<'s>(
        &'s mut self,
        list: &'s [Candidate],
        skipped: &'s mut Vec<Skipped>,
    ) -> LocalBoxFuture<'s, Result<bool, PlanError>> {
        Box::pin(async move {
            for candidate in list {
                let Some(dir) = &candidate.dir else { continue };
                let root = candidate.root;
                let key = (root, dir.relative.clone());
                let folder = match self.ahead.remove(&key) {
                    Some(folder) => folder,
                    None => {
                        let path = join(&self.roots[root].path, dir.real());
                        let listed =
                            listing::fetch(self.source_fs, &path, &self.prefetch.stats).await;
                        self.classify_source(root, dir, listed).await?
                    }
                };
                let mut found = false;
                for listed in &folder.entries {
                    let relative = join_relative(&dir.relative, &listed.entry.name);
                    let partial = listed.entry.kind == EntryKind::Dir
                        && self.job.filter.is_partial(&relative);
                    if !partial {
                        found = true;
                        break;
                    }
                    let below = Candidate {
                        root,
                        listed: listed.clone(),
                        source_path: String::new(),
                        dir: Some(dir.child(listed)),
                        partial,
                    };
                    if self.needed(std::slice::from_ref(&below), skipped).await? {
                        found = true;
                        break;
                    }
                }
                self.ahead.insert(key, folder);
                if found {
                    return Ok(true);
                }
            }
            // Not needed: its skipped entries still show, the rest goes.
            for candidate in list {
                let Some(dir) = &candidate.dir else { continue };
                let root = candidate.root;
                let below: Vec<(usize, String)> = self
                    .ahead
                    .keys()
                    .filter(|(r, relative)| {
                        *r == root
                            && (*relative == dir.relative
                                || hsync_plan::order::is_inside(relative, &dir.relative))
                    })
                    .cloned()
                    .collect();
                for key in below {
                    let folder = self.ahead.remove(&key).expect("listed");
                    let landing = match self.job.options.layout {
                        Layout::Contents => key.1.clone(),
                        Layout::Nested => join_relative(&self.roots[root].entry.name, &key.1),
                    };
                    let folder = Folder {
                        entries: Vec::new(),
                        ..folder
                    };
                    let dir = Pending {
                        relative: key.1,
                        ..Pending::default()
                    };
                    let mut ignored = Vec::new();
                    self.add_candidates((root, &dir), folder, &mut ignored, skipped, &landing);
                }
            }
            Ok(false)
        })
    }
}

/// A path as the plan holds it: a path that is not UTF-8 by its escaped spelling.
fn spell(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| display(e.as_bytes()).into_owned())
}

/// Listings fetched ahead of the walk, at most [`LISTING_CONCURRENCY`] at
/// a time, in the order the walk will want them: depth first, a folder's
/// subfolders asked for together as the walk enters it, the first on top.
/// Each is a task of its own, so listing (a synthetic tree's, or a local
/// one's) runs beside the walk's merging.
struct Prefetch {
    source_fs: Arc<dyn Storage>,
    target_fs: Arc<dyn Storage>,
    stats: Arc<ListingStats>,
    next: u64,
    /// Asked for since the last fetch, in order.
    group: Vec<Ask>,
    /// Asked for, not yet fetched: a stack, the next one on top.
    waiting: Vec<Ask>,
    /// Aborted when the walk stops.
    in_flight: JoinSet<(u64, Fetched)>,
    fetched: HashMap<u64, Fetched>,
}

/// A listing asked for: its ticket, whether it is of a source, and the path.
type Ask = (u64, bool, String);

type Fetched = Result<Vec<Entry>, StorageError>;

/// Fetched listings the walk has not taken yet, at most: past this, only
/// what the walk waits for is fetched.
const FETCHED_AHEAD: usize = 4 * LISTING_CONCURRENCY;

impl Prefetch {
    fn new(
        source_fs: &Arc<dyn Storage>,
        target_fs: &Arc<dyn Storage>,
        stats: &Arc<ListingStats>,
    ) -> Prefetch {
        Prefetch {
            source_fs: Arc::clone(source_fs),
            target_fs: Arc::clone(target_fs),
            stats: Arc::clone(stats),
            next: 1,
            group: Vec::new(),
            waiting: Vec::new(),
            in_flight: JoinSet::new(),
            fetched: HashMap::new(),
        }
    }

    /// Asks for the listing of `path` on a source (`Some(root)`) or the target.
    fn request(&mut self, root: Option<usize>, path: String) -> u64 {
        let ticket = self.next;
        self.next += 1;
        self.group.push((ticket, root.is_some(), path));
        ticket
    }

    /// The listing of `ticket`, once fetched.
    async fn take(&mut self, ticket: u64) -> Fetched {
        self.waiting.extend(self.group.drain(..).rev());
        loop {
            if let Some(listed) = self.fetched.remove(&ticket) {
                return listed;
            }
            if let Some(at) = self.waiting.iter().rposition(|(t, ..)| *t == ticket) {
                let ask = self.waiting.remove(at);
                self.start(ask);
            }
            while self.in_flight.len() < LISTING_CONCURRENCY && self.fetched.len() < FETCHED_AHEAD {
                let Some(ask) = self.waiting.pop() else { break };
                self.start(ask);
            }
            let joined = self.in_flight.join_next().await;
            let (done, listed) = match joined.expect("the ticket is in flight") {
                Ok(fetched) => fetched,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            };
            self.fetched.insert(done, listed);
        }
    }

    fn start(&mut self, (ticket, source, path): Ask) {
        let storage = match source {
            true => Arc::clone(&self.source_fs),
            false => Arc::clone(&self.target_fs),
        };
        let stats = Arc::clone(&self.stats);
        self.in_flight
            .spawn(async move { (ticket, listing::fetch(&storage, &path, &stats).await) });
    }
}

/// Records that wait for the end of the walk, in a scratch file: the
/// plan puts them last, and there may be millions.
struct Spill<T> {
    file: io::BufWriter<std::fs::File>,
    _records: PhantomData<T>,
}

impl<T: Serialize + DeserializeOwned> Spill<T> {
    fn new() -> Result<Spill<T>, PlanError> {
        let file = tempfile::tempfile().map_err(written)?;
        Ok(Spill {
            file: io::BufWriter::new(file),
            _records: PhantomData,
        })
    }

    fn push(&mut self, record: &T) -> Result<(), PlanError> {
        serde_json::to_writer(&mut self.file, record)
            .map_err(io::Error::from)
            .map_err(written)?;
        self.file.write_all(b"\n").map_err(written)
    }

    /// The records in the order they were pushed.
    fn drain(self) -> Result<impl Iterator<Item = Result<T, PlanError>>, PlanError> {
        let mut file = self
            .file
            .into_inner()
            .map_err(|e| written(e.into_error()))?;
        file.rewind().map_err(written)?;
        Ok(BufReader::new(file).lines().map(|line| {
            let line = line.map_err(written)?;
            serde_json::from_str(&line).map_err(|e| written(e.into()))
        }))
    }
}
