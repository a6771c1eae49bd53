//! Faults provoked for real on the local filesystem: `kill -9` at many
//! moments of one apply, and a source that grows while it is copied. After
//! each, no reader sees a partial or unplanned file at a final path, and
//! running the same apply again (or planning again) finishes the job.

use std::fs::OpenOptions;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::util::{journal_marks_once, noise, one_job, wait_bounded, Dir, Node, Tree};

/// How long any single apply of these tests may take before it counts as hung.
const HANG: Duration = Duration::from_secs(90);

/// Lines of the plan's journal so far (0 before it exists).
fn journal_lines(dir: &Dir, journal: &str) -> usize {
    std::fs::read_to_string(dir.join(journal)).map_or(0, |text| text.lines().count())
}

const FOLDERS: [&str; 3] = ["logs", "logs/2024", "images"];
const FILES: usize = 60;
const KILLS: usize = 20;

/// 60 files from 1 KiB to 1 MiB (log-spread, about 9 MiB in all), big and
/// small interleaved across three folders.
fn varied_source(dir: &Dir) {
    for i in 0..FILES {
        // The i-th size of a geometric series from 1 KiB to 1 MiB, placed out of order.
        let rank = (i * 37) % FILES;
        let size = (1024.0 * 1024f64.powf(rank as f64 / (FILES - 1) as f64)) as usize;
        let folder = FOLDERS[i % FOLDERS.len()];
        dir.create(&format!("source/{folder}/f{i:02}"), noise(size, i as u64));
    }
}

#[test]
fn kill_9_at_varied_moments_twenty_times_ends_with_target_equal_to_source() {
    let dir = Dir::new();
    varied_source(&dir);
    // About 4.5 s for the whole apply: each killed run gets a slice of it.
    let options = "mode = \"update\"\npreserve = [\"times\"]\nparallel = 4\nbandwidth = \"2MiB/s\"";
    dir.manifest(&one_job(&["source"], "target", options));
    let plan = dir.plan();
    let fingerprint = plan["fingerprint"].as_str().expect("a fingerprint");
    let journal = format!(".hsync/{fingerprint}/shard-0.jsonl");
    let source = dir.tree("source");

    let (mut killed_running, mut landed) = (0, Tree::default());
    for i in 0..KILLS {
        // Varied moments: right after the start (before the lock, while
        // listing), or once the journal has grown by 1 to 3 records, then
        // a jitter of up to 0.25 s that lands mid-transfer, mid-close or
        // between a journal record and the rename it announces.
        let wait_records = i % 4;
        let jitter = Duration::from_millis(((i * 37) % 250) as u64);
        let name = format!("killed-{i}");
        let before = journal_lines(&dir, &journal);
        let mut child = dir.hsync(["apply", "plan.json"]).spawn(&dir, &name);
        let started = Instant::now();
        let mut exited = None;
        while journal_lines(&dir, &journal) < before + wait_records {
            if let Some(status) = child.try_wait().expect("wait on hsync") {
                exited = Some(status);
                break;
            }
            assert!(started.elapsed() < HANG, "run {i} journals nothing");
            std::thread::sleep(Duration::from_millis(2));
        }
        if exited.is_none() {
            std::thread::sleep(jitter);
            exited = child.try_wait().expect("wait on hsync");
        }
        match exited {
            None => {
                child.kill().expect("SIGKILL");
                child.wait().expect("reap hsync");
                killed_running += 1;
            }
            // It finished first: then it must have succeeded.
            Some(status) => assert!(
                status.success(),
                "run {i} ended on its own with {status}:\n{}",
                dir.read_to_string(&format!("{name}.stderr"))
            ),
        }

        // Whatever is at a final path is whole and is the source's content.
        landed = dir.tree("target").final_files();
        for (path, node) in &landed.0 {
            assert_eq!(
                Some(node),
                source.0.get(path),
                "after kill {i} ({wait_records} records + {jitter:?}), {path} is partial or foreign"
            );
        }
    }
    assert!(
        killed_running >= KILLS / 2,
        "only {killed_running} of {KILLS} kills hit a running apply"
    );
    assert!(
        landed.0.len() < FILES,
        "the killed runs finished the job: nothing left to resume"
    );

    // Across the 20 killed runs, no step is journaled done twice and no
    // copy committing twice.
    let text = dir.read_to_string(&journal);
    assert!(text.ends_with('\n'), "the journal ends in a torn record");
    journal_marks_once(&dir.join(&journal));

    let out = dir
        .hsync(["apply", "--summary", "final.json", "plan.json"])
        .output();
    assert_eq!(out.code, 0, "the final apply failed:\n{out}");
    let summary = out.json();
    assert_eq!(summary["outcome"], "success", "{summary:#}");
    assert_eq!(dir.tree("target"), source, "{out}");
    assert_eq!(dir.temp_leftovers("target"), Vec::<String>::new());
    assert!(
        !dir.exists("target/.hsync-tmp.lock"),
        "the lock outlived the apply"
    );
    let already_done = summary["files_already_done"].as_u64().unwrap();
    let copied = summary["files_copied"].as_u64().unwrap();
    assert_eq!(already_done + copied, FILES as u64, "{summary:#}");
    assert!(
        already_done >= landed.0.len() as u64,
        "a file in place after the last kill was copied again: {summary:#}"
    );

    assert!(
        !dir.exists(&journal),
        "the finished run's journal is pruned"
    );

    // Times landed too, on files of every run: nothing is left to do.
    dir.hsync(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_source_that_grows_while_being_copied_is_not_committed() {
    let dir = Dir::new();
    const SIZE: usize = 8 << 20;
    dir.create("source/big.bin", noise(SIZE, 7));
    dir.mkdir("target");
    let options = "mode = \"update\"\nparallel = 1\nbandwidth = \"2MiB/s\"";
    dir.manifest(&one_job(&["source"], "target", options));
    let plan = dir.plan();
    let tag: String = plan["fingerprint"]
        .as_str()
        .expect("a fingerprint")
        .chars()
        .take(16)
        .collect();
    let temp = format!("target/.big.bin.hsync-tmp.{tag}");

    // Once a first MiB is in the temporary file, a writer appends to the source.
    let mut child = dir.hsync(["apply", "plan.json"]).spawn(&dir, "apply");
    let started = Instant::now();
    while std::fs::metadata(dir.join(&temp)).map_or(0, |m| m.len()) < 1 << 20 {
        assert!(
            child.try_wait().expect("wait on hsync").is_none(),
            "the apply ended before the source grew:\n{}",
            dir.read_to_string("apply.stderr")
        );
        assert!(started.elapsed() < HANG, "no temporary file for big.bin");
        std::thread::sleep(Duration::from_millis(5));
    }
    OpenOptions::new()
        .append(true)
        .open(dir.join("source/big.bin"))
        .and_then(|mut f| f.write_all(&noise(4096, 8)))
        .expect("append to the source");

    let status = wait_bounded(&mut child, &dir, "apply", HANG);
    let stdout = dir.read_to_string("apply.stdout");
    let stderr = dir.read_to_string("apply.stderr");
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON summary");
    assert_eq!(summary["outcome"], "failed", "{summary:#}");
    assert_eq!(summary["files_stale"], 1, "{summary:#}");
    assert_eq!(summary["files_failed"], 0, "{summary:#}");
    let failures = summary["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{summary:#}");
    assert_eq!(failures[0]["kind"], "stale");
    let target = dir.join("target/big.bin").display().to_string();
    assert_eq!(failures[0]["path"], target.as_str());
    assert!(
        stderr.contains("run `hsync plan` again"),
        "no hint to plan again:\n{stderr}"
    );
    // Not committed, and nothing left half-written.
    assert!(
        !dir.exists("target/big.bin"),
        "a grown source was committed"
    );
    assert_eq!(dir.temp_leftovers("target"), Vec::<String>::new());

    // A new plan sees the grown file and copies it whole.
    dir.plan();
    assert_eq!(dir.apply()["outcome"], "success");
    let grown = dir.read("source/big.bin");
    assert_eq!(grown.len(), SIZE + 4096);
    assert_eq!(
        dir.tree("target").0.get("big.bin"),
        Some(&Node::File(
            grown.len() as u64,
            blake3::hash(&grown).to_hex()[..16].to_string()
        ))
    );
    assert_eq!(dir.tree("target"), dir.tree("source"));
}
