//! DistCp as the oracle. Each scenario seeds a source on cluster a, runs the
//! real DistCp (`scripts/hdfs distcp`, local mode, full URLs) and hsync from
//! it into fresh targets side by side on b (`ROOT/distcp`, `ROOT/hsync`),
//! and compares what Hadoop's FsShell shows of them: paths, types, sizes,
//! contents and each attribute the scenario preserves. Where hsync means to
//! differ (the README's "Where hsync and DistCp differ, and why"), the test
//! asserts both outcomes. Each DistCp run costs a JVM of several seconds, so
//! a scenario runs DistCp once and checks everything it can on that run.

use std::collections::BTreeMap;
use std::process::Command;

use hsync_storage::{namenode, Storage};
use serde_json::Value;

use crate::cluster::{clusters, clusters_in_use, script, unique_root, Cluster};
use crate::hdfs::hex;
use crate::incremental::Mirror;
use crate::util::{noise, says, Dir, MTIME};

/// What a scenario compares beyond path, type, size and content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attr {
    Permission,
    Owner,
    Group,
    Replication,
    BlockSize,
    Mtime,
    Xattrs,
}

use Attr::*;

/// Every attribute hsync preserves (`preserve` of the README).
const EVERY: &[Attr] = &[
    Permission,
    Owner,
    Group,
    Replication,
    BlockSize,
    Mtime,
    Xattrs,
];

/// One path of a target, as FsShell shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Entry {
    dir: bool,
    size: u64,
    /// The first 16 hex digits of the content's blake3 (files).
    content: String,
    permission: String,
    owner: String,
    group: String,
    replication: String,
    block_size: u64,
    mtime_ms: u64,
    /// `name=0xHEX` lines of `-getfattr -d -e hex`, when a listing asks.
    xattrs: Vec<String>,
}

impl Entry {
    /// Type, size and content, then each of `attrs`.
    fn show(&self, attrs: &[Attr]) -> String {
        let mut shown = match self.dir {
            true => "dir".to_string(),
            false => format!("{} B {}", self.size, self.content),
        };
        for attr in attrs {
            shown += &match attr {
                Permission => format!(" {}", self.permission),
                Owner => format!(" owner {}", self.owner),
                Group => format!(" group {}", self.group),
                Replication => format!(" replication {}", self.replication),
                BlockSize => format!(" block {}", self.block_size),
                Mtime => format!(" mtime {}", self.mtime_ms),
                Xattrs => format!(" xattrs [{}]", self.xattrs.join(", ")),
            };
        }
        shown
    }
}

/// A target tree by path below its root (`""` is the root itself).
#[derive(Debug, Default)]
struct Listing(BTreeMap<String, Entry>);

impl Listing {
    /// Every path with [`Entry::show`].
    fn view(&self, attrs: &[Attr]) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(path, entry)| (path.clone(), entry.show(attrs)))
            .collect()
    }

    /// The entries below `folder/`, re-rooted there.
    fn below(&self, folder: &str) -> Listing {
        let prefix = format!("{folder}/");
        Listing(
            self.0
                .iter()
                .filter_map(|(path, entry)| {
                    let below = match path == folder {
                        true => "",
                        false => path.strip_prefix(&prefix)?,
                    };
                    Some((below.to_string(), entry.clone()))
                })
                .collect(),
        )
    }

    fn get(&self, path: &str) -> &Entry {
        self.0
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not in {:#?}", self.0.keys()))
    }
}

/// One scenario: sources below `ROOT` on a, targets below `ROOT` on b, each
/// tool's target named after it (`distcp`, `hsync`, ...).
struct Oracle {
    a: Cluster,
    b: Cluster,
    root: String,
    dir: Dir,
    /// `/.reserved/raw` for scenarios on raw paths, else empty.
    prefix: &'static str,
}

impl Oracle {
    fn new(test: &str) -> Oracle {
        Oracle {
            a: crate::cluster::cluster("a"),
            b: crate::cluster::cluster("b"),
            root: unique_root(&format!("conformance-{test}")),
            dir: Dir::new(),
            prefix: "",
        }
    }

    /// `ROOT/relative` (`ROOT` itself for `""`), below the prefix.
    fn path(&self, relative: &str) -> String {
        match relative {
            "" => format!("{}{}", self.prefix, self.root),
            _ => format!("{}{}/{relative}", self.prefix, self.root),
        }
    }

    /// The entries of the test's local folder `local` become `ROOT/NAME` on
    /// `cluster`, copied by FsShell's `-put` with `flags`.
    fn seed(&self, cluster: &Cluster, local: &str, flags: &[&str]) {
        let root = self.path("");
        cluster.shell(&["-mkdir", "-p", &root]);
        let mut names: Vec<String> = std::fs::read_dir(self.dir.join(local))
            .expect("a seed folder")
            .map(|e| e.expect("an entry").path().display().to_string())
            .collect();
        names.sort();
        let mut args = vec!["-put"];
        args.extend_from_slice(flags);
        args.extend(names.iter().map(String::as_str));
        args.push(&root);
        cluster.shell(&args);
    }

    /// `scripts/hdfs distcp FLAGS SOURCES TARGET`: the sources on a, the
    /// target on b, all full URLs. Returns whether it succeeded and its stderr.
    fn try_distcp(&self, flags: &[&str], sources: &[&str], target: &str) -> (bool, String) {
        let url = |cluster: &Cluster, path: &str| format!("{}{}", cluster.url, self.path(path));
        let out = Command::new(script())
            .arg("distcp")
            .args(flags)
            .args(sources.iter().map(|source| url(&self.a, source)))
            .arg(url(&self.b, target))
            .output()
            .expect("scripts/hdfs runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.success(), stderr)
    }

    fn distcp(&self, flags: &[&str], sources: &[&str], target: &str) {
        let (ok, stderr) = self.try_distcp(flags, sources, target);
        assert!(
            ok,
            "DistCp {flags:?} {sources:?} {target} failed:\n{stderr}"
        );
    }

    /// A manifest with one job per `(target, sources, options)`, each job
    /// named after its target.
    fn manifest(&self, jobs: &[(&str, &[&str], &str)]) {
        let mut manifest = clusters(&self.a, &self.b, None);
        for (target, sources, options) in jobs {
            let sources: Vec<String> = sources
                .iter()
                .map(|source| format!("{:?}", self.a.alias(&self.path(source))))
                .collect();
            manifest += &format!(
                "[[job]]\nname = {target:?}\nsources = [{}]\ntarget = {:?}\n{options}\n",
                sources.join(", "),
                self.b.alias(&self.path(target)),
            );
        }
        self.dir.manifest(&manifest);
    }

    /// Plans and applies [`Oracle::manifest`]'s jobs; returns the summary.
    fn hsync(&self, jobs: &[(&str, &[&str], &str)]) -> Value {
        self.manifest(jobs);
        self.dir.plan();
        let summary = self.dir.apply();
        assert_eq!(summary["outcome"], "success", "{summary:#}");
        summary
    }

    /// The targets named `tools` as FsShell shows them: one `-ls -R` of
    /// `ROOT` on b, one `-stat` of every path, one `-cat` of every file and,
    /// with `xattrs`, one `-getfattr -R`.
    fn listings(&self, tools: &[&str], xattrs: bool) -> Vec<Listing> {
        let root = self.path("");
        let mut entries: Vec<(String, Entry)> = Vec::new();
        for line in self.b.shell(&["-ls", "-R", &root]).lines() {
            let Some(at) = line.find(" /") else { continue };
            let fields: Vec<&str> = line[..at].split_whitespace().collect();
            let entry = Entry {
                dir: fields[0].starts_with('d'),
                permission: fields[0].to_string(),
                replication: fields[1].to_string(),
                owner: fields[2].to_string(),
                group: fields[3].to_string(),
                size: fields[4].parse().expect("a size"),
                ..Entry::default()
            };
            entries.push((line[at + 1..].to_string(), entry));
        }
        let paths: Vec<String> = entries.iter().map(|(path, _)| path.clone()).collect();
        let mut args = vec!["-stat", "%o %Y"];
        args.extend(paths.iter().map(String::as_str));
        let stats = self.b.shell(&args);
        for ((_, entry), line) in entries.iter_mut().zip(stats.lines()) {
            let (block, mtime) = line.trim().split_once(' ').expect("%o %Y");
            entry.block_size = block.parse().expect("a block size");
            entry.mtime_ms = mtime.parse().expect("an mtime");
        }
        let files: Vec<String> = entries
            .iter()
            .filter(|(_, entry)| !entry.dir)
            .map(|(path, _)| path.clone())
            .collect();
        if !files.is_empty() {
            let mut args = vec!["-cat"];
            args.extend(files.iter().map(String::as_str));
            let bytes = self.b.shell_bytes(&args);
            let mut at = 0;
            for (_, entry) in entries.iter_mut().filter(|(_, entry)| !entry.dir) {
                let end = at + entry.size as usize;
                entry.content = blake3::hash(&bytes[at..end]).to_hex()[..16].to_string();
                at = end;
            }
            assert_eq!(at, bytes.len(), "-cat gave more than the listed sizes");
        }
        if xattrs {
            let dump = self.b.shell(&["-getfattr", "-R", "-d", "-e", "hex", &root]);
            let mut current = None;
            for line in dump.lines().filter(|line| !line.is_empty()) {
                if let Some(path) = line.strip_prefix("# file: ") {
                    current = entries.iter().position(|(p, _)| p == path);
                } else if let Some(index) = current {
                    entries[index].1.xattrs.push(line.to_string());
                }
            }
            for (_, entry) in &mut entries {
                entry.xattrs.sort();
            }
        }
        tools
            .iter()
            .map(|tool| {
                let top = self.path(tool);
                let below = format!("{top}/");
                Listing(
                    entries
                        .iter()
                        .filter_map(|(path, entry)| {
                            let relative = match *path == top {
                                true => "",
                                false => path.strip_prefix(&below)?,
                            };
                            Some((relative.to_string(), entry.clone()))
                        })
                        .collect(),
                )
            })
            .collect()
    }

    /// The two targets `distcp` and `hsync`.
    fn pair(&self, xattrs: bool) -> (Listing, Listing) {
        let mut both = self.listings(&["distcp", "hsync"], xattrs).into_iter();
        (both.next().unwrap(), both.next().unwrap())
    }
}

/// The DistCp guide's sources: `first/{1,2}` and `second/{10,20}`, files of
/// `x` (sizes 32, 32, 64, 32).
fn guide_sources(dir: &Dir) {
    for (path, size) in [
        ("a/first/1", 32),
        ("a/first/2", 32),
        ("a/second/10", 64),
        ("a/second/20", 32),
    ] {
        dir.fill(path, size, b'x');
    }
}

/// The guide's sizes example for each target: `1` equal, `10` and `20` of
/// other sizes (files of `y`), all with the mtime [`MTIME`]; and `3`, of the
/// size of the source's `first/3` but other bytes.
fn guide_targets(dir: &Dir, targets: &[&str]) {
    for target in targets {
        for (name, size, byte) in [
            ("1", 32, b'x'),
            ("10", 32, b'y'),
            ("20", 64, b'y'),
            ("3", 32, b'y'),
        ] {
            let path = format!("b/{target}/{name}");
            dir.fill(&path, size, byte);
            dir.set_mtime(&path, MTIME);
        }
    }
}

const GUIDE_SOURCES: &[&str] = &["first", "second"];

#[test]
fn the_default_copy_nests_each_source_and_leaves_existing_files_alone() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("default");
    guide_sources(&oracle.dir);
    for target in ["distcp", "hsync"] {
        oracle.dir.fill(&format!("b/{target}/first/1"), 16, b'y');
    }
    oracle.seed(&oracle.a, "a", &[]);
    oracle.seed(&oracle.b, "b", &[]);

    oracle.distcp(&[], GUIDE_SOURCES, "distcp");
    oracle.hsync(&[("hsync", GUIDE_SOURCES, "")]);

    let (distcp, hsync) = oracle.pair(false);
    assert_eq!(hsync.view(&[]), distcp.view(&[]));
    let kept = hsync.get("first/1");
    assert_eq!(kept.size, 16, "the existing first/1 was rewritten");
    assert_eq!(distcp.get("second/10").size, 64);

    // Without -pr and -pb, DistCp writes with its client configuration's
    // replication and block size (the bed's client sets neither: Hadoop's
    // 3 and 128 MiB); hsync with the target NameNode's defaults (b: 1, 1 MiB).
    let written = |listing: &Listing| {
        let file = listing.get("first/2");
        (file.replication.clone(), file.block_size)
    };
    assert_eq!(written(&distcp), ("3".to_string(), 128 * 1024 * 1024));
    assert_eq!(written(&hsync), ("1".to_string(), 1024 * 1024));
}

#[test]
fn a_single_source_nests_in_hsync_where_distcp_puts_its_contents_into_an_absent_target() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("single-source");
    oracle.dir.create("a/src/top", "top\n");
    oracle.dir.create("a/src/sub/deep", "deep\n");
    oracle.seed(&oracle.a, "a", &[]);

    oracle.distcp(&[], &["src"], "distcp");
    oracle.hsync(&[
        ("hsync", &["src"], ""),
        ("hsync-contents", &["src"], "layout = \"contents\""),
    ]);

    let mut listings = oracle
        .listings(&["distcp", "hsync", "hsync-contents"], false)
        .into_iter();
    let (distcp, hsync, contents) = (
        listings.next().unwrap(),
        listings.next().unwrap(),
        listings.next().unwrap(),
    );
    // DistCp: the target did not exist, so it became the source.
    assert!(distcp.0.contains_key("top"), "{distcp:#?}");
    // hsync: a skip job nests whatever the target holds; `layout` says otherwise.
    assert_eq!(hsync.below("src").view(&[]), distcp.view(&[]));
    assert!(!hsync.0.contains_key("top"), "{hsync:#?}");
    assert_eq!(contents.view(&[]), distcp.view(&[]));
}

#[test]
fn update_follows_the_guides_sizes_example_but_compares_sizes_where_distcp_compares_checksums() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("update");
    guide_sources(&oracle.dir);
    oracle.dir.fill("a/first/3", 32, b'x');
    guide_targets(&oracle.dir, &["distcp", "hsync", "hsync-checksum"]);
    oracle.seed(&oracle.a, "a", &[]);
    oracle.seed(&oracle.b, "b", &["-p"]);

    oracle.distcp(&["-update"], GUIDE_SOURCES, "distcp");
    oracle.hsync(&[
        ("hsync", GUIDE_SOURCES, "mode = \"update\""),
        (
            "hsync-checksum",
            GUIDE_SOURCES,
            "mode = \"update\"\ncompare = [\"checksum\"]",
        ),
    ]);

    let mut listings = oracle
        .listings(&["distcp", "hsync", "hsync-checksum"], false)
        .into_iter();
    let (distcp, hsync, checksum) = (
        listings.next().unwrap(),
        listings.next().unwrap(),
        listings.next().unwrap(),
    );
    // 1 is skipped (same size and contents), 2 copied, 10 and 20 rewritten:
    // the contents of both sources.
    for listing in [&distcp, &hsync, &checksum] {
        assert_eq!(
            listing.get("1").mtime_ms,
            MTIME as u64 * 1000,
            "1 was rewritten"
        );
        assert_eq!(listing.get("10").size, 64);
        assert_eq!(listing.get("20").size, 32);
    }
    assert_eq!(checksum.view(&[]), distcp.view(&[]));
    // 3 has the source's size: DistCp compares checksums too and rewrites
    // it; hsync compares sizes unless told `compare = ["checksum"]`.
    assert_eq!(distcp.get("3").content, checksum.get("3").content);
    assert_ne!(hsync.get("3").content, distcp.get("3").content);
    assert_eq!(hsync.get("3").mtime_ms, MTIME as u64 * 1000);
    let mut expected = distcp.view(&[]);
    expected.insert("3".into(), hsync.get("3").show(&[]));
    assert_eq!(hsync.view(&[]), expected);
}

#[test]
fn overwrite_rewrites_every_file_of_the_guides_example() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("overwrite");
    guide_sources(&oracle.dir);
    guide_targets(&oracle.dir, &["distcp", "hsync"]);
    oracle.seed(&oracle.a, "a", &[]);
    oracle.seed(&oracle.b, "b", &["-p"]);

    oracle.distcp(&["-overwrite"], GUIDE_SOURCES, "distcp");
    oracle.hsync(&[("hsync", GUIDE_SOURCES, "mode = \"overwrite\"")]);

    let (distcp, hsync) = oracle.pair(false);
    assert_eq!(hsync.view(&[]), distcp.view(&[]));
    for listing in [&distcp, &hsync] {
        assert_ne!(listing.get("1").mtime_ms, MTIME as u64 * 1000, "1 was kept");
        // 3 is not in the sources, and neither deletes.
        assert_eq!(listing.get("3").mtime_ms, MTIME as u64 * 1000);
    }
}

#[test]
fn two_sources_with_the_same_child_name_abort_both_before_anything_is_copied() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("collision");
    oracle.dir.create("a/first/same", "first\n");
    oracle.dir.create("a/first/only-first", "1\n");
    oracle.dir.create("a/second/same", "second\n");
    oracle.seed(&oracle.a, "a", &[]);

    let (ok, stderr) = oracle.try_distcp(&["-update"], GUIDE_SOURCES, "distcp");
    assert!(!ok, "DistCp copied colliding sources:\n{stderr}");
    assert!(stderr.contains("DuplicateFileException"), "{stderr}");
    oracle.manifest(&[("hsync", GUIDE_SOURCES, "mode = \"update\"")]);
    let refused = oracle.dir.hsync(["plan", "-o", "plan.json"]).code(1);
    assert!(says(&refused.stderr, "same"), "{refused}");

    for tool in ["distcp", "hsync"] {
        assert!(
            !oracle.b.exists(&oracle.path(tool)),
            "{tool} made its target"
        );
    }
}

#[test]
fn delete_removes_what_no_source_holds_as_distcp_delete_does() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("delete");
    oracle.dir.create("a/src/keep", "keep\n");
    oracle.dir.create("a/src/sub/kept", "kept\n");
    for target in ["distcp", "hsync"] {
        oracle
            .dir
            .create(&format!("b/{target}/keep"), "older, longer\n");
        oracle.dir.create(&format!("b/{target}/gone"), "gone\n");
        oracle.dir.create(&format!("b/{target}/sub/kept"), "kept\n");
        oracle.dir.create(&format!("b/{target}/sub/gone"), "gone\n");
        oracle
            .dir
            .create(&format!("b/{target}/old/deep/gone"), "gone\n");
    }
    oracle.seed(&oracle.a, "a", &[]);
    oracle.seed(&oracle.b, "b", &[]);

    oracle.distcp(&["-update", "-delete"], &["src"], "distcp");
    oracle.hsync(&[("hsync", &["src"], "mode = \"update\"\ndelete = true")]);

    let (distcp, hsync) = oracle.pair(false);
    assert_eq!(hsync.view(&[]), distcp.view(&[]));
    let paths: Vec<&str> = distcp.0.keys().map(String::as_str).collect();
    assert_eq!(paths, ["", "keep", "sub", "sub/kept"]);
}

/// A source whose files and folder carry attributes b would not give them:
/// mode, owner and group, replication 2, a 2 MiB block size, xattrs.
fn attributed_source(oracle: &Oracle) {
    oracle
        .dir
        .create("a/src/d/data.bin", noise(3 * 1024 * 1024, 1));
    oracle.dir.create("a/src/plain.txt", "plain\n");
    oracle.seed(&oracle.a, "a", &[]);
    let a = &oracle.a;
    let (data, folder) = (oracle.path("src/d/data.bin"), oracle.path("src/d"));
    let big = oracle.path("src/big-blocks.bin");
    let local = oracle.dir.join("a/src/d/data.bin").display().to_string();
    a.shell(&["-D", "dfs.blocksize=2097152", "-put", &local, &big]);
    a.shell(&["-chmod", "640", &data, &big]);
    a.shell(&["-chmod", "750", &folder]);
    a.shell(&["-chown", "alice:analysts", &data, &folder]);
    a.shell(&["-setrep", "2", &data]);
    a.shell(&["-setfattr", "-n", "user.origin", "-v", "cluster-a", &data]);
    a.shell(&["-setfattr", "-n", "user.folder", "-v", "d", &folder]);
}

#[test]
fn each_preserve_flag_gives_what_distcp_p_gives() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("preserve");
    attributed_source(&oracle);

    oracle.distcp(&["-update", "-prbugpxt"], &["src"], "distcp");
    oracle.hsync(&[(
        "hsync",
        &["src"],
        "mode = \"update\"\npreserve = [\"times\", \"permission\", \"owner\", \"group\", \
         \"replication\", \"blocksize\", \"xattr\"]",
    )]);

    let (mut distcp, mut hsync) = oracle.pair(true);
    assert_eq!(distcp.get("d/data.bin").owner, "alice");
    assert_eq!(distcp.get("d/data.bin").replication, "2");
    assert_eq!(distcp.get("big-blocks.bin").block_size, 2 * 1024 * 1024);
    // The target root is no source entry under -update: neither sets its
    // times, each has its own.
    for listing in [&mut distcp, &mut hsync] {
        listing.0.get_mut("").unwrap().mtime_ms = 0;
    }
    // DistCp -px copies a folder's xattrs too; hsync only files'.
    assert_eq!(
        distcp.get("d").xattrs,
        [format!("user.folder=0x{}", hex(b"d"))]
    );
    assert_eq!(hsync.get("d").xattrs, Vec::<String>::new());
    distcp.0.get_mut("d").unwrap().xattrs.clear();
    assert_eq!(hsync.view(EVERY), distcp.view(EVERY));
}

#[test]
fn atomic_commit_lands_what_distcp_atomic_lands() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("atomic");
    oracle.dir.create("a/src/top", "top\n");
    oracle.dir.create("a/src/sub/deep", noise(5000, 2));
    oracle.dir.mkdir("a/src/empty");
    oracle.seed(&oracle.a, "a", &[]);

    oracle.distcp(&["-atomic"], &["src"], "distcp");
    oracle.hsync(&[(
        "hsync",
        &["src"],
        "commit = \"atomic\"\nlayout = \"contents\"",
    )]);

    let (distcp, hsync) = oracle.pair(false);
    assert_eq!(hsync.view(&[]), distcp.view(&[]));
    assert!(distcp.0.contains_key("empty"), "{distcp:#?}");
    // Nothing of either's staging is left beside the targets.
    let (distcp_root, hsync_root) = (oracle.path("distcp"), oracle.path("hsync"));
    let left: Vec<String> = oracle.b.paths(&oracle.path(""));
    assert!(
        left.iter().all(|path| [&distcp_root, &hsync_root]
            .iter()
            .any(|root| path == *root || path.starts_with(&format!("{root}/")))),
        "{left:?}"
    );
}

#[test]
fn update_brings_a_file_it_finds_equal_to_the_preserved_attributes_as_distcp_does() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("left-in-place");
    oracle.dir.create("a/src/same.txt", "same\n");
    oracle.dir.create("a/src/new.txt", "new\n");
    let big = oracle.dir.create("big-blocks.bin", noise(5000, 3));
    for target in ["distcp", "hsync"] {
        oracle.dir.create(&format!("b/{target}/same.txt"), "same\n");
        oracle
            .dir
            .create(&format!("b/{target}/big-blocks.bin"), noise(5000, 3));
    }
    oracle.seed(&oracle.a, "a", &[]);
    oracle.seed(&oracle.b, "b", &[]);
    let big = big.display().to_string();
    let big_blocks = oracle.path("src/big-blocks.bin");
    let a = &oracle.a;
    a.shell(&["-D", "dfs.blocksize=2097152", "-put", &big, &big_blocks]);
    let sources = [oracle.path("src/same.txt"), oracle.path("src/new.txt")];
    a.shell(&["-chmod", "600", &sources[0], &sources[1]]);

    oracle.distcp(&["-update", "-ppb"], &["src"], "distcp");
    let preserve = "mode = \"update\"\npreserve = [\"permission\", \"blocksize\"]";
    oracle.hsync(&[("hsync", &["src"], preserve)]);
    let plan = oracle.dir.plan_json("plan.json");
    assert_eq!(
        crate::util::actions(&plan, 0),
        [
            "copy big-blocks.bin blocksize-differs",
            "copy new.txt missing",
            "set-attributes same.txt"
        ]
    );

    // same.txt is left in place with the source's mode; big-blocks.bin,
    // equal but of 1 MiB blocks, is written again with the source's 2 MiB.
    let (distcp, hsync) = oracle.pair(false);
    assert_eq!(distcp.get("same.txt").permission, "-rw-------");
    assert_eq!(distcp.get("big-blocks.bin").block_size, 2 * 1024 * 1024);
    let attrs = [Permission, BlockSize];
    assert_eq!(hsync.view(&attrs), distcp.view(&attrs));
}

#[test]
fn hadoop3_exclude_leaves_out_a_folder_with_all_it_holds_where_distcp_filters_walk_into_it() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("filters");
    oracle.dir.create("a/src/keep.txt", "keep\n");
    oracle.dir.create("a/src/drop.tmp", "drop\n");
    oracle.dir.create("a/src/sub/x.tmp", "drop\n");
    oracle.dir.create("a/src/sub/y.txt", "keep\n");
    oracle.dir.create("a/src/logs/inside.txt", "in logs\n");
    for target in ["distcp", "hsync"] {
        oracle
            .dir
            .create(&format!("b/{target}/gone.txt"), "extraneous\n");
        oracle
            .dir
            .create(&format!("b/{target}/kept.tmp"), "excluded\n");
    }
    oracle.seed(&oracle.a, "a", &[]);
    oracle.seed(&oracle.b, "b", &[]);
    // DistCp matches each regex against the whole source URL.
    let filters = oracle.dir.create("filters.txt", ".*\\.tmp\n.*/logs\n");

    let filters = filters.display().to_string();
    oracle.distcp(
        &["-update", "-delete", "-filters", &filters],
        &["src"],
        "distcp",
    );
    oracle.hsync(&[(
        "hsync",
        &["src"],
        "mode = \"update\"\ndelete = true\nexclude = ['\\.tmp$', '^logs$']",
    )]);

    let (distcp, hsync) = oracle.pair(false);
    // DistCp leaves out the folder's own entry but walks into it: what it
    // holds still lands (and the folder with it).
    assert!(distcp.0.contains_key("logs/inside.txt"), "{distcp:#?}");
    assert!(!hsync.0.contains_key("logs"), "{hsync:#?}");
    // Both delete what no source holds, and leave alone what is excluded.
    for listing in [&distcp, &hsync] {
        assert!(listing.0.contains_key("kept.tmp"), "{listing:#?}");
        assert!(!listing.0.contains_key("gone.txt"), "{listing:#?}");
    }
    let mut expected = distcp.view(&[]);
    expected.retain(|path, _| path != "logs" && !path.starts_with("logs/"));
    assert_eq!(hsync.view(&[]), expected);
}

#[test]
fn update_diff_replays_the_four_corner_cases_as_distcp_diff_does() {
    let _clusters = clusters_in_use();
    // case_1..case_4 of tests/incremental.rs, each in its own folder.
    let seed = [
        "1/keep",
        "2/foo/old",
        "3/foo/bar/f1",
        "3/foo/bar/f2",
        "4/foo/data",
    ];
    let mirror = Mirror::new("conformance-diff", &seed, "");
    let root = hsync_storage::parent_and_name(&mirror.src).0.to_string();
    let oracle = Oracle {
        root,
        ..Oracle::new("diff")
    };
    let distcp_target = oracle.path("distcp");
    let snapshot = |storage: &hsync_storage::HdfsStorage, dir: &str, name: &str| {
        let taken = namenode::create_snapshot(storage, dir, name);
        mirror.runtime.block_on(taken).unwrap();
    };
    mirror.runtime.block_on(async {
        mirror.target.create_dir(&distcp_target).await.unwrap();
        namenode::allow_snapshot(&mirror.target, &distcp_target)
            .await
            .unwrap();
    });
    snapshot(&mirror.source, &mirror.src, "s1");
    mirror.sync();
    oracle.distcp(&["-update"], &["src/.snapshot/s1"], "distcp");
    snapshot(&mirror.target, &distcp_target, "s1");

    // case 1: a folder created, then moved into a created folder.
    mirror.mkdir("1/c");
    mirror.write("1/foo/inside", b"inside\n");
    mirror.mv("1/foo", "1/c/foo");
    // case 2: a folder moved into a created folder, deleted and made again there.
    mirror.mkdir("2/c");
    mirror.mv("2/foo", "2/c/foo");
    mirror.rm("2/c/foo");
    mirror.write("2/c/foo/fresh", b"fresh\n");
    // case 3: renames on two levels, a modification underneath.
    mirror.append("3/foo/bar/f1", "more\n");
    mirror.mv("3/foo/bar", "3/foo/bar1");
    mirror.mv("3/foo", "3/foo1");
    // case 4: a folder moved into a created folder beside a created file.
    mirror.mkdir("4/c");
    mirror.write("4/c/sibling", b"sibling\n");
    mirror.mv("4/foo", "4/c/foo");
    snapshot(&mirror.source, &mirror.src, "s2");

    let (plan, _) = mirror.sync();
    assert_eq!(plan["jobs"][0]["snapshot"]["base"], "hsync-mirror-1");
    // DistCp 2.7 wants -delete with -diff; 3 refuses the two together.
    let mut flags = vec!["-update", "-diff", "s1", "s2"];
    if std::env::var("HSYNC_HADOOP").is_ok_and(|v| v.starts_with('2')) {
        flags.push("-delete");
    }
    oracle.distcp(&flags, &["src"], "distcp");

    let mut listings = oracle.listings(&["distcp", "dst"], false).into_iter();
    let (distcp, hsync) = (listings.next().unwrap(), listings.next().unwrap());
    assert_eq!(hsync.view(&[]), distcp.view(&[]));
    assert!(distcp.0.contains_key("3/foo1/bar1/f1"), "{distcp:#?}");
}

#[test]
fn raw_xattrs_travel_between_reserved_raw_paths_as_with_distcp() {
    let _clusters = clusters_in_use();
    let oracle = Oracle::new("raw");
    oracle.dir.create("a/src/f.txt", "f\n");
    oracle.dir.create("a/src/plain.txt", "plain\n");
    oracle.seed(&oracle.a, "a", &[]);
    let oracle = Oracle {
        prefix: "/.reserved/raw",
        ..oracle
    };
    let file = oracle.path("src/f.txt");
    oracle
        .a
        .shell(&["-setfattr", "-n", "raw.hsync", "-v", "kept", &file]);
    oracle
        .a
        .shell(&["-setfattr", "-n", "user.origin", "-v", "a", &file]);

    oracle.distcp(&[], &["src"], "distcp");
    oracle.hsync(&[("hsync", &["src"], "mode = \"update\"")]);

    let (distcp, hsync) = oracle.pair(true);
    assert_eq!(
        distcp.get("f.txt").xattrs,
        [format!("raw.hsync=0x{}", hex(b"kept"))]
    );
    assert_eq!(hsync.view(&[Xattrs]), distcp.view(&[Xattrs]));
}
