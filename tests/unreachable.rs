//! A NameNode that does not answer: connecting is bounded and visible, each
//! retry one line naming the cluster's alias and address, and the error at
//! the end names both. No cluster is needed: nothing listens on port 1.

use std::time::{Duration, Instant};

use crate::util::Dir;

#[test]
fn a_namenode_that_refuses_connections_fails_in_seconds_naming_the_cluster() {
    let dir = Dir::new();
    dir.manifest(
        "[clusters.gone]\nurl = \"hdfs://127.0.0.1:1\"\n\n\
         [[job]]\nname = \"test\"\nsources = [\"gone:/data\"]\ntarget = \"target\"\n",
    );
    let started = Instant::now();
    let out = dir.hsync(["plan", "-o", "plan.json"]).code(1);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}\n{out}");
    assert!(!dir.exists("plan.json"));
    let mut settings = dir.snapshot_settings();
    settings.add_filter(r"in \d+\.\d s", "in [WAIT] s");
    let _settings = settings.bind_to_scope();
    insta::assert_snapshot!("namenode_unreachable_error", out.stderr);
}
