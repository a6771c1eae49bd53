//! The model test on the two real clusters (`scripts/hdfs`): a manifest
//! that mixes an a→b job (HDFS to HDFS) and a local→b job, checked against
//! the same model through local mirrors. Cluster a's source is put there by
//! FsShell from `src/s0`; before each plan and after each apply, FsShell
//! fetches both targets on b into `t0` and `t1`, which the model reads as
//! if hsync had written them locally. FsShell neither keeps mtimes nor
//! modes, so the jobs preserve neither and the check is of names, kinds,
//! sizes and contents (and no temporary file, nothing changed locally, a
//! second plan that agrees).

use std::ffi::OsString;
use std::fs;
use std::process::Command;

use proptest::prelude::*;

use super::expect::{self, Expected, Job, Outcome, Want};
use super::sandbox::{is_temp_name, name_of, read_tree, EntryKind, Sandbox};
use super::scenario::{self, CompareSpec, Features, Scenario, Side, SourceSpec, TargetSpec};
use super::{holds, manifest, no_temporaries, unchanged};
use crate::cluster::{cluster, clusters, clusters_in_use, script, unique_root, Cluster};

/// Two sources (`s0` for cluster a, `s1` local), two jobs (a→b, local→b),
/// plain names, no special file, no kill, changes in the sources only.
pub fn scenario() -> impl Strategy<Value = Scenario> {
    let multi = true;
    scenario::scenario(Features {
        multi,
        ..Features::default()
    })
    .prop_map(|mut s| {
        s.sources.truncate(2);
        while s.sources.len() < 2 {
            s.sources.push(SourceSpec {
                file_root: None,
                entries: Vec::new(),
            });
        }
        s.targets = vec![None; 4];
        if s.jobs.len() < 2 {
            s.jobs.push(s.jobs[0].clone());
        }
        s.jobs.truncate(2);
        for (j, job) in s.jobs.iter_mut().enumerate() {
            job.sources = vec![j];
            job.target = TargetSpec::Slot(j as u8);
            (job.times, job.permission, job.slow) = (false, false, false);
            if job.compare == Some(CompareSpec::SizeMtime) {
                job.compare = Some(CompareSpec::Size);
            }
        }
        for round in &mut s.rounds {
            round.kill_after_ms = None;
            round.changes.retain(|c| matches!(c.side, Side::Source(_)));
            for change in &mut round.changes {
                if let Side::Source(k) = &mut change.side {
                    *k %= 2;
                }
            }
        }
        s
    })
}

pub fn check(scenario: &Scenario) -> Result<(), String> {
    let _clusters = clusters_in_use();
    let (a, b) = (cluster("a"), cluster("b"));
    let root = unique_root("model");
    let mut sandbox = Sandbox::new();
    sandbox.build(scenario);
    let jobs: Vec<Job> = (scenario.jobs.iter().enumerate())
        .map(|(i, spec)| Job::resolve(i, spec))
        .collect();
    let remote = |path: &[u8]| -> String {
        let path = std::str::from_utf8(path).expect("plain names");
        match path {
            "src/s0" => a.alias(&format!("{root}/s0")),
            "src/s1" => path.to_string(),
            target => b.alias(&format!("{root}/{target}")),
        }
    };
    let text = clusters(&a, &b, None) + &manifest(&scenario.jobs, &jobs, &remote);
    sandbox.write_manifest(&text);
    a.shell(&["-mkdir", "-p", &root]);
    let put_s0 = |sandbox: &Sandbox| {
        a.shell(&["-rm", "-r", "-f", &format!("{root}/s0")]);
        let local = sandbox.path(b"src/s0").display().to_string();
        a.shell(&["-put", &local, &format!("{root}/s0")]);
    };
    put_s0(&sandbox);
    // One FsShell (a JVM) fetches both targets.
    let fetch = |sandbox: &Sandbox| {
        for target in ["t0", "t1"] {
            let _ = fs::remove_dir_all(sandbox.path(target.as_bytes()));
        }
        let remote = [format!("{root}/t0"), format!("{root}/t1")];
        get(&b, &remote, &sandbox.root.display().to_string());
    };
    let sources = vec![b"src/s0".to_vec(), b"src/s1".to_vec()];
    let targets: Vec<Vec<u8>> = jobs.iter().map(|j| j.target.clone()).collect();
    let plan = sandbox.beside("plan.json");
    let args = |list: &[&str], file: &OsString| -> Vec<OsString> {
        let mut args: Vec<OsString> = list.iter().map(Into::into).collect();
        args.push(file.clone());
        args
    };
    for (r, round) in scenario.rounds.iter().enumerate() {
        for change in &round.changes {
            sandbox.change(change, &sources, &targets);
        }
        if round
            .changes
            .iter()
            .any(|c| matches!(c.side, Side::Source(0)))
        {
            put_s0(&sandbox);
        }
        fetch(&sandbox);
        let before = sandbox.snapshot();
        let model = expect::outcome(&before, &jobs, expect::non_utf8());
        let context =
            |step: &str, e: String| format!("HDFS round {r}, {step}: {e}\nmanifest:\n{text}");
        let planned = sandbox.run(&args(&["plan", "--detailed-exitcode", "-o"], &plan), None);
        planned
            .expect(model.plan_code())
            .map_err(|e| context("plan", e))?;
        let Outcome::Applied {
            targets: expected, ..
        } = &model
        else {
            super::tally(|t| t.plans_refused += 1);
            continue;
        };
        sandbox
            .run(&args(&["apply"], &plan), None)
            .expect(0)
            .map_err(|e| context("apply", e))?;
        fetch(&sandbox);
        let after = sandbox.snapshot();
        for (target, want) in expected {
            holds(&after, target, &contents_only(want)).map_err(|e| context("apply", e))?;
        }
        let mirrors: Vec<&[u8]> = vec![b"t0", b"t1"];
        unchanged(&before, &after, &mirrors).map_err(|e| context("apply", e))?;
        no_temporaries(&after).map_err(|e| context("apply", e))?;
        super::tally(|t| t.applied += 1);
        let again = expect::outcome(&after, &jobs, expect::non_utf8());
        let replan = sandbox.beside("replan.json");
        sandbox
            .run(&args(&["plan", "--detailed-exitcode", "-o"], &replan), None)
            .expect(again.plan_code())
            .map_err(|e| context("second plan", e))?;
    }
    // What cluster a holds is what was put there: hsync never writes to a source.
    let fetched = sandbox.path(b"fetched");
    fs::create_dir(&fetched).expect("fetched/");
    get(&a, &[format!("{root}/s0")], &fetched.display().to_string());
    let fetched = fetched.join("s0");
    let contents = |path: &std::path::Path| -> Vec<(Vec<u8>, EntryKind, u64, u64)> {
        read_tree(path)
            .into_iter()
            .map(|(path, meta)| (path, meta.kind, meta.size, meta.hash))
            .collect()
    };
    let on_a = contents(&fetched);
    let same = on_a == contents(&sandbox.path(b"src/s0"));
    let temps = on_a.iter().any(|(path, ..)| is_temp_name(name_of(path)));
    if !same || temps {
        return Err(format!(
            "the source on cluster a changed\nmanifest:\n{text}"
        ));
    }
    a.shell(&["-rm", "-r", "-f", &root]);
    b.shell(&["-rm", "-r", "-f", &root]);
    Ok(())
}

/// FsShell's `-get` of those of `remote` that exist into the folder `local`.
fn get(cluster: &Cluster, remote: &[String], local: &str) {
    let out = Command::new(script())
        .args(["shell", cluster.name, "-get"])
        .args(remote)
        .arg(local)
        .output()
        .expect("scripts/hdfs runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("No such file"),
        "FsShell -get {remote:?} on {} failed:\n{stderr}",
        cluster.name
    );
}

/// The expectation without mtimes and modes, which FsShell does not fetch.
fn contents_only(expected: &Expected) -> Expected {
    expected
        .iter()
        .map(|(path, want)| {
            let want = Want {
                mtime_ms: None,
                mode: None,
                ..want.clone()
            };
            (path.clone(), want)
        })
        .collect()
}
