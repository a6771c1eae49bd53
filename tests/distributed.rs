//! The distributed apply on this machine's engine (`--engine local`): the
//! same contract YARN runs (`hdfs_yarn`), with workers as processes. The
//! prepare, the chunks and the commit each resume; a worker killed in its
//! chunk is run again and copies nothing twice.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use crate::util::{noise, wait_bounded, Dir};

/// Two jobs: one that updates and deletes with times and permissions kept,
/// one committed atomically, 60 files over nested folders.
fn two_jobs(dir: &Dir) {
    for i in 0..40u64 {
        let path = format!("logs/d{}/e{}/f{i}", i % 3, i % 2);
        dir.create(&path, noise(100 + i as usize * 37, i));
    }
    for i in 0..20u64 {
        dir.create(&format!("tables/t{}/part-{i}", i % 4), noise(2000, 100 + i));
    }
    dir.create("target/logs/stale-only-here", "old");
    dir.create("target/logs/d0/e0/f0", "an older f0");
    dir.manifest(
        r#"
[[job]]
name = "logs"
sources = ["logs"]
target = "target/logs"
mode = "update"
delete = true
preserve = ["times", "permission"]
parallel = 2

[[job]]
name = "tables"
sources = ["tables"]
target = "target/tables"
layout = "contents"
commit = "atomic"
"#,
    );
    dir.plan();
}

/// Both jobs' targets as their sources, times and all, with nothing of
/// hsync's own left (the run folder included).
fn assert_in_sync(dir: &Dir, context: &str) {
    assert_eq!(dir.tree("target/tables"), dir.tree("tables"), "{context}");
    assert_eq!(dir.tree("target/logs"), dir.tree("logs"), "{context}");
    for path in dir.tree("logs").files().paths() {
        let (source, target) = (format!("logs/{path}"), format!("target/logs/{path}"));
        assert_eq!(
            dir.mtime_ms(&target),
            dir.mtime_ms(&source),
            "{context}: {path}"
        );
    }
    assert!(dir.temp_leftovers(".").is_empty(), "{context}");
}

fn distributed(dir: &Dir) -> crate::util::TestCommand {
    let mut command = dir.hsync([
        "apply",
        "plan.json",
        "--engine",
        "local",
        "--workers",
        "3",
        "--summary",
        "summary.json",
    ]);
    command.env_remove("HSYNC_DEBUG_KILL");
    command
}

/// How many times each path was logged as copied.
fn copied_lines(stderr: &str) -> HashMap<String, usize> {
    let mut copied = HashMap::new();
    for line in stderr.lines().filter_map(|l| l.strip_prefix("copied   ")) {
        let path = line.rsplit_once(" (").map_or(line, |(path, _)| path);
        *copied.entry(path.to_string()).or_default() += 1;
    }
    copied
}

#[test]
fn a_distributed_apply_gives_the_tree_a_single_apply_gives() {
    let (single, spread) = (Dir::new(), Dir::new());
    two_jobs(&single);
    two_jobs(&spread);
    let alone = single.apply();
    let out = distributed(&spread).ok();
    let summary = out.json();
    assert_eq!(summary["outcome"], "success");
    for count in [
        "files_copied",
        "bytes_copied",
        "files_deleted",
        "dirs_created",
    ] {
        assert_eq!(summary[count], alone[count], "{count}: {out}");
    }
    assert_eq!(summary["files_copied"], 60, "{out}");
    assert!(
        summary["chunks"].as_array().is_some_and(|c| c.len() > 1),
        "{summary}"
    );
    assert_eq!(spread.tree("target"), single.tree("target"));
    assert_in_sync(&spread, "distributed");
}

#[test]
fn a_worker_killed_in_the_middle_of_its_chunk_is_run_again_and_copies_no_file_twice() {
    let dir = Dir::new();
    two_jobs(&dir);
    let mut child = distributed(&dir)
        .env(
            "HSYNC_DEBUG_KILL",
            &format!("copied-3:{}", dir.join("killed").display()),
        )
        .spawn(&dir, "apply");
    let status = wait_bounded(&mut child, &dir, "apply", Duration::from_secs(120));
    let stderr = dir.read_to_string("apply.stderr");
    assert!(dir.exists("killed"), "no worker was killed:\n{stderr}");
    assert!(status.success(), "{stderr}");
    let copied = copied_lines(&stderr);
    assert!(copied.values().all(|n| *n == 1), "copied twice: {copied:?}");
    let summary: serde_json::Value =
        serde_json::from_str(&dir.read_to_string("summary.json")).expect("a JSON summary");
    let done =
        summary["files_copied"].as_u64().unwrap() + summary["files_already_done"].as_u64().unwrap();
    assert_eq!(done, 60, "{summary}");
    assert_in_sync(&dir, "after the kill");
}

#[test]
fn the_apply_killed_as_it_prepares_copies_or_commits_resumes_with_the_same_command() {
    for stage in ["created-2", "copying", "committing"] {
        let dir = Dir::new();
        two_jobs(&dir);
        let marker = dir.join("killed");
        let mut child = distributed(&dir)
            .env("HSYNC_DEBUG_KILL", &format!("{stage}:{}", marker.display()))
            .spawn(&dir, "first");
        let status = wait_bounded(&mut child, &dir, "first", Duration::from_secs(120));
        assert_eq!(
            status.signal(),
            Some(9),
            "{stage}: {}",
            dir.read_to_string("first.stderr")
        );
        if stage.starts_with("created") {
            // Killed before it had a run folder.
            let out = distributed(&dir).ok();
            assert_eq!(out.json()["outcome"], "success", "{stage}: {out}");
            assert_in_sync(&dir, stage);
            continue;
        }
        // What a killed run leaves: its run folder, for the applying user only.
        let run: Vec<_> = std::fs::read_dir(dir.join("target/logs"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".hsync-tmp.run-"))
            .collect();
        assert_eq!(run.len(), 1, "{stage}: one run folder");
        let mode = run[0].metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{stage}");

        let out = distributed(&dir).ok();
        let summary = out.json();
        assert_eq!(summary["outcome"], "success", "{stage}: {out}");
        let copied = copied_lines(&format!(
            "{}{}",
            dir.read_to_string("first.stderr"),
            out.stderr
        ));
        assert!(
            copied.values().all(|n| *n == 1),
            "{stage}: copied twice: {copied:?}"
        );
        if stage == "committing" {
            assert!(
                out.stderr.contains("copying  0 chunks of"),
                "{stage}: {out}"
            );
            // The first run's chunks copied them all.
            assert_eq!(summary["files_copied"], 0, "{stage}: {out}");
            assert_eq!(summary["files_already_done"], 60, "{stage}: {out}");
        }
        assert_in_sync(&dir, stage);
    }
}

#[test]
fn a_chunk_that_fails_leaves_the_others_to_finish_and_the_summary_names_the_failure() {
    let dir = Dir::new();
    two_jobs(&dir);
    // Changed since the plan: its copy is refused as stale.
    dir.create("logs/d1/e1/f1", "changed after the plan");
    let out = distributed(&dir).code(1);
    let summary = out.json();
    assert_eq!(summary["outcome"], "failed", "{out}");
    assert_eq!(summary["files_stale"], 1, "{out}");
    assert_eq!(
        summary["files_copied"], 59,
        "every other chunk finished: {out}"
    );
    let failures = summary["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{summary}");
    assert!(failures[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("target/logs/d1/e1/f1"));
    let incomplete = summary["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["complete"] == false)
        .count();
    assert_eq!(incomplete, 1, "{summary}");
    // The other job is whole, as a single apply leaves it.
    assert_eq!(dir.tree("target/tables"), dir.tree("tables"));
}

#[test]
fn an_apply_killed_without_workers_resumes_with_workers_and_copies_no_file_twice() {
    let dir = Dir::new();
    two_jobs(&dir);
    let marker = dir.join("killed");
    let mut child = dir
        .hsync(["apply", "plan.json"])
        .env(
            "HSYNC_DEBUG_KILL",
            &format!("copied-10:{}", marker.display()),
        )
        .spawn(&dir, "single");
    let status = wait_bounded(&mut child, &dir, "single", Duration::from_secs(120));
    assert_eq!(
        status.signal(),
        Some(9),
        "{}",
        dir.read_to_string("single.stderr")
    );

    let out = distributed(&dir).ok();
    let stderr = format!("{}{}", dir.read_to_string("single.stderr"), out.stderr);
    let copied = copied_lines(&stderr);
    assert!(copied.values().all(|n| *n == 1), "copied twice: {copied:?}");
    assert_in_sync(&dir, "resumed with workers");
}

#[test]
fn a_command_engine_runs_the_workers_of_the_examples_xargs_script() {
    let dir = Dir::new();
    two_jobs(&dir);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/engines/xargs.sh");
    let command = format!("sh {script}");
    let args = [
        "apply",
        "plan.json",
        "--engine",
        "command",
        "--workers",
        "2",
        "--engine-command",
    ];
    let out = dir
        .hsync(args.iter().copied().chain([command.as_str()]))
        .ok();
    let summary = out.json();
    assert_eq!(summary["outcome"], "success", "{out}");
    assert_eq!(summary["files_copied"], 60, "{out}");
    assert!(out.stderr.contains("(command)"), "{out}");
    assert_in_sync(&dir, "command engine");
}

#[test]
fn the_yarn_engine_refuses_local_files_before_anything_is_locked() {
    let dir = Dir::new();
    two_jobs(&dir);
    let before = dir.tree("target");
    let out = dir
        .hsync(["apply", "plan.json", "--engine", "yarn", "--workers", "2"])
        .code(1);
    assert_eq!(dir.tree("target"), before, "nothing written, no lock taken");
    let settings = dir.snapshot_settings();
    let _settings = settings.bind_to_scope();
    insta::assert_snapshot!("yarn_engine_refuses_local_files", out.stderr);
}
