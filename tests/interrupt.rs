//! SIGINT and SIGTERM during an apply: the first starts nothing new, lets
//! files in flight roll back, writes the summary, releases the lock and
//! exits 130; the same command then resumes. A second signal exits at once.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{noise, one_job, wait_bounded, Dir};

const FILES: usize = 16;

/// 16 files of 512 KiB at 4 MiB/s, 4 in flight: about two seconds.
fn throttled_job(dir: &Dir) {
    for i in 0..FILES {
        dir.create(
            &format!("source/d{}/f{i}", i % 2),
            noise(512 << 10, i as u64),
        );
    }
    let options = "mode = \"update\"\nparallel = 4\nbandwidth = \"4MiB/s\"";
    dir.manifest(&one_job(&["source"], "target", options));
    dir.plan();
}

/// Files at their final names below `root`.
fn landed(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(kind) if kind.is_dir() => landed(&e.path()),
            _ if e.file_name().to_string_lossy().contains(".hsync-tmp.") => 0,
            _ => 1,
        })
        .sum()
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Starts the apply and sends each of `signals` once two files have landed.
fn interrupted_apply(dir: &Dir, signals: &[&str]) -> std::process::ExitStatus {
    let mut child = dir
        .hsync(["apply", "--summary", "summary.json", "plan.json"])
        .spawn(dir, "apply");
    let started = Instant::now();
    while landed(&dir.join("target")) < 2 {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the apply ended before the signal:\n{}",
            dir.read_to_string("apply.stderr")
        );
        assert!(started.elapsed() < Duration::from_secs(30), "apply hangs");
        std::thread::sleep(Duration::from_millis(5));
    }
    for name in signals {
        signal(child.id(), name);
    }
    wait_bounded(&mut child, dir, "apply", Duration::from_secs(10))
}

fn stops_cleanly_and_resumes(signal: &str) {
    let dir = Dir::new();
    throttled_job(&dir);
    let status = interrupted_apply(&dir, &[signal]);
    let stderr = dir.read_to_string("apply.stderr");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.ends_with("interrupted: run the same command to resume\n"),
        "{stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&dir.read_to_string("apply.stdout")).expect("a JSON summary");
    assert_eq!(summary["outcome"], "interrupted", "{summary:#}");
    assert_eq!(
        dir.read_to_string("summary.json"),
        dir.read_to_string("apply.stdout")
    );
    let copied = summary["files_copied"].as_u64().unwrap();
    assert!(copied >= 2 && copied < FILES as u64, "{summary:#}");
    // Files in flight rolled back; the lock is released; what landed is whole.
    assert_eq!(dir.temp_leftovers("target"), Vec::<String>::new());
    let source = dir.tree("source");
    for (path, node) in &dir.tree("target").files().0 {
        assert_eq!(Some(node), source.0.get(path), "{path} is partial");
    }

    let out = dir.hsync(["apply", "plan.json"]).ok();
    let resumed = out.json();
    assert_eq!(
        resumed["files_already_done"].as_u64(),
        Some(copied),
        "{out}"
    );
    assert_eq!(dir.tree("target"), source);
}

#[test]
fn sigint_during_apply_rolls_back_files_in_flight_and_the_same_command_resumes() {
    stops_cleanly_and_resumes("INT");
}

#[test]
fn sigterm_during_apply_rolls_back_files_in_flight_and_the_same_command_resumes() {
    stops_cleanly_and_resumes("TERM");
}

#[test]
fn a_second_signal_exits_at_once() {
    let dir = Dir::new();
    throttled_job(&dir);
    // Both arrive together (the process is stopped while they are sent),
    // so the second meets a run still stopping.
    let status = interrupted_apply(&dir, &["STOP", "INT", "TERM", "CONT"]);
    let stderr = dir.read_to_string("apply.stderr");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted again: stopping at once"),
        "{stderr}"
    );
    // Whatever landed is whole, and the same command finishes the job (the
    // lock left behind names a process that is gone).
    let source = dir.tree("source");
    for (path, node) in &dir.tree("target").final_files().0 {
        assert_eq!(Some(node), source.0.get(path), "{path} is partial");
    }
    dir.hsync(["apply", "plan.json"]).ok();
    assert_eq!(dir.tree("target"), dir.tree("source"));
}
