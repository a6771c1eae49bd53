//! `hsync apply`: exactly the plan, nothing stale, nothing twice, and an
//! atomic commit that publishes the whole target or nothing.

use std::time::{Duration, Instant};

use crate::util::{guide_example, noise, one_job, says, Dir, Tree, MTIME};

const SOURCES: &[&str] = &["source/first", "source/second"];

/// The guide's example in update mode with an extraneous file to delete.
fn update_job(dir: &Dir, extra: &str) {
    guide_example(dir, "target");
    dir.fill("target/old.csv", 16, b'z');
    dir.set_mtime("target/old.csv", MTIME);
    let options = format!("mode = \"update\"\ndelete = true\n{extra}");
    dir.manifest(&one_job(SOURCES, "target", &options));
}

#[test]
fn stale_source_is_refused_and_reported() {
    let dir = Dir::new();
    update_job(&dir, "");
    dir.plan();
    // Same size, other content, later mtime: changed since the plan.
    dir.fill("source/first/2", 32, b'!');
    dir.set_mtime("source/first/2", MTIME + 60);

    let out = dir.hsync(["apply", "plan.json"]).code(1);
    let summary = out.json();
    assert_eq!(summary["outcome"], "failed");
    assert_eq!(summary["files_stale"], 1);
    let failure = &summary["failures"][0];
    assert_eq!(failure["kind"], "stale");
    let target = dir.join("target/2").display().to_string();
    assert_eq!(failure["path"], target.as_str());
    let cause = failure["cause"].as_str().unwrap();
    assert!(
        cause.contains("source/first/2 changed since the plan"),
        "{cause}"
    );
    assert!(
        out.stderr.contains("run `hsync plan` again"),
        "no hint to plan again:\n{out}"
    );
    assert!(!dir.exists("target/2"), "a stale source was copied");
    assert_eq!(dir.temp_leftovers("target"), Vec::<String>::new());

    // Planning again picks up the new content.
    dir.plan();
    dir.apply();
    assert_eq!(dir.read("target/2"), vec![b'!'; 32]);
}

#[test]
fn source_deleted_since_the_plan_is_stale() {
    let dir = Dir::new();
    update_job(&dir, "");
    dir.plan();
    std::fs::remove_file(dir.join("source/first/2")).expect("delete a source");

    let summary = dir.hsync(["apply", "plan.json"]).code(1).json();
    assert_eq!(summary["files_stale"], 1, "{summary:#}");
    let cause = summary["failures"][0]["cause"].as_str().unwrap();
    assert!(cause.contains("source/first/2 no longer exists"), "{cause}");
    assert!(!dir.exists("target/2"));
    assert_eq!(dir.temp_leftovers("target"), Vec::<String>::new());
}

#[test]
fn target_changed_since_the_plan_is_neither_replaced_nor_deleted() {
    let dir = Dir::new();
    update_job(&dir, "");
    dir.plan();
    // Someone writes to the target after the plan was reviewed.
    dir.create("target/10", "edited by hand");
    dir.fill("target/old.csv", 16, b'z');
    dir.set_mtime("target/old.csv", MTIME + 60);

    let out = dir
        .hsync(["apply", "--ignore-failures", "plan.json"])
        .code(1);
    let summary = out.json();
    assert_eq!(summary["outcome"], "partial");
    assert_eq!(summary["files_stale"], 2);
    assert_eq!(summary["files_copied"], 2, "the others go on: {summary}");
    assert_eq!(summary["files_deleted"], 0);
    assert_eq!(dir.read_to_string("target/10"), "edited by hand");
    assert!(dir.exists("target/old.csv"));
    assert_eq!(dir.read("target/2"), dir.read("source/first/2"));
    assert_eq!(dir.read("target/20"), dir.read("source/second/20"));
}

#[test]
fn applying_the_same_plan_twice_does_nothing_the_second_time() {
    let dir = Dir::new();
    update_job(&dir, "preserve = [\"times\"]");
    dir.plan();
    let first = dir.apply();
    assert_eq!(first["files_copied"], 3);
    assert_eq!(first["files_deleted"], 1);
    let tree = dir.tree("target");
    let identities: Vec<_> = ["1", "2", "10", "20"]
        .iter()
        .map(|f| dir.identity(&format!("target/{f}")))
        .collect();

    let out = dir.hsync(["apply", "plan.json"]).ok();
    let second = out.json();
    assert_eq!(second["outcome"], "success");
    assert_eq!(second["files_copied"], 0);
    assert_eq!(second["bytes_copied"], 0);
    assert_eq!(second["files_already_done"], 3);
    assert_eq!(second["files_deleted"], 0);
    assert!(
        out.stderr.contains("done     ")
            && out.stderr.contains("(by an earlier run)")
            && !out.stderr.contains("copied   "),
        "{out}"
    );
    assert_eq!(dir.tree("target"), tree);
    let after: Vec<_> = ["1", "2", "10", "20"]
        .iter()
        .map(|f| dir.identity(&format!("target/{f}")))
        .collect();
    assert_eq!(after, identities);
}

#[test]
fn plan_from_another_manifest_is_refused_with_dash_m() {
    let dir = Dir::new();
    update_job(&dir, "");
    dir.plan();
    let manifest = dir.read_to_string("hsync.toml");
    let before = dir.tree("target");

    dir.create("other.toml", format!("{manifest}parallel = 2\n"));
    let out = dir
        .hsync(["apply", "-m", "other.toml", "plan.json"])
        .code(1);
    assert_eq!(out.stdout, "");
    {
        let _settings = dir.snapshot_settings().bind_to_scope();
        insta::assert_snapshot!("manifest_mismatch_error", out.stderr);
    }

    // The manifest the plan names, edited since: refused as well.
    dir.manifest(&format!("{manifest}# reviewed\n"));
    let out = dir
        .hsync(["apply", "--manifest", "hsync.toml", "plan.json"])
        .code(1);
    assert!(says(&out.stderr, "as it was then"), "{out}");
    assert_eq!(dir.tree("target"), before);
    assert!(!dir.exists(".hsync"));

    // As it was: accepted.
    dir.manifest(&manifest);
    dir.hsync(["apply", "-m", "hsync.toml", "plan.json"]).ok();
    assert_eq!(dir.read("target/10"), dir.read("source/second/10"));
}

#[test]
fn atomic_commit_publishes_whole_target() {
    let dir = Dir::new();
    for i in 0..8 {
        dir.create(&format!("source/first/f{i}"), noise(256 << 10, i));
    }
    dir.create("source/first/sub/g", noise(1000, 99));
    dir.mkdir("out");
    let options = "commit = \"atomic\"\nparallel = 2\nbandwidth = \"4MiB/s\"";
    dir.manifest(&one_job(&["source/first"], "out/target", options));
    dir.plan();
    let expected = dir.tree("source/first").under("first");

    // While the apply runs, the target is absent or complete, never partial.
    let mut child = dir.hsync(["apply", "plan.json"]).spawn(&dir, "apply");
    let (mut saw_absent, mut saw_staging) = (false, false);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait on hsync") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "apply hangs");
        if dir.exists("out/target") {
            assert_eq!(dir.tree("out/target"), expected, "a partial target");
        } else {
            saw_absent = true;
        }
        // Listed by name only: the staging folder may be renamed meanwhile.
        saw_staging |= std::fs::read_dir(dir.join("out"))
            .expect("list out/")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".hsync-tmp."));
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "{}", dir.read_to_string("apply.stderr"));
    assert!(saw_absent && saw_staging, "the staging was never seen");
    assert_eq!(dir.tree("out/target"), expected);
    assert_eq!(dir.temp_leftovers("out"), Vec::<String>::new());
    assert!(dir
        .read_to_string("apply.stderr")
        .contains(&format!("published {}", dir.join("out/target").display())));
}

#[test]
fn atomic_commit_refuses_an_existing_target() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.mkdir("target");
    dir.manifest(&one_job(&["source"], "target", "commit = \"atomic\""));

    let out = dir.hsync(["plan"]).code(1);
    assert!(says(&out.stderr, "already exists"), "{out}");
}

#[test]
fn summary_file_holds_the_json_summary() {
    let dir = Dir::new();
    update_job(&dir, "");
    dir.plan();

    let out = dir
        .hsync(["apply", "--summary", "summary.json", "plan.json"])
        .ok();
    assert_eq!(dir.read_to_string("summary.json"), out.stdout);
    let summary = out.json();
    assert_eq!(summary["plan"], dir.plan_json("plan.json")["fingerprint"]);
    assert_eq!(summary["files_expected"], 3);
    assert_eq!(summary["bytes_expected"], 32 + 64 + 32);
    assert_eq!(summary["files_copied"], 3);
    assert_eq!(summary["bytes_copied"], 32 + 64 + 32);
    assert_eq!(summary["files_skipped"], 1);
    assert_eq!(summary["files_deleted"], 1);
    assert_eq!(summary["failures"], serde_json::json!([]));
}

#[test]
fn journal_lives_beside_the_plan_or_in_the_state_dir() {
    let dir = Dir::new();
    update_job(&dir, "");
    let plan = dir.plan();
    let fingerprint = plan["fingerprint"].as_str().unwrap();

    dir.hsync(["apply", "--state-dir", "state", "plan.json"])
        .ok();
    // A finished plan's journal is pruned to its line in `finished.jsonl`.
    assert!(dir
        .read_to_string("state/finished.jsonl")
        .contains(fingerprint));
    assert!(!dir.exists(&format!("state/{fingerprint}")));
    assert!(!dir.exists(".hsync"));

    let dir = Dir::new();
    update_job(&dir, "");
    dir.mkdir("plans");
    dir.hsync(["plan", "-o", "plans/p.json"]).ok();
    let fingerprint = dir.plan_json("plans/p.json")["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    dir.hsync(["apply", "plans/p.json"]).ok();
    assert!(dir
        .read_to_string("plans/.hsync/finished.jsonl")
        .contains(&fingerprint));
    assert_eq!(dir.tree("target").files(), {
        let sources =
            Tree::read(&dir.join("source/first")).merged(&Tree::read(&dir.join("source/second")));
        sources.files()
    });
}

#[test]
fn log_file_holds_one_record_per_path_with_its_outcome_and_cause() {
    let dir = Dir::new();
    update_job(&dir, "");
    dir.plan();
    dir.fill("source/first/2", 32, b'!');
    dir.set_mtime("source/first/2", MTIME + 60);

    dir.hsync([
        "apply",
        "--ignore-failures",
        "--log",
        "files.log",
        "plan.json",
    ])
    .code(1);
    let records: Vec<serde_json::Value> = dir
        .read_to_string("files.log")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let outcome_of = |name: &str| {
        let path = dir.join(&format!("target/{name}")).display().to_string();
        records
            .iter()
            .find(|r| r["path"] == path.as_str())
            .unwrap_or_else(|| panic!("no record of {path} in {records:#?}"))
            .clone()
    };
    assert_eq!(outcome_of("10")["outcome"], "copied");
    assert_eq!(outcome_of("10")["bytes"], 64);
    assert_eq!(outcome_of("old.csv")["outcome"], "deleted");
    let stale = outcome_of("2");
    assert_eq!(stale["outcome"], "stale");
    assert!(stale["cause"]
        .as_str()
        .unwrap()
        .contains("changed since the plan"));
}

#[test]
fn a_folder_replaced_by_a_symlink_leading_outside_the_target_is_not_written_through() {
    let dir = Dir::new();
    dir.create("source/sub/secret.txt", "data\n");
    dir.mkdir("target/sub");
    dir.mkdir("elsewhere");
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
    dir.plan();
    // Between plan and apply, target/sub becomes a link to a folder outside.
    std::fs::remove_dir(dir.join("target/sub")).unwrap();
    std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join("target/sub")).unwrap();

    let out = dir.hsync(["apply", "plan.json"]).code(1);
    let cause = out.json()["failures"][0]["cause"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(says(&cause, "outside"), "{out}");
    assert_eq!(
        dir.tree("elsewhere"),
        Tree::default(),
        "a write went through the link"
    );
}

#[test]
fn a_plan_of_two_jobs_applies_each_job_whole() {
    let dir = Dir::new();
    for name in ["a", "b", "c"] {
        dir.create(&format!("one/{name}"), name);
    }
    dir.create("two/x", "x");
    dir.manifest(
        "[[job]]\nname = \"one\"\nsources = [\"one\"]\ntarget = \"out/one\"\nmode = \"update\"\n\
         [[job]]\nname = \"two\"\nsources = [\"two\"]\ntarget = \"out/two\"\nmode = \"update\"\n",
    );
    dir.plan();
    let summary = dir.apply();
    assert_eq!(summary["files_copied"], 4, "{summary}");
    assert_eq!(dir.tree("out/one"), dir.tree("one"));
    assert_eq!(dir.tree("out/two"), dir.tree("two"));
    dir.hsync(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn the_quick_start_applies_again_after_a_source_file_changes() {
    let dir = Dir::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart");
    for file in ["hsync.toml", "setup.sh"] {
        std::fs::copy(format!("{example}/{file}"), dir.join(file)).expect("the quick start");
    }
    let setup = std::process::Command::new("bash")
        .arg(dir.join("setup.sh"))
        .output()
        .expect("setup.sh runs");
    assert!(setup.status.success(), "{setup:?}");
    dir.plan();
    dir.apply();

    dir.create("data/source/first/2", "changed since the first run\n");
    dir.plan();
    let summary = dir.apply();
    assert_eq!(summary["files_copied"], 1, "{summary}");
    assert_eq!(
        dir.read("data/target/reports/2"),
        dir.read("data/source/first/2")
    );
    dir.hsync(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_wiped_target_is_copied_again_by_the_same_plan() {
    let dir = Dir::new();
    for path in ["a", "sub/b", "sub/deeper/c"] {
        dir.create(&format!("source/{path}"), path);
    }
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
    let first = dir.plan();
    dir.apply();
    std::fs::remove_dir_all(dir.join("target")).unwrap();

    let second = dir.plan();
    assert_eq!(first["fingerprint"], second["fingerprint"]);
    let out = dir.hsync(["apply", "plan.json"]).ok();
    let summary = out.json();
    assert_eq!(summary["files_copied"], 3, "{out}");
    assert_eq!(summary["dirs_created"], 2, "{out}");
    assert_eq!(summary["journal_check"]["missing"], 5, "{out}");
    assert_eq!(dir.tree("target"), dir.tree("source"));
    dir.hsync(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn applying_a_fully_applied_plan_again_says_when_and_checks_the_target_once_per_directory() {
    let dir = Dir::new();
    for path in ["a", "b", "sub/c", "sub/d", "other/e"] {
        dir.create(&format!("source/{path}"), path);
    }
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
    dir.plan();
    dir.apply();

    let out = dir.hsync(["apply", "plan.json"]).ok();
    let summary = out.json();
    assert!(
        says(&out.stderr, "this plan was applied completely at 20"),
        "{out}"
    );
    assert!(says(&out.stderr, "all in place"), "{out}");
    // Seven paths in three folders: the root, sub/ and other/.
    let check = &summary["journal_check"];
    assert_eq!(check["checked"], 7, "{out}");
    assert_eq!(check["missing"], 0, "{out}");
    assert_eq!(check["listings"], 3, "{out}");
    assert_eq!(summary["files_copied"], 0);

    // A file removed by hand is found missing and copied again.
    std::fs::remove_file(dir.join("target/sub/c")).unwrap();
    let summary = dir.apply();
    assert_eq!(summary["files_copied"], 1, "{summary}");
    assert_eq!(summary["journal_check"]["missing"], 1, "{summary}");
    assert_eq!(dir.tree("target"), dir.tree("source"));
}

/// stderr of an apply as a snapshot reads it: the check of the journal
/// first, then the log lines sorted (files finish in any order), then the
/// closing lines as printed.
fn log_view(stderr: &str) -> String {
    let (mut head, mut log, mut end) = (Vec::new(), Vec::new(), Vec::new());
    for line in stderr.lines() {
        if line.starts_with("apply ") || !end.is_empty() {
            end.push(line);
        } else if line.starts_with("this plan ") || line.starts_with("resuming ") {
            head.push(line);
        } else {
            log.push(line);
        }
    }
    log.sort();
    head.into_iter()
        .chain(log)
        .chain(end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn apply_prints_one_line_per_path_and_a_final_line() {
    let dir = Dir::new();
    update_job(&dir, "preserve = [\"times\"]");
    dir.create("source/first/sub/new", "new");
    dir.plan();
    let first = dir.hsync(["apply", "plan.json"]).ok();
    let again = dir.hsync(["apply", "plan.json"]).ok();
    std::fs::remove_file(dir.join("target/sub/new")).unwrap();
    let healed = dir.hsync(["apply", "plan.json"]).ok();

    let mut settings = dir.snapshot_settings();
    settings.add_filter(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "[TIME]");
    settings.add_filter(r"\d+\.\d+ ?s\b", "[DURATION]");
    let _guard = settings.bind_to_scope();
    let view = [&first, &again, &healed]
        .iter()
        .map(|out| log_view(&out.stderr))
        .collect::<Vec<_>>()
        .join("\n--- the same plan again ---\n");
    insta::assert_snapshot!("apply_log_lines", view);
}

#[test]
fn a_wiped_atomic_target_is_staged_and_published_again_by_the_same_plan() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.create("source/sub/b", "b");
    dir.mkdir("out");
    dir.manifest(&one_job(&["source"], "out/target", "commit = \"atomic\""));
    let first = dir.plan();
    dir.apply();
    std::fs::remove_dir_all(dir.join("out/target")).unwrap();

    assert_eq!(dir.plan()["fingerprint"], first["fingerprint"]);
    let out = dir.hsync(["apply", "plan.json"]).ok();
    assert_eq!(out.json()["files_copied"], 2, "{out}");
    assert!(
        out.stderr
            .contains(&format!("published {}", dir.join("out/target").display())),
        "{out}"
    );
    assert_eq!(
        dir.tree("out"),
        dir.tree("source").under("source").under("target")
    );
}
