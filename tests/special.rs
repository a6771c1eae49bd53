//! What is not a plain file or folder: FIFOs, sockets and devices are never
//! opened, symlinks follow the job's `symlinks` policy, names that are not
//! UTF-8 are skipped with their escaped spelling, and no name can forge a
//! line of what a reviewer reads.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::util::{one_job, says, wait_bounded, Dir, Node, Output};

/// Longer than any apply here takes; a FIFO opened for a read waits forever.
const HANG: Duration = Duration::from_secs(60);

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.expect("mkfifo runs").success(), "mkfifo {path:?}");
}

/// `hsync apply plan.json`, killed (and the test failed) if it hangs.
fn apply_bounded(dir: &Dir) -> Output {
    let mut child = dir.hsync(["apply", "plan.json"]).spawn(dir, "apply");
    let status = wait_bounded(&mut child, dir, "apply", HANG);
    Output {
        code: status.code().expect("an exit code"),
        stdout: dir.read_to_string("apply.stdout"),
        stderr: dir.read_to_string("apply.stderr"),
    }
}

/// The plan again, which must report nothing to do (exit 0 under
/// `--detailed-exitcode`): skipped entries are not changes.
fn replan_finds_nothing(dir: &Dir) -> Output {
    let out = dir.hsync(["plan", "--detailed-exitcode"]).code(0);
    assert!(out.stderr.contains("No changes."), "{out}");
    out
}

fn skipped(plan: &Value, job: usize) -> Value {
    plan["jobs"][job]["skipped"].clone()
}

#[test]
fn a_fifo_in_a_source_is_skipped_and_listed() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    mkfifo(&dir.join("source/pipe"));
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));

    let plan = dir.plan();
    let out = apply_bounded(&dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        skipped(&plan, 0),
        json!([{ "path": "pipe", "source": { "root": 0, "path": "pipe" },
                 "entry": "fifo", "reason": "special-file" }])
    );
    assert_eq!(dir.tree("target").paths(), ["a"]);
    let again = replan_finds_nothing(&dir);
    assert!(
        again
            .stderr
            .contains("  ! pipe              named pipe: never opened\n"),
        "{again}"
    );
    assert!(again.stderr.contains("; 1 skipped)."), "{again}");
}

#[test]
fn a_socket_in_a_source_is_skipped_and_listed() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    let _socket = std::os::unix::net::UnixListener::bind(dir.join("source/sock")).unwrap();
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));

    let plan = dir.plan();
    assert_eq!(skipped(&plan, 0)[0]["entry"], "socket");
    let out = apply_bounded(&dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(dir.tree("target").paths(), ["a"]);
    replan_finds_nothing(&dir);
}

#[test]
fn a_source_root_that_is_a_fifo_is_skipped_and_listed() {
    let dir = Dir::new();
    mkfifo(&dir.join("pipe"));
    dir.manifest(&one_job(&["pipe"], "target", ""));

    let plan = dir.plan();
    assert_eq!(plan["jobs"][0]["actions"], json!([]));
    assert_eq!(skipped(&plan, 0)[0]["path"], "pipe");
    assert_eq!(apply_bounded(&dir).code, 0);
}

#[test]
fn an_extraneous_fifo_in_the_target_is_unlinked_never_opened() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.create("target/a", "a");
    mkfifo(&dir.join("target/pipe"));
    let options = "mode = \"update\"\ndelete = true";
    dir.manifest(&one_job(&["source"], "target", options));

    let plan = dir.plan();
    assert_eq!(plan["jobs"][0]["actions"][0]["entry"], "fifo");
    let out = apply_bounded(&dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(dir.tree("target").paths(), ["a"]);
}

#[test]
fn a_name_in_an_error_is_escaped() {
    let dir = Dir::new();
    dir.create("source/x\n  ok", "a");
    dir.mkdir("target/x\n  ok");
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));

    let out = dir.hsync(["plan"]).code(1);
    assert!(
        out.stderr
            .contains(r#"`"x\n  ok"` is a file in the source but a directory in the target"#),
        "{out}"
    );
}

#[test]
fn a_source_file_where_the_target_has_a_fifo_is_a_type_conflict() {
    let dir = Dir::new();
    dir.create("source/pipe", "a");
    dir.mkdir("target");
    mkfifo(&dir.join("target/pipe"));
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));

    let out = dir.hsync(["plan"]).code(1);
    assert!(
        says(
            &out.stderr,
            "`pipe` is a file in the source but a named pipe in the target"
        ),
        "{out}"
    );
}

#[test]
fn symlinks_are_skipped_by_default_counted_and_listed() {
    let dir = Dir::new();
    dir.create("source/real", "x");
    symlink("real", dir.join("source/link")).unwrap();
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));

    let plan = dir.plan();
    assert_eq!(
        skipped(&plan, 0),
        json!([{ "path": "link", "source": { "root": 0, "path": "link" },
                 "entry": "symlink", "reason": "symlink" }])
    );
    dir.apply();
    assert_eq!(dir.tree("target").paths(), ["real"]);
    let again = replan_finds_nothing(&dir);
    assert!(
        again
            .stderr
            .contains("  ! link              symbolic link: skipped (symlinks = \"skip\")\n"),
        "{again}"
    );
}

#[test]
fn a_source_root_that_is_a_symlink_to_a_folder_is_planned_as_that_folder() {
    let dir = Dir::new();
    dir.create("data/a", "a");
    dir.create("data/sub/b", "bb");
    symlink("data", dir.join("current")).unwrap();
    dir.manifest(&one_job(&["current"], "target", ""));

    dir.plan();
    let summary = dir.apply();
    assert_eq!(summary["outcome"], "success");
    let expected = dir.tree("data").under("current");
    assert_eq!(dir.tree("target"), expected);
    replan_finds_nothing(&dir);
}

#[test]
fn a_source_root_that_is_a_symlink_to_a_file_is_copied_under_the_link_name() {
    let dir = Dir::new();
    dir.create("data/v2.csv", "v2 rows");
    symlink("data/v2.csv", dir.join("latest.csv")).unwrap();
    dir.manifest(&one_job(&["latest.csv"], "target", ""));

    let plan = dir.plan();
    // The plan records what it read: the link, resolved.
    let real = dir.join("data/v2.csv");
    assert_eq!(
        plan["jobs"][0]["source_roots"],
        json!([real.to_str().unwrap()])
    );
    let summary = dir.apply();
    assert_eq!(summary["files_copied"], 1, "{summary:#}");
    assert_eq!(dir.read_to_string("target/latest.csv"), "v2 rows");
    replan_finds_nothing(&dir);
}

#[test]
fn symlinks_follow_copies_what_links_point_to_inside_the_root() {
    let dir = Dir::new();
    dir.create("source/sub/f", "abc");
    dir.create("outside/secret", "no");
    let link = |text: &str, at: &str| symlink(text, dir.join(at)).unwrap();
    link("sub/f", "source/to-file");
    link("sub", "source/to-dir");
    link("../outside/secret", "source/out");
    link("nothing", "source/dangling");
    link("..", "source/sub/up");
    let options = "mode = \"update\"\nsymlinks = \"follow\"";
    dir.manifest(&one_job(&["source"], "target", options));

    let plan = dir.plan();
    let skipped = skipped(&plan, 0);
    let reasons: Vec<(&str, &str)> = skipped
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("dangling", "symlink-dangles"),
            ("out", "symlink-outside-root"),
            ("sub/up", "symlink-loop"),
            ("to-dir/up", "symlink-loop"),
        ]
    );
    dir.apply();
    let abc = dir.tree("source/sub").0["f"].clone();
    assert_eq!(
        dir.tree("target").0,
        [
            ("sub/", Node::Dir),
            ("sub/f", abc.clone()),
            ("to-dir/", Node::Dir),
            ("to-dir/f", abc.clone()),
            ("to-file", abc),
        ]
        .into_iter()
        .map(|(p, n)| (p.to_string(), n))
        .collect()
    );
    replan_finds_nothing(&dir);
    // A followed file changed is copied again, like any other.
    dir.create("source/sub/f", "abcd");
    let plan = dir.plan();
    let changed: Vec<&str> = plan["jobs"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["path"].as_str())
        .collect();
    assert_eq!(changed, ["sub/f", "to-dir/f", "to-file"]);
}

#[test]
fn symlinks_copy_recreates_links_with_the_same_text() {
    let dir = Dir::new();
    dir.create("source/real", "x");
    symlink("real", dir.join("source/link")).unwrap();
    symlink("/nowhere/at/all", dir.join("source/away")).unwrap();
    let options = "mode = \"update\"\nsymlinks = \"copy\"";
    dir.manifest(&one_job(&["source"], "target", options));

    dir.plan();
    let summary = dir.apply();
    assert_eq!(summary["files_copied"], 3, "{summary:#}");
    let target = dir.tree("target");
    assert_eq!(target.0["link"], Node::Link("real".into()));
    assert_eq!(target.0["away"], Node::Link("/nowhere/at/all".into()));
    replan_finds_nothing(&dir);

    // A link whose text changed is replaced, never written through.
    std::fs::remove_file(dir.join("source/link")).unwrap();
    symlink("elsewhere", dir.join("source/link")).unwrap();
    let out = dir.hsync(["plan", "-o", "plan.json"]).ok();
    assert!(
        out.stderr
            .contains("~ link              symbolic link to elsewhere (was real)"),
        "{out}"
    );
    dir.apply();
    assert_eq!(dir.tree("target").0["link"], Node::Link("elsewhere".into()));
    assert_eq!(dir.read_to_string("target/real"), "x");
    replan_finds_nothing(&dir);
}

#[test]
fn a_name_that_is_not_utf8_is_skipped_with_its_escaped_spelling_never_stale() {
    let dir = Dir::new();
    dir.create("source/good", "g");
    let bad = dir.join("source").join(OsStr::from_bytes(b"bad\xff"));
    std::fs::write(bad, "b").unwrap();
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));

    let plan = dir.plan();
    assert_eq!(
        skipped(&plan, 0),
        json!([{ "path": r#""bad\xff""#, "source": { "root": 0, "path": r#""bad\xff""# },
                 "entry": "file", "reason": "name-not-utf8" }])
    );
    let summary = dir.apply();
    assert_eq!(summary["outcome"], "success");
    assert_eq!(summary["files_stale"], 0);
    assert_eq!(dir.tree("target").paths(), ["good"]);
    let again = replan_finds_nothing(&dir);
    assert!(
        again
            .stderr
            .contains("  ! \"bad\\xff\"              file: name is not UTF-8\n"),
        "{again}"
    );
}

/// A source whose names try to forge plan lines and drive the terminal.
fn hostile_names(dir: &Dir) {
    dir.create("source/x\n  + forged             1 B  missing", "a");
    dir.create("source/\x1b[8mhidden", "b");
    dir.create("source/tab\there", "c");
    mkfifo(&dir.join("source/pipe\r\nPlan: nothing"));
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
}

#[test]
fn control_characters_in_names_are_escaped_in_plan_and_show_and_kept_in_the_json() {
    let dir = Dir::new();
    hostile_names(&dir);

    let out = dir.hsync(["plan", "-o", "plan.json"]).ok();
    let shown = dir.hsync(["show", "plan.json"]).ok();
    assert_eq!(shown.stdout, out.stderr);
    for text in [&out.stderr, &shown.stdout] {
        assert!(!text.contains('\x1b') && !text.contains('\r') && !text.contains('\t'));
        // The job's three header lines, three copies, the skipped FIFO, the
        // listing, the blank line and the totals: no name added a line.
        assert_eq!(text.lines().count(), 3 + 3 + 1 + 1 + 1 + 1, "{text}");
    }
    let plan = dir.plan_json("plan.json");
    let paths: Vec<&str> = plan["jobs"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "\x1b[8mhidden",
            "tab\there",
            "x\n  + forged             1 B  missing"
        ]
    );
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_human_view_with_escaped_names", out.stderr);
}

#[test]
fn apply_log_lines_escape_names() {
    let dir = Dir::new();
    hostile_names(&dir);
    dir.plan();

    let out = apply_bounded(&dir);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains('\x1b') && !out.stderr.contains('\t'));
    let copied: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("copied"))
        .collect();
    assert_eq!(copied.len(), 3, "{}", out.stderr);
    let target = dir.tree("target");
    assert!(target
        .0
        .contains_key("x\n  + forged             1 B  missing"));
    // Files finish in any order; the lines are sorted for the snapshot.
    let mut lines: Vec<&str> = out.stderr.lines().collect();
    lines.sort();
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("apply_log_lines_with_escaped_names", lines.join("\n"));
}

#[test]
fn plan_human_view_lists_skipped_entries_with_their_own_sign() {
    let dir = Dir::new();
    dir.create("source/file", "x");
    dir.create("source/deep/file", "y");
    mkfifo(&dir.join("source/deep/pipe"));
    symlink("file", dir.join("source/link")).unwrap();
    symlink("../outside", dir.join("source/out")).unwrap();
    symlink("nothing", dir.join("source/dangling")).unwrap();
    dir.mkdir("outside");
    std::fs::write(
        dir.join("source/deep")
            .join(OsStr::from_bytes(b"caf\xe9.txt")),
        "z",
    )
    .unwrap();
    dir.manifest(&format!(
        "{}\n{}",
        one_job(&["source"], "skipping", "mode = \"update\""),
        one_job(
            &["source"],
            "following",
            "mode = \"update\"\nsymlinks = \"follow\""
        )
        .replace("name = \"test\"", "name = \"follow\"")
    ));

    let out = dir.hsync(["plan"]).ok();
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_human_view_with_skipped_entries", out.stderr);
}

#[test]
fn a_target_name_that_is_not_utf8_is_left_alone_under_delete() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.create("target/old/x", "x");
    let bad = dir.join("target/old").join(OsStr::from_bytes(b"bad\xff"));
    std::fs::write(&bad, "b").unwrap();
    let options = "mode = \"update\"\ndelete = true";
    dir.manifest(&one_job(&["source"], "target", options));

    let plan = dir.plan();
    assert_eq!(
        skipped(&plan, 0),
        json!([{ "path": r#""old/bad\xff""#, "entry": "file", "reason": "name-not-utf8" }])
    );
    let summary = dir.apply();
    assert_eq!(summary["outcome"], "success");
    // `old/x` goes; `old/` holds what hsync cannot name, so it stays.
    assert!(bad.exists());
    assert!(!dir.exists("target/old/x"));
    let again = replan_finds_nothing(&dir);
    assert!(
        again.stderr.contains(
            "  ! \"old/bad\\xff\"              file: name is not UTF-8 in the target, left alone\n"
        ),
        "{again}"
    );
}
