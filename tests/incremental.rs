//! `incremental = "snapshot"` between the two real clusters: the snapshot
//! cycle, and every corner case of the seed (DistCp's `-diff`, HDFS-7535
//! and HDFS-8828) plus chains, swaps and recreated names.
//!
//! The source is changed through a plain HDFS client, the way any writer
//! would; every test ends by fetching the target and the source snapshot
//! with Hadoop's FsShell and comparing their listings and content hashes.

use bytes::Bytes;
use hsync_storage::namenode;
use hsync_storage::{join, CreateOptions, HdfsStorage, Storage};
use serde_json::Value;

use std::time::{Duration, Instant};

use crate::cluster::{cluster, clusters, clusters_in_use, unique_root, Cluster};
use crate::util::{journal_marks_once, noise, regex_escape, says, Dir};

/// One incremental job from `ROOT/src` on a to `ROOT/dst` on b, both
/// snapshottable, with a client on each side to change them.
pub struct Mirror {
    pub a: Cluster,
    pub b: Cluster,
    pub dir: Dir,
    pub src: String,
    pub dst: String,
    pub source: HdfsStorage,
    pub target: HdfsStorage,
    pub runtime: tokio::runtime::Runtime,
}

impl Mirror {
    /// `files` are seeded in the source before the first cycle.
    pub fn new(test: &str, files: &[&str], options: &str) -> Mirror {
        let (a, b) = (cluster("a"), cluster("b"));
        let root = unique_root(test);
        let (src, dst) = (format!("{root}/src"), format!("{root}/dst"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let connect = |cluster: &Cluster| HdfsStorage::connect(&cluster.spec()).expect("connect");
        let mirror = Mirror {
            source: connect(&a),
            target: connect(&b),
            dir: Dir::new(),
            a,
            b,
            src,
            dst,
            runtime,
        };
        mirror.runtime.block_on(async {
            for (storage, path) in [(&mirror.source, &mirror.src), (&mirror.target, &mirror.dst)] {
                storage.create_dir(path).await.unwrap();
                namenode::allow_snapshot(storage, path).await.unwrap();
            }
        });
        for (seed, path) in files.iter().enumerate() {
            mirror.write(path, &noise(1000 + seed * 37, seed as u64));
        }
        mirror.dir.manifest(&format!(
            "{}[[job]]\nname = \"mirror\"\nsources = [{:?}]\ntarget = {:?}\nincremental = \"snapshot\"\n{options}",
            clusters(&mirror.a, &mirror.b, None),
            mirror.a.alias(&mirror.src),
            mirror.b.alias(&mirror.dst),
        ));
        mirror
    }

    pub fn write(&self, path: &str, contents: &[u8]) {
        let path = join(&self.src, path);
        let contents = Bytes::copy_from_slice(contents);
        self.runtime.block_on(async {
            let parent = hsync_storage::parent_and_name(&path).0.to_string();
            self.source.create_dir(&parent).await.unwrap();
            let mut file = self
                .source
                .create(&path, &CreateOptions::default())
                .await
                .unwrap();
            file.write(contents).await.unwrap();
            file.close().await.unwrap();
        });
    }

    pub fn mkdir(&self, path: &str) {
        self.mkdirs(&[path.to_string()]);
    }

    /// Many folders, many calls at once.
    fn mkdirs(&self, paths: &[String]) {
        self.each(paths, |path| async move {
            self.source.create_dir(&join(&self.src, path)).await
        });
    }

    pub fn mv(&self, from: &str, to: &str) {
        self.renames(&[(from.to_string(), to.to_string())]);
    }

    /// Many renames, many calls at once.
    fn renames(&self, pairs: &[(String, String)]) {
        self.each(pairs, |(from, to)| async move {
            let (from, to) = (join(&self.src, from), join(&self.src, to));
            self.source.rename(&from, &to).await
        });
    }

    fn each<'a, T, F>(&self, items: &'a [T], call: impl Fn(&'a T) -> F)
    where
        F: std::future::Future<Output = hsync_storage::Result<()>>,
    {
        use futures::stream::{self, StreamExt, TryStreamExt};
        self.runtime
            .block_on(
                stream::iter(items)
                    .map(call)
                    .buffer_unordered(64)
                    .try_collect::<()>(),
            )
            .unwrap();
    }

    pub fn rm(&self, path: &str) {
        let path = join(&self.src, path);
        self.runtime
            .block_on(self.source.remove_tree(&path))
            .unwrap();
    }

    /// Appends in place, which a snapshot diff reports as `M` (a rewrite
    /// is a delete and a create).
    pub fn append(&self, path: &str, text: &str) {
        let local = self.dir.create("append.txt", text);
        let remote = join(&self.src, path);
        self.a
            .shell(&["-appendToFile", &local.display().to_string(), &remote]);
    }

    /// Plans and applies one cycle; returns the plan and the summary.
    pub fn sync(&self) -> (Value, Value) {
        let plan = self.dir.plan();
        let summary = self.dir.apply();
        assert_eq!(summary["outcome"], "success", "{summary:#}");
        (plan, summary)
    }

    /// The target equals the source snapshot the last plan named: same
    /// paths, sizes and content hashes, fetched by FsShell.
    fn assert_target_matches_snapshot(&self) {
        let plan = self.dir.plan_json("plan.json");
        let name = plan["jobs"][0]["snapshot"]["name"].as_str().unwrap();
        let snapshot = format!("{}/.snapshot/{name}", self.src);
        assert_eq!(
            self.b.tree(&self.dst, &self.dir),
            self.a.tree(&snapshot, &self.dir)
        );
    }

    fn snapshots(&self, cluster: &Cluster, path: &str) -> Vec<String> {
        let mut names: Vec<String> = cluster
            .shell(&["-ls", &format!("{path}/.snapshot")])
            .lines()
            .filter_map(|line| Some(line[line.find(" /")? + 1..].rsplit('/').next()?.to_string()))
            .collect();
        names.sort();
        names
    }
}

/// The actions of the last plan, one line each: `rename a -> b`.
fn actions(plan: &Value) -> Vec<String> {
    plan["jobs"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| match a["op"].as_str().unwrap() {
            "rename" => format!(
                "rename {} -> {}",
                a["from"].as_str().unwrap(),
                a["to"].as_str().unwrap()
            ),
            op => format!("{op} {}", a["path"].as_str().unwrap()),
        })
        .collect()
}

#[test]
fn the_first_apply_copies_from_a_snapshot_and_takes_it_on_the_target() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("first-cycle", &["a/one", "a/b/two", "three"], "");
    let (plan, summary) = mirror.sync();
    let cycle = &plan["jobs"][0]["snapshot"];
    assert_eq!(cycle["name"], "hsync-mirror-1");
    assert!(cycle.get("base").is_none(), "{cycle}");
    assert_eq!(summary["files_copied"], 3);
    assert_eq!(mirror.snapshots(&mirror.a, &mirror.src), ["hsync-mirror-1"]);
    assert_eq!(mirror.snapshots(&mirror.b, &mirror.dst), ["hsync-mirror-1"]);
    mirror.assert_target_matches_snapshot();

    // Nothing changed: the same snapshot, a plan with nothing to do.
    let again = mirror
        .dir
        .hsync(["plan", "--detailed-exitcode", "-o", "again.json"])
        .ok();
    assert!(
        says(&again.stderr, "nothing changed since it was synced"),
        "{again}"
    );
    let again = mirror.dir.plan_json("again.json");
    assert_eq!(again["jobs"][0]["snapshot"]["base"], "hsync-mirror-1");
    assert_eq!(actions(&again), Vec::<String>::new());
    // A whole-tree comparison agrees, and has no snapshot to take either.
    let full = mirror
        .dir
        .hsync(["plan", "--full", "--detailed-exitcode", "-o", "full.json"])
        .ok();
    assert!(
        says(&full.stderr, "the target holds hsync-mirror-1 already"),
        "{full}"
    );
}

#[test]
fn a_renamed_directory_costs_a_rename_not_a_copy() {
    let _clusters = clusters_in_use();
    let files = ["big/one", "big/two", "big/sub/three", "other"];
    let mirror = Mirror::new("renamed-dir", &files, "");
    mirror.sync();
    mirror.mv("big", "moved");
    mirror.write("moved/new", b"new inside the renamed directory\n");
    mirror.append("moved/sub/three", "appended\n");
    mirror.rm("moved/two");
    mirror.write("moved/one", b"rewritten\n");

    let (plan, summary) = mirror.sync();
    assert_eq!(plan["jobs"][0]["snapshot"]["base"], "hsync-mirror-1");
    assert_eq!(plan["jobs"][0]["snapshot"]["name"], "hsync-mirror-2");
    assert_eq!(
        actions(&plan),
        [
            "delete big/one",
            "delete big/two",
            "rename big -> moved",
            "copy moved/new",
            "copy moved/one",
            "copy moved/sub/three",
        ]
    );
    assert_eq!(summary["paths_renamed"], 1);
    assert_eq!(summary["files_copied"], 3);
    mirror.assert_target_matches_snapshot();

    let shown = mirror.dir.hsync(["show", "plan.json"]).ok();
    let mut settings = mirror.dir.snapshot_settings();
    let root = hsync_storage::parent_and_name(&mirror.src).0;
    settings.add_filter(&regex_escape(root), "[ROOT]");
    // The clusters' URLs differ between the Hadoop versions of scripts/hdfs.
    settings.add_filter(&regex_escape(&mirror.a.url), "[A]");
    settings.add_filter(&regex_escape(&mirror.b.url), "[B]");
    let _settings = settings.bind_to_scope();
    insta::assert_snapshot!("incremental_plan_human_view", shown.stdout);
}

#[test]
fn case_1_a_dir_created_then_moved_into_a_created_dir_is_copied_once() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("case-1", &["keep"], "");
    mirror.sync();
    mirror.mkdir("c");
    mirror.write("foo/inside", b"inside\n");
    mirror.mv("foo", "c/foo");

    let (plan, summary) = mirror.sync();
    assert_eq!(
        actions(&plan),
        ["mkdir c", "mkdir c/foo", "copy c/foo/inside"]
    );
    assert_eq!(summary["files_copied"], 1);
    mirror.assert_target_matches_snapshot();
}

#[test]
fn case_2_a_dir_moved_into_a_created_dir_then_deleted_and_recreated_there() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("case-2", &["foo/old"], "");
    mirror.sync();
    mirror.mkdir("c");
    mirror.mv("foo", "c/foo");
    mirror.rm("c/foo");
    mirror.write("c/foo/fresh", b"fresh\n");

    let (plan, _) = mirror.sync();
    assert_eq!(
        actions(&plan),
        ["delete foo", "mkdir c", "mkdir c/foo", "copy c/foo/fresh"]
    );
    mirror.assert_target_matches_snapshot();
}

#[test]
fn case_3_renames_on_several_levels_with_a_modification_underneath() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("case-3", &["foo/bar/f1", "foo/bar/f2"], "");
    mirror.sync();
    mirror.append("foo/bar/f1", "more\n");
    mirror.mv("foo/bar", "foo/bar1");
    mirror.mv("foo", "foo1");

    let (plan, summary) = mirror.sync();
    assert_eq!(
        actions(&plan),
        [
            "rename foo -> foo1",
            "rename foo/bar -> foo1/bar1",
            "copy foo1/bar1/f1"
        ]
    );
    assert_eq!(summary["paths_renamed"], 2);
    assert_eq!(summary["files_copied"], 1);
    mirror.assert_target_matches_snapshot();
}

#[test]
fn case_4_what_is_moved_into_a_created_dir_arrives_by_rename() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("case-4", &["foo/data"], "");
    mirror.sync();
    mirror.mkdir("c");
    mirror.write("c/sibling", b"sibling\n");
    mirror.mv("foo", "c/foo");

    let (plan, summary) = mirror.sync();
    assert_eq!(
        actions(&plan),
        ["rename foo -> c/foo", "mkdir c", "copy c/sibling"]
    );
    assert_eq!(summary["files_copied"], 1);
    mirror.assert_target_matches_snapshot();
}

#[test]
fn a_rename_chain_moves_every_link() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("chain", &["a", "b"], "");
    mirror.sync();
    mirror.mv("b", "c");
    mirror.mv("a", "b");

    let (plan, summary) = mirror.sync();
    assert_eq!(actions(&plan), ["rename a -> b", "rename b -> c"]);
    assert_eq!(summary["files_copied"], 0);
    mirror.assert_target_matches_snapshot();
}

#[test]
fn a_swap_through_a_temporary_name_is_two_renames() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("swap", &["a/x", "b/y"], "");
    mirror.sync();
    mirror.mv("a", "tmp");
    mirror.mv("b", "a");
    mirror.mv("tmp", "b");

    let (plan, summary) = mirror.sync();
    assert_eq!(actions(&plan), ["rename b -> a", "rename a -> b"]);
    assert_eq!(summary["paths_renamed"], 2);
    assert_eq!(summary["files_copied"], 0);
    mirror.assert_target_matches_snapshot();
}

#[test]
fn a_name_deleted_and_created_again_is_replaced() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("recreate", &["name/old", "file"], "");
    mirror.sync();
    mirror.rm("name");
    mirror.write("name/new", b"new\n");
    mirror.write("file", b"a new file of the same name\n");

    let (plan, _) = mirror.sync();
    assert_eq!(
        actions(&plan),
        [
            "delete file",
            "delete name",
            "copy file",
            "mkdir name",
            "copy name/new",
        ]
    );
    mirror.assert_target_matches_snapshot();
}

#[test]
fn a_target_changed_since_its_snapshot_is_refused_until_a_full_plan() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("target-changed", &["a", "b"], "");
    mirror.sync();
    mirror.write("c", b"c\n");
    mirror
        .runtime
        .block_on(mirror.target.remove_tree(&join(&mirror.dst, "a")))
        .unwrap();

    let refused = mirror.dir.hsync(["plan", "-o", "refused.json"]).code(1);
    assert!(
        says(&refused.stderr, "changed since snapshot hsync-mirror-1"),
        "{refused}"
    );
    assert!(says(&refused.stderr, "./a"), "{refused}");
    assert!(says(&refused.stderr, "hsync plan --full"), "{refused}");
    assert!(!mirror.dir.exists("refused.json") || mirror.dir.read("refused.json").is_empty());

    mirror.dir.hsync(["plan", "--full", "-o", "plan.json"]).ok();
    let summary = mirror.dir.apply();
    assert_eq!(summary["outcome"], "success", "{summary:#}");
    assert_eq!(summary["files_copied"], 2);
    mirror.assert_target_matches_snapshot();

    // Back in the cycle: the next plan is a diff again.
    mirror.write("d", b"d\n");
    let (plan, _) = mirror.sync();
    assert_eq!(plan["jobs"][0]["snapshot"]["base"], "hsync-mirror-2");
    assert_eq!(actions(&plan), ["copy d"]);
    mirror.assert_target_matches_snapshot();
}

#[test]
fn old_hsync_snapshots_are_pruned_and_others_left_alone() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("prune", &["a"], "keep_snapshots = 2\n");
    mirror
        .runtime
        .block_on(namenode::create_snapshot(
            &mirror.source,
            &mirror.src,
            "team-own",
        ))
        .unwrap();
    for round in 0..3 {
        mirror.write(&format!("round-{round}"), b"x\n");
        mirror.sync();
    }
    assert_eq!(
        mirror.snapshots(&mirror.a, &mirror.src),
        ["hsync-mirror-2", "hsync-mirror-3", "team-own"]
    );
    assert_eq!(
        mirror.snapshots(&mirror.b, &mirror.dst),
        ["hsync-mirror-2", "hsync-mirror-3"]
    );
    mirror.assert_target_matches_snapshot();
}

#[test]
fn a_source_that_is_not_snapshottable_is_refused_with_the_command_that_fixes_it() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("not-snapshottable");
    let dir = Dir::new();
    dir.create("local/f", "f");
    a.put(&dir.join("local"), &format!("{root}/src"));
    dir.manifest(&format!(
        "{}[[job]]\nname = \"mirror\"\nsources = [{:?}]\ntarget = {:?}\nincremental = \"snapshot\"\n",
        clusters(&a, &b, None),
        a.alias(&format!("{root}/src")),
        b.alias(&format!("{root}/dst")),
    ));
    let out = dir.hsync(["plan"]).code(1);
    assert!(says(&out.stderr, "is not snapshottable"), "{out}");
    assert!(
        says(
            &out.stderr,
            &format!("hdfs dfsadmin -allowSnapshot {root}/src")
        ),
        "{out}"
    );
}

#[test]
fn a_replay_killed_among_its_renames_resumes_without_moving_anything_twice() {
    let _clusters = clusters_in_use();
    let mirror = Mirror::new("killed-renames", &["d0/sub/file"], "");
    let dirs: Vec<String> = (1..3000).map(|i| format!("d{i}/sub")).collect();
    mirror.mkdirs(&dirs);
    mirror.sync();
    let renames: Vec<(String, String)> = (0..3000)
        .map(|i| (format!("d{i}"), format!("e{i}")))
        .collect();
    mirror.renames(&renames);
    let plan = mirror.dir.plan();
    let fingerprint = plan["fingerprint"].as_str().unwrap();
    let journal = mirror
        .dir
        .join(&format!(".hsync/{fingerprint}/shard-0.jsonl"));

    // Kill the apply once some, not all, moves are journaled.
    let mut child = mirror
        .dir
        .hsync(["apply", "plan.json"])
        .spawn(&mirror.dir, "first");
    let started = Instant::now();
    while !std::fs::read_to_string(&journal).is_ok_and(|j| j.contains("/move-aside/")) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no move in 60 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the apply ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let marks = journal_marks_once(&journal);
    assert!(
        !marks.iter().any(|(step, _)| step.ends_with("/snapshot")),
        "the apply finished before it was killed"
    );

    let summary = mirror.dir.apply();
    assert_eq!(summary["outcome"], "success", "{summary:#}");
    assert!(!journal.exists(), "the finished run's journal is pruned");
    assert_eq!(summary["files_copied"], 0, "{summary:#}");
    let staged = mirror.b.paths(&mirror.dst);
    assert!(
        staged.iter().all(|p| !p.contains(".hsync-tmp.")),
        "{staged:?}"
    );
    mirror.assert_target_matches_snapshot();
}

#[test]
fn a_snapshot_diff_cycle_applied_by_workers_renames_copies_and_takes_the_snapshot() {
    let _clusters = clusters_in_use();
    let files = ["big/one", "big/two", "big/sub/three", "other"];
    let mirror = Mirror::new("spread-cycle", &files, "");
    let spread = || {
        mirror.dir.plan();
        let args = ["apply", "plan.json", "--engine", "local", "--workers", "2"];
        let summary = mirror.dir.hsync(args).ok().json();
        assert_eq!(summary["outcome"], "success", "{summary:#}");
        summary
    };
    spread();
    mirror.mv("big", "moved");
    mirror.write("moved/new", b"new inside the renamed directory\n");
    mirror.rm("moved/two");
    let summary = spread();
    // The prepare replays the rename; the chunks copy only what is new.
    assert_eq!(summary["paths_renamed"], 1, "{summary:#}");
    assert_eq!(summary["files_copied"], 1, "{summary:#}");
    assert_eq!(
        mirror.snapshots(&mirror.b, &mirror.dst),
        ["hsync-mirror-1", "hsync-mirror-2"]
    );
    mirror.assert_target_matches_snapshot();
}
