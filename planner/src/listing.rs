//! The listing layer: one listing call per directory. [`classify`] sorts
//! one folder's entries into what a walk takes, what it leaves out and
//! why, and hsync's own leftovers; [`walk`] lists a whole subtree that way,
//! concurrently with a bound, into a flat [`Tree`] (for the subtrees a
//! snapshot diff creates); the planner's streaming walk lists folder by
//! folder instead.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use hsync_plan::{SkipReason, Symlinks};
use hsync_storage::{
    is_lock_name, is_temp_name, join, Entry, EntryKind, ErrorKind, Storage, StorageError,
};

/// Every entry below one root, keyed by its path relative to that root.
#[derive(Debug, Default)]
pub struct Tree {
    pub entries: BTreeMap<String, Entry>,
    /// Folders (relative; `""` for the root) holding entries the walk left
    /// out: the filter's, hsync's temporaries, skipped ones. Such a folder
    /// is never empty, so it can never be deleted.
    pub partly_listed: BTreeSet<String>,
    /// hsync's temporary files and rename staging folders from interrupted
    /// applies (not locks).
    pub leftovers: BTreeMap<String, Entry>,
    /// Entries the filter takes but hsync leaves alone, by relative path as
    /// bytes (a name may not be UTF-8).
    pub skipped: BTreeMap<Vec<u8>, (EntryKind, SkipReason)>,
    /// `symlinks = "follow"`: where an entry reached through a link really
    /// is, relative to the root (absent when that is its own path).
    pub resolved: BTreeMap<String, String>,
    /// `symlinks = "copy"`: the text of each symlink listed.
    pub links: BTreeMap<String, String>,
}

impl Tree {
    /// The path below the root to read an entry from.
    pub fn source_path<'a>(&'a self, relative: &'a str) -> &'a str {
        self.resolved.get(relative).map_or(relative, String::as_str)
    }
}

/// The path below the root of an entry `parent` holds, as bytes: the bytes
/// of a name that is not UTF-8 come from its lossless spelling.
pub fn skipped_path(parent: &str, entry: &Entry) -> Vec<u8> {
    let bytes = match entry.name_not_utf8 {
        true => hsync_storage::parse_display(&entry.name),
        false => None,
    };
    let name = bytes.as_deref().unwrap_or(entry.name.as_bytes());
    match parent {
        "" => name.to_vec(),
        _ => [parent.as_bytes(), b"/", name].concat(),
    }
}

/// Which side a walk lists: a source applies the job's `symlinks` policy;
/// a target never follows a link and keeps special files as entries (to be
/// deleted, or refused where a source file would land on one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

/// Counters a plan reports, so "one listing per directory" can be checked.
#[derive(Debug, Default)]
pub struct ListingStats {
    pub calls: AtomicU64,
    pub entries: AtomicU64,
}

impl ListingStats {
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::Relaxed)
    }

    fn count(&self, listed: &[Entry]) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.entries
            .fetch_add(listed.len() as u64, Ordering::Relaxed);
    }
}

/// A folder to list: its path in the tree, where it really is (differs
/// below a followed link), and the real folders the walk followed links
/// out of on its way there.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    pub relative: String,
    /// `None` where it is `relative` (always, unless a link was followed).
    pub real: Option<String>,
    pub hops: Arc<Vec<String>>,
}

impl Pending {
    pub fn real(&self) -> &str {
        self.real.as_deref().unwrap_or(&self.relative)
    }

    /// The folder `listed` (a folder this one holds) to list next.
    pub fn child(&self, listed: &Listed) -> Pending {
        let hops = if listed.followed {
            let mut hops = (*self.hops).clone();
            hops.push(self.real().to_string());
            Arc::new(hops)
        } else {
            Arc::clone(&self.hops)
        };
        Pending {
            relative: join_relative(&self.relative, &listed.entry.name),
            real: listed.real.clone(),
            hops,
        }
    }
}

/// How a side is walked: which side, the job's `symlinks`, and for
/// `follow` the root's real path (links are followed only inside it).
#[derive(Debug, Clone)]
pub struct Policy {
    pub side: Side,
    pub symlinks: Symlinks,
    pub root_real: String,
}

impl Policy {
    pub async fn new(
        storage: &Arc<dyn Storage>,
        root: &str,
        side: Side,
        symlinks: Symlinks,
    ) -> Result<Policy, StorageError> {
        let root_real = match side == Side::Source && symlinks == Symlinks::Follow {
            true => storage
                .real_path(root)
                .await?
                .unwrap_or_else(|| root.to_string()),
            false => String::new(),
        };
        Ok(Policy {
            side,
            symlinks,
            root_real,
        })
    }
}

/// One entry a walk takes.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its status; for a followed link, the status of what it leads to
    /// under the link's name.
    pub entry: Entry,
    /// Where it really is below the root, when that is not its own path.
    pub real: Option<String>,
    /// A link was followed to reach it.
    pub followed: bool,
    /// `symlinks = "copy"`: the link's text.
    pub link: Option<String>,
}

/// One folder's listing, classified.
#[derive(Debug, Default)]
pub struct Folder {
    /// What the walk takes, by name.
    pub entries: Vec<Listed>,
    /// Taken by the filter but left alone, and why.
    pub skipped: Vec<(Entry, SkipReason)>,
    /// hsync's temporary files and staging folders of interrupted applies.
    pub leftovers: Vec<Entry>,
    /// Something here was left out: the folder is never empty.
    pub partly: bool,
}

/// Lists one folder, counted in `stats`.
pub async fn fetch(
    storage: &Arc<dyn Storage>,
    path: &str,
    stats: &ListingStats,
) -> Result<Vec<Entry>, StorageError> {
    let listed = storage.list_dir(path).await?;
    stats.count(&listed);
    Ok(listed)
}

/// Sorts the entries `listed` of folder `dir` (below `root`) by name into
/// what the walk takes (those `admit` lets through),
/// leaves out or skips, and hsync's leftovers. hsync's own temporary files
/// are never taken.
pub async fn classify(
    storage: &Arc<dyn Storage>,
    root: &str,
    dir: &Pending,
    mut listed: Vec<Entry>,
    admit: impl Fn(&Pending, &Entry) -> bool,
    policy: &Policy,
) -> Result<Folder, StorageError> {
    listed.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    let mut folder = Folder::default();
    let (side, symlinks) = (policy.side, policy.symlinks);
    for mut entry in listed {
        let ours = is_temp_name(&entry.name);
        if ours && entry.kind != EntryKind::Symlink && !is_lock_name(&entry.name) {
            folder.leftovers.push(entry);
            continue;
        }
        if ours || !admit(dir, &entry) {
            folder.partly = true;
            continue;
        }
        let mut skip = |entry: Entry, reason| {
            folder.skipped.push((entry, reason));
            folder.partly = true;
        };
        if entry.name_not_utf8 {
            skip(entry, SkipReason::NameNotUtf8);
            continue;
        }
        // Where the entry really is, below a followed link.
        let mut real = dir.real.as_ref().map(|r| join_relative(r, &entry.name));
        let mut followed = false;
        let mut link = None;
        match (side, entry.kind, symlinks) {
            (Side::Source, EntryKind::Symlink, Symlinks::Skip) => {
                skip(entry, SkipReason::Symlink);
                continue;
            }
            (Side::Source, EntryKind::Symlink, Symlinks::Follow) => {
                let relative = join_relative(&dir.relative, &entry.name);
                let at = real.as_deref().unwrap_or(&relative);
                match follow_link(storage, root, &policy.root_real, at, dir).await? {
                    Err(reason) => {
                        skip(entry, reason);
                        continue;
                    }
                    Ok((target_real, target)) => {
                        entry = Entry {
                            name: entry.name,
                            ..target
                        };
                        (real, followed) = (Some(target_real), true);
                    }
                }
            }
            (_, EntryKind::Symlink, Symlinks::Copy) => {
                let relative = join_relative(&dir.relative, &entry.name);
                let at = real.as_deref().unwrap_or(&relative);
                link = Some(storage.read_link(&join(root, at)).await?);
            }
            _ => {}
        }
        if side == Side::Source && entry.kind.is_special() {
            skip(entry, SkipReason::SpecialFile);
            continue;
        }
        folder.entries.push(Listed {
            entry,
            real,
            followed,
            link,
        });
    }
    Ok(folder)
}

/// Lists `root` and the directories below it that `admit` lets through,
/// at most `concurrency` listings at a time, into a [`Tree`]; the folders
/// of what is left out are noted.
pub async fn walk(
    storage: &Arc<dyn Storage>,
    root: &str,
    admit: impl Fn(&str, &Entry) -> bool,
    (side, symlinks): (Side, Symlinks),
    concurrency: usize,
    stats: &ListingStats,
) -> Result<Tree, StorageError> {
    let mut tree = Tree::default();
    let policy = Policy::new(storage, root, side, symlinks).await?;
    let mut pending = vec![Pending::default()];
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < concurrency {
            let Some(dir) = pending.pop() else { break };
            let path = join(root, dir.real());
            in_flight.push(async move {
                let listed = fetch(storage, &path, stats).await;
                (dir, listed)
            });
        }
        let Some((dir, listed)) = in_flight.next().await else {
            break;
        };
        let by_path =
            |dir: &Pending, entry: &Entry| admit(&join_relative(&dir.relative, &entry.name), entry);
        let folder = classify(storage, root, &dir, listed?, by_path, &policy).await?;
        let parent = &dir.relative;
        if folder.partly {
            tree.partly_listed.insert(parent.clone());
        }
        for (entry, reason) in folder.skipped {
            tree.skipped
                .insert(skipped_path(parent, &entry), (entry.kind, reason));
        }
        for entry in folder.leftovers {
            tree.leftovers
                .insert(join_relative(parent, &entry.name), entry);
        }
        for listed in folder.entries {
            let relative = join_relative(parent, &listed.entry.name);
            if let Some(real) = &listed.real {
                tree.resolved.insert(relative.clone(), real.clone());
            }
            if let Some(link) = &listed.link {
                tree.links.insert(relative.clone(), link.clone());
            }
            if listed.entry.kind == EntryKind::Dir {
                pending.push(dir.child(&listed));
            }
            tree.entries.insert(relative, listed.entry);
        }
    }
    Ok(tree)
}

/// The tags of the staging folders interrupted atomic applies left beside
/// `root` (see [`hsync_storage::staging_tag`]), sorted: one listing of the
/// root's parent, of which nothing else is kept.
pub async fn staging_leftovers(
    storage: &Arc<dyn Storage>,
    root: &str,
    stats: &ListingStats,
) -> Result<Vec<String>, StorageError> {
    let (parent, _) = hsync_storage::parent_and_name(root);
    let listed = match storage.list_dir(parent).await {
        Ok(listed) => listed,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    stats.count(&listed);
    let mut tags: Vec<String> = listed
        .iter()
        .filter(|entry| entry.kind == EntryKind::Dir)
        .filter_map(|entry| hsync_storage::staging_tag(root, &entry.name))
        .map(str::to_string)
        .collect();
    tags.sort();
    Ok(tags)
}

/// Resolves the link at `real` (relative to `root`) for `symlinks =
/// "follow"`: where it leads below the root and the entry there, or why it
/// is skipped. A link to a folder that holds the link itself, or one the
/// walk followed a link out of, would be walked forever: a loop.
async fn follow_link(
    storage: &Arc<dyn Storage>,
    root: &str,
    root_real: &str,
    real: &str,
    dir: &Pending,
) -> Result<Result<(String, Entry), SkipReason>, StorageError> {
    let resolved = match storage.real_path(&join(root, real)).await {
        Err(e) if e.kind == ErrorKind::Loop => return Ok(Err(SkipReason::SymlinkLoop)),
        Err(e) => return Err(e),
        Ok(None) => return Ok(Err(SkipReason::SymlinkDangles)),
        Ok(Some(resolved)) => resolved,
    };
    let below = match resolved.strip_prefix(root_real) {
        Some("") => String::new(),
        Some(rest) if rest.starts_with('/') || root_real.ends_with('/') => {
            rest.trim_start_matches('/').to_string()
        }
        _ => return Ok(Err(SkipReason::SymlinkOutsideRoot)),
    };
    let Some(target) = storage.stat(&resolved).await? else {
        return Ok(Err(SkipReason::SymlinkDangles));
    };
    let holds = |folder: &str| {
        below.is_empty() || folder == below || folder.starts_with(&format!("{below}/"))
    };
    if target.kind == EntryKind::Dir && (holds(dir.real()) || dir.hops.iter().any(|h| holds(h))) {
        return Ok(Err(SkipReason::SymlinkLoop));
    }
    Ok(Ok((below, target)))
}

pub fn join_relative(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        return name.to_string();
    }
    let mut path = String::with_capacity(parent.len() + 1 + name.len());
    path.push_str(parent);
    path.push('/');
    path.push_str(name);
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use hsync_storage::{temp_sibling, LocalStorage};

    #[tokio::test]
    async fn the_walk_notes_folders_it_left_entries_out_of_and_temp_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        std::fs::create_dir_all(dir.path().join("keep/deeper")).unwrap();
        std::fs::create_dir_all(dir.path().join("skipped")).unwrap();
        std::fs::write(dir.path().join("keep/a"), "a").unwrap();
        std::fs::write(dir.path().join("keep/b.tmp"), "b").unwrap();
        std::fs::write(dir.path().join("keep/deeper/c"), "c").unwrap();
        let leftover = temp_sibling(&join(root, "keep/deeper/c"), "abc123");
        std::fs::write(leftover, "c").unwrap();

        let storage: Arc<dyn Storage> = Arc::new(LocalStorage);
        let stats = ListingStats::default();
        let admit =
            |relative: &str, _: &Entry| relative != "skipped" && !relative.ends_with(".tmp");
        let sides = (Side::Source, Symlinks::Skip);
        let tree = walk(&storage, root, admit, sides, 4, &stats).await.unwrap();

        let listed: Vec<&str> = tree.entries.keys().map(String::as_str).collect();
        assert_eq!(listed, ["keep", "keep/a", "keep/deeper", "keep/deeper/c"]);
        // The root left out `skipped`, keep/ the .tmp, keep/deeper/ a temporary.
        let partly: Vec<&str> = tree.partly_listed.iter().map(String::as_str).collect();
        assert_eq!(partly, ["", "keep"]);
        // A temporary file of an interrupted apply is kept apart, to be removed.
        let leftovers: Vec<&str> = tree.leftovers.keys().map(String::as_str).collect();
        assert_eq!(leftovers, ["keep/deeper/.c.hsync-tmp.abc123"]);
        assert_eq!(stats.calls(), 3);
    }

    async fn walk_local(root: &std::path::Path, symlinks: Symlinks) -> Tree {
        let storage: Arc<dyn Storage> = Arc::new(LocalStorage);
        let stats = ListingStats::default();
        let root = root.to_str().unwrap();
        let policy = (Side::Source, symlinks);
        walk(&storage, root, |_: &str, _: &Entry| true, policy, 4, &stats)
            .await
            .unwrap()
    }

    fn skipped(tree: &Tree) -> Vec<(String, EntryKind, SkipReason)> {
        let spell = |p: &[u8]| hsync_storage::display(p).into_owned();
        tree.skipped
            .iter()
            .map(|(path, (kind, reason))| (spell(path), *kind, *reason))
            .collect()
    }

    fn paths(tree: &Tree) -> Vec<&str> {
        tree.entries.keys().map(String::as_str).collect()
    }

    #[tokio::test]
    async fn fifos_and_sockets_in_a_source_are_skipped_never_listed_as_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(dir.path().join("pipe"))
            .status();
        assert!(made.unwrap().success());
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();

        let tree = walk_local(dir.path(), Symlinks::Skip).await;
        assert_eq!(paths(&tree), ["file"]);
        assert_eq!(
            skipped(&tree),
            [
                ("pipe".into(), EntryKind::Fifo, SkipReason::SpecialFile),
                ("sock".into(), EntryKind::Socket, SkipReason::SpecialFile),
            ]
        );
    }

    #[tokio::test]
    async fn names_that_are_not_utf8_are_skipped_with_their_escaped_spelling() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let bad = std::ffi::OsStr::from_bytes(b"bad\xff");
        std::fs::write(dir.path().join(bad), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("ok").join(bad)).unwrap();
        std::fs::write(dir.path().join("ok").join(bad).join("inner"), "x").unwrap();

        let tree = walk_local(dir.path(), Symlinks::Skip).await;
        assert_eq!(paths(&tree), ["ok"]);
        let skipped = skipped(&tree);
        assert_eq!(
            skipped,
            [
                (
                    r#""bad\xff""#.into(),
                    EntryKind::File,
                    SkipReason::NameNotUtf8
                ),
                (
                    r#""ok/bad\xff""#.into(),
                    EntryKind::Dir,
                    SkipReason::NameNotUtf8
                ),
            ]
        );
        // Never walked, so a folder with such a name is never deleted either.
        assert!(tree.partly_listed.contains("ok"));
    }

    #[tokio::test]
    async fn symlinks_are_skipped_by_default_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), "x").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();

        let tree = walk_local(dir.path(), Symlinks::Skip).await;
        assert_eq!(paths(&tree), ["real"]);
        let expected = [("link".into(), EntryKind::Symlink, SkipReason::Symlink)];
        assert_eq!(skipped(&tree), expected);
    }

    #[tokio::test]
    async fn follow_reads_links_inside_the_root_and_skips_the_others_with_why() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub/deep")).unwrap();
        std::fs::write(root.join("sub/deep/f"), "abc").unwrap();
        let link = |text: &str, at: &str| std::os::unix::fs::symlink(text, root.join(at)).unwrap();
        link("sub/deep/f", "to-file");
        link("sub", "to-dir");
        link(outside.path().to_str().unwrap(), "out");
        link("nothing", "dangling");
        link("..", "sub/up"); // the root again: walked forever
        link("../..", "sub/deep/top");
        link("self", "self"); // never resolves
        std::fs::create_dir(root.join("a")).unwrap();
        link("../b", "a/to-b");
        std::fs::create_dir(root.join("b")).unwrap();
        link("../a", "b/to-a"); // a -> b -> a

        let tree = walk_local(root, Symlinks::Follow).await;
        assert_eq!(
            paths(&tree),
            [
                "a",
                "a/to-b",
                "b",
                "b/to-a",
                "sub",
                "sub/deep",
                "sub/deep/f",
                "to-dir",
                "to-dir/deep",
                "to-dir/deep/f",
                "to-file",
            ]
        );
        // What a followed entry is read from, below the root.
        assert_eq!(tree.source_path("to-file"), "sub/deep/f");
        assert_eq!(tree.source_path("to-dir/deep/f"), "sub/deep/f");
        assert_eq!(tree.source_path("a/to-b"), "b");
        assert_eq!(tree.entries["to-file"].size, 3);
        assert_eq!(tree.entries["to-file"].kind, EntryKind::File);
        let loop_ = |p: &str| (p.to_string(), EntryKind::Symlink, SkipReason::SymlinkLoop);
        assert_eq!(
            skipped(&tree),
            [
                loop_("a/to-b/to-a"),
                loop_("b/to-a/to-b"),
                (
                    "dangling".into(),
                    EntryKind::Symlink,
                    SkipReason::SymlinkDangles
                ),
                (
                    "out".into(),
                    EntryKind::Symlink,
                    SkipReason::SymlinkOutsideRoot
                ),
                loop_("self"),
                loop_("sub/deep/top"),
                loop_("sub/up"),
                loop_("to-dir/deep/top"),
                loop_("to-dir/up"),
            ]
        );
    }

    #[tokio::test]
    async fn copy_lists_links_with_their_text() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("../anywhere", dir.path().join("link")).unwrap();
        let tree = walk_local(dir.path(), Symlinks::Copy).await;
        assert_eq!(paths(&tree), ["link"]);
        assert_eq!(tree.entries["link"].kind, EntryKind::Symlink);
        assert_eq!(tree.links["link"], "../anywhere");
    }
}
