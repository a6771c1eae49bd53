//! The DistCp rules of the diff, one test each, on synthetic listings.

use hsync_plan::{Commit, Compare, JobOptions, Layout, Mode, Preserve, Reason, Seen, Symlinks};
use hsync_storage::{Entry, EntryKind};

use super::{decide, wanted, Decided, SourceSide};
use crate::filter::PathFilter;
use crate::listing::Tree;
use crate::PlanError;

/// Every synthetic entry has this mtime unless a test says otherwise.
const MTIME: i64 = 1_700_000_000_000;

fn entry(path: &str, kind: EntryKind, size: u64) -> Entry {
    let is_file = kind == EntryKind::File;
    Entry {
        name: path.rsplit('/').next().unwrap_or(path).to_string(),
        name_not_utf8: false,
        kind,
        size,
        mtime_ms: MTIME,
        permission: if is_file { 0o644 } else { 0o755 },
        owner: "etl".into(),
        group: "hadoop".into(),
        replication: if is_file { 3 } else { 0 },
        block_size: if is_file { 128 << 20 } else { 0 },
        ec_policy: None,
        encrypted: false,
    }
}

/// A listing as the walk produces it: every folder above an entry is listed too.
#[derive(Default)]
struct Listing(Tree);

impl Listing {
    fn insert(mut self, path: &str, entry: Entry) -> Self {
        for (i, _) in path.match_indices('/') {
            let parent = &path[..i];
            self.0
                .entries
                .entry(parent.to_string())
                .or_insert_with(|| self::entry(parent, EntryKind::Dir, 0));
        }
        self.0.entries.insert(path.to_string(), entry);
        self
    }

    fn file(self, path: &str, size: u64) -> Self {
        self.insert(path, entry(path, EntryKind::File, size))
    }

    fn file_at(self, path: &str, size: u64, mtime_ms: i64) -> Self {
        let entry = Entry {
            mtime_ms,
            ..entry(path, EntryKind::File, size)
        };
        self.insert(path, entry)
    }

    fn dir(self, path: &str) -> Self {
        self.insert(path, entry(path, EntryKind::Dir, 0))
    }

    /// A symlink as a `symlinks = "copy"` walk lists it, with its text.
    fn symlink(mut self, path: &str, link: &str) -> Self {
        self.0.links.insert(path.to_string(), link.to_string());
        self.insert(path, entry(path, EntryKind::Symlink, 0))
    }

    /// Changes one listed entry, e.g. its access time.
    fn with(mut self, path: &str, change: impl FnOnce(&mut Entry)) -> Self {
        change(self.0.entries.get_mut(path).expect("listed"));
        self
    }

    /// Marks a folder as holding entries the walk left out (the filter's).
    fn left_out_below(mut self, path: &str) -> Self {
        self.0.partly_listed.insert(path.to_string());
        self
    }
}

/// One source root with its listing.
struct Source {
    root: String,
    entry: Entry,
    tree: Tree,
}

fn source_dir(root: &str, listing: Listing) -> Source {
    Source {
        root: root.into(),
        entry: entry(root, EntryKind::Dir, 0),
        tree: listing.0,
    }
}

fn source_file(root: &str, size: u64) -> Source {
    Source {
        root: root.into(),
        entry: entry(root, EntryKind::File, size),
        tree: Tree::default(),
    }
}

/// DistCp's defaults for a mode: skip nests each source, update and
/// overwrite merge their contents; sizes compared, nothing preserved.
fn options(mode: Mode) -> JobOptions {
    JobOptions {
        mode,
        layout: match mode {
            Mode::Skip => Layout::Nested,
            Mode::Update | Mode::Overwrite => Layout::Contents,
        },
        include: None,
        exclude: Vec::new(),
        compare: vec![Compare::Size],
        delete: false,
        preserve: Vec::new(),
        commit: Commit::File,
        parallel: 8,
        bandwidth: None,
        incremental: None,
        symlinks: Symlinks::Skip,
    }
}

fn no_filter() -> PathFilter {
    PathFilter::default()
}

fn sides(sources: &[Source]) -> Vec<SourceSide<'_>> {
    sources
        .iter()
        .map(|s| SourceSide {
            root: &s.root,
            root_entry: &s.entry,
            tree: &s.tree,
        })
        .collect()
}

/// Runs the whole pure diff: where each source entry goes, then what to do.
fn diff(
    sources: &[Source],
    target: Listing,
    options: &JobOptions,
    filter: &PathFilter,
) -> Result<Decided, PlanError> {
    let sides = sides(sources);
    let wanted = wanted(&sides, options.layout, filter)?;
    decide(&wanted, &target.0, options, filter)
}

/// The target paths the sources map to.
fn wanted_paths(sources: &[Source], layout: Layout, filter: &PathFilter) -> Vec<String> {
    let sides = sides(sources);
    let wanted = wanted(&sides, layout, filter).expect("no collision");
    wanted.into_keys().collect()
}

/// One line per action, in the plan's order (by path, deletes last), as a
/// reviewer reads them: `copy 2 (Missing)`.
fn lines(decided: &Decided) -> Vec<String> {
    let mut actions: Vec<&hsync_plan::Action> = decided.actions.iter().collect();
    actions.sort_by_key(|a| (matches!(a, hsync_plan::Action::Delete(_)), a.path()));
    actions
        .into_iter()
        .map(|action| match action {
            hsync_plan::Action::Mkdir(a) => format!("mkdir {}", a.path),
            hsync_plan::Action::Copy(a) => format!("copy {} ({:?})", a.path, a.reason),
            hsync_plan::Action::Delete(a) => format!("delete {} ({:?})", a.path, a.entry),
            hsync_plan::Action::SetAttributes(a) => format!("set-attributes {}", a.path),
            hsync_plan::Action::Rename(a) => format!("rename {} {}", a.from, a.to),
            hsync_plan::Action::Symlink(a) => format!("symlink {} -> {}", a.path, a.link),
        })
        .collect()
}

fn copy_of<'a>(decided: &'a Decided, path: &str) -> &'a hsync_plan::CopyAction {
    decided
        .actions
        .iter()
        .find_map(|a| match a {
            hsync_plan::Action::Copy(c) if c.path == path => Some(c),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no copy of {path}"))
}

/// The guide's two sources: first/1 32, first/2 32, second/10 64, second/20 32.
fn guide_sources() -> Vec<Source> {
    vec![
        source_dir(
            "/source/first",
            Listing::default().file("1", 32).file("2", 32),
        ),
        source_dir(
            "/source/second",
            Listing::default().file("10", 64).file("20", 32),
        ),
    ]
}

/// The guide's target: 1 32, 10 32, 20 64.
fn guide_target() -> Listing {
    Listing::default()
        .file("1", 32)
        .file("10", 32)
        .file("20", 64)
}

#[test]
fn update_example_from_the_guide_skips_1_copies_2_rewrites_10_and_20() {
    let decided = diff(
        &guide_sources(),
        guide_target(),
        &options(Mode::Update),
        &no_filter(),
    )
    .unwrap();
    assert_eq!(
        lines(&decided),
        [
            "copy 10 (SizeDiffers)",
            "copy 2 (Missing)",
            "copy 20 (SizeDiffers)",
        ]
    );
    assert_eq!((decided.unchanged.files, decided.unchanged.bytes), (1, 32));
    assert!(decided.to_checksum.is_empty());
    // The plan records what it replaces, so apply can refuse a moved target.
    let ten = copy_of(&decided, "10");
    assert_eq!(ten.source.root, 1);
    assert_eq!(ten.source.path, "10");
    assert_eq!(ten.size, 64);
    assert_eq!(
        ten.replaces,
        Some(Seen {
            size: 32,
            mtime_ms: MTIME
        })
    );
    assert_eq!(copy_of(&decided, "2").replaces, None);
}

#[test]
fn overwrite_rewrites_all_four_in_the_guide_example() {
    let decided = diff(
        &guide_sources(),
        guide_target(),
        &options(Mode::Overwrite),
        &no_filter(),
    )
    .unwrap();
    assert_eq!(
        lines(&decided),
        [
            "copy 1 (Overwrite)",
            "copy 10 (Overwrite)",
            "copy 2 (Missing)",
            "copy 20 (Overwrite)",
        ]
    );
    assert_eq!(decided.unchanged.files, 0);
}

#[test]
fn skip_mode_leaves_existing_files_alone() {
    // Skip nests each source under its name; first/ is there already, with
    // a first/2 of another size: skip never looks at sizes.
    let target = Listing::default().file("first/1", 32).file("first/2", 5);
    let decided = diff(&guide_sources(), target, &options(Mode::Skip), &no_filter()).unwrap();
    assert_eq!(
        lines(&decided),
        [
            "mkdir second",
            "copy second/10 (Missing)",
            "copy second/20 (Missing)"
        ]
    );
    assert_eq!((decided.unchanged.files, decided.unchanged.bytes), (2, 64));
}

#[test]
fn nested_layout_puts_each_source_under_its_name() {
    let sources = guide_sources();
    assert_eq!(
        wanted_paths(&sources, Layout::Nested, &no_filter()),
        [
            "first",
            "first/1",
            "first/2",
            "second",
            "second/10",
            "second/20"
        ]
    );
    // Nested is a layout, not a mode: update can nest too.
    let nested_update = JobOptions {
        layout: Layout::Nested,
        ..options(Mode::Update)
    };
    let decided = diff(&sources, Listing::default(), &nested_update, &no_filter()).unwrap();
    assert_eq!(
        lines(&decided),
        [
            "mkdir first",
            "copy first/1 (Missing)",
            "copy first/2 (Missing)",
            "mkdir second",
            "copy second/10 (Missing)",
            "copy second/20 (Missing)",
        ]
    );
}

#[test]
fn contents_layout_merges_sources_into_target() {
    assert_eq!(
        wanted_paths(&guide_sources(), Layout::Contents, &no_filter()),
        ["1", "10", "2", "20"]
    );
}

#[test]
fn a_single_file_source_lands_under_its_own_name_in_both_layouts() {
    let sources = [source_file("/source/report.csv", 7)];
    for layout in [Layout::Contents, Layout::Nested] {
        assert_eq!(wanted_paths(&sources, layout, &no_filter()), ["report.csv"]);
    }
}

#[test]
fn two_sources_mapping_to_one_file_collide_naming_both() {
    let sources = [
        source_dir("/source/first", Listing::default().file("0", 1)),
        source_dir("/source/second", Listing::default().file("0", 2)),
    ];
    let err = diff(
        &sources,
        Listing::default(),
        &options(Mode::Update),
        &no_filter(),
    )
    .unwrap_err();
    assert!(
        matches!(
            &err,
            PlanError::Collision { target, first, second }
                if target == "0" && first == "/source/first/0" && second == "/source/second/0"
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("/source/first/0") && message.contains("/source/second/0"));

    // A folder in one source and a file in the other collide as well.
    let sources = [
        source_dir("/source/first", Listing::default().dir("x")),
        source_dir("/source/second", Listing::default().file("x", 1)),
    ];
    let sides = sides(&sources);
    assert!(matches!(
        wanted(&sides, Layout::Contents, &no_filter()),
        Err(PlanError::Collision { .. })
    ));
}

#[test]
fn directories_from_two_sources_merge_without_collision() {
    let sources = [
        source_dir("/source/first", Listing::default().file("logs/a", 1)),
        source_dir("/source/second", Listing::default().file("logs/b", 1)),
    ];
    let decided = diff(
        &sources,
        Listing::default(),
        &options(Mode::Update),
        &no_filter(),
    )
    .unwrap();
    assert_eq!(
        lines(&decided),
        [
            "mkdir logs",
            "copy logs/a (Missing)",
            "copy logs/b (Missing)"
        ]
    );
    assert_eq!(copy_of(&decided, "logs/b").source.root, 1);
}

/// DistCp+'s example filter: server1|server2, then today|yesterday below.
fn logs_filter() -> PathFilter {
    PathFilter::new(Some("server1|server2/today|yesterday"), &[r"\.tmp$".into()]).unwrap()
}

#[test]
fn include_partial_folder_without_matches_is_not_created() {
    // As the walk lists it: server2/other is not taken, so server2 is empty.
    let source = source_dir(
        "/logs",
        Listing::default()
            .file("server1/today/a.log", 1)
            .dir("server1/yesterday")
            .dir("server2"),
    );
    let options = options(Mode::Update);
    let decided = diff(&[source], Listing::default(), &options, &logs_filter()).unwrap();
    assert_eq!(
        lines(&decided),
        [
            "mkdir server1",
            "mkdir server1/today",
            "copy server1/today/a.log (Missing)",
            // At the last depth a folder is taken whole, even empty.
            "mkdir server1/yesterday",
        ]
    );
}

#[test]
fn delete_lists_extraneous_files_and_folders() {
    let source = source_dir("/source", Listing::default().file("keep", 1));
    let target = Listing::default()
        .file("keep", 1)
        .file("stale", 9)
        .file("old/x", 3)
        .dir("old/empty");
    let options = JobOptions {
        delete: true,
        ..options(Mode::Update)
    };
    let decided = diff(&[source], target, &options, &no_filter()).unwrap();
    assert_eq!(
        lines(&decided),
        [
            "delete old (Dir)",
            "delete old/empty (Dir)",
            "delete old/x (File)",
            "delete stale (File)",
        ]
    );
    let stale = decided
        .actions
        .iter()
        .find_map(|a| match a {
            hsync_plan::Action::Delete(d) if d.path == "stale" => Some(d),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        stale.seen,
        Seen {
            size: 9,
            mtime_ms: MTIME
        }
    );
}

#[test]
fn delete_spares_paths_outside_the_filter() {
    let source = source_dir("/logs", Listing::default().file("server1/today/a.log", 1));
    // What a walk of the target lists, plus paths outside the filter (which
    // it would leave out) to show the diff never deletes them either.
    let target = Listing::default()
        .file("server1/today/a.log", 1)
        .file("server1/today/gone.log", 1)
        .file("server1/today/scratch.tmp", 1)
        .file("server1/tomorrow/b.log", 1)
        .file("server3/c.log", 1)
        .file("notes.txt", 1);
    let options = JobOptions {
        delete: true,
        ..options(Mode::Update)
    };
    let decided = diff(&[source], target, &options, &logs_filter()).unwrap();
    assert_eq!(lines(&decided), ["delete server1/today/gone.log (File)"]);
}

#[test]
fn delete_keeps_a_folder_that_holds_entries_outside_the_filter() {
    // server2 holds nothing the filter takes, in the source or the target;
    // the target's server2/other was left out of the walk. Deleting server2
    // would fail at apply, as a folder is only removed once empty.
    let source = source_dir(
        "/logs",
        Listing::default()
            .file("server1/today/a.log", 1)
            .dir("server2"),
    );
    let target = Listing::default()
        .file("server1/today/a.log", 1)
        .file("server1/today/old/b.log", 1)
        .dir("server2")
        .left_out_below("server2")
        .dir("server1/yesterday/archive")
        .file("server1/yesterday/archive/c.log", 1)
        .left_out_below("server1/yesterday/archive");
    let options = JobOptions {
        delete: true,
        ..options(Mode::Update)
    };
    let decided = diff(&[source], target, &options, &logs_filter()).unwrap();
    assert_eq!(
        lines(&decided),
        [
            "delete server1/today/old (Dir)",
            "delete server1/today/old/b.log (File)",
            "delete server1/yesterday/archive/c.log (File)",
        ]
    );
}

/// update, comparing size and mtime, with times preserved.
fn update_with_times() -> JobOptions {
    JobOptions {
        compare: vec![Compare::Size, Compare::Mtime],
        preserve: vec![Preserve::Times],
        ..options(Mode::Update)
    }
}

#[test]
fn equal_size_and_mtime_with_times_preserved_is_unchanged() {
    let source = source_dir("/source", Listing::default().file("a/1", 32));
    let target = Listing::default().file("a/1", 32);
    let decided = diff(&[source], target, &update_with_times(), &no_filter()).unwrap();
    assert_eq!(lines(&decided), Vec::<String>::new());
    assert_eq!((decided.unchanged.files, decided.unchanged.bytes), (1, 32));
}

#[test]
fn mtime_difference_alone_rewrites_when_mtime_compared() {
    let source = source_dir("/source", Listing::default().file("1", 32));
    let target = Listing::default().file_at("1", 32, MTIME - 1_000);
    let decided = diff(&[source], target, &update_with_times(), &no_filter()).unwrap();
    assert_eq!(lines(&decided), ["copy 1 (MtimeDiffers)"]);
    let copy = copy_of(&decided, "1");
    assert_eq!(copy.attributes.mtime_ms, Some(MTIME));
    assert_eq!(
        copy.replaces,
        Some(Seen {
            size: 32,
            mtime_ms: MTIME - 1_000
        })
    );
}

#[test]
fn size_only_compare_ignores_mtime() {
    let source = source_dir("/source", Listing::default().file("1", 32).file("2", 8));
    let target = Listing::default()
        .file_at("1", 32, MTIME - 1_000)
        .file_at("2", 9, MTIME);
    let decided = diff(&[source], target, &options(Mode::Update), &no_filter()).unwrap();
    assert_eq!(lines(&decided), ["copy 2 (SizeDiffers)"]);
    assert_eq!(decided.unchanged.files, 1);
}

#[test]
fn checksum_compare_defers_equal_size_files_to_content() {
    let source = source_dir(
        "/source",
        Listing::default()
            .file("same-size", 32)
            .file("other-size", 32)
            .file("new", 1),
    );
    let target = Listing::default()
        .file_at("same-size", 32, MTIME - 1_000)
        .file("other-size", 31);
    let options = JobOptions {
        compare: vec![Compare::Checksum],
        ..options(Mode::Update)
    };
    let decided = diff(&[source], target, &options, &no_filter()).unwrap();
    // Different sizes differ in content without reading a byte.
    assert_eq!(
        lines(&decided),
        ["copy new (Missing)", "copy other-size (SizeDiffers)"]
    );
    let deferred: Vec<_> = decided
        .to_checksum
        .iter()
        .map(|c| (c.path.as_str(), c.reason))
        .collect();
    assert_eq!(deferred, [("same-size", Reason::ChecksumDiffers)]);
    assert_eq!(decided.unchanged.files, 0);
}

#[test]
fn type_conflict_between_file_and_directory_is_an_error() {
    let file_over_dir = diff(
        &[source_dir("/source", Listing::default().file("x", 1))],
        Listing::default().dir("x"),
        &options(Mode::Update),
        &no_filter(),
    )
    .unwrap_err();
    assert!(
        matches!(
            &file_over_dir,
            PlanError::TypeConflict { path, source_kind: EntryKind::File, target_kind: EntryKind::Dir }
                if path == "x"
        ),
        "{file_over_dir:?}"
    );
    assert_eq!(
        file_over_dir.to_string(),
        "`x` is a file in the source but a directory in the target"
    );

    // Skip mode does not look at existing files, but still refuses this.
    let dir_over_file = diff(
        &[source_dir("/source", Listing::default().dir("x/y"))],
        Listing::default().file("source/x/y", 1),
        &options(Mode::Skip),
        &no_filter(),
    )
    .unwrap_err();
    assert!(
        matches!(
            &dir_over_file,
            PlanError::TypeConflict { path, source_kind: EntryKind::Dir, target_kind: EntryKind::File }
                if path == "source/x/y"
        ),
        "{dir_over_file:?}"
    );
}

#[test]
fn folder_with_changes_gets_its_times_set_again() {
    let source = source_dir(
        "/source",
        Listing::default()
            .file("a/1", 1)
            .file("a/new", 1)
            .file("b/1", 1)
            .file("c/sub/1", 1),
    );
    let target = Listing::default().file("a/1", 1).file("b/1", 1).dir("c");
    let decided = diff(&[source], target, &update_with_times(), &no_filter()).unwrap();
    // a/ gains a file, c/ a folder; b/ is untouched.
    assert_eq!(
        lines(&decided),
        [
            "set-attributes a",
            "copy a/new (Missing)",
            "set-attributes c",
            "mkdir c/sub",
            "copy c/sub/1 (Missing)",
        ]
    );

    // Without preserved times there is nothing to set again.
    let source = source_dir("/source", Listing::default().file("a/new", 1));
    let target = Listing::default().dir("a");
    let decided = diff(&[source], target, &options(Mode::Update), &no_filter()).unwrap();
    assert_eq!(lines(&decided), ["copy a/new (Missing)"]);
}

#[test]
fn folder_with_other_preserved_attributes_gets_them_set() {
    let source = source_dir("/source", Listing::default().dir("a"));
    let target = Listing::default()
        .dir("a")
        .with("a", |e| e.permission = 0o700);
    let options = JobOptions {
        preserve: vec![Preserve::Permission],
        ..options(Mode::Update)
    };
    let decided = diff(&[source], target, &options, &no_filter()).unwrap();
    assert_eq!(lines(&decided), ["set-attributes a"]);
}

#[test]
fn copied_symlinks_are_made_missing_replaced_when_their_text_differs_and_kept_when_equal() {
    let source = source_dir(
        "/source",
        Listing::default()
            .symlink("new", "real")
            .symlink("same", "real")
            .symlink("moved", "elsewhere"),
    );
    let target = Listing::default()
        .symlink("same", "real")
        .symlink("moved", "real");
    let options = JobOptions {
        symlinks: Symlinks::Copy,
        ..options(Mode::Update)
    };
    let decided = diff(&[source], target, &options, &no_filter()).unwrap();
    assert_eq!(
        lines(&decided),
        ["symlink moved -> elsewhere", "symlink new -> real"]
    );
    assert_eq!(decided.unchanged.files, 1);
}

#[test]
fn a_source_file_where_the_target_has_a_fifo_or_a_link_is_a_type_conflict() {
    for kind in [EntryKind::Fifo, EntryKind::Symlink] {
        let source = source_dir("/source", Listing::default().file("a", 1));
        let target = Listing::default().insert("a", entry("a", kind, 0));
        let error = diff(&[source], target, &options(Mode::Update), &no_filter()).unwrap_err();
        assert!(
            matches!(error, PlanError::TypeConflict { target_kind, .. } if target_kind == kind),
            "{error}"
        );
    }
}

#[test]
fn an_extraneous_fifo_in_the_target_is_deleted_as_a_fifo() {
    let source = source_dir("/source", Listing::default());
    let target = Listing::default().insert("pipe", entry("pipe", EntryKind::Fifo, 0));
    let options = JobOptions {
        delete: true,
        ..options(Mode::Update)
    };
    let decided = diff(&[source], target, &options, &no_filter()).unwrap();
    assert_eq!(lines(&decided), ["delete pipe (Fifo)"]);
}

#[test]
fn preserving_replication_of_an_erasure_coded_file_is_refused_unless_it_is_unchanged() {
    let ec = |listing: Listing| listing.with("big", |e| e.ec_policy = Some("RS-3-2-1024k".into()));
    let preserving = JobOptions {
        preserve: vec![Preserve::Replication],
        ..options(Mode::Update)
    };
    let refused = diff(
        &[source_dir(
            "/source",
            ec(Listing::default().file("big", 64)),
        )],
        Listing::default(),
        &preserving,
        &no_filter(),
    )
    .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "`big` is erasure-coded (RS-3-2-1024k): it has no replication factor for preserve = [\"replication\"] to keep"
    );
    // An unchanged file is not copied, so nothing is preserved.
    let unchanged = diff(
        &[source_dir(
            "/source",
            ec(Listing::default().file("big", 64)),
        )],
        Listing::default().file("big", 64),
        &preserving,
        &no_filter(),
    )
    .unwrap();
    assert_eq!(unchanged.unchanged.files, 1);
    // Without the flag the file is copied; the target decides its layout.
    let copied = diff(
        &[source_dir(
            "/source",
            ec(Listing::default().file("big", 64)),
        )],
        Listing::default(),
        &options(Mode::Update),
        &no_filter(),
    )
    .unwrap();
    assert_eq!(copy_of(&copied, "big").attributes.replication, None);
}

/// A target file that is `path` of `size` bytes with `permission`.
fn file_with_mode(path: &str, size: u64, permission: u32) -> Entry {
    Entry {
        permission,
        ..entry(path, EntryKind::File, size)
    }
}

#[test]
fn a_file_left_in_place_still_gets_the_preserved_attributes_as_in_distcp() {
    let source = source_dir("/source", Listing::default().file("a/1", 32).file("a/2", 8));
    let target = Listing::default()
        .insert("a/1", file_with_mode("a/1", 32, 0o600))
        .insert("a/2", file_with_mode("a/2", 8, 0o644));
    let update = JobOptions {
        preserve: vec![Preserve::Permission, Preserve::Times],
        compare: vec![Compare::Size, Compare::Mtime],
        ..options(Mode::Update)
    };
    let decided = diff(&[source], target, &update, &no_filter()).unwrap();
    // a/1 differs only by its mode: no copy, its attributes set, and its
    // folder's times left alone. a/2 has the source's attributes already.
    assert_eq!(lines(&decided), ["set-attributes a/1"]);
    assert_eq!((decided.unchanged.files, decided.unchanged.bytes), (2, 40));
    // Skip mode too: DistCp preserves after it skips, whatever the mode.
    let skip = JobOptions {
        preserve: vec![Preserve::Permission],
        ..options(Mode::Skip)
    };
    let source = source_dir("/source", Listing::default().file("1", 32));
    let target = Listing::default()
        .insert("source", entry("source", EntryKind::Dir, 0))
        .insert("source/1", file_with_mode("source/1", 16, 0o600));
    let decided = diff(&[source], target, &skip, &no_filter()).unwrap();
    assert_eq!(lines(&decided), ["set-attributes source/1"]);
}

#[test]
fn a_file_of_another_block_size_is_written_again_when_blocksize_is_preserved_as_in_distcp() {
    let source = source_dir("/source", Listing::default().file("1", 32).file("2", 32));
    let target = Listing::default()
        .insert(
            "1",
            Entry {
                block_size: 1 << 20,
                ..entry("1", EntryKind::File, 32)
            },
        )
        .file("2", 32);
    let blocksize = JobOptions {
        preserve: vec![Preserve::Blocksize],
        ..options(Mode::Update)
    };
    let decided = diff(&[source], target, &blocksize, &no_filter()).unwrap();
    assert_eq!(lines(&decided), ["copy 1 (BlocksizeDiffers)"]);
    assert_eq!(copy_of(&decided, "1").block_size, Some(128 << 20));
}
