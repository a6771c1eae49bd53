//! Snapshots, snapshot diffs, xattrs and file checksums against the real
//! HDFS clusters, checked against Hadoop's own tools (`scripts/hdfs
//! snapshotdiff`, FsShell), and the vendored client's write path.
//!
//! Needs `eval "$(scripts/hdfs env)"` (HSYNC_TEST_HDFS_A, and _B for the
//! checksums); fails, never skips, without it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hsync_storage::namenode::{self, DiffEntry, DiffKind};
use hsync_storage::{
    join, Attributes, ChecksumMode, CreateOptions, ErrorKind, FileChecksum, HdfsSpec, HdfsStorage,
    Result, Storage, XAttr, XAttrNamespace,
};

/// The URL of cluster `a` or `b`, from `HSYNC_TEST_HDFS_A`/`_B`.
fn cluster_url(cluster: &str) -> String {
    let var = format!("HSYNC_TEST_HDFS_{}", cluster.to_uppercase());
    std::env::var(&var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: these tests need the real HDFS clusters. \
             Run `scripts/hdfs start` and `eval \"$(scripts/hdfs env)\"` first."
        )
    })
}

fn connect_to(cluster: &str) -> HdfsStorage {
    // A nameservice (Hadoop 3's HA cluster b) is defined by its config files.
    let config = format!("HSYNC_TEST_HDFS_{}_CONFIG", cluster.to_uppercase());
    let spec = HdfsSpec {
        url: cluster_url(cluster),
        config_dir: std::env::var(config).ok(),
        ..HdfsSpec::default()
    };
    HdfsStorage::connect(&spec).unwrap_or_else(|e| panic!("connect to cluster {cluster}: {e}"))
}

fn connect() -> HdfsStorage {
    connect_to("a")
}

/// A fresh path per test: `/t/namenode-<pid>-<nanos>-<name>`.
fn unique_root(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("/t/namenode-{}-{nanos}-{name}", std::process::id())
}

/// Runs `scripts/hdfs ARGS` (Hadoop's own tools) and returns its stdout.
fn hadoop(args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/hdfs");
    let output = Command::new(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    assert!(
        output.status.success(),
        "scripts/hdfs {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("tool output is UTF-8")
}

/// Retries a transient failure (a DataNode restarting under fault tests).
async fn retry<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut tries = 0;
    loop {
        match call().await {
            Ok(value) => return value,
            Err(e) if e.kind == ErrorKind::Transient && tries < 10 => {
                tries += 1;
                eprintln!("{what}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(500 * tries)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// Writes (or overwrites) a file of `len` bytes.
async fn write(hdfs: &HdfsStorage, path: &str, len: usize) {
    write_with(hdfs, path, &vec![b'x'; len], &CreateOptions::default()).await
}

/// Writes (or overwrites) a file of `data` with `options`.
async fn write_with(hdfs: &HdfsStorage, path: &str, data: &[u8], options: &CreateOptions) {
    retry(&format!("write {path}"), || async {
        let mut writer = hdfs.create(path, options).await?;
        writer.write(Bytes::copy_from_slice(data)).await?;
        writer.close().await
    })
    .await
}

async fn mkdir(hdfs: &HdfsStorage, path: &str) {
    hdfs.create_dir(path).await.expect("mkdir");
}

/// Parses `SnapshotDiff` output: a header line, then `L\t./path` or
/// `R\t./a -> ./b` lines.
fn parse_hadoop_diff(output: &str) -> Vec<DiffEntry> {
    let relative = |p: &str| -> String {
        match p {
            "." => String::new(),
            p => p
                .strip_prefix("./")
                .unwrap_or_else(|| panic!("unexpected path {p:?}"))
                .to_string(),
        }
    };
    output
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with("Difference between"))
        .map(|line| {
            let (label, paths) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("unexpected SnapshotDiff line {line:?}"));
            let kind = match label {
                "+" => DiffKind::Create,
                "M" => DiffKind::Modify,
                "-" => DiffKind::Delete,
                "R" => DiffKind::Rename,
                _ => panic!("unexpected label in {line:?}"),
            };
            let (source, target) = match paths.split_once(" -> ") {
                Some((source, target)) => (relative(source), Some(relative(target))),
                None => (relative(paths), None),
            };
            DiffEntry {
                kind,
                source,
                target,
            }
        })
        .collect()
}

fn show(entries: &[DiffEntry]) -> String {
    entries
        .iter()
        .map(|e| format!("  {e}\n"))
        .collect::<String>()
}

/// Asserts that hsync's diff and Hadoop's SnapshotDiff list the same entries,
/// in the same order (both come from the one NameNode call).
fn assert_same_diff(root: &str, from: &str, to: &str, ours: &[DiffEntry]) {
    let theirs = parse_hadoop_diff(&hadoop(&["snapshotdiff", "a", root, from, to]));
    eprintln!(
        "diff {from} -> {to}:\nhsync:\n{}hadoop:\n{}",
        show(ours),
        show(&theirs)
    );
    assert_eq!(
        ours,
        theirs.as_slice(),
        "hsync's diff {from} -> {to} differs from Hadoop's SnapshotDiff\nhsync:\n{}hadoop:\n{}",
        show(ours),
        show(&theirs)
    );
}

fn entry(kind: DiffKind, source: &str, target: Option<&str>) -> DiffEntry {
    DiffEntry {
        kind,
        source: source.to_string(),
        target: target.map(str::to_string),
    }
}

/// Removes a test tree: its snapshots first, then the files.
async fn cleanup(hdfs: &HdfsStorage, root: &str) {
    for name in namenode::list_snapshots(hdfs, root)
        .await
        .unwrap_or_default()
    {
        namenode::delete_snapshot(hdfs, root, &name)
            .await
            .expect("delete snapshot");
    }
    namenode::disallow_snapshot(hdfs, root)
        .await
        .expect("disallow snapshot");
    hadoop(&["shell", "a", "-rm", "-r", "-skipTrash", root]);
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_diff_matches_hadoop_snapshot_diff() {
    let hdfs = connect();
    let root = unique_root("diff");
    let p = |rel: &str| join(&root, rel);

    mkdir(&hdfs, &root).await;
    write(&hdfs, &p("keep.txt"), 10).await;
    write(&hdfs, &p("gone.txt"), 10).await;
    write(&hdfs, &p("old.txt"), 10).await;
    write(&hdfs, &p("dir-old/child.txt"), 10).await;
    write(&hdfs, &p("dir-old/sub/deep.txt"), 10).await;
    write(&hdfs, &p("stay/inner.txt"), 10).await;
    write(&hdfs, &p("stay/chmod.txt"), 10).await;

    namenode::allow_snapshot(&hdfs, &root).await.unwrap();
    // Allowing twice is accepted, as by dfsadmin.
    namenode::allow_snapshot(&hdfs, &root).await.unwrap();
    let s1 = namenode::create_snapshot(&hdfs, &root, "s1").await.unwrap();
    assert_eq!(s1, namenode::snapshot_path(&root, "s1"));
    assert_eq!(s1, format!("{root}/.snapshot/s1"));
    assert_eq!(
        namenode::list_snapshots(&hdfs, &root).await.unwrap(),
        ["s1"]
    );

    // Create, modify by overwrite with another size, delete, rename a file
    // and a directory (and change children of the renamed directory), and
    // change a file's attributes only.
    write(&hdfs, &p("fresh.txt"), 5).await;
    write(&hdfs, &p("fresh-dir/x.txt"), 5).await;
    write(&hdfs, &p("keep.txt"), 25).await;
    write(&hdfs, &p("stay/inner.txt"), 25).await;
    hdfs.remove_file(&p("gone.txt")).await.unwrap();
    hdfs.rename(&p("old.txt"), &p("new.txt")).await.unwrap();
    hdfs.rename(&p("dir-old"), &p("dir-new")).await.unwrap();
    write(&hdfs, &p("dir-new/child.txt"), 30).await;
    write(&hdfs, &p("dir-new/added.txt"), 3).await;
    let chmod = Attributes {
        permission: Some(0o600),
        ..Attributes::default()
    };
    hdfs.set_attributes(&p("stay/chmod.txt"), &chmod)
        .await
        .unwrap();

    let s2 = namenode::create_snapshot(&hdfs, &root, "s2").await.unwrap();
    assert_eq!(s2, format!("{root}/.snapshot/s2"));
    assert_eq!(
        namenode::list_snapshots(&hdfs, &root).await.unwrap(),
        ["s1", "s2"]
    );

    let diff = namenode::snapshot_diff(&hdfs, &root, "s1", "s2")
        .await
        .unwrap();
    assert_same_diff(&root, "s1", "s2", &diff);

    // What the entries say, as Hadoop 2.7.3 reports them.
    let has = |e: DiffEntry| {
        assert!(diff.contains(&e), "missing {e:?} in\n{}", show(&diff));
    };
    has(entry(DiffKind::Modify, "", None));
    has(entry(DiffKind::Create, "fresh.txt", None));
    has(entry(DiffKind::Create, "fresh-dir", None));
    has(entry(DiffKind::Delete, "gone.txt", None));
    has(entry(DiffKind::Rename, "old.txt", Some("new.txt")));
    has(entry(DiffKind::Rename, "dir-old", Some("dir-new")));
    has(entry(DiffKind::Modify, "stay/chmod.txt", None));
    // Overwriting a file replaces its inode: a delete and a create, not `M`.
    has(entry(DiffKind::Create, "keep.txt", None));
    has(entry(DiffKind::Delete, "keep.txt", None));
    has(entry(DiffKind::Modify, "stay", None));
    has(entry(DiffKind::Create, "stay/inner.txt", None));
    has(entry(DiffKind::Delete, "stay/inner.txt", None));
    assert!(!diff.contains(&entry(DiffKind::Modify, "keep.txt", None)));
    // Changes inside a renamed directory are listed under its old name.
    has(entry(DiffKind::Modify, "dir-old", None));
    has(entry(DiffKind::Create, "dir-old/added.txt", None));
    has(entry(DiffKind::Create, "dir-old/child.txt", None));
    has(entry(DiffKind::Delete, "dir-old/child.txt", None));
    assert!(
        !diff.iter().any(|e| e.source.starts_with("dir-new")),
        "{}",
        show(&diff)
    );
    // Nothing inside a created directory is listed.
    assert!(
        !diff.iter().any(|e| e.source.starts_with("fresh-dir/")),
        "{}",
        show(&diff)
    );

    // To the current tree: an empty name, or `.` as the Hadoop tool takes.
    write(&hdfs, &p("after-s2.txt"), 1).await;
    let to_current = namenode::snapshot_diff(&hdfs, &root, "s2", "")
        .await
        .unwrap();
    assert_same_diff(&root, "s2", ".", &to_current);
    assert!(
        to_current.contains(&entry(DiffKind::Create, "after-s2.txt", None)),
        "{}",
        show(&to_current)
    );
    let dot = namenode::snapshot_diff(&hdfs, &root, "s2", ".")
        .await
        .unwrap();
    assert_eq!(dot, to_current);
    // And backwards: from the newer state to the older one.
    let backwards = namenode::snapshot_diff(&hdfs, &root, "s2", "s1")
        .await
        .unwrap();
    assert_same_diff(&root, "s2", "s1", &backwards);
    // The same snapshot on both sides: nothing.
    assert_eq!(
        namenode::snapshot_diff(&hdfs, &root, "s1", "s1")
            .await
            .unwrap(),
        []
    );

    cleanup(&hdfs, &root).await;
}

/// Hadoop 3's NameNode on the test bed pages diffs at 3 entries
/// (`dfs.namenode.snapshotdiff.listing.limit`): this one spans many pages,
/// with renames (of files and directories, into other directories) whose
/// two halves land on different pages.
#[tokio::test(flavor = "multi_thread")]
async fn hadoop3_a_snapshot_diff_longer_than_a_page_is_reassembled_as_hadoop_snapshotdiff_lists_it()
{
    let hdfs = connect();
    let root = unique_root("paged-diff");
    let p = |rel: &str| join(&root, rel);
    for dir in ["d1", "d2", "d3"] {
        for i in 0..4 {
            write(&hdfs, &p(&format!("{dir}/f{i}")), 10).await;
        }
    }
    write(&hdfs, &p("d1/sub/deep"), 10).await;
    namenode::allow_snapshot(&hdfs, &root).await.unwrap();
    namenode::create_snapshot(&hdfs, &root, "s1").await.unwrap();

    for i in 0..5 {
        write(&hdfs, &p(&format!("d2/new{i}")), 3).await;
    }
    hdfs.remove_file(&p("d1/f0")).await.unwrap();
    hdfs.remove_file(&p("d3/f3")).await.unwrap();
    write(&hdfs, &p("d3/f1"), 30).await;
    hdfs.rename(&p("d1/f1"), &p("d3/moved")).await.unwrap();
    hdfs.rename(&p("d2/f2"), &p("d2/renamed")).await.unwrap();
    hdfs.rename(&p("d1/sub"), &p("d2/sub-moved")).await.unwrap();
    write(&hdfs, &p("d2/sub-moved/added"), 3).await;
    let chmod = Attributes {
        permission: Some(0o600),
        ..Attributes::default()
    };
    hdfs.set_attributes(&p("d3/f0"), &chmod).await.unwrap();
    namenode::create_snapshot(&hdfs, &root, "s2").await.unwrap();
    write(&hdfs, &p("d1/after"), 1).await;

    // Paged between snapshots, either way; with the current tree in one
    // call, as Hadoop's client does.
    for (from, to) in [("s1", "s2"), ("s2", "s1"), ("s1", ".")] {
        let diff = namenode::snapshot_diff(&hdfs, &root, from, to)
            .await
            .unwrap();
        assert!(diff.len() > 3 * 4, "{from} -> {to}: {}", show(&diff));
        assert_same_diff(&root, from, to, &diff);
    }
    let diff = namenode::snapshot_diff(&hdfs, &root, "s1", "s2")
        .await
        .unwrap();
    for rename in [
        entry(DiffKind::Rename, "d1/f1", Some("d3/moved")),
        entry(DiffKind::Rename, "d2/f2", Some("d2/renamed")),
        entry(DiffKind::Rename, "d1/sub", Some("d2/sub-moved")),
    ] {
        assert!(diff.contains(&rename), "{rename} in\n{}", show(&diff));
    }

    cleanup(&hdfs, &root).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_are_created_renamed_and_deleted() {
    let hdfs = connect();
    let root = unique_root("lifecycle");
    write(&hdfs, &join(&root, "a.txt"), 4).await;

    // Not snapshottable yet.
    let err = namenode::create_snapshot(&hdfs, &root, "s1")
        .await
        .unwrap_err();
    assert!(
        err.message.contains("snapshottable"),
        "unexpected error: {err}"
    );
    // Listing DIR/.snapshot of a directory that is not snapshottable is a
    // SnapshotException, not a missing path.
    let err = namenode::list_snapshots(&hdfs, &root).await.unwrap_err();
    assert!(
        err.message.contains("not a snapshottable directory"),
        "unexpected error: {err}"
    );

    let err = namenode::list_snapshots(&hdfs, &join(&root, "missing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");

    namenode::allow_snapshot(&hdfs, &root).await.unwrap();
    assert!(namenode::snapshottable_dirs(&hdfs)
        .await
        .unwrap()
        .contains(&root));
    assert_eq!(
        namenode::list_snapshots(&hdfs, &root).await.unwrap(),
        Vec::<String>::new()
    );
    namenode::create_snapshot(&hdfs, &root, "s1").await.unwrap();
    namenode::create_snapshot(&hdfs, &root, "s2").await.unwrap();
    // A name already taken is refused.
    let err = namenode::create_snapshot(&hdfs, &root, "s2")
        .await
        .unwrap_err();
    assert!(err.message.contains("s2"), "unexpected error: {err}");

    // A snapshot reads like a directory.
    let in_snapshot = hdfs
        .stat(&join(&namenode::snapshot_path(&root, "s1"), "a.txt"))
        .await
        .unwrap()
        .expect("a.txt in s1");
    assert_eq!(in_snapshot.size, 4);
    // What is read from a snapshot needs no check that it stayed put.
    let snapshot_file = join(&namenode::snapshot_path(&root, "s1"), "a.txt");
    assert!(hdfs.immutable(&snapshot_file));
    assert!(!hdfs.immutable(&join(&root, "a.txt")));
    assert!(!hdfs.immutable(&join(&root, ".snapshots/a.txt")));

    namenode::rename_snapshot(&hdfs, &root, "s2", "s3")
        .await
        .unwrap();
    assert_eq!(
        namenode::list_snapshots(&hdfs, &root).await.unwrap(),
        ["s1", "s3"]
    );

    namenode::delete_snapshot(&hdfs, &root, "s1").await.unwrap();
    assert_eq!(
        namenode::list_snapshots(&hdfs, &root).await.unwrap(),
        ["s3"]
    );
    assert!(hdfs
        .stat(&namenode::snapshot_path(&root, "s1"))
        .await
        .unwrap()
        .is_none());
    let listed = hadoop(&["shell", "a", "-ls", &join(&root, ".snapshot")]);
    assert!(
        !listed.contains("/.snapshot/s1") && listed.contains("/.snapshot/s3"),
        "FsShell still lists s1 or lost s3:\n{listed}"
    );
    // A diff against a deleted snapshot fails.
    assert!(namenode::snapshot_diff(&hdfs, &root, "s1", "s3")
        .await
        .is_err());
    // Snapshots left: cannot disallow.
    assert!(namenode::disallow_snapshot(&hdfs, &root).await.is_err());

    cleanup(&hdfs, &root).await;
    assert!(!namenode::snapshottable_dirs(&hdfs)
        .await
        .unwrap()
        .contains(&root));
}

/// `-getfattr -d -e hex PATH` output: `# file: PATH` then `name=0xHEX` lines.
fn fsshell_xattrs(path: &str) -> Vec<(String, Vec<u8>)> {
    let output = hadoop(&["shell", "a", "-getfattr", "-d", "-e", "hex", path]);
    output
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, value) = line.split_once('=').unwrap_or((line, ""));
            let hex = value.strip_prefix("0x").unwrap_or(value);
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex value"))
                .collect();
            (name.to_string(), bytes)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn xattrs_round_trip_with_fsshell() {
    let hdfs = connect();
    let root = unique_root("xattr");
    let file = join(&root, "f.txt");
    write(&hdfs, &file, 3).await;

    assert_eq!(namenode::xattrs(&hdfs, &file).await.unwrap(), []);

    let text = XAttr::user("hsync.origin", "cluster-b:/data/f.txt");
    let binary = XAttr::user("hsync.bin", vec![0u8, 0xff, b'"', b'\n', 0x80]);
    namenode::set_xattr(&hdfs, &file, &text).await.unwrap();
    namenode::set_xattr(&hdfs, &file, &binary).await.unwrap();
    assert_eq!(text.full_name(), "user.hsync.origin");

    // Read back through hsync.
    let mut got = namenode::xattrs(&hdfs, &file).await.unwrap();
    got.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(got, [binary.clone(), text.clone()]);

    // Read back through Hadoop's FsShell.
    let mut shell = fsshell_xattrs(&file);
    shell.sort();
    assert_eq!(
        shell,
        [
            ("user.hsync.bin".to_string(), binary.value.clone()),
            ("user.hsync.origin".to_string(), text.value.clone()),
        ]
    );
    let plain = hadoop(&["shell", "a", "-getfattr", "-n", "user.hsync.origin", &file]);
    assert!(
        plain.contains("user.hsync.origin=\"cluster-b:/data/f.txt\""),
        "{plain}"
    );

    // Set by FsShell, read by hsync; replace the value; remove one.
    hadoop(&[
        "shell",
        "a",
        "-setfattr",
        "-n",
        "user.shell",
        "-v",
        "from-java",
        &file,
    ]);
    let replaced = XAttr::user("hsync.origin", "v2");
    namenode::set_xattr(&hdfs, &file, &replaced).await.unwrap();
    namenode::remove_xattr(&hdfs, &file, XAttrNamespace::User, "hsync.bin")
        .await
        .unwrap();
    let mut got = namenode::xattrs(&hdfs, &file).await.unwrap();
    got.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(got, [replaced, XAttr::user("shell", "from-java")]);
    let mut shell = fsshell_xattrs(&file);
    shell.sort();
    assert_eq!(
        shell,
        [
            ("user.hsync.origin".to_string(), b"v2".to_vec()),
            ("user.shell".to_string(), b"from-java".to_vec()),
        ]
    );

    // An empty value, and xattrs on a directory.
    namenode::set_xattr(&hdfs, &root, &XAttr::user("empty", Vec::new()))
        .await
        .unwrap();
    assert_eq!(
        namenode::xattrs(&hdfs, &root).await.unwrap(),
        [XAttr::user("empty", Vec::new())]
    );

    // Errors: a missing path, a missing attribute.
    let err = namenode::xattrs(&hdfs, &join(&root, "missing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert!(
        namenode::remove_xattr(&hdfs, &file, XAttrNamespace::User, "never-set")
            .await
            .is_err()
    );

    hadoop(&["shell", "a", "-rm", "-r", "-skipTrash", &root]);
}

/// The clusters' block size (`dfs.blocksize` in `scripts/hdfs`).
const BLOCK: usize = 1 << 20;

/// Bytes that differ from block to block, so a block-order mix-up shows.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// FsShell's `-checksum PATH` on `cluster`: `PATH\tALGORITHM\tHEX`.
fn fsshell_checksum(cluster: &str, path: &str) -> FileChecksum {
    fsshell_checksum_in(cluster, path, ChecksumMode::Md5Md5Crc32)
}

/// FsShell's `-checksum PATH` under `dfs.checksum.combine.mode` `mode`.
fn fsshell_checksum_in(cluster: &str, path: &str, mode: ChecksumMode) -> FileChecksum {
    let mode = match mode {
        ChecksumMode::CompositeCrc => "COMPOSITE_CRC",
        ChecksumMode::Md5Md5Crc32 => "MD5MD5CRC",
    };
    let setting = format!("-Ddfs.checksum.combine.mode={mode}");
    let output = hadoop(&["shell", cluster, &setting, "-checksum", path]);
    let fields: Vec<&str> = output.trim_end().split('\t').collect();
    let [_, algorithm, hex] = fields[..] else {
        panic!("unexpected -checksum output {output:?}");
    };
    FileChecksum {
        algorithm: algorithm.to_string(),
        bytes: (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex checksum"))
            .collect(),
    }
}

async fn checksum(hdfs: &HdfsStorage, path: &str) -> FileChecksum {
    checksum_in(hdfs, path, ChecksumMode::Md5Md5Crc32)
        .await
        .unwrap_or_else(|| panic!("{path} has no checksum"))
}

async fn checksum_in(hdfs: &HdfsStorage, path: &str, mode: ChecksumMode) -> Option<FileChecksum> {
    retry(&format!("checksum {path}"), || {
        hdfs.file_checksum(path, mode)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn file_checksum_equals_fsshell_checksum() {
    let hdfs = connect();
    let root = unique_root("checksum");
    let p = |rel: &str| join(&root, rel);
    let defaults = CreateOptions::default();
    write_with(&hdfs, &p("empty"), &[], &defaults).await;
    write_with(&hdfs, &p("one-block"), &content(100_000), &defaults).await;
    write_with(
        &hdfs,
        &p("three-blocks"),
        &content(2 * BLOCK + 12_345),
        &defaults,
    )
    .await;

    // The empty file has no block: Hadoop's fixed `MD5-of-0MD5-of-0CRC32`.
    for name in ["empty", "one-block", "three-blocks"] {
        let ours = checksum(&hdfs, &p(name)).await;
        assert_eq!(ours, fsshell_checksum("a", &p(name)), "{name}");
        assert_eq!(ours.bytes.len(), 28, "{name}");
    }
    // Hadoop counts CRCs per block only for a file of several blocks.
    assert_eq!(
        checksum(&hdfs, &p("one-block")).await.algorithm,
        "MD5-of-0MD5-of-512CRC32C"
    );
    assert_eq!(
        checksum(&hdfs, &p("three-blocks")).await.algorithm,
        "MD5-of-2048MD5-of-512CRC32C"
    );

    let err = hdfs
        .file_checksum(&p("missing"), ChecksumMode::Md5Md5Crc32)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");

    hadoop(&["shell", "a", "-rm", "-r", "-skipTrash", &root]);
}

#[tokio::test(flavor = "multi_thread")]
async fn file_checksums_match_across_clusters_only_under_the_same_block_size() {
    let (a, b) = (connect(), connect_to("b"));
    let root = unique_root("checksum-clusters");
    let p = |rel: &str| join(&root, rel);
    let data = content(2 * BLOCK + 12_345);
    let small = content(100_000);
    let blocks = |size: usize| CreateOptions {
        block_size: Some(size as u64),
        ..CreateOptions::default()
    };
    write_with(&a, &p("f"), &data, &blocks(BLOCK)).await;
    write_with(&a, &p("small"), &small, &blocks(BLOCK)).await;
    write_with(&b, &p("same-blocks"), &data, &blocks(BLOCK)).await;
    write_with(&b, &p("bigger-blocks"), &data, &blocks(2 * BLOCK)).await;
    write_with(&b, &p("small"), &small, &blocks(2 * BLOCK)).await;

    let source = checksum(&a, &p("f")).await;
    assert_eq!(checksum(&b, &p("same-blocks")).await, source);
    assert_eq!(fsshell_checksum("b", &p("same-blocks")), source);

    // Another block size: another algorithm name, and other bytes.
    let other = checksum(&b, &p("bigger-blocks")).await;
    assert_eq!(other.algorithm, "MD5-of-4096MD5-of-512CRC32C");
    assert_ne!(other.algorithm, source.algorithm);
    assert_ne!(other.bytes, source.bytes);

    // A file within one block on both sides does not depend on the block
    // size: same name, same bytes.
    assert_eq!(
        checksum(&a, &p("small")).await,
        checksum(&b, &p("small")).await
    );

    hadoop(&["shell", "a", "-rm", "-r", "-skipTrash", &root]);
    hadoop(&["shell", "b", "-rm", "-r", "-skipTrash", &root]);
}

/// Sizes around the erasure-coded layout of RS-3-2-1024k on 1 MiB blocks:
/// empty, within a cell, several cells, a full stripe and more, and several
/// block groups (3 MiB each).
const EC_SIZES: [(&str, usize); 6] = [
    ("empty", 0),
    ("small", 100_000),
    ("cells", BLOCK + 4321),
    ("stripe", 3 * BLOCK + 1),
    ("groups", 7 * BLOCK + 12_345),
    ("exact-group", 6 * BLOCK),
];

/// Puts a file of each of `EC_SIZES` into `dir` on cluster a with FsShell.
fn put_sizes(dir: &str) {
    let local = std::env::temp_dir().join(format!("hsync-{}", dir.replace('/', "_")));
    std::fs::create_dir_all(&local).unwrap();
    for (name, size) in EC_SIZES {
        std::fs::write(local.join(name), content(size)).unwrap();
    }
    let files: Vec<String> = EC_SIZES
        .iter()
        .map(|(name, _)| local.join(name).display().to_string())
        .collect();
    let mut args = vec!["shell", "a", "-put"];
    args.extend(files.iter().map(String::as_str));
    args.push(dir);
    hadoop(&args);
    std::fs::remove_dir_all(&local).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn hadoop3_composite_crc_checksums_equal_fsshell_for_erasure_coded_and_replicated_files() {
    let hdfs = connect();
    let root = unique_root("composite-crc");
    let (ec, replicated) = (join(&root, "ec"), join(&root, "replicated"));
    hadoop(&["shell", "a", "-mkdir", "-p", &ec, &replicated]);
    hadoop(&[
        "ec",
        "a",
        "-setPolicy",
        "-path",
        &ec,
        "-policy",
        "RS-3-2-1024k",
    ]);
    put_sizes(&ec);
    put_sizes(&replicated);

    let composite = ChecksumMode::CompositeCrc;
    for (name, _) in EC_SIZES {
        let (e, r) = (join(&ec, name), join(&replicated, name));
        let ours = checksum_in(&hdfs, &e, composite).await;
        assert_eq!(
            ours,
            Some(fsshell_checksum_in("a", &e, composite)),
            "ec/{name}"
        );
        assert_eq!(
            checksum_in(&hdfs, &r, composite).await,
            Some(fsshell_checksum_in("a", &r, composite)),
            "replicated/{name}"
        );
        // The same bytes, whatever the layout.
        assert_eq!(ours, checksum_in(&hdfs, &r, composite).await, "{name}");
        // MD5MD5CRC32 of a block group, as FsShell gives it by default.
        assert_eq!(
            checksum(&hdfs, &e).await,
            fsshell_checksum("a", &e),
            "ec/{name}"
        );
    }
    let stripe = checksum_in(&hdfs, &join(&ec, "stripe"), composite)
        .await
        .unwrap();
    assert_eq!(stripe.algorithm, "COMPOSITE-CRC32C");
    assert_eq!(stripe.bytes.len(), 4);
    // An empty file has no block: Hadoop's fixed MD5 answer in either mode.
    assert_eq!(
        checksum_in(&hdfs, &join(&ec, "empty"), composite)
            .await
            .unwrap()
            .algorithm,
        "MD5-of-0MD5-of-0CRC32"
    );

    hadoop(&["shell", "a", "-rm", "-r", "-skipTrash", &root]);
}

#[tokio::test(flavor = "multi_thread")]
async fn hadoop3_composite_crc_checksums_do_not_depend_on_the_block_size() {
    let hdfs = connect();
    let root = unique_root("composite-blocks");
    let p = |rel: &str| join(&root, rel);
    let data = content(2 * BLOCK + 12_345);
    let blocks = |size: usize| CreateOptions {
        block_size: Some(size as u64),
        ..CreateOptions::default()
    };
    write_with(&hdfs, &p("small-blocks"), &data, &blocks(BLOCK)).await;
    write_with(&hdfs, &p("big-blocks"), &data, &blocks(4 * BLOCK)).await;

    let composite = ChecksumMode::CompositeCrc;
    let small = checksum_in(&hdfs, &p("small-blocks"), composite).await;
    assert_eq!(small, checksum_in(&hdfs, &p("big-blocks"), composite).await);
    assert_eq!(
        small,
        Some(fsshell_checksum_in("a", &p("big-blocks"), composite))
    );
    // The MD5 checksums differ.
    assert_ne!(
        checksum(&hdfs, &p("small-blocks")).await,
        checksum(&hdfs, &p("big-blocks")).await
    );

    hadoop(&["shell", "a", "-rm", "-r", "-skipTrash", &root]);
}

#[tokio::test(flavor = "multi_thread")]
async fn hadoop2_datanodes_do_not_offer_composite_crc_checksums() {
    let hdfs = connect();
    let root = unique_root("composite-not-offered");
    let file = join(&root, "f");
    write_with(&hdfs, &file, &content(100_000), &CreateOptions::default()).await;

    // Hadoop 2.7 DataNodes ignore the request's options and answer an MD5:
    // no checksum, rather than a wrong one.
    assert_eq!(
        checksum_in(&hdfs, &file, ChecksumMode::CompositeCrc).await,
        None
    );
    assert_eq!(checksum(&hdfs, &file).await, fsshell_checksum("a", &file));

    hadoop(&["shell", "a", "-rm", "-r", "-skipTrash", &root]);
}

// The write path of the vendored client (`vendor/hdfs-native-patches`).

/// Every block boundary asks the NameNode for the next block, which it
/// refuses (`NotReplicatedYetException`) until the DataNode has reported the
/// previous one: the client waits and asks again (patch 0002).
#[tokio::test(flavor = "multi_thread")]
async fn a_file_of_many_blocks_is_written_block_after_block() {
    let hdfs = connect();
    let root = unique_root("many-blocks");
    let path = join(&root, "f");
    let data = content(8 * BLOCK + 1);
    // No `retry`: a refused block is what this test is about.
    let mut writer = hdfs
        .create(&path, &CreateOptions::default())
        .await
        .expect("create");
    for chunk in data.chunks(64 * 1024) {
        writer
            .write(Bytes::copy_from_slice(chunk))
            .await
            .expect("write");
    }
    writer.close().await.expect("close");

    let mut reader = hdfs.open(&path).await.expect("open");
    let mut back = Vec::with_capacity(data.len());
    loop {
        let bytes = reader.read(BLOCK).await.expect("read");
        if bytes.is_empty() {
            break;
        }
        back.extend_from_slice(&bytes);
    }
    assert!(
        back == data,
        "read back {} of {} bytes, or other bytes",
        back.len(),
        data.len()
    );

    hadoop(&["shell", "a", "-rm", "-r", "-skipTrash", &root]);
}

/// The NameNode completes a file only once the DataNode has reported its
/// last block, a few milliseconds after the last ack: the client asks 3 ms
/// after it, then from 20 ms on (patches 0003, 0004), where the release
/// waited 500 ms before asking again and made each small file cost that.
#[tokio::test(flavor = "multi_thread")]
async fn small_files_close_in_milliseconds_not_half_seconds() {
    let hdfs = connect();
    let root = unique_root("small-closes");
    write(&hdfs, &join(&root, "first"), 1).await;
    let files = 20;
    let mut closing = Duration::ZERO;
    for i in 0..files {
        let mut writer = hdfs
            .create(&join(&root, &format!("f{i}")), &CreateOptions::default())
            .await
            .expect("create");
        writer
            .write(Bytes::from_static(b"small"))
            .await
            .expect("write");
        let started = Instant::now();
        writer.close().await.expect("close");
        closing += started.elapsed();
    }
    let mean = closing / files;
    assert!(
        mean < Duration::from_millis(100),
        "closing a small file took {mean:?} on average"
    );

    hadoop(&["shell", "a", "-rm", "-r", "-skipTrash", &root]);
}

/// `GET path` from `address` (`host:port`) over HTTP/1.0: the body.
fn http_get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap_or_else(|e| panic!("{address}: {e}"));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    match response.split_once("\r\n\r\n") {
        Some((head, body))
            if head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200") =>
        {
            body.to_string()
        }
        _ => panic!("GET {address}{path}: {response}"),
    }
}

/// The first bean of a `/jmx?qry=QUERY` answer at `address`.
fn jmx(address: &str, query: &str) -> serde_json::Value {
    let body = http_get(address, &format!("/jmx?qry={query}"));
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JMX answers JSON");
    answer["beans"][0].clone()
}

/// How many fsyncs the DataNodes of cluster `a` have made, from their
/// `FsyncCount` metric. The NameNode's web UI is on its RPC port + 70
/// (`scripts/hdfs`); its `LiveNodes` give each DataNode's.
fn datanode_fsyncs() -> u64 {
    let url = cluster_url("a");
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port in the URL");
    let namenode = format!("127.0.0.1:{}", port + 70);
    let info = jmx(&namenode, "Hadoop:service=NameNode,name=NameNodeInfo");
    let live: serde_json::Value =
        serde_json::from_str(info["LiveNodes"].as_str().expect("LiveNodes"))
            .expect("LiveNodes is JSON");
    let datanodes = live.as_object().expect("LiveNodes is an object");
    assert!(!datanodes.is_empty(), "no live DataNode");
    datanodes
        .values()
        .map(|node| {
            let address = node["infoAddr"].as_str().expect("infoAddr");
            jmx(address, "Hadoop:service=DataNode,name=DataNodeActivity-*")["FsyncCount"]
                .as_u64()
                .expect("FsyncCount")
        })
        .sum()
}

/// A closed block is not fsynced on the client's say-so, as with the Java
/// client (patch 0005): that is the cluster's `dfs.datanode.synconclose`.
#[tokio::test(flavor = "multi_thread")]
async fn closing_a_block_asks_no_datanode_for_an_fsync() {
    let hdfs = connect();
    let root = unique_root("no-fsync");
    let (files, blocks_each) = (5, 2);
    let before = datanode_fsyncs();
    for i in 0..files {
        write_with(
            &hdfs,
            &join(&root, &format!("f{i}")),
            &content((blocks_each - 1) * BLOCK + 1),
            &CreateOptions::default(),
        )
        .await;
    }
    // JMX answers from a cache renewed after 10 s (the metrics period).
    tokio::time::sleep(Duration::from_secs(11)).await;
    // Asked to, each DataNode would fsync each block it holds: at least one
    // fsync a block. Other clients of the shared clusters may make a few.
    let fsyncs = datanode_fsyncs() - before;
    assert!(
        fsyncs < (files * blocks_each) as u64,
        "the DataNodes made {fsyncs} fsyncs while {} blocks were written",
        files * blocks_each
    );

    hadoop(&["shell", "a", "-rm", "-r", "-skipTrash", &root]);
}
