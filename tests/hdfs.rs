//! hsync against two real HDFS clusters (Apache Hadoop 2.7.3 on loopback,
//! started by `scripts/hdfs start`; `scripts/test` does it). Every result is
//! checked through Hadoop's own FsShell, never through hsync's client.
//!
//! These tests need the clusters: without `HSYNC_TEST_HDFS_A` and
//! `HSYNC_TEST_HDFS_B` they fail, loudly, rather than pass by skipping.

use crate::cluster::{
    cluster, clusters, clusters_in_use, hadoop3, slow_apply_committing, unique_root, Cluster,
};
use crate::util::{journal_marks_once, noise, regex_escape, says, Dir};

/// A tree with what trips copiers up: nested and empty folders, an empty
/// file, a file of several blocks (the test clusters use 1 MiB blocks),
/// names with spaces and non-ASCII characters.
fn awkward_tree(dir: &Dir, root: &str) {
    dir.create(&format!("{root}/a/b/c/deep.txt"), "deep\n");
    dir.mkdir(&format!("{root}/empty dir"));
    dir.create(&format!("{root}/a/empty"), "");
    dir.create(
        &format!("{root}/a/multi-block.bin"),
        noise(3 * 1024 * 1024 + 12345, 1),
    );
    dir.create(&format!("{root}/a/naïve café ☕.txt"), "unicode\n");
    dir.create(&format!("{root}/with space/file one.txt"), noise(4000, 2));
}

#[test]
fn hdfs_to_hdfs_copies_nested_and_empty_dirs_empty_files_multi_block_files_and_unicode_names() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("a-to-b");
    let dir = Dir::new();
    awkward_tree(&dir, "local");
    a.put(&dir.join("local"), &format!("{root}/src"));
    dir.manifest(&format!(
        "{}[[job]]\nname = \"across\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n",
        clusters(&a, &b, None),
        a.alias(&format!("{root}/src")),
        b.alias(&format!("{root}/dst")),
    ));

    dir.plan();
    let summary = dir.apply();
    assert_eq!(summary["outcome"], "success", "{summary:#}");
    assert_eq!(summary["files_copied"], 5);

    assert_eq!(b.tree(&format!("{root}/dst"), &dir), dir.tree("local"));
    assert!(b
        .paths(&format!("{root}/dst"))
        .iter()
        .all(|p| !p.contains(".hsync-tmp.")));
    dir.hsync(["plan", "--detailed-exitcode"]).ok();
}

#[test]
fn local_to_hdfs_and_hdfs_to_local_round_trip() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("round-trip");
    let dir = Dir::new();
    awkward_tree(&dir, "local");
    let job = |name: &str, source: &str, target: &str| {
        format!("[[job]]\nname = {name:?}\nsources = [{source:?}]\ntarget = {target:?}\nmode = \"update\"\n")
    };
    // Up, then down again: the second job reads what the first wrote.
    dir.create(
        "up.toml",
        clusters(&a, &b, None) + &job("up", "local", &a.alias(&format!("{root}/up"))),
    );
    dir.create(
        "down.toml",
        clusters(&a, &b, None) + &job("down", &a.alias(&format!("{root}/up")), "back"),
    );
    for manifest in ["up.toml", "down.toml"] {
        dir.hsync(["plan", "-m", manifest, "-o", "plan.json"]).ok();
        assert_eq!(dir.apply()["outcome"], "success");
    }
    assert_eq!(a.tree(&format!("{root}/up"), &dir), dir.tree("local"));
    assert_eq!(dir.tree("back"), dir.tree("local"));
}

#[test]
fn update_on_hdfs_rewrites_only_the_modified_file() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("update");
    let dir = Dir::new();
    dir.create("v1/same.txt", "same\n");
    dir.create("v1/changes.txt", "first version\n");
    a.put(&dir.join("v1"), &format!("{root}/src"));
    dir.manifest(&format!(
        "{}[[job]]\nname = \"sync\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\npreserve = [\"times\"]\n",
        clusters(&a, &b, None),
        a.alias(&format!("{root}/src")),
        b.alias(&format!("{root}/dst")),
    ));
    dir.plan();
    dir.apply();
    let same_mtime = b.stat("%Y", &format!("{root}/dst/same.txt"));

    dir.create("changes.txt", "the second, longer version\n");
    a.shell(&[
        "-put",
        "-f",
        &dir.join("changes.txt").display().to_string(),
        &format!("{root}/src/changes.txt"),
    ]);
    let plan = dir.plan();
    assert_eq!(
        crate::util::actions(&plan, 0),
        ["copy changes.txt size-differs"]
    );
    assert_eq!(dir.apply()["files_copied"], 1);

    let fetched = b.tree(&format!("{root}/dst"), &dir);
    let expected = a.tree(&format!("{root}/src"), &dir);
    assert_eq!(fetched, expected);
    assert_eq!(
        b.stat("%Y", &format!("{root}/dst/same.txt")),
        same_mtime,
        "same.txt was rewritten"
    );
}

#[test]
fn delete_removes_an_extraneous_file_on_hdfs() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("delete");
    let dir = Dir::new();
    dir.create("src/keep.txt", "keep\n");
    dir.create("extra/keep.txt", "old\n");
    dir.create("extra/gone.txt", "extraneous\n");
    a.put(&dir.join("src"), &format!("{root}/src"));
    b.put(&dir.join("extra"), &format!("{root}/dst"));
    dir.manifest(&format!(
        "{}[[job]]\nname = \"mirror\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\ndelete = true\n",
        clusters(&a, &b, None),
        a.alias(&format!("{root}/src")),
        b.alias(&format!("{root}/dst")),
    ));
    let plan = dir.plan();
    assert_eq!(
        crate::util::actions(&plan, 0),
        ["copy keep.txt size-differs", "delete gone.txt"]
    );
    let summary = dir.apply();
    assert_eq!(summary["files_deleted"], 1);
    assert!(!b.exists(&format!("{root}/dst/gone.txt")));
    assert_eq!(b.tree(&format!("{root}/dst"), &dir), dir.tree("src"));
}

#[test]
fn preserve_flags_are_visible_through_hadoops_own_fsshell() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("preserve");
    let dir = Dir::new();
    dir.create("src/data.bin", noise(3 * 1024 * 1024, 3));
    let src = format!("{root}/src");
    let file = format!("{src}/data.bin");
    a.put(&dir.join("src"), &src);
    // Attributes the target cluster would not give the copy by itself.
    a.shell(&["-chmod", "640", &file]);
    a.shell(&["-chown", "alice:analysts", &file]);
    a.shell(&["-setrep", "2", &file]);
    a.shell(&["-touchz", &format!("{src}/marker")]);
    dir.manifest(&format!(
        "{}[[job]]\nname = \"keep\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n\
         preserve = [\"times\", \"permission\", \"owner\", \"group\", \"replication\", \"blocksize\"]\n",
        clusters(&a, &b, None),
        a.alias(&src),
        b.alias(&format!("{root}/dst")),
    ));
    // A block size other than the target cluster's 1 MiB default.
    let big_blocks = format!("{src}/big-blocks.bin");
    a.shell(&[
        "-D",
        "dfs.blocksize=2097152",
        "-put",
        &dir.join("src/data.bin").display().to_string(),
        &big_blocks,
    ]);

    dir.plan();
    assert_eq!(dir.apply()["outcome"], "success");

    let format = "%u %g %r %o %Y";
    for name in ["data.bin", "big-blocks.bin", "marker"] {
        let source = a.stat(format, &format!("{src}/{name}"));
        let copy = b.stat(format, &format!("{root}/dst/{name}"));
        assert_eq!(
            copy, source,
            "owner group replication blocksize mtime of {name}"
        );
    }
    assert_eq!(
        b.stat("%o", &format!("{root}/dst/big-blocks.bin")),
        "2097152"
    );
    let permissions = |c: &Cluster, path: &str| {
        c.shell(&["-ls", path])
            .split_whitespace()
            .next()
            .map(str::to_string)
    };
    assert_eq!(
        permissions(&b, &format!("{root}/dst/data.bin")).as_deref(),
        Some("-rw-r-----")
    );
}

#[test]
fn resume_after_kill_9_of_an_hdfs_to_hdfs_apply() {
    let _clusters = clusters_in_use();
    let b = cluster("b");
    let root = unique_root("resume");
    let dir = Dir::new();
    // Kill the apply once some, not all, files are committed.
    let (mut child, journal) = slow_apply_committing(&dir, &root, 24, "2MiB/s");
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    // The killed run journaled no copy twice.
    journal_marks_once(&journal);

    // Nothing partial at a final path: every file there is whole.
    let source = dir.tree("src");
    let after_kill = b.tree(&format!("{root}/dst"), &dir);
    let landed: Vec<_> = after_kill
        .0
        .iter()
        .filter(|(p, _)| !p.contains(".hsync-tmp."))
        .collect();
    assert!(
        landed.len() < source.0.len(),
        "the apply finished before it was killed"
    );
    for (path, node) in landed {
        assert_eq!(
            Some(node),
            source.0.get(path),
            "{path} is partial at its final path"
        );
    }

    let summary = dir.apply();
    assert_eq!(summary["outcome"], "success", "{summary:#}");
    assert!(
        summary["files_already_done"].as_u64() >= Some(4),
        "{summary:#}"
    );
    assert_eq!(b.tree(&format!("{root}/dst"), &dir), source);
    assert!(b
        .paths(&format!("{root}/dst"))
        .iter()
        .all(|p| !p.contains(".hsync-tmp.")));
    // No copy was committed twice: the resumed run copied only the rest,
    // and pruned the journal once it finished.
    let done = summary["files_already_done"].as_u64().unwrap_or_default();
    assert_eq!(
        summary["files_copied"].as_u64(),
        Some(24 - done),
        "{summary:#}"
    );
    assert!(!journal.exists(), "the finished run's journal is pruned");
}

#[test]
fn preserved_xattrs_are_visible_through_hadoops_own_fsshell() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("xattr");
    let dir = Dir::new();
    dir.create("src/tagged.txt", "tagged\n");
    dir.create("src/plain.txt", "plain\n");
    let src = format!("{root}/src");
    let tagged = format!("{src}/tagged.txt");
    a.put(&dir.join("src"), &src);
    a.shell(&["-setfattr", "-n", "user.origin", "-v", "cluster-a", &tagged]);
    // Not valid UTF-8: a NUL, 0xff and 0x80 must survive byte for byte.
    a.shell(&["-setfattr", "-n", "user.blob", "-v", "0x00ff7f80", &tagged]);
    dir.manifest(&format!(
        "{}[[job]]\nname = \"xattrs\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n\
         preserve = [\"xattr\", \"permission\"]\n",
        clusters(&a, &b, None),
        a.alias(&src),
        b.alias(&format!("{root}/dst")),
    ));

    dir.plan();
    let summary = dir.apply();
    assert_eq!(summary["outcome"], "success", "{summary:#}");
    assert_eq!(summary["files_copied"], 2);

    let copy = format!("{root}/dst/tagged.txt");
    assert_eq!(xattrs(&b, &copy, &[]), xattrs(&a, &tagged, &[]));
    assert_eq!(
        xattrs(&b, &copy, &["-e", "hex"]),
        [
            "user.blob=0x00ff7f80".to_string(),
            format!("user.origin=0x{}", hex(b"cluster-a")),
        ]
    );
    assert_eq!(
        xattrs(&b, &format!("{root}/dst/plain.txt"), &[]),
        Vec::<String>::new()
    );
    dir.hsync(["plan", "--detailed-exitcode"]).ok();
}

/// A file's xattrs as `-getfattr -d [ENCODING]` prints them (`name=value`),
/// sorted.
fn xattrs(cluster: &Cluster, path: &str, encoding: &[&str]) -> Vec<String> {
    let mut args = vec!["-getfattr", "-d"];
    args.extend_from_slice(encoding);
    args.push(path);
    let mut lines: Vec<String> = cluster
        .shell(&args)
        .lines()
        .filter(|line| !line.starts_with("# file:") && !line.is_empty())
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn raw_xattrs_are_preserved_between_reserved_raw_paths_with_or_without_preserve() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("raw-xattr");
    let dir = Dir::new();
    dir.create("src/f.txt", "f\n");
    let src = format!("{root}/src");
    a.put(&dir.join("src"), &src);
    let raw = |path: &str| format!("/.reserved/raw{path}");
    let file = raw(&format!("{src}/f.txt"));
    a.shell(&["-setfattr", "-n", "raw.hsync", "-v", "kept", &file]);
    a.shell(&["-setfattr", "-n", "user.origin", "-v", "a", &file]);
    let job = |name: &str, source: &str, target: &str| {
        format!(
            "[[job]]\nname = {name:?}\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n",
            a.alias(source),
            b.alias(target)
        )
    };
    // DistCp's rule: raw.* goes with the data between /.reserved/raw paths,
    // -px or not; other namespaces only with preserve = ["xattr"].
    dir.manifest(&format!(
        "{}{}{}",
        clusters(&a, &b, None),
        job("raw", &raw(&src), &raw(&format!("{root}/raw"))),
        job("plain", &src, &format!("{root}/plain")),
    ));
    dir.plan();
    let summary = dir.apply();
    assert_eq!(summary["outcome"], "success", "{summary:#}");
    assert_eq!(
        xattrs(&b, &raw(&format!("{root}/raw/f.txt")), &[]),
        ["raw.hsync=\"kept\""]
    );
    assert_eq!(
        xattrs(&b, &raw(&format!("{root}/plain/f.txt")), &[]),
        Vec::<String>::new()
    );
}

#[test]
fn hadoop3_a_file_of_an_encryption_zone_is_refused_at_plan_time_and_its_raw_bytes_copy_between_zones_of_one_key(
) {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("zone");
    let dir = Dir::new();
    dir.create("secret.txt", "plaintext only a key holder reads\n");
    let (zone, other) = (format!("{root}/zone"), format!("{root}/other"));
    for folder in [&zone, &other] {
        a.shell(&["-mkdir", "-p", folder]);
        a.encryption_zone(folder);
    }
    a.put(&dir.join("secret.txt"), &format!("{zone}/secret.txt"));
    let job = |source: String, target: String| {
        format!(
            "{}[[job]]\nname = \"zone\"\nsources = [{source:?}]\ntarget = {target:?}\n\
             mode = \"overwrite\"\n",
            clusters(&a, &b, None),
        )
    };
    // Read through its normal path, the file would need the zone's key.
    dir.manifest(&job(a.alias(&zone), b.alias(&format!("{root}/dst"))));
    let out = dir.hsync(["plan", "-o", "plan.json"]).code(1);
    assert!(
        says(
            &out.stderr,
            "the source file of `secret.txt` is in an HDFS encryption zone"
        ),
        "{out}"
    );
    assert!(says(&out.stderr, "/.reserved/raw/"), "{out}");
    assert!(!dir.exists("plan.json"));
    // Written over, it would need the key too.
    dir.create("src/secret.txt", "another text\n");
    dir.manifest(&job(dir.join("src").display().to_string(), a.alias(&zone)));
    let out = dir.hsync(["plan", "-o", "plan.json"]).code(1);
    assert!(
        says(
            &out.stderr,
            "the target file `secret.txt` is in an HDFS encryption zone"
        ),
        "{out}"
    );

    // The encrypted bytes, with their raw.* key attributes, from one zone of
    // the key to another: the Java client decrypts the copy.
    let raw = |path: &str| a.alias(&format!("/.reserved/raw{path}"));
    dir.manifest(&job(raw(&zone), raw(&other)));
    dir.plan();
    let summary = dir.apply();
    assert_eq!(summary["files_copied"], 1, "{summary:#}");
    assert_eq!(
        a.shell(&["-cat", &format!("{other}/secret.txt")]),
        "plaintext only a key holder reads\n"
    );
    // What moved was ciphertext.
    let stored = a.shell_bytes(&["-cat", &format!("/.reserved/raw{other}/secret.txt")]);
    assert_ne!(stored, b"plaintext only a key holder reads\n");
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Three blocks on the test clusters (1 MiB blocks).
const THREE_BLOCKS: usize = 2 * 1024 * 1024 + 4321;

/// An update job from `ROOT/src` on a to `ROOT/dst` on b comparing by
/// checksum; the human view of its plan.
fn plan_by_checksum(
    dir: &Dir,
    a: &Cluster,
    b: &Cluster,
    root: &str,
) -> (serde_json::Value, String) {
    dir.manifest(&format!(
        "{}[[job]]\nname = \"sums\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n\
         compare = [\"checksum\"]\n",
        clusters(a, b, None),
        a.alias(&format!("{root}/src")),
        b.alias(&format!("{root}/dst")),
    ));
    let plan = dir.plan();
    let shown = dir.hsync(["show", "plan.json"]).ok().stdout;
    (plan, shown)
}

#[test]
fn checksum_compare_between_clusters_uses_their_own_checksums_and_reads_no_data() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("checksum-native");
    let dir = Dir::new();
    dir.create("src/same.bin", noise(THREE_BLOCKS, 11));
    dir.create("src/differs.bin", noise(THREE_BLOCKS, 12));
    dir.create("old/same.bin", noise(THREE_BLOCKS, 11));
    dir.create("old/differs.bin", noise(THREE_BLOCKS, 13));
    a.put(&dir.join("src"), &format!("{root}/src"));
    b.put(&dir.join("old"), &format!("{root}/dst"));

    // Hadoop 3.1+ offers COMPOSITE_CRC, 2.7 only MD5MD5CRC32 (equal here:
    // the same block size on both sides).
    let (composite, md5, kind) = if hadoop3() {
        (2, 0, "COMPOSITE_CRC")
    } else {
        (0, 2, "MD5MD5CRC32")
    };
    let (plan, shown) = plan_by_checksum(&dir, &a, &b, &root);
    assert_eq!(
        crate::util::actions(&plan, 0),
        ["copy differs.bin checksum-differs"]
    );
    assert_eq!(
        plan["jobs"][0]["compared"],
        serde_json::json!({ "composite_crc": composite, "md5_crc": md5, "read": 0 })
    );
    assert!(
        shown.contains(&format!(
            "  (compared 2 same-size files: 2 by {kind} checksums, no data read)\n"
        )),
        "{shown}"
    );

    assert_eq!(dir.apply()["files_copied"], 1);
    assert_eq!(b.tree(&format!("{root}/dst"), &dir), dir.tree("src"));
    // hsync's own copy has the same checksum algorithm as the source.
    let (plan, _) = plan_by_checksum(&dir, &a, &b, &root);
    assert_eq!(crate::util::actions(&plan, 0), Vec::<String>::new());
    assert_eq!(
        plan["jobs"][0]["compared"],
        serde_json::json!({ "composite_crc": composite, "md5_crc": md5, "read": 0 })
    );
}

#[test]
fn hadoop2_checksum_compare_reads_both_sides_when_the_target_has_another_block_size_and_says_why() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("checksum-fallback");
    let dir = Dir::new();
    dir.create("src/same.bin", noise(THREE_BLOCKS, 21));
    dir.create("src/differs.bin", noise(THREE_BLOCKS, 22));
    dir.create("old/differs.bin", noise(THREE_BLOCKS, 23));
    a.put(&dir.join("src"), &format!("{root}/src"));
    // Same content, 2 MiB blocks: two blocks where the source has three.
    b.put(&dir.join("old"), &format!("{root}/dst"));
    b.shell(&[
        "-D",
        "dfs.blocksize=2097152",
        "-put",
        &dir.join("src/same.bin").display().to_string(),
        &format!("{root}/dst/same.bin"),
    ]);

    let (plan, shown) = plan_by_checksum(&dir, &a, &b, &root);
    assert_eq!(
        crate::util::actions(&plan, 0),
        ["copy differs.bin checksum-differs"]
    );
    assert_eq!(
        plan["jobs"][0]["compared"],
        serde_json::json!({
            "composite_crc": 0,
            "md5_crc": 1,
            "read": 1,
            "fallbacks": [{
                "reason": "algorithms-differ",
                "source_algorithm": "MD5-of-2048MD5-of-512CRC32C",
                "target_algorithm": "MD5-of-4096MD5-of-512CRC32C",
                "files": 1,
                "example": "same.bin"
            }]
        })
    );
    assert!(
        shown.contains(
            "  (compared 2 same-size files: 1 by MD5MD5CRC32 checksums, no data read; \
             1 by reading both sides)\n  (read 1 file because the checksums are of different \
             algorithms, MD5-of-2048MD5-of-512CRC32C at the source and \
             MD5-of-4096MD5-of-512CRC32C at the target (another block size or CRC type), \
             e.g. same.bin)\n"
        ),
        "{shown}"
    );

    assert_eq!(dir.apply()["files_copied"], 1);
    assert_eq!(b.tree(&format!("{root}/dst"), &dir), dir.tree("src"));
}

#[test]
fn hadoop3_checksum_compare_uses_composite_crc_across_block_sizes_and_erasure_coding_and_reads_no_data(
) {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("checksum-composite");
    let dir = Dir::new();
    dir.create("src/same.bin", noise(THREE_BLOCKS, 31));
    dir.create("src/differs.bin", noise(THREE_BLOCKS, 32));
    dir.create("old/differs.bin", noise(THREE_BLOCKS, 33));
    dir.create("ec/groups.bin", noise(7 * 1024 * 1024 + 12_345, 34));
    a.put(&dir.join("src"), &format!("{root}/src"));
    // An erasure-coded source file, of two and a bit block groups.
    let ec = format!("{root}/src/ec");
    a.shell(&["-mkdir", &ec]);
    a.set_ec_policy(&ec, "RS-3-2-1024k");
    a.shell(&[
        "-put",
        &dir.join("ec/groups.bin").display().to_string(),
        &ec,
    ]);
    // The target: replicated, 2 MiB blocks where the source has 1 MiB.
    let two_mib = ["-D", "dfs.blocksize=2097152"];
    b.shell(&["-mkdir", "-p", &format!("{root}/dst/ec")]);
    for (local, remote) in [
        ("src/same.bin", "same.bin"),
        ("old/differs.bin", "differs.bin"),
        ("ec/groups.bin", "ec/groups.bin"),
    ] {
        let local = dir.join(local).display().to_string();
        let remote = format!("{root}/dst/{remote}");
        b.shell(&[two_mib[0], two_mib[1], "-put", &local, &remote]);
    }

    let (plan, shown) = plan_by_checksum(&dir, &a, &b, &root);
    assert_eq!(
        crate::util::actions(&plan, 0),
        ["copy differs.bin checksum-differs"]
    );
    assert_eq!(
        plan["jobs"][0]["compared"],
        serde_json::json!({ "composite_crc": 3, "md5_crc": 0, "read": 0 })
    );
    let mut settings = dir.snapshot_settings();
    settings.add_filter(&regex_escape(&root), "[ROOT]");
    settings.add_filter(&regex_escape(&a.url), "[A]");
    settings.add_filter(&regex_escape(&b.url), "[B]");
    settings.bind(|| insta::assert_snapshot!("composite_crc_plan_human_view", shown));

    assert_eq!(dir.apply()["files_copied"], 1);
    let (plan, _) = plan_by_checksum(&dir, &a, &b, &root);
    assert_eq!(crate::util::actions(&plan, 0), Vec::<String>::new());
}
