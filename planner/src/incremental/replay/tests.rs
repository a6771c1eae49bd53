//! The seed's corner cases of building a copy list from a snapshot diff,
//! on diffs as a Hadoop 2.7.3 NameNode reports them. The same cases run
//! against real clusters in the integration tests.

use super::*;

fn entry(kind: DiffKind, source: &str, target: Option<&str>) -> DiffEntry {
    DiffEntry {
        kind,
        source: source.to_string(),
        target: target.map(str::to_string),
    }
}

fn create(path: &str) -> DiffEntry {
    entry(DiffKind::Create, path, None)
}
fn modify(path: &str) -> DiffEntry {
    entry(DiffKind::Modify, path, None)
}
fn delete(path: &str) -> DiffEntry {
    entry(DiffKind::Delete, path, None)
}
fn rename(from: &str, to: &str) -> DiffEntry {
    entry(DiffKind::Rename, from, Some(to))
}

fn everything(_: &str) -> bool {
    true
}

fn strings(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn case_1_created_then_moved_into_a_created_dir_is_one_create() {
    // mkdir c; mkdir foo; mv foo c  →  + ./c
    let changes = classify(&[modify(""), create("c")], everything);
    assert_eq!(changes.created, ["c".to_string()].into());
    assert!(changes.renames.is_empty() && changes.deletes.is_empty());
}

#[test]
fn case_2_moved_into_a_created_dir_deleted_and_recreated_is_a_create_and_a_delete() {
    // mkdir c; mv foo c; rm -r c/foo; mkdir c/foo  →  + ./c, - ./foo
    let changes = classify(&[modify(""), create("c"), delete("foo")], everything);
    assert_eq!(changes.created, ["c".to_string()].into());
    assert_eq!(changes.deletes, strings(&["foo"]));
}

#[test]
fn case_3_renames_on_several_levels_map_a_modification_through_the_deepest() {
    // modify foo/bar/f1; mv foo/bar foo/bar1; mv foo foo1
    let diff = [
        modify(""),
        rename("foo", "foo1"),
        modify("foo"),
        rename("foo/bar", "foo1/bar1"),
        modify("foo/bar/f1"),
    ];
    let changes = classify(&diff, everything);
    assert_eq!(
        changes.renames,
        pairs(&[("foo", "foo1"), ("foo/bar", "foo1/bar1")])
    );
    assert_eq!(
        changes.modified,
        pairs(&[("foo1", "foo"), ("foo1/bar1/f1", "foo/bar/f1")])
    );
}

#[test]
fn case_4_what_is_renamed_into_a_created_dir_is_a_rename_not_a_copy() {
    // mkdir c; mv foo c/foo  →  + ./c, R ./foo -> ./c/foo
    let changes = classify(
        &[modify(""), create("c"), rename("foo", "c/foo")],
        everything,
    );
    assert_eq!(changes.renames, pairs(&[("foo", "c/foo")]));
    assert_eq!(changes.created, ["c".to_string()].into());
}

#[test]
fn a_rename_chain_keeps_every_link() {
    // mv b c; mv a b
    let changes = classify(
        &[modify(""), rename("a", "b"), rename("b", "c")],
        everything,
    );
    assert_eq!(changes.renames, pairs(&[("a", "b"), ("b", "c")]));
}

#[test]
fn changes_inside_a_renamed_dir_are_mapped_to_its_new_name() {
    // mv d1 d2; echo > d2/new; append to d2/old
    let diff = [
        modify(""),
        rename("d1", "d2"),
        modify("d1"),
        create("d1/new"),
        modify("d1/old"),
    ];
    let changes = classify(&diff, everything);
    assert_eq!(changes.created, ["d2/new".to_string()].into());
    assert_eq!(
        changes.modified,
        pairs(&[("d2", "d1"), ("d2/old", "d1/old")])
    );
}

#[test]
fn a_rename_out_of_the_filter_is_a_delete_and_into_it_a_create() {
    let admits = |path: &str| !path.starts_with("tmp");
    let diff = [
        modify(""),
        rename("a", "tmp/a"),
        rename("tmp/b", "b"),
        rename("tmp/c", "tmp/d"),
    ];
    let changes = classify(&diff, admits);
    assert_eq!(changes.deletes, strings(&["a"]));
    assert_eq!(changes.created, ["b".to_string()].into());
    assert!(changes.renames.is_empty());
}

#[test]
fn nothing_below_a_created_dir_is_listed_twice() {
    let diff = [modify(""), create("c"), rename("x", "c/x"), modify("x")];
    let changes = classify(&diff, everything);
    // x arrives by rename; its modification is copied over it afterwards.
    assert_eq!(changes.modified, pairs(&[("c/x", "x")]));
    let nested = classify(&[create("c"), create("c/d")], everything);
    assert_eq!(nested.created, ["c".to_string()].into());
}

#[test]
fn a_path_maps_through_the_nearest_renamed_ancestor_only() {
    let renames = Renames::new(&[rename("a", "b"), rename("a/x", "b/y")]);
    assert_eq!(renames.apply("a/x/f"), "b/y/f");
    assert_eq!(renames.apply("a/z"), "b/z");
    assert_eq!(renames.apply("ab/z"), "ab/z");
    assert_eq!(renames.apply("a"), "b");
}
