//! Hadoop 3's HA nameservice (cluster b, `hdfs://ns1` with NameNodes nn1
//! and nn2, named through `config_dir`): a NameNode failover in the middle
//! of an apply or a plan is ridden out, nothing lost or done twice. Each
//! failover is `scripts/hdfs failover b` (the standby becomes active; no
//! NameNode is stopped, other tests share b).

use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::cluster::{
    cluster, clusters, clusters_in_use, script, slow_apply_committing, unique_root,
};
use crate::util::{wait_bounded, Dir};

/// One failover at a time: two at once would race each other.
static FAILING_OVER: Mutex<()> = Mutex::new(());

fn failovers() -> MutexGuard<'static, ()> {
    FAILING_OVER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts `scripts/hdfs failover b` in the background.
fn start_failover() -> Child {
    Command::new(script())
        .args(["failover", "b"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("scripts/hdfs runs")
}

fn finish_failover(mut failover: Child) {
    assert!(
        failover.wait().expect("wait on the failover").success(),
        "scripts/hdfs failover b failed"
    );
}

#[test]
fn hadoop3_an_apply_rides_out_a_namenode_failover_of_its_target_mid_copy() {
    let _clusters = clusters_in_use();
    let _failovers = failovers();
    let b = cluster("b");
    let root = unique_root("ha-apply");
    let dir = Dir::new();
    // Fail b over once some, not all, files are committed.
    let (mut apply, journal) = slow_apply_committing(&dir, &root, 48, "1MiB/s");
    finish_failover(start_failover());
    assert!(
        apply.try_wait().expect("wait").is_none(),
        "the apply ended before the failover did: it did not land mid-copy"
    );

    let status = wait_bounded(&mut apply, &dir, "apply", Duration::from_secs(300));
    let stderr = dir.read_to_string("apply.stderr");
    assert!(status.success(), "the apply failed:\n{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&dir.read_to_string("apply.stdout")).expect("a JSON summary");
    assert_eq!(summary["outcome"], "success", "{summary:#}");
    assert_eq!(summary["files_copied"], 48, "{summary:#}");
    // The client waited the failover out: no file needed a second try.
    assert_eq!(summary["retries"], 0, "{summary:#}");

    // Nothing lost, nothing doubled, nothing left over.
    assert_eq!(b.tree(&format!("{root}/dst"), &dir), dir.tree("src"));
    assert!(b
        .paths(&format!("{root}/dst"))
        .iter()
        .all(|p| !p.contains(".hsync-tmp.")));
    assert!(!journal.exists(), "the finished run's journal is pruned");
    let again = dir.hsync(["plan", "-o", "again.json"]).ok();
    assert!(again.stderr.contains("No changes."), "{again}");
}

#[test]
fn hadoop3_plans_made_while_the_target_fails_over_all_list_it_whole() {
    let _clusters = clusters_in_use();
    let _failovers = failovers();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("ha-plan");
    let dir = Dir::new();
    for i in 0..30 {
        dir.create(&format!("src/d{i:02}/f"), format!("{i}\n"));
    }
    a.put(&dir.join("src"), &format!("{root}/src"));
    b.put(&dir.join("src"), &format!("{root}/dst"));
    dir.create("src/new", "only on a\n");
    a.shell(&[
        "-put",
        &dir.join("src/new").display().to_string(),
        &format!("{root}/src/new"),
    ]);
    dir.manifest(&format!(
        "{}[[job]]\nname = \"ha\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n",
        clusters(&a, &b, None),
        a.alias(&format!("{root}/src")),
        b.alias(&format!("{root}/dst")),
    ));
    let before = dir.hsync(["plan", "-o", "before.json"]).ok();

    // Plan again and again while b fails over: every plan lists b whole,
    // the same one file to copy and 30 unchanged.
    let mut failover = start_failover();
    let mut plans = 0;
    loop {
        let done = failover.try_wait().expect("wait on the failover").is_some();
        let out = dir.hsync(["plan", "-o", "during.json"]).ok();
        assert_eq!(out.stdout, before.stdout, "{out}");
        assert!(
            out.stderr.contains("Plan: 1 file to copy")
                && out.stderr.contains("30 files unchanged"),
            "{out}"
        );
        assert_eq!(dir.read("during.json"), dir.read("before.json"));
        plans += 1;
        if done {
            break;
        }
    }
    finish_failover(failover);
    assert!(plans >= 2, "no plan was made during the failover");
}
