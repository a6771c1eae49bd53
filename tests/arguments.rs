//! Exit codes, as Terraform's (0 success, 1 any error, 2 only for changes
//! under `--detailed-exitcode`), and arguments checked before any work.

use crate::util::{one_job, Dir};

/// A source of one file and a manifest that copies it to `target`.
fn one_file(dir: &Dir) {
    dir.create("source/a", "a");
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
}

#[test]
fn usage_errors_exit_1_while_help_and_version_exit_0() {
    let dir = Dir::new();
    let out = dir.hsync(["plan", "--bogus"]).code(1);
    assert!(
        out.stderr.contains("unexpected argument '--bogus'"),
        "{out}"
    );
    dir.hsync(["plan", "--detailed-exitcode", "--bogus"])
        .code(1);
    dir.hsync(["apply"]).code(1);
    dir.hsync(["frobnicate"]).code(1);
    let out = dir.hsync(Vec::<&str>::new()).code(1);
    assert!(out.stderr.contains("Usage: hsync"), "{out}");
    let help = dir.hsync(["--help"]).ok();
    assert!(help.stdout.contains("Usage: hsync"), "{help}");
    dir.hsync(["plan", "--help"]).ok();
    let version = dir.hsync(["--version"]).ok();
    assert!(version.stdout.starts_with("hsync "), "{version}");
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the panic trigger exists in debug builds only"
)]
fn a_panic_exits_1_with_an_internal_error_message() {
    let dir = Dir::new();
    one_file(&dir);
    // Debug builds panic on a thread of their own when asked; the command
    // itself then succeeds, which must not hide the panic.
    let out = dir
        .hsync(["validate"])
        .env("HSYNC_DEBUG_PANIC", "1")
        .code(1);
    assert!(out.stdout.contains("is valid"), "{out}");
    let mut settings = dir.snapshot_settings();
    settings.add_filter(r"main\.rs:\d+:\d+", "main.rs:[LINE]");
    let _settings = settings.bind_to_scope();
    insta::assert_snapshot!("internal_error", out.stderr);
}

#[test]
fn parallel_zero_is_refused_on_the_command_line() {
    let dir = Dir::new();
    one_file(&dir);
    dir.plan();
    let out = dir.hsync(["apply", "--parallel", "0", "plan.json"]).code(1);
    assert!(!dir.exists("target"), "nothing was copied");
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("parallel_zero_error", out.stderr);
}

/// Plans `one_file`, then runs `apply ARGS plan.json`, which must fail
/// before it locks or copies anything; returns its stderr.
fn refused_at_once(dir: &Dir, args: &[&str]) -> String {
    one_file(dir);
    dir.plan();
    let before = dir.tree("");
    let mut argv = vec!["apply"];
    argv.extend_from_slice(args);
    argv.push("plan.json");
    let out = dir.hsync(&argv).code(1);
    assert_eq!(out.stdout, "", "no summary: nothing ran");
    assert_eq!(dir.tree(""), before, "no copy, lock or journal");
    out.stderr
}

#[test]
fn an_unwritable_summary_file_fails_before_anything_is_copied() {
    let dir = Dir::new();
    let stderr = refused_at_once(&dir, &["--summary", "missing/summary.json"]);
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("unwritable_summary_error", stderr);
}

#[test]
fn an_unwritable_log_file_fails_before_anything_is_copied() {
    let dir = Dir::new();
    dir.create("a-file", "");
    let stderr = refused_at_once(&dir, &["--log", "a-file/log.jsonl"]);
    assert!(
        stderr.contains("cannot write the --log file a-file/log.jsonl"),
        "{stderr}"
    );
}

#[test]
fn an_unwritable_state_dir_fails_before_anything_is_copied() {
    let dir = Dir::new();
    dir.create("a-file", "");
    let stderr = refused_at_once(&dir, &["--state-dir", "a-file/state"]);
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("unwritable_state_dir_error", stderr);
}

#[test]
fn a_summary_that_is_a_directory_fails_before_anything_is_copied() {
    let dir = Dir::new();
    dir.mkdir("reports");
    let stderr = refused_at_once(&dir, &["--summary", "reports"]);
    assert!(
        stderr.contains("cannot write the --summary file reports: it is a directory"),
        "{stderr}"
    );
}

#[test]
fn an_existing_summary_file_is_replaced_by_the_new_summary() {
    let dir = Dir::new();
    one_file(&dir);
    dir.create("summary.json", "old");
    dir.plan();
    let out = dir
        .hsync(["apply", "--summary", "summary.json", "plan.json"])
        .ok();
    assert_eq!(dir.read_to_string("summary.json"), out.stdout);
    assert_eq!(dir.read_to_string("target/a"), "a");
}

#[test]
fn an_apply_whose_own_files_lie_inside_a_target_that_deletes_is_refused() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.create("target/old", "old");
    dir.manifest(&one_job(
        &["source"],
        "target",
        "mode = \"update\"\ndelete = true",
    ));
    dir.plan();
    // Each would be listed for deletion by the next plan, which would never
    // find the target in sync.
    for args in [
        vec!["apply", "plan.json", "--summary", "target/summary.json"],
        vec!["apply", "plan.json", "--log", "target/apply.log"],
        vec!["apply", "plan.json", "--state-dir", "target/.state"],
    ] {
        let out = dir.hsync(&args).code(1);
        assert!(
            crate::util::says(&out.stderr, "lies inside the target")
                && crate::util::says(&out.stderr, "which deletes"),
            "{out}"
        );
        assert!(!dir.exists("target/a"), "{args:?} copied before refusing");
        assert!(dir.exists("target/old"), "{args:?} deleted before refusing");
    }
    std::fs::copy(dir.join("plan.json"), dir.join("target/plan.json")).expect("a copy");
    let out = dir.hsync(["apply", "target/plan.json"]).code(1);
    let settings = dir.snapshot_settings();
    let _settings = settings.bind_to_scope();
    insta::assert_snapshot!("plan_inside_a_target_that_deletes_error", out.stderr);
    // Outside the target, the same apply goes through.
    dir.hsync(["apply", "plan.json", "--summary", "summary.json"])
        .ok();
    assert_eq!(dir.read("target/a"), b"a");
}
