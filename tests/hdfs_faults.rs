//! Faults provoked for real on the HDFS test clusters of `scripts/hdfs`:
//! a user the NameNode refuses (AccessControlException, as for any
//! non-superuser under SIMPLE auth), and cluster b's only DataNode stopped in
//! the middle of a copy. Every result is checked through Hadoop's FsShell.
//!
//! Stopping the DataNode breaks every write to cluster b meanwhile, so the
//! tests here that use b share [`clusters_in_use`] and the outage takes it
//! exclusively; another test that writes to b concurrently should hold
//! [`clusters_in_use`] too.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::cluster::{cluster, clusters, clusters_in_use, outage, script, unique_root, Cluster};
use crate::util::{journal_marks_once, noise, wait_bounded, Dir, Node, Tree};

/// How long an apply may take before it counts as hung.
const HANG: Duration = Duration::from_secs(180);

/// hsync's temporary names among `paths`.
fn temps<'a>(paths: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
    paths
        .into_iter()
        .filter(|p| p.contains(".hsync-tmp."))
        .collect()
}

/// A job that mallory, acting on cluster b under SIMPLE auth, runs into a
/// target root mallory owns, except for the folders `locked`: they exist on
/// b beforehand, owned by the superuser with mode 755, so the NameNode
/// refuses mallory anything inside them. Files below a `locked` folder hold
/// 64 KiB, the others 256 KiB.
struct Refused {
    b: Cluster,
    root: String,
    dir: Dir,
}

impl Refused {
    fn new(test: &str, locked: &[&str], files: &[&str], parallel: usize) -> Refused {
        let (a, b) = (cluster("a"), cluster("b"));
        let root = unique_root(test);
        let dir = Dir::new();
        for (i, path) in files.iter().enumerate() {
            let size = if locked.iter().any(|l| path.starts_with(&format!("{l}/"))) {
                64 << 10
            } else {
                256 << 10
            };
            dir.create(&format!("src/{path}"), noise(size, 100 + i as u64));
        }
        a.put(&dir.join("src"), &format!("{root}/src"));
        let dst = format!("{root}/dst");
        let folders: Vec<String> = locked.iter().map(|l| format!("{dst}/{l}")).collect();
        let mut mkdir = vec!["-mkdir", "-p", dst.as_str()];
        mkdir.extend(folders.iter().map(String::as_str));
        b.shell(&mkdir);
        // The lock file goes beside the target root: mallory may write there.
        b.shell(&["-chmod", "777", &root]);
        b.shell(&["-chown", "mallory", &dst]);
        dir.manifest(&format!(
            "{}[[job]]\nname = \"refused\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n\
             parallel = {parallel}\nbandwidth = \"1MiB/s\"\n",
            clusters(&a, &b, Some("mallory")),
            a.alias(&format!("{root}/src")),
            b.alias(&dst),
        ));
        dir.plan();
        Refused { b, root, dir }
    }

    fn dst(&self, path: &str) -> String {
        format!("{}/dst/{path}", self.root)
    }

    /// The files on b at their final names, with their contents.
    fn landed(&self) -> Tree {
        self.b.tree(&self.dst(""), &self.dir).final_files()
    }

    /// Whether a failure names `path` and says the NameNode refused mallory.
    fn refused(&self, failure: &serde_json::Value, path: &str) -> bool {
        let cause = failure["cause"].as_str().unwrap_or_default();
        failure["path"] == self.dst(path).as_str()
            && failure["kind"] == "failed"
            && cause.contains("Permission denied")
            && cause.contains("user=mallory")
    }
}

#[test]
fn permission_denied_fails_fast_and_the_summary_says_what_was_not_done() {
    let _clusters = clusters_in_use();
    // The first failure comes at once: a metadata call (the mkdir of
    // a-locked/new), not queued behind the two transfer slots, while each
    // of ten files takes a quarter second at the cap. Fail-fast lets the
    // two files in flight commit and starts no other.
    let files: Vec<String> = std::iter::once("a-locked/new/f0".to_string())
        .chain((0..10).map(|i| format!("g{i:02}")))
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let t = Refused::new("refused-fail-fast", &["a-locked"], &files, 2);
    let open = &files[1..];

    let out = t.dir.hsync(["apply", "plan.json"]).code(1);
    let summary = out.json();
    assert_eq!(summary["outcome"], "failed", "{summary:#}");
    let failures = summary["failures"].as_array().expect("failures");
    let failed: Vec<_> = failures.iter().filter(|f| f["kind"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{summary:#}");
    assert!(t.refused(failed[0], "a-locked/new"), "{summary:#}");

    let copied = summary["files_copied"].as_u64().expect("files_copied");
    assert!(
        copied <= 2,
        "{copied} files were copied: they started after the first failure \
         (2 transfer slots):\n{out}"
    );
    // The file below the refused folder and every file not started are
    // counted, and named, as not done.
    let not_done = summary["steps_not_done"].as_u64().expect("steps_not_done");
    assert!(
        not_done > open.len() as u64 - copied,
        "the summary does not count what was not done:\n{out}"
    );
    let landed = t.landed();
    for name in &files {
        if !landed.0.contains_key(*name) {
            let named = failures
                .iter()
                .any(|f| f["kind"] == "not-done" && f["path"] == t.dst(name).as_str());
            assert!(named, "{name} is not named as not done:\n{summary:#}");
            let line = format!("not done {}: ", t.dst(name));
            assert!(
                out.stderr.contains(&line),
                "{name} is not said to be not done:\n{out}"
            );
        }
    }
    // Work in flight committed whole; no temporary file is left.
    let source = t.dir.tree("src");
    assert_eq!(landed.0.len() as u64, copied, "{landed:?}\n{out}");
    for (path, node) in &landed.0 {
        assert_eq!(Some(node), source.0.get(path), "{path} on b");
    }
    let listed: Vec<String> = t.b.sizes(&t.dst("")).into_iter().map(|(p, _)| p).collect();
    assert_eq!(temps(&listed), Vec::<&String>::new());
}

#[test]
fn ignore_failures_goes_on_and_reports_each_failure_with_path_and_cause() {
    let _clusters = clusters_in_use();
    let locked = ["a-locked/f0", "a-locked/f1", "m-locked/h0"];
    let open = ["g00", "g01", "n/g02", "n/deeper/g03", "z04"];
    let files: Vec<&str> = locked.iter().chain(&open).copied().collect();
    let t = Refused::new("refused-ignore", &["a-locked", "m-locked"], &files, 2);

    let out = t
        .dir
        .hsync(["apply", "--ignore-failures", "plan.json"])
        .code(1);
    let summary = out.json();
    assert_eq!(summary["outcome"], "partial", "{summary:#}");
    assert_eq!(summary["files_failed"], locked.len(), "{summary:#}");
    assert_eq!(summary["files_copied"], open.len(), "{summary:#}");
    assert_eq!(summary["steps_not_done"], 0, "{summary:#}");
    let failures = summary["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), locked.len(), "{summary:#}");
    for path in locked {
        assert!(
            failures.iter().any(|f| t.refused(f, path)),
            "no failure names {path} and its cause:\n{summary:#}"
        );
        assert!(
            out.stderr.contains(&format!("FAILED   {}: ", t.dst(path))),
            "{out}"
        );
    }

    // Everything else is on b, whole; no temporary file is left.
    let source = t.dir.tree("src").files();
    let expected = Tree(
        source
            .0
            .into_iter()
            .filter(|(p, _)| !p.contains("-locked/"))
            .collect(),
    );
    assert_eq!(t.landed(), expected);
    let listed: Vec<String> = t.b.sizes(&t.dst("")).into_iter().map(|(p, _)| p).collect();
    assert_eq!(temps(&listed), Vec::<&String>::new());
}

/// Restarts a stopped DataNode when dropped, whatever the test did meanwhile.
struct DataNodeDown {
    cluster: &'static str,
    up: bool,
}

impl DataNodeDown {
    fn stop(cluster: &'static str) -> DataNodeDown {
        // Built first: a stop that fails half-way is restarted as well.
        let down = DataNodeDown { cluster, up: false };
        datanode(cluster, "stop");
        down
    }

    fn start(&mut self) {
        if !self.up {
            self.up = true;
            datanode(self.cluster, "start");
        }
    }
}

impl Drop for DataNodeDown {
    fn drop(&mut self) {
        if !self.up {
            self.up = true;
            let status = Command::new(script())
                .args(["datanode", self.cluster, "start"])
                .status();
            if !matches!(status, Ok(s) if s.success()) {
                eprintln!("could not restart the DataNode of {}", self.cluster);
            }
        }
    }
}

fn datanode(cluster: &str, what: &str) {
    let out = Command::new(script())
        .args(["datanode", cluster, what])
        .output()
        .expect("scripts/hdfs runs");
    assert!(
        out.status.success(),
        "scripts/hdfs datanode {cluster} {what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Six files of three blocks each (the clusters use 1 MiB blocks) copied
/// from a to b two at a time at 1 MiB/s each: about six seconds in all.
struct Copying {
    b: Cluster,
    dst: String,
    dir: Dir,
    journal: std::path::PathBuf,
}

const PARTS: u64 = 6;

impl Copying {
    fn new(test: &str) -> Copying {
        let (a, b) = (cluster("a"), cluster("b"));
        let root = unique_root(test);
        let dir = Dir::new();
        for i in 0..PARTS {
            dir.create(&format!("src/part-{i}"), noise((2 << 20) + 4321, 200 + i));
        }
        a.put(&dir.join("src"), &format!("{root}/src"));
        let dst = format!("{root}/dst");
        dir.manifest(&format!(
            "{}[[job]]\nname = \"outage\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n\
             parallel = 2\nbandwidth = \"2MiB/s\"\n",
            clusters(&a, &b, None),
            a.alias(&format!("{root}/src")),
            b.alias(&dst),
        ));
        let plan = dir.plan();
        let fingerprint = plan["fingerprint"].as_str().expect("a fingerprint");
        let journal = dir.join(&format!(".hsync/{fingerprint}/shard-0.jsonl"));
        Copying {
            b,
            dst,
            dir,
            journal,
        }
    }

    fn copies_done(&self) -> usize {
        std::fs::read_to_string(&self.journal).map_or(0, |j| {
            j.lines()
                .filter(|l| l.contains("/copy\"") && l.contains("\"done\""))
                .count()
        })
    }

    /// Starts the apply and returns once a first file is in place and the
    /// next ones are mid-write.
    fn start_and_wait_for_a_commit(&self, name: &str) -> Child {
        let mut child = self
            .dir
            .hsync(["apply", "plan.json"])
            .spawn(&self.dir, name);
        let started = Instant::now();
        while self.copies_done() < 1 {
            assert!(
                child.try_wait().expect("wait").is_none(),
                "the apply ended before the DataNode was stopped:\n{}",
                self.dir.read_to_string(&format!("{name}.stderr"))
            );
            assert!(
                started.elapsed() < HANG,
                "the apply committed nothing in {HANG:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        child
    }

    /// With the DataNode down, the NameNode alone lists what is at a final
    /// path: each has its source's whole size. Returns the temporary names.
    fn nothing_partial_by_size(&self) -> Vec<String> {
        let source = self.dir.tree("src");
        let listed = self.b.sizes(&self.dst);
        for (path, size) in &listed {
            if path.contains(".hsync-tmp.") {
                continue;
            }
            let Some(Node::File(expected, _)) = source.0.get(path) else {
                panic!("{path} on b is not a source file: {listed:?}");
            };
            assert_eq!(size, expected, "{path} is partial at its final path");
        }
        listed
            .into_iter()
            .map(|(path, _)| path)
            .filter(|path| path.contains(".hsync-tmp."))
            .collect()
    }

    /// With the DataNode back, every file at a final path is its source.
    /// Fetched by name: a temporary file still open cannot be read whole.
    fn nothing_partial_by_content(&self) {
        let source = self.dir.tree("src");
        let finals: Vec<String> = self
            .b
            .sizes(&self.dst)
            .into_iter()
            .map(|(path, _)| path)
            .filter(|path| !path.contains(".hsync-tmp."))
            .collect();
        if finals.is_empty() {
            return;
        }
        let local = self.dir.mkdir("fetched-finals");
        let remote: Vec<String> = finals.iter().map(|p| format!("{}/{p}", self.dst)).collect();
        let mut args = vec!["-get"];
        args.extend(remote.iter().map(String::as_str));
        let local_arg = local.display().to_string();
        args.push(&local_arg);
        self.b.shell(&args);
        let fetched = Tree::read(&local);
        assert_eq!(
            fetched.paths(),
            finals.iter().map(String::as_str).collect::<Vec<_>>()
        );
        for (path, node) in &fetched.0 {
            assert_eq!(Some(node), source.0.get(path), "{path} on b");
        }
    }

    /// The same apply again finishes the job: the target is the source, no
    /// temporary file is left, no copy is journaled done twice.
    fn resume_completes(&self) {
        journal_marks_once(&self.journal);
        let mut child = self
            .dir
            .hsync(["apply", "plan.json"])
            .spawn(&self.dir, "resumed");
        let code = wait_bounded(&mut child, &self.dir, "resumed", HANG).code();
        let stdout = self.dir.read_to_string("resumed.stdout");
        let stderr = self.dir.read_to_string("resumed.stderr");
        assert_eq!(code, Some(0), "{stdout}\n{stderr}");
        let summary: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON summary");
        assert_eq!(summary["outcome"], "success", "{summary:#}");
        let already_done = summary["files_already_done"].as_u64().expect("a count");
        let copied = summary["files_copied"].as_u64().expect("a count");
        assert_eq!(already_done + copied, PARTS, "{summary:#}");
        assert!(already_done >= 1, "{summary:#}");
        let fetched = self.b.tree(&self.dst, &self.dir);
        assert_eq!(temps(fetched.0.keys()), Vec::<&String>::new());
        assert_eq!(fetched, self.dir.tree("src"));
        assert!(
            !self.journal.exists(),
            "the finished run's journal is pruned"
        );
    }
}

#[test]
fn datanode_stopped_mid_copy_fails_cleanly_and_resume_completes() {
    let _outage = outage();
    let t = Copying::new("datanode-down");
    let mut child = t.start_and_wait_for_a_commit("first");
    let mut down = DataNodeDown::stop("b");

    // The apply ends by itself: bounded retries, then failures, no hang.
    let code = wait_bounded(&mut child, &t.dir, "first", HANG).code();
    let stdout = t.dir.read_to_string("first.stdout");
    let stderr = t.dir.read_to_string("first.stderr");
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON summary");
    assert_eq!(summary["outcome"], "failed", "{summary:#}");
    assert!(
        summary["files_failed"].as_u64() >= Some(1),
        "no copy failed with the DataNode down: {summary:#}"
    );
    t.nothing_partial_by_size();

    down.start();
    t.nothing_partial_by_content();
    t.resume_completes();
}

#[test]
fn kill_9_during_a_datanode_outage_leaves_leased_temp_files_that_resume_replaces() {
    let _outage = outage();
    let t = Copying::new("datanode-down-kill");
    let mut child = t.start_and_wait_for_a_commit("first");
    let mut down = DataNodeDown::stop("b");
    // Its writes are failing and being retried: killed now, it leaves its
    // temporary files open, their leases held by a client that is gone, and
    // its lock behind.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let leased = t.nothing_partial_by_size();
    assert!(
        !leased.is_empty(),
        "the killed apply left no temporary file:\n{}",
        t.dir.read_to_string("first.stderr")
    );

    down.start();
    t.nothing_partial_by_content();
    t.resume_completes();
}
