//! A real `kill -9` in the middle of an apply: no reader ever sees a partial
//! file at its final path, and running the same apply again finishes the job
//! without redoing what the journal says is done.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{journal_marks_once, noise, one_job, says, Dir};

const FOLDERS: [&str; 3] = ["a", "b", "c"];
const FILES_PER_FOLDER: u64 = 8;
const FILES: usize = 24;
const FILE_SIZE: usize = 512 << 10;

/// 24 files of 512 KiB under a 4 MiB/s cap with 4 transfers in flight: an
/// apply takes about three seconds. The plan is made, the apply started and
/// killed with SIGKILL once some, not all, files are in place.
fn killed_apply(dir: &Dir) {
    for (f, folder) in FOLDERS.iter().enumerate() {
        for i in 0..FILES_PER_FOLDER {
            let seed = f as u64 * FILES_PER_FOLDER + i;
            dir.create(&format!("source/{folder}/f{i}"), noise(FILE_SIZE, seed));
        }
    }
    let options = "mode = \"update\"\npreserve = [\"times\"]\nparallel = 4\nbandwidth = \"4MiB/s\"";
    dir.manifest(&one_job(&["source"], "target", options));
    dir.plan();
    kill_when_landed(dir, "target", 4);
}

/// Runs `hsync apply plan.json` and kills it with SIGKILL as soon as
/// `landed` files are at their final names below `watch`.
fn kill_when_landed(dir: &Dir, watch: &str, landed: usize) {
    let mut child = dir.hsync(["apply", "plan.json"]).spawn(dir, "killed");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait on hsync") {
            panic!(
                "the apply ended ({status}) before it could be killed:\n{}",
                dir.read_to_string("killed.stderr")
            );
        }
        assert!(started.elapsed() < Duration::from_secs(60), "apply hangs");
        if final_files(&dir.join(watch)) >= landed {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap hsync");
}

/// Files at their final names below `root`, counted while hsync writes.
fn final_files(root: &Path) -> usize {
    let Ok(entries) = fs::read_dir(root) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => final_files(&entry.path()),
            Ok(_) if !entry.file_name().to_string_lossy().contains(".hsync-tmp.") => 1,
            _ => 0,
        })
        .sum()
}

#[test]
fn resume_after_kill_9_from_the_ordinal_journal_finishes_without_partial_files() {
    let dir = Dir::new();
    killed_apply(&dir);
    let source = dir.tree("source");
    let plan = dir.plan_json("plan.json");
    let fingerprint = plan["fingerprint"].as_str().unwrap().to_string();
    let journal = format!(".hsync/{fingerprint}/shard-0.jsonl");

    // The journal names each step once, by the ordinal of its action in
    // the plan: each copy it says is done is at its final path.
    let marks = journal_marks_once(&dir.join(&journal));
    let actions = plan["jobs"][0]["actions"].as_array().unwrap();
    for (step, mark) in &marks {
        let parts: Vec<&str> = step.split('/').collect();
        if let ["0", ordinal, "copy"] = parts[..] {
            let action = &actions[ordinal.parse::<usize>().unwrap()];
            assert_eq!(action["op"], "copy", "{step}");
            let path = format!("target/{}", action["path"].as_str().unwrap());
            assert!(
                mark != "done" || dir.exists(&path),
                "{step} is done, {path} is not there"
            );
        }
    }

    // Whatever is at a final path is whole.
    let landed = dir.tree("target").files();
    let landed: Vec<_> = landed
        .0
        .iter()
        .filter(|(path, _)| !path.contains(".hsync-tmp."))
        .collect();
    assert!(!landed.is_empty() && landed.len() < FILES, "{landed:?}");
    for (path, node) in &landed {
        assert_eq!(Some(*node), source.0.get(*path), "{path} is partial");
    }

    let out = dir
        .hsync(["apply", "--summary", "resumed.json", "plan.json"])
        .ok();
    let summary = out.json();
    assert_eq!(dir.tree("target"), source, "{out}");
    assert_eq!(dir.temp_leftovers("target"), Vec::<String>::new());
    let already_done = summary["files_already_done"].as_u64().unwrap();
    let copied = summary["files_copied"].as_u64().unwrap();
    assert!(already_done > 0, "nothing was resumed: {summary}");
    assert!(
        already_done >= landed.len() as u64,
        "a landed file was copied again: {summary}"
    );
    assert_eq!(already_done + copied, FILES as u64, "{summary}");

    // The finished run's journal is pruned: the plan is named finished.
    assert!(
        !dir.exists(&journal),
        "the journal outlived the finished run"
    );
    assert!(dir
        .read_to_string(".hsync/finished.jsonl")
        .contains(&fingerprint));

    // Times were preserved on resumed files too: nothing is left to do.
    dir.hsync(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn replanning_after_a_kill_leaves_no_temp_files_behind() {
    let dir = Dir::new();
    killed_apply(&dir);
    assert!(
        !dir.temp_leftovers("target").is_empty(),
        "the kill left no temporary file to clean up"
    );

    dir.hsync(["plan", "-o", "plan.json"]).ok();
    dir.apply();
    assert_eq!(dir.temp_leftovers("target"), Vec::<String>::new());
    assert_eq!(dir.tree("target"), dir.tree("source"));
}

/// 12 files of 256 KiB, committed atomically into `out/target` at 4 MiB/s.
fn atomic_job(dir: &Dir) {
    for i in 0..12 {
        dir.create(&format!("source/f{i}"), noise(256 << 10, i));
    }
    dir.mkdir("out");
    let options = "commit = \"atomic\"\nparallel = 4\nbandwidth = \"4MiB/s\"";
    dir.manifest(&one_job(&["source"], "out/target", options));
    dir.plan();
}

#[test]
fn atomic_commit_resumes_after_kill_9_and_publishes_once() {
    let dir = Dir::new();
    atomic_job(&dir);
    // Files land in the staging folder beside the target.
    kill_when_landed(&dir, "out", 3);
    assert!(!dir.exists("out/target"), "a partial target was published");

    let summary = dir.apply();
    assert!(
        summary["files_already_done"].as_u64().unwrap() >= 3,
        "{summary}"
    );
    // out/ holds the whole target and nothing else: no staging left.
    let expected = dir.tree("source").under("source").under("target");
    assert_eq!(dir.tree("out"), expected);
}

#[test]
fn atomic_publish_interrupted_before_its_journal_record_resumes_cleanly() {
    let dir = Dir::new();
    atomic_job(&dir);
    let plan = dir.plan_json("plan.json");
    dir.apply();
    // The state a crash right after the publish rename leaves: the target
    // is in place, the journal has its copies but not the publish.
    let copies: Vec<String> = crate::util::actions(&plan, 0)
        .iter()
        .filter_map(|a| {
            a.strip_prefix("copy ")
                .map(|p| p.split(' ').next().unwrap().to_string())
        })
        .collect();
    let marks: Vec<(&str, &str)> = copies.iter().map(|p| (p.as_str(), "done")).collect();
    crate::util::journal_of_copies(&dir, &plan, &marks);

    let out = dir.hsync(["apply", "plan.json"]).output();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.json()["files_already_done"], copies.len(), "{out}");
    assert_eq!(dir.temp_leftovers("out"), Vec::<String>::new());
    assert_eq!(dir.tree("out/target"), dir.tree("source").under("source"));
}

#[test]
fn a_resumed_apply_copies_again_what_the_journal_has_but_the_target_lost() {
    let dir = Dir::new();
    killed_apply(&dir);
    // One landed file is removed, and so is every waiting temporary file.
    let landed = dir.tree("target").final_files();
    let (lost, _) = landed.0.iter().next().expect("a landed file");
    std::fs::remove_file(dir.join(&format!("target/{lost}"))).unwrap();
    for temp in dir.temp_leftovers("target") {
        std::fs::remove_file(dir.join(&format!("target/{temp}"))).unwrap();
    }

    let out = dir.hsync(["apply", "plan.json"]).ok();
    let summary = out.json();
    assert_eq!(dir.tree("target"), dir.tree("source"), "{out}");
    assert!(says(&out.stderr, "resuming an interrupted apply"), "{out}");
    // One listing per folder the journal names: the three folders and the root.
    let check = &summary["journal_check"];
    assert!(check["listings"].as_u64().unwrap() <= 4, "{out}");
    assert!(check["missing"].as_u64().unwrap() >= 1, "{out}");
    let copied = summary["files_copied"].as_u64().unwrap();
    let done = summary["files_already_done"].as_u64().unwrap();
    assert_eq!(copied + done, FILES as u64, "{out}");
    assert!(
        done < landed.0.len() as u64,
        "the lost file counted done: {out}"
    );
}

#[test]
fn a_committing_copy_whose_temporary_file_is_gone_is_copied_again() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.create("source/b", "b");
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
    let plan = dir.plan();
    dir.apply();
    // The journal as a crash between the committing mark and the rename
    // leaves it, with the temporary file lost since.
    crate::util::journal_of_copies(&dir, &plan, &[("a", "committing"), ("b", "done")]);
    std::fs::remove_file(dir.join("target/a")).unwrap();

    let summary = dir.apply();
    assert_eq!(summary["files_copied"], 1, "{summary}");
    assert_eq!(summary["files_already_done"], 1, "{summary}");
    assert_eq!(dir.tree("target"), dir.tree("source"));
}

#[test]
fn a_new_plan_lists_and_removes_a_killed_atomic_applys_staging_folder() {
    let dir = Dir::new();
    atomic_job(&dir);
    let killed = dir.plan_json("plan.json");
    kill_when_landed(&dir, "out", 3);
    let tag = &killed["fingerprint"].as_str().unwrap()[..16];
    let staging = format!("out/.target.hsync-tmp.{tag}");
    assert!(dir.exists(&staging), "the kill left no staging folder");

    let out = dir.hsync(["plan", "-o", "plan.json"]).ok();
    let line = format!("- {}/", dir.join(&staging).display());
    assert!(
        out.stderr.contains(&line) && says(&out.stderr, "leftover of an interrupted atomic apply"),
        "{out}"
    );
    let plan = dir.plan_json("plan.json");
    assert_eq!(
        plan["jobs"][0]["leftover_staging"],
        serde_json::json!([tag])
    );

    let summary = dir.apply();
    assert_eq!(summary["dirs_deleted"], 1, "{summary}");
    // out/ holds the whole target and nothing else.
    let expected = dir.tree("source").under("source").under("target");
    assert_eq!(dir.tree("out"), expected);
}

#[test]
fn a_plan_naming_anything_but_a_staging_tag_outside_the_root_is_refused() {
    let dir = Dir::new();
    atomic_job(&dir);
    kill_when_landed(&dir, "out", 1);
    dir.plan();
    let text = dir.read_to_string("plan.json");
    let plan = dir.plan_json("plan.json");
    let tag = plan["jobs"][0]["leftover_staging"][0]
        .as_str()
        .expect("a tag");
    dir.mkdir("victim");
    for crafted in ["../victim", "lock", "0123456789ABCDEF"] {
        let text = text.replace(&format!("\"{tag}\""), &format!("\"{crafted}\""));
        dir.create("plan.json", crate::util::reseal(&text));
        let out = dir.hsync(["apply", "plan.json"]).code(1);
        assert!(says(&out.stderr, "leftover_staging"), "{crafted}: {out}");
    }
    assert!(dir.exists("victim"));
}

#[test]
fn a_copy_renamed_before_its_done_mark_was_lost_counts_as_done_in_the_next_run() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.create("source/b", "b");
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
    let plan = dir.plan();
    dir.apply();
    // A kill after the rename, before the noted `done` was written.
    let journal =
        crate::util::journal_of_copies(&dir, &plan, &[("a", "committing"), ("b", "done")]);

    let summary = dir.apply();
    assert_eq!(summary["files_already_done"], 2, "{summary}");
    assert_eq!(summary["files_copied"], 0, "{summary}");
    assert!(
        !dir.exists(&journal),
        "the finished run's journal is pruned"
    );
}

#[test]
fn a_finished_runs_journal_is_pruned_to_one_line_that_applying_again_trusts_only_after_a_check() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.create("source/sub/b", "b");
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
    let plan = dir.plan();
    let fingerprint = plan["fingerprint"].as_str().unwrap();
    dir.apply();
    let state: Vec<String> = std::fs::read_dir(dir.join(".hsync"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(state, ["finished.jsonl"]);
    assert_eq!(
        dir.read_to_string(".hsync/finished.jsonl").lines().count(),
        1
    );
    assert!(dir
        .read_to_string(".hsync/finished.jsonl")
        .contains(fingerprint));

    // The line says everything was done; the target still has the say.
    std::fs::remove_file(dir.join("target/sub/b")).unwrap();
    let summary = dir.apply();
    assert_eq!(summary["journal_check"]["missing"], 1, "{summary}");
    assert_eq!(summary["files_copied"], 1, "{summary}");
    assert_eq!(dir.tree("target"), dir.tree("source"));
    assert_eq!(
        dir.read_to_string(".hsync/finished.jsonl").lines().count(),
        2
    );
    assert!(!dir.exists(&format!(".hsync/{fingerprint}")));
}

/// The model test's case: a plan made again of trees that look the same is
/// the same plan, which `finished.jsonl` says was applied; a file left in
/// place (skip mode) touched in the target since must still get the
/// source's times back, and a folder its own.
#[test]
fn a_finished_plan_applied_again_sets_again_the_attributes_changed_since() {
    let dir = Dir::new();
    dir.create_at("source/sub/a", "a", 1_700_000_000);
    dir.manifest(&one_job(
        &["source"],
        "target",
        "mode = \"skip\"\npreserve = [\"times\"]",
    ));
    dir.plan();
    dir.apply();
    dir.set_mtime("source/sub/a", 1_700_000_100);
    dir.set_mtime("source/sub", 1_700_000_200);
    let plan = dir.plan();
    dir.apply();
    assert_eq!(dir.mtime_ms("target/source/sub/a"), 1_700_000_100_000);

    dir.set_mtime("target/source/sub/a", 1_700_000_050);
    dir.set_mtime("target/source/sub", 1_700_000_060);
    assert_eq!(
        dir.plan()["fingerprint"],
        plan["fingerprint"],
        "the same plan"
    );
    let summary = dir.apply();
    assert_eq!(summary["journal_check"]["missing"], 2, "{summary}");
    assert_eq!(dir.mtime_ms("target/source/sub/a"), 1_700_000_100_000);
    assert_eq!(dir.mtime_ms("target/source/sub"), 1_700_000_200_000);
    dir.hsync(["plan", "--detailed-exitcode", "-o", "again.json"])
        .code(0);
}
