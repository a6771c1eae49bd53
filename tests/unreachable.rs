//! A NameNode that does not answer: connecting is bounded and visible, each
//! retry one line naming the cluster's alias and address, and the error at
//! the end names both. No cluster is needed: nothing listens on port 1.

use std::time::{Duration, Instant};

use crate::util::{reseal, says, Dir};

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

#[test]
fn an_apply_to_a_namenode_that_refuses_connections_fails_in_seconds_naming_the_cluster() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.manifest(&crate::util::one_job(
        &["source"],
        "/data",
        "mode = \"update\"",
    ));
    dir.plan();
    // The same plan with its target on a cluster that is gone.
    let local = r#""target_fs":{"kind":"local"}"#;
    let gone = r#""target_fs":{"kind":"hdfs","url":"hdfs://127.0.0.1:1","alias":"gone"}"#;
    let text = dir.read_to_string("plan.json");
    assert!(text.contains(local), "{text}");
    dir.create("plan.json", reseal(&text.replace(local, gone)));
    let started = Instant::now();
    let out = dir.hsync(["apply", "plan.json"]).code(1);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}\n{out}");
    let retries = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("hsync: cluster `gone` (hdfs://127.0.0.1:1): the NameNode at 127.0.0.1:1 did not answer"))
        .count();
    assert_eq!(retries, 3, "{out}");
    assert!(
        says(
            &out.stderr,
            "cluster `gone` (hdfs://127.0.0.1:1): no NameNode answered at 127.0.0.1:1 (4 tries)"
        ),
        "{out}"
    );
}

#[test]
fn a_clusters_own_retry_setting_wins_over_hsyncs_default() {
    let dir = Dir::new();
    dir.manifest(
        "[clusters.gone]\nurl = \"hdfs://127.0.0.1:1\"\n\
         [clusters.gone.config]\n\"dfs.client.failover.max.attempts\" = \"1\"\n\n\
         [[job]]\nname = \"test\"\nsources = [\"gone:/data\"]\ntarget = \"target\"\n",
    );
    let out = dir.hsync(["plan", "-o", "plan.json"]).code(1);
    let retries = out.stderr.matches("did not answer").count();
    assert_eq!(retries, 1, "{out}");
    assert!(says(&out.stderr, "(2 tries)"), "{out}");
}

#[test]
fn a_peer_that_accepts_but_never_answers_fails_in_seconds_naming_the_cluster() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    // Accepts every connection and says nothing, as a hung NameNode (or
    // another service on a mistyped port) does.
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    let dir = Dir::new();
    dir.manifest(&format!(
        "[clusters.silent]\nurl = \"hdfs://127.0.0.1:{port}\"\n\
         [clusters.silent.config]\n\"ipc.client.connect.timeout\" = \"500\"\n\n\
         [[job]]\nname = \"test\"\nsources = [\"silent:/data\"]\ntarget = \"target\"\n"
    ));
    let started = Instant::now();
    let out = dir.hsync(["plan", "-o", "plan.json"]).code(1);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}\n{out}");
    let address = format!("127.0.0.1:{port}");
    let retries = out
        .stderr
        .matches(&format!("the NameNode at {address} did not answer ({address} was silent for 500ms after connecting)"))
        .count();
    assert_eq!(retries, 3, "{out}");
    assert!(
        says(
            &out.stderr,
            &format!(
                "cluster `silent` (hdfs://{address}): no NameNode answered at {address} (4 tries)"
            )
        ),
        "{out}"
    );
}
