//! The distributed apply between the real clusters: `--engine local` on
//! both Hadoop versions (the run folder, the chunks' journals and reports on
//! the target HDFS), `--engine yarn` on Hadoop 3's YARN bed, where the
//! chunks are maps of a Hadoop Streaming job. Checked through FsShell.

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use crate::cluster::{cluster, clusters, clusters_in_use, unique_root, Cluster};
use crate::util::{noise, wait_bounded, Dir};

/// `files` small files over 10 folders in `ROOT/src` on a (and in `dir`'s
/// `src`), planned to `ROOT/TARGET` on b with times kept, acting on b as
/// `b_user` if given.
fn planned(
    dir: &Dir,
    root: &str,
    target: &str,
    files: usize,
    b_user: Option<&str>,
) -> (Cluster, Cluster) {
    let (a, b) = (cluster("a"), cluster("b"));
    if !dir.exists("src") {
        for i in 0..files {
            dir.create(
                &format!("src/d{}/f{i}", i % 10),
                noise(200 + i % 3000, i as u64),
            );
        }
        // Seeded by hsync (FsShell puts one file after another: minutes for
        // thousands); what lands is checked through FsShell.
        let seed = Dir::new();
        seed.manifest(&format!(
            "{}[[job]]\nname = \"seed\"\nsources = [{:?}]\ntarget = {:?}\nlayout = \"contents\"\n\
             parallel = 16\n",
            a.manifest_table(None),
            dir.join("src").display().to_string(),
            a.alias(&format!("{root}/src")),
        ));
        seed.plan();
        seed.apply();
    }
    dir.manifest(&format!(
        "{}[[job]]\nname = \"spread\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n\
         preserve = [\"times\"]\nparallel = 8\n",
        clusters(&a, &b, b_user),
        a.alias(&format!("{root}/src")),
        b.alias(&format!("{root}/{target}")),
    ));
    dir.plan();
    (a, b)
}

fn spread(dir: &Dir, engine: &str) -> crate::util::TestCommand {
    let mut command = dir.hsync([
        "apply",
        "plan.json",
        "--engine",
        engine,
        "--workers",
        "2",
        "--summary",
        "summary.json",
    ]);
    command.env_remove("HSYNC_DEBUG_KILL");
    command
}

/// The target holds the source tree, and nothing of hsync's own.
fn assert_landed(b: &Cluster, dir: &Dir, target: &str) {
    assert_eq!(b.tree(target, dir), dir.tree("src"), "{target}");
    let parent = target.rsplit_once('/').map_or("/", |(p, _)| p);
    let ours: Vec<_> = b
        .paths(parent)
        .into_iter()
        .filter(|p| p.contains(".hsync-tmp."))
        .collect();
    assert!(ours.is_empty(), "left on the target: {ours:?}");
    dir.hsync(["plan", "--detailed-exitcode"]).ok();
}

#[test]
fn a_distributed_apply_between_clusters_journals_its_chunks_on_the_target() {
    let _clusters = clusters_in_use();
    let root = unique_root("spread-local");
    let dir = Dir::new();
    let (_, b) = planned(&dir, &root, "dst", 200, None);
    let out = spread(&dir, "local").ok();
    let summary = out.json();
    assert_eq!(summary["outcome"], "success", "{out}");
    assert_eq!(summary["files_copied"], 200, "{out}");
    let chunks = summary["chunks"].as_array().map_or(0, Vec::len);
    assert!((8..=10).contains(&chunks), "about 4 a worker: {out}");
    assert_landed(&b, &dir, &format!("{root}/dst"));
}

/// The YARN bed's launcher, as `scripts/hdfs env` exports it.
fn yarn_bed() {
    assert!(
        std::env::var_os("HSYNC_MAPRED").is_some(),
        "HSYNC_MAPRED is not set: these tests need Hadoop 3's YARN bed (scripts/hdfs start)"
    );
}

#[test]
fn hadoop3_a_yarn_apply_of_two_workers_gives_the_tree_a_single_apply_gives() {
    yarn_bed();
    let _clusters = clusters_in_use();
    let root = unique_root("spread-yarn");
    let (single, yarn) = (Dir::new(), Dir::new());
    let (_, b) = planned(&single, &root, "single", 2000, None);
    single.apply();
    std::fs::rename(single.join("src"), yarn.join("src")).expect("move the local tree");
    planned(&yarn, &root, "yarn", 2000, None);
    let out = spread(&yarn, "yarn").ok();
    let summary = out.json();
    assert_eq!(summary["outcome"], "success", "{out}");
    assert_eq!(summary["files_copied"], 2000, "{out}");
    let chunks = summary["chunks"].as_array().expect("chunks");
    // About 4 a worker (a job's end or a big file closes one early).
    assert!((8..=10).contains(&chunks.len()), "{out}");
    assert!(chunks
        .iter()
        .all(|c| c["host"].as_str().is_some_and(|h| !h.is_empty())));
    assert!(
        out.stderr.contains("Running job: job_"),
        "submitted to YARN:\n{out}"
    );
    assert_eq!(
        b.tree(&format!("{root}/yarn"), &yarn),
        b.tree(&format!("{root}/single"), &yarn)
    );
    assert_landed(&b, &yarn, &format!("{root}/yarn"));
}

#[test]
fn hadoop3_a_yarn_worker_killed_in_its_chunk_is_retried_by_yarn() {
    yarn_bed();
    let _clusters = clusters_in_use();
    let root = unique_root("spread-yarn-kill");
    let dir = Dir::new();
    let (_, b) = planned(&dir, &root, "dst", 400, None);
    let marker = dir.join("killed");
    let out = spread(&dir, "yarn")
        .env(
            "HSYNC_DEBUG_KILL",
            &format!("copied-20:{}", marker.display()),
        )
        .ok();
    assert!(marker.exists(), "no worker was killed:\n{out}");
    let summary = out.json();
    assert_eq!(summary["outcome"], "success", "{out}");
    let done =
        summary["files_copied"].as_u64().unwrap() + summary["files_already_done"].as_u64().unwrap();
    assert_eq!(done, 400, "{summary}");
    assert_landed(&b, &dir, &format!("{root}/dst"));
}

#[test]
fn hadoop3_a_yarn_apply_killed_while_its_job_runs_resumes_with_the_same_command() {
    yarn_bed();
    let _clusters = clusters_in_use();
    let root = unique_root("spread-yarn-resume");
    let dir = Dir::new();
    let (_, b) = planned(&dir, &root, "dst", 400, None);
    let mut child = spread(&dir, "yarn").spawn(&dir, "first");
    // Killed once its job is submitted: the job may run on, and the next
    // run kills it before it submits its own.
    let started = Instant::now();
    while !dir
        .read_to_string("first.stderr")
        .contains("Running job: job_")
    {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "{}",
            dir.read_to_string("first.stderr")
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no job submitted"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().expect("SIGKILL");
    assert_eq!(child.wait().expect("reaped").signal(), Some(9));
    let mut again = spread(&dir, "yarn").spawn(&dir, "second");
    let status = wait_bounded(&mut again, &dir, "second", Duration::from_secs(300));
    assert!(status.success(), "{}", dir.read_to_string("second.stderr"));
    assert_landed(&b, &dir, &format!("{root}/dst"));
}

#[test]
fn hadoop3_a_yarn_chunk_the_namenode_refuses_leaves_the_others_to_finish_and_resumes_once_allowed()
{
    yarn_bed();
    let _clusters = clusters_in_use();
    let root = unique_root("spread-yarn-refused");
    let dir = Dir::new();
    // mallory owns the target root, but not its d9: the NameNode refuses
    // her every file there, which the last chunks hold.
    let b = cluster("b");
    let dst = format!("{root}/dst");
    b.shell(&["-mkdir", "-p", &format!("{dst}/d9")]);
    b.shell(&["-chmod", "777", &root]);
    b.shell(&["-chown", "mallory", &dst]);
    planned(&dir, &root, "dst", 400, Some("mallory"));

    let out = spread(&dir, "yarn").code(1);
    let summary = out.json();
    assert_eq!(summary["outcome"], "failed", "{out}");
    let failures = summary["failures"].as_array().unwrap();
    assert!(!failures.is_empty(), "{summary}");
    for failure in failures {
        let cause = failure["cause"].as_str().unwrap_or_default();
        assert!(
            failure["path"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{dst}/d9")),
            "{failure}"
        );
        assert!(cause.contains("Permission denied"), "{failure}");
    }
    let chunks = summary["chunks"].as_array().unwrap();
    let complete = chunks.iter().filter(|c| c["complete"] == true).count();
    assert!(
        (1..=2).contains(&(chunks.len() - complete)),
        "only the chunks that hold d9 stop: {summary}"
    );
    for folder in 0..8 {
        assert_eq!(
            b.tree(&format!("{dst}/d{folder}"), &dir),
            dir.tree(&format!("src/d{folder}")),
            "d{folder}: its chunks finished"
        );
    }

    // Allowed, the same command copies what was not copied, and only that.
    b.shell(&["-chown", "mallory", &format!("{dst}/d9")]);
    let again = spread(&dir, "yarn").ok().json();
    assert_eq!(again["outcome"], "success", "{again}");
    assert_eq!(
        again["files_copied"].as_u64().unwrap() + summary["files_copied"].as_u64().unwrap(),
        400,
        "no file copied twice: {again}"
    );
    assert_landed(&b, &dir, &dst);
}

#[test]
fn hadoop3_spark_standalone_runs_the_chunks_through_the_examples_driver() {
    let (Some(submit), Some(master)) = (
        std::env::var_os("HSYNC_TEST_SPARK_SUBMIT"),
        std::env::var_os("HSYNC_TEST_SPARK_MASTER"),
    ) else {
        panic!("HSYNC_TEST_SPARK_SUBMIT is not set: this test needs the Spark bed (scripts/spark start)");
    };
    let _clusters = clusters_in_use();
    let root = unique_root("spread-spark");
    let dir = Dir::new();
    let (_, b) = planned(&dir, &root, "dst", 400, None);
    let driver = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/engines/spark/hsync_spark.py"
    );
    let command = format!(
        "{} --master {} --deploy-mode client --conf spark.ui.enabled=false \
         --conf spark.task.maxFailures=4 {driver}",
        submit.to_string_lossy(),
        master.to_string_lossy(),
    );
    let out = spread(&dir, "command")
        .args(["--engine-command", &command])
        .ok();
    let summary = out.json();
    assert_eq!(summary["outcome"], "success", "{out}");
    assert_eq!(summary["files_copied"], 400, "{out}");
    assert!(
        out.stderr.contains("chunks done with up to 2 workers"),
        "the driver ran them:\n{out}"
    );
    assert_landed(&b, &dir, &format!("{root}/dst"));
}
