//! Synthetic trees (`synthetic://`): a generated source planned against a
//! generated target with known differences and applied into a sink that
//! keeps nothing, and a generated source copied into real files.

use crate::util::{Dir, Node};

const SOURCE: &str = "synthetic://tree?files=300&fanout=10&sizes=0-1k&seed=5";

#[test]
fn a_synthetic_pair_plans_its_differences_and_an_apply_into_a_sink_does_them_all() {
    let dir = Dir::new();
    dir.manifest(&format!(
        r#"
[clusters.src]
url = "{SOURCE}"

[clusters.dst]
url = "{SOURCE}&differ=0.05&sink=true"

[[job]]
name = "bench"
sources = ["src:/"]
target = "dst:/"
mode = "update"
delete = true
preserve = ["times"]
"#
    ));
    let planned = dir.hsync(["plan", "-o", "plan.json"]).ok();
    let plan = dir.plan_json("plan.json");
    assert_eq!(plan["jobs"][0]["target_fs"]["kind"], "synthetic");
    assert_eq!(plan["jobs"][0]["target_fs"]["alias"], "dst");
    let actions = plan["jobs"][0]["actions"].as_array().unwrap();
    let count = |op: &str| actions.iter().filter(|a| a["op"] == op).count();
    assert!(count("copy") > 0 && count("delete") > 0, "{planned}");

    let summary = dir.apply();
    assert_eq!(summary["outcome"], "success");
    assert_eq!(summary["files_copied"], count("copy"));
    assert_eq!(summary["files_expected"], count("copy"));
    assert_eq!(summary["files_deleted"], count("delete"));
    // The sink kept nothing: the same differences are planned again.
    let again = dir.hsync(["plan", "-o", "again.json"]).ok();
    assert_eq!(
        dir.plan_json("again.json")["jobs"][0]["actions"],
        plan["jobs"][0]["actions"]
    );
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("a_synthetic_pair_plan", again.stderr);
}

#[test]
fn a_synthetic_source_copies_into_local_files_of_its_sizes_and_bytes() {
    let dir = Dir::new();
    let source = "synthetic://tree?files=30&fanout=4&sizes=0-3k&seed=9";
    let manifest = |target: &str| {
        format!(
            "[[job]]\nname = \"copy\"\nsources = [\"{source}\"]\ntarget = \"{target}\"\n\
             mode = \"update\"\npreserve = [\"times\"]\n"
        )
    };
    dir.manifest(&manifest("target"));
    dir.plan();
    assert_eq!(dir.apply()["files_copied"], 30);
    dir.hsync(["plan", "--detailed-exitcode", "-o", "/dev/null"])
        .ok();

    let tree = dir.tree("target");
    let files = tree.files();
    assert_eq!(files.0.len(), 30);
    assert!(files
        .0
        .values()
        .all(|node| matches!(node, Node::File(size, _) if *size <= 3072)));
    // The generated times, preserved: within the year before 2023-11-14.
    let mtime = dir.mtime_ms("target/d0/d0/f00");
    assert!(
        (1_668_464_000_000..=1_700_000_000_000).contains(&mtime),
        "{mtime}"
    );

    // The same seed, the same bytes.
    dir.manifest(&manifest("again"));
    dir.plan();
    dir.apply();
    assert_eq!(dir.tree("again"), tree);
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_debug_snapshot!("a_synthetic_source_copied_into_local_files", tree);
}
