//! DistCp's modes and layouts: `skip` (the default) nests each source under
//! the target and leaves existing files alone; `update` and `overwrite` put
//! the contents of each source into the target; `layout` overrides that.

use crate::util::{actions, guide_example, one_job, says, Dir, Tree, MTIME};

const SOURCES: &[&str] = &["source/first", "source/second"];

#[test]
fn update_leaves_equal_file_untouched_copies_missing_and_rewrites_differing() {
    let dir = Dir::new();
    guide_example(&dir, "target");
    dir.manifest(&one_job(SOURCES, "target", r#"mode = "update""#));
    let equal_before = dir.identity("target/1");

    let plan = dir.plan();
    assert_eq!(
        actions(&plan, 0),
        [
            "copy 10 size-differs",
            "copy 2 missing",
            "copy 20 size-differs"
        ]
    );
    assert_eq!(plan["jobs"][0]["unchanged"]["files"], 1);
    let summary = dir.apply();
    assert_eq!(summary["files_copied"], 3);
    assert_eq!(summary["files_skipped"], 1);

    // 1 is skipped because the file-length and contents match.
    assert_eq!(dir.identity("target/1"), equal_before, "1 was rewritten");
    // 2 is copied, 10 and 20 are overwritten: the target is the sources' contents.
    let expected = dir.tree("source/first").merged(&dir.tree("source/second"));
    assert_eq!(dir.tree("target"), expected);
}

#[test]
fn overwrite_rewrites_every_file() {
    let dir = Dir::new();
    guide_example(&dir, "target");
    dir.manifest(&one_job(SOURCES, "target", r#"mode = "overwrite""#));
    let equal_before = dir.identity("target/1");

    let plan = dir.plan();
    assert_eq!(
        actions(&plan, 0),
        [
            "copy 1 overwrite",
            "copy 10 overwrite",
            "copy 2 missing",
            "copy 20 overwrite"
        ]
    );
    assert_eq!(dir.apply()["files_copied"], 4);

    assert_ne!(
        dir.identity("target/1"),
        equal_before,
        "1 was not rewritten"
    );
    let expected = dir.tree("source/first").merged(&dir.tree("source/second"));
    assert_eq!(dir.tree("target"), expected);
}

#[test]
fn skip_mode_nests_each_source_dir_under_target() {
    let dir = Dir::new();
    guide_example(&dir, "elsewhere");
    dir.manifest(&one_job(SOURCES, "target", ""));

    let plan = dir.plan();
    assert_eq!(plan["jobs"][0]["options"]["mode"], "skip");
    assert_eq!(plan["jobs"][0]["options"]["layout"], "nested");
    dir.apply();

    // target/first/1, target/first/2, target/second/10, target/second/20
    let expected = dir
        .tree("source/first")
        .under("first")
        .merged(&dir.tree("source/second").under("second"));
    assert_eq!(dir.tree("target"), expected);
}

#[test]
fn skip_mode_leaves_existing_target_files_alone() {
    let dir = Dir::new();
    guide_example(&dir, "elsewhere");
    // Other sizes and contents than the source: skip mode does not look.
    dir.fill("target/first/1", 7, b'y');
    dir.fill("target/second/10", 32, b'y');
    dir.manifest(&one_job(SOURCES, "target", ""));
    let before = [
        dir.identity("target/first/1"),
        dir.identity("target/second/10"),
    ];

    let plan = dir.plan();
    assert_eq!(
        actions(&plan, 0),
        ["copy first/2 missing", "copy second/20 missing"]
    );
    assert_eq!(plan["jobs"][0]["unchanged"]["files"], 2);
    let summary = dir.apply();
    assert_eq!(summary["files_skipped"], 2);

    let after = [
        dir.identity("target/first/1"),
        dir.identity("target/second/10"),
    ];
    assert_eq!(after, before);
    assert_eq!(dir.read("target/first/1"), b"yyyyyyy");
    assert_eq!(dir.read("target/first/2"), dir.read("source/first/2"));
}

#[test]
fn update_mode_copies_contents_of_each_source_into_target() {
    let dir = Dir::new();
    guide_example(&dir, "elsewhere");
    dir.create("source/second/sub/deep.txt", "deep");
    dir.manifest(&one_job(SOURCES, "target", r#"mode = "update""#));

    let plan = dir.plan();
    assert_eq!(plan["jobs"][0]["options"]["layout"], "contents");
    dir.apply();

    // target/1, target/2, target/10, target/20: no first/ or second/.
    let expected = dir.tree("source/first").merged(&dir.tree("source/second"));
    assert_eq!(dir.tree("target"), expected);
    assert!(dir.exists("target/sub/deep.txt"));
    assert!(!dir.exists("target/first"));
}

#[test]
fn explicit_layout_overrides_the_mode_default() {
    // update, nested: each source under its own name.
    let dir = Dir::new();
    guide_example(&dir, "elsewhere");
    let options = "mode = \"update\"\nlayout = \"nested\"";
    dir.manifest(&one_job(SOURCES, "target", options));
    dir.plan();
    dir.apply();
    let nested = dir
        .tree("source/first")
        .under("first")
        .merged(&dir.tree("source/second").under("second"));
    assert_eq!(dir.tree("target"), nested);

    // skip, contents: the contents of each source into the target.
    let dir = Dir::new();
    guide_example(&dir, "elsewhere");
    dir.manifest(&one_job(SOURCES, "target", r#"layout = "contents""#));
    dir.plan();
    dir.apply();
    let contents = dir.tree("source/first").merged(&dir.tree("source/second"));
    assert_eq!(dir.tree("target"), contents);
}

#[test]
fn two_sources_mapping_to_one_target_path_abort_planning_naming_both() {
    let dir = Dir::new();
    dir.create("source/first/0", "first");
    dir.create("source/second/0", "second");
    dir.manifest(&one_job(SOURCES, "target", r#"mode = "update""#));

    let out = dir.hsync(["plan", "--detailed-exitcode"]).code(1);
    assert_eq!(out.stdout, "", "no plan is written");
    let root = dir.path().display();
    let message = format!(
        "two sources map to the same target path `0`: {root}/source/first/0 and {root}/source/second/0"
    );
    assert!(says(&out.stderr, &message), "{out}");
    assert!(!dir.exists("target"));

    // The same sources nested do not collide.
    let options = "mode = \"update\"\nlayout = \"nested\"";
    dir.manifest(&one_job(SOURCES, "target", options));
    dir.hsync(["plan"]).ok();
}

#[test]
fn directories_from_several_sources_merge() {
    let dir = Dir::new();
    dir.create("source/first/shared/a", "a");
    dir.create("source/second/shared/b", "b");
    dir.manifest(&one_job(SOURCES, "target", r#"mode = "update""#));

    dir.plan();
    dir.apply();
    let expected = dir.tree("source/first").merged(&dir.tree("source/second"));
    assert_eq!(
        dir.tree("target").paths(),
        ["shared/", "shared/a", "shared/b"]
    );
    assert_eq!(dir.tree("target"), expected);
}

#[test]
fn a_file_source_lands_in_the_target_by_its_name() {
    let dir = Dir::new();
    dir.create("source/report with spaces.csv", "a,b\n1,2\n");
    dir.manifest(&one_job(
        &["source/report with spaces.csv"],
        "target",
        r#"mode = "update""#,
    ));

    dir.plan();
    dir.apply();
    assert_eq!(dir.tree("target"), dir.tree("source"));
}

#[test]
fn update_with_checksum_compare_rewrites_same_size_files_whose_content_differs() {
    let dir = Dir::new();
    dir.create_at("source/same", "abcd", MTIME);
    dir.create_at("source/differs", "abcd", MTIME);
    dir.create_at("target/same", "abcd", MTIME + 60);
    dir.create_at("target/differs", "abcX", MTIME);
    let options = "mode = \"update\"\ncompare = [\"checksum\"]";
    dir.manifest(&one_job(&["source"], "target", options));
    let same_before = dir.identity("target/same");

    let plan = dir.plan();
    assert_eq!(actions(&plan, 0), ["copy differs checksum-differs"]);
    dir.apply();
    assert_eq!(dir.read("target/differs"), b"abcd");
    assert_eq!(dir.identity("target/same"), same_before);
}

#[test]
fn a_folder_gets_its_times_set_again_only_once_a_checksum_finds_a_change() {
    let dir = Dir::new();
    for folder in ["same", "differs"] {
        dir.create_at(&format!("source/{folder}/f"), "abcd", MTIME);
        dir.set_mtime(&format!("source/{folder}"), MTIME);
        let content = if folder == "same" { "abcd" } else { "abcX" };
        dir.create_at(&format!("target/{folder}/f"), content, MTIME);
        dir.set_mtime(&format!("target/{folder}"), MTIME);
    }
    let options = "mode = \"update\"\ncompare = [\"checksum\"]\npreserve = [\"times\"]";
    dir.manifest(&one_job(&["source"], "target", options));

    let plan = dir.plan();
    assert_eq!(
        actions(&plan, 0),
        ["set-attributes differs", "copy differs/f checksum-differs"]
    );
}

#[test]
fn a_checksum_candidate_found_equal_gets_the_preserved_attributes() {
    let dir = Dir::new();
    use std::os::unix::fs::PermissionsExt;
    let set_mode = |path: &str, mode| {
        std::fs::set_permissions(dir.join(path), std::fs::Permissions::from_mode(mode)).unwrap()
    };
    dir.create_at("source/f", "abcd", MTIME);
    dir.create_at("target/f", "abcd", MTIME);
    set_mode("source/f", 0o640);
    set_mode("target/f", 0o644);
    let options = "mode = \"update\"\ncompare = [\"checksum\"]\npreserve = [\"permission\"]";
    dir.manifest(&one_job(&["source"], "target", options));

    let plan = dir.plan();
    assert_eq!(actions(&plan, 0), ["set-attributes f"]);
    dir.apply();
    assert_eq!(mode(&dir, "target/f"), 0o640);
}

#[test]
fn checksum_compare_of_local_files_reads_both_sides_and_the_plan_says_why() {
    let dir = Dir::new();
    for name in ["b", "a"] {
        dir.create_at(&format!("source/{name}"), "abcd", MTIME);
        dir.create_at(&format!("target/{name}"), "abcd", MTIME);
    }
    let options = "mode = \"update\"\ncompare = [\"checksum\"]";
    dir.manifest(&one_job(&["source"], "target", options));

    let plan = dir.plan();
    assert_eq!(
        plan["jobs"][0]["compared"],
        serde_json::json!({
            "composite_crc": 0,
            "md5_crc": 0,
            "read": 2,
            "fallbacks": [
                { "reason": "no-source-checksum", "files": 2, "example": "a" }
            ]
        })
    );
    let shown = dir.hsync(["show", "plan.json"]).ok().stdout;
    assert!(
        shown.contains(
            "  (compared 2 same-size files: 2 by reading both sides)\n  \
             (read 2 files because the source gives no checksum of them, e.g. a)\n"
        ),
        "{shown}"
    );
}

#[test]
fn update_leaves_an_already_synced_tree_alone() {
    let dir = Dir::new();
    guide_example(&dir, "elsewhere");
    dir.manifest(&one_job(SOURCES, "target", r#"mode = "update""#));
    dir.plan();
    dir.apply();
    let before = Tree::read(&dir.join("target"));
    let identity = dir.identity("target/10");

    let out = dir.hsync(["plan", "--detailed-exitcode"]).code(0);
    assert!(out.stderr.contains("No changes."), "{out}");
    assert_eq!(dir.tree("target"), before);
    assert_eq!(dir.identity("target/10"), identity);
}

#[test]
fn preserved_times_and_equal_size_mean_unchanged() {
    let dir = Dir::new();
    // Same size, same mtime, other content: unchanged by DistCp+'s rule.
    dir.create_at("source/same", "aaaa", MTIME);
    dir.create_at("target/same", "bbbb", MTIME);
    // Same size, other mtime: rewritten.
    dir.create_at("source/touched", "1234", MTIME);
    dir.create_at("target/touched", "1234", MTIME + 60);
    // Other size, same mtime: rewritten.
    dir.create_at("source/grown", "12345", MTIME);
    dir.create_at("target/grown", "1234", MTIME);
    let options = "mode = \"update\"\npreserve = [\"times\"]";
    dir.manifest(&one_job(&["source"], "target", options));
    let same_before = dir.identity("target/same");

    let plan = dir.plan();
    assert_eq!(
        plan["jobs"][0]["options"]["compare"],
        serde_json::json!(["size", "mtime"])
    );
    assert_eq!(
        actions(&plan, 0),
        ["copy grown size-differs", "copy touched mtime-differs"]
    );
    assert_eq!(plan["jobs"][0]["unchanged"]["files"], 1);
    dir.apply();

    assert_eq!(dir.identity("target/same"), same_before);
    assert_eq!(dir.read("target/same"), b"bbbb");
    assert_eq!(dir.read("target/grown"), b"12345");
    for file in ["touched", "grown"] {
        assert_eq!(dir.mtime_ms(&format!("target/{file}")), MTIME * 1000);
    }
}

#[test]
fn preserved_permissions_are_applied_to_files_and_folders() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let file = dir.create("source/private/key", "secret");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let folder = dir.join("source/private");
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o750)).unwrap();
    let options = "mode = \"update\"\npreserve = [\"permission\"]";
    dir.manifest(&one_job(&["source"], "target", options));

    dir.plan();
    dir.apply();
    assert_eq!(mode(&dir, "target/private/key"), 0o600);
    assert_eq!(mode(&dir, "target/private"), 0o750);
    dir.hsync(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_file_where_the_target_has_a_folder_aborts_planning() {
    let dir = Dir::new();
    dir.create("source/data", "a file");
    dir.create("target/data/inside", "a folder in the target");
    dir.manifest(&one_job(&["source"], "target", r#"mode = "update""#));

    let out = dir.hsync(["plan"]).code(1);
    assert!(
        says(
            &out.stderr,
            "`data` is a file in the source but a directory in the target"
        ),
        "{out}"
    );
    assert_eq!(
        dir.read_to_string("target/data/inside"),
        "a folder in the target"
    );
}

#[test]
fn empty_files_empty_folders_and_unicode_names_are_copied() {
    let dir = Dir::new();
    dir.create("source/empty.txt", "");
    dir.mkdir("source/empty folder");
    dir.create("source/naïve café/日本語 ✓.txt", "unicode");
    dir.create("source/.hidden", "dot files are plain files to hsync");
    dir.manifest(&one_job(&["source"], "target", r#"mode = "update""#));

    dir.plan();
    dir.apply();
    assert_eq!(dir.tree("target"), dir.tree("source"));
    dir.hsync(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_file_left_in_place_gets_the_preserved_mode_as_distcp_gives_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    dir.create_at("source/same.txt", "same\n", MTIME);
    dir.create_at("target/same.txt", "same\n", MTIME);
    let mode = |relative: &str, mode: u32| {
        let permissions = std::fs::Permissions::from_mode(mode);
        std::fs::set_permissions(dir.join(relative), permissions).expect("chmod");
    };
    mode("source/same.txt", 0o600);
    mode("target/same.txt", 0o644);
    dir.manifest(&one_job(
        &["source"],
        "target",
        "mode = \"update\"\npreserve = [\"permission\"]",
    ));
    let before = dir.identity("target/same.txt");

    let planned = dir.hsync(["plan", "-o", "plan.json"]).ok();
    let plan = dir.plan_json("plan.json");
    assert_eq!(plan["jobs"][0]["actions"][0]["entry"], "file");
    dir.apply();

    let meta = std::fs::metadata(dir.join("target/same.txt")).expect("stat");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        dir.identity("target/same.txt"),
        before,
        "same.txt was rewritten"
    );
    dir.hsync(["plan", "--detailed-exitcode"]).ok();
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_sets_the_mode_of_a_file_left_in_place", planned.stderr);
}

/// The permission bits of `path` below the test's directory.
fn mode(dir: &Dir, path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir.join(path))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}
