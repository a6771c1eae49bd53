//! The YARN bed of `scripts/hdfs` (Hadoop 3): the map-only Hadoop Streaming
//! jobs `hsync apply --engine yarn` submits run there, one map per input
//! line (NLineInputFormat), the mapper shipped with `-files`, counters
//! reported on stderr and read back with `mapred job -counter`. Jobs go
//! through `HSYNC_MAPRED`, the launcher `scripts/hdfs env` names.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cluster::{cluster, unique_root};
use crate::util::Dir;

/// Three lines, so three maps; their byte offsets are 0, 6 and 13.
const INPUT: &str = "first\nsecond\nthird\n";

/// The `mapred` launcher on the YARN bed; its stdout and stderr. Panics
/// with both on failure.
fn mapred(args: &[&str]) -> (String, String) {
    let launcher = std::env::var("HSYNC_MAPRED").unwrap_or_else(|_| {
        panic!(
            "HSYNC_MAPRED is not set: these tests need the YARN bed of Hadoop 3's test \
             clusters. Run `HSYNC_HADOOP=3 scripts/hdfs start && eval \"$(scripts/hdfs env)\"` first."
        )
    });
    let out = Command::new(launcher)
        .args(args)
        .output()
        .expect("the mapred launcher runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "mapred {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// An executable shell script in `dir`, to ship with `-files`.
fn mapper(dir: &Dir, name: &str, body: &str) -> PathBuf {
    let path = dir.create(name, format!("#!/bin/sh\n{body}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Runs `mapper` over `INPUT` on cluster a, one map per line and no
/// reduce; the job's id and the output folder.
fn streaming_job_one_map_per_line(test: &str, mapper: &Path) -> (String, String) {
    let a = cluster("a");
    let root = unique_root(test);
    let dir = Dir::new();
    a.put(
        &dir.create("input.txt", INPUT),
        &format!("{root}/input.txt"),
    );
    let output = format!("{root}/output");
    let files = mapper.display().to_string();
    let name = mapper.file_name().expect("a file name").to_string_lossy();
    let (_, log) = mapred(&[
        "streaming",
        "-D",
        "mapreduce.input.lineinputformat.linespermap=1",
        // A slow map gets a second, speculative attempt otherwise (YARN's
        // default): two copies of one line's work at once.
        "-D",
        "mapreduce.map.speculative=false",
        "-files",
        &files,
        "-inputformat",
        "org.apache.hadoop.mapred.lib.NLineInputFormat",
        "-numReduceTasks",
        "0",
        "-input",
        &format!("{root}/input.txt"),
        "-output",
        &output,
        "-mapper",
        &name,
    ]);
    let job = log
        .lines()
        .find_map(|line| line.split_once("Running job: "))
        .map(|(_, job)| job.trim().to_string())
        .unwrap_or_else(|| panic!("no job id in the streaming log:\n{log}"));
    (job, output)
}

/// One counter of a finished job, from `mapred job -counter`.
fn counter(job: &str, group: &str, name: &str) -> u64 {
    let (stdout, _) = mapred(&["job", "-counter", job, group, name]);
    stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("counter {group} {name} of {job}: {stdout:?}"))
}

#[test]
fn hadoop3_yarn_runs_a_streaming_job_one_map_per_line() {
    let dir = Dir::new();
    // Echoes its stdin: what a mapper reads is the line's byte offset, a
    // tab and the line.
    let script = mapper(
        &dir,
        "echo-line.sh",
        "cat\necho reporter:counter:hsync,files,1 >&2\n",
    );
    let (job, output) = streaming_job_one_map_per_line("yarn-one-map-per-line", &script);
    let a = cluster("a");
    let parts: Vec<String> = a
        .paths(&output)
        .into_iter()
        .filter(|path| path.contains("/part-"))
        .collect();
    assert_eq!(parts.len(), 3, "one output file per map: {parts:?}");
    let mut lines: Vec<String> = parts.iter().map(|part| a.shell(&["-cat", part])).collect();
    lines.sort();
    assert_eq!(lines, ["0\tfirst\n", "13\tthird\n", "6\tsecond\n"]);
    assert_eq!(counter(&job, "hsync", "files"), 3);
    assert_eq!(
        counter(
            &job,
            "org.apache.hadoop.mapreduce.JobCounter",
            "TOTAL_LAUNCHED_MAPS"
        ),
        3
    );
}

#[test]
fn hadoop3_yarn_retries_a_map_whose_task_jvm_is_killed() {
    let dir = Dir::new();
    // The first attempt of the map that reads "second" kills its task JVM,
    // the mapper's parent, with SIGKILL.
    let script = mapper(
        &dir,
        "kill-first-attempt.sh",
        "read -r line\ncase \"$line:$mapreduce_task_attempt_id\" in\n  \
         *second*_0) kill -9 \"$PPID\"; sleep 5 ;;\nesac\n\
         echo \"$line\"\necho reporter:counter:hsync,files,1 >&2\n",
    );
    let (job, _) = streaming_job_one_map_per_line("yarn-kill-9", &script);
    let job_counter = "org.apache.hadoop.mapreduce.JobCounter";
    assert_eq!(counter(&job, job_counter, "NUM_FAILED_MAPS"), 1);
    assert_eq!(counter(&job, job_counter, "TOTAL_LAUNCHED_MAPS"), 4);
    assert_eq!(
        counter(&job, "hsync", "files"),
        3,
        "a failed attempt's counters do not count"
    );
}
