//! Erasure coding on Hadoop 3 (cluster a has five DataNodes and
//! RS-3-2-1024k enabled; b is replicated): an erasure-coded source copies
//! to a replicated target and back, byte for byte, and every copy takes the
//! layout of the folder it lands in, whatever the commit mode. Policies are
//! read with Hadoop's own `ec -getPolicy` and `-ls -e`.

use std::process::Command;

use crate::cluster::{cluster, clusters, clusters_in_use, script, unique_root, Cluster};
use crate::util::{noise, Dir};

const POLICY: &str = "RS-3-2-1024k";

/// `hdfs ec ARGS` on `cluster`; its output.
fn ec(cluster: &Cluster, args: &[&str]) -> String {
    let out = Command::new(script())
        .args(["ec", cluster.name])
        .args(args)
        .output()
        .expect("scripts/hdfs runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "hdfs ec {args:?} failed:\n{stdout}");
    stdout
}

/// Every file below `remote` with the policy `-ls -e` shows (`Replicated`
/// or a policy name), relative to `remote`.
fn file_policies(cluster: &Cluster, remote: &str) -> Vec<(String, String)> {
    cluster
        .shell(&["-ls", "-R", "-e", remote])
        .lines()
        .filter(|line| line.starts_with('-'))
        .filter_map(|line| {
            let path = &line[line.find(" /")? + 1..];
            let policy = line.split_whitespace().nth(4)?.to_string();
            let relative = path.strip_prefix(remote)?.trim_start_matches('/');
            Some((relative.to_string(), policy))
        })
        .collect()
}

/// Files around the 1 MiB cell and the 3 MiB stripe of RS-3-2-1024k: empty,
/// smaller than a cell, several cells, more than a stripe, several block
/// groups (the clusters' blocks are 1 MiB).
fn ec_sizes(dir: &Dir) {
    dir.create("local/empty", "");
    dir.create("local/small.txt", "less than a cell\n");
    dir.create("local/two-cells.bin", noise(2 * 1024 * 1024 + 7, 21));
    dir.create(
        "local/sub/past-a-stripe.bin",
        noise(3 * 1024 * 1024 + 12345, 22),
    );
    dir.create("local/sub/block-groups.bin", noise(7 * 1024 * 1024 + 1, 23));
}

fn job(name: &str, source: &str, target: &str, options: &str) -> String {
    format!("[[job]]\nname = {name:?}\nsources = [{source:?}]\ntarget = {target:?}\n{options}\n")
}

#[test]
fn hadoop3_an_erasure_coded_source_copies_to_a_replicated_target_and_back_into_an_ec_folder() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("ec");
    let dir = Dir::new();
    ec_sizes(&dir);
    a.shell(&["-mkdir", "-p", &root]);
    for folder in ["ec", "back", "atomic"] {
        a.shell(&["-mkdir", "-p", &format!("{root}/{folder}")]);
        ec(
            &a,
            &[
                "-setPolicy",
                "-path",
                &format!("{root}/{folder}"),
                "-policy",
                POLICY,
            ],
        );
    }
    a.shell(&[
        "-put",
        &dir.join("local").display().to_string(),
        &format!("{root}/ec/src"),
    ]);
    let source = dir.tree("local");
    let all = |policy: &str| -> Vec<(String, String)> {
        let mut files: Vec<_> = source
            .files()
            .paths()
            .iter()
            .map(|p| (p.to_string(), policy.to_string()))
            .collect();
        files.sort();
        files
    };
    assert_eq!(file_policies(&a, &format!("{root}/ec/src")), all(POLICY));

    // EC on a → replicated b; then replicated b → EC folders of a, through
    // temporary names (file) and a staging folder beside the root (atomic),
    // and into a replicated folder of a.
    let out = job(
        "out",
        &a.alias(&format!("{root}/ec/src")),
        &b.alias(&format!("{root}/dst")),
        "mode = \"update\"",
    );
    dir.create("out.toml", format!("{}{out}", clusters(&a, &b, None)));
    dir.manifest(&format!(
        "{}{}{}{}",
        clusters(&a, &b, None),
        job(
            "back",
            &b.alias(&format!("{root}/dst")),
            &a.alias(&format!("{root}/back/dst")),
            "mode = \"update\""
        ),
        job(
            "atomic",
            &b.alias(&format!("{root}/dst")),
            &a.alias(&format!("{root}/atomic/dst")),
            "commit = \"atomic\"\nlayout = \"contents\""
        ),
        job(
            "plain",
            &b.alias(&format!("{root}/dst")),
            &a.alias(&format!("{root}/plain/dst")),
            "mode = \"update\""
        ),
    ));
    // The other jobs read what the first writes: it is planned alone first.
    dir.hsync(["plan", "-m", "out.toml", "-o", "out.json"]).ok();
    let summary = dir.hsync(["apply", "out.json"]).ok().json();
    assert_eq!(summary["outcome"], "success", "{summary:#}");
    assert_eq!(b.tree(&format!("{root}/dst"), &dir), source);
    assert_eq!(file_policies(&b, &format!("{root}/dst")), all("Replicated"));

    dir.hsync(["plan", "-o", "back.json"]).ok();
    let summary = dir.hsync(["apply", "back.json"]).ok().json();
    assert_eq!(summary["outcome"], "success", "{summary:#}");
    for (folder, policy) in [
        ("back", POLICY),
        ("atomic", POLICY),
        ("plain", "Replicated"),
    ] {
        let copy = format!("{root}/{folder}/dst");
        assert_eq!(a.tree(&copy, &dir), source, "{folder}");
        assert_eq!(file_policies(&a, &copy), all(policy), "{folder}");
    }
    // Hadoop's own word on one copy of each kind.
    assert_eq!(
        ec(
            &a,
            &[
                "-getPolicy",
                "-path",
                &format!("{root}/atomic/dst/sub/block-groups.bin")
            ]
        )
        .trim(),
        POLICY
    );
    assert!(ec(
        &b,
        &[
            "-getPolicy",
            "-path",
            &format!("{root}/dst/sub/block-groups.bin")
        ]
    )
    .contains("is unspecified"));
    let again = dir
        .hsync(["plan", "-m", "out.toml", "-o", "again.json"])
        .ok();
    assert!(again.stderr.contains("No changes."), "{again}");
}

#[test]
fn hadoop3_preserving_replication_of_an_erasure_coded_file_is_refused_at_plan_time() {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("ec-replication");
    let dir = Dir::new();
    dir.create("local/sub/big.bin", noise(4 * 1024 * 1024, 24));
    a.shell(&["-mkdir", "-p", &root]);
    ec(&a, &["-setPolicy", "-path", &root, "-policy", POLICY]);
    a.shell(&[
        "-put",
        &dir.join("local").display().to_string(),
        &format!("{root}/src"),
    ]);
    dir.manifest(&format!(
        "{}{}",
        clusters(&a, &b, None),
        job(
            "ec",
            &a.alias(&format!("{root}/src")),
            &b.alias(&format!("{root}/dst")),
            "mode = \"update\"\npreserve = [\"replication\"]"
        ),
    ));
    let out = dir.hsync(["plan", "-o", "plan.json"]).code(1);
    assert!(!dir.exists("plan.json"));
    let mut settings = dir.snapshot_settings();
    settings.add_filter(&crate::util::regex_escape(&root), "[ROOT]");
    let _settings = settings.bind_to_scope();
    insta::assert_snapshot!("erasure_coded_replication_refused", out.stderr);
}
