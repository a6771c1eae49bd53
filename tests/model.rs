//! The model test: random, seeded, shrinking scenarios (source and target
//! trees, a manifest of 1–4 jobs, changes on either side between runs, a
//! `kill -9` in the middle of an apply) run through the real binary, every
//! result compared with [`expect`], an independent model of the README's
//! rules that shares no code with hsync.
//!
//! After each plan and apply: the targets hold what the model says (names,
//! kinds, sizes, contents; mtimes and permissions where preserved, and
//! untouched files exactly as they were), nothing outside the target roots
//! changed (sources included), no temporary or staging file is left,
//! nothing panicked or hung, and a second plan agrees with the model
//! (`--detailed-exitcode` 0: nothing to do). A refused manifest or plan
//! exits 1 and writes nothing.
//!
//! Each property adds one kind of trouble to the `core` one; all of them
//! together is `everything`. Knobs: `PROPTEST_CASES` (cases per property,
//! default [`DEFAULT_CASES`]), `HSYNC_MODEL_FEATURES` (a comma list of the
//! properties to run, e.g. `core,multi_job`; default all),
//! `HSYNC_MODEL_NON_UTF8=carry` (see [`expect::NonUtf8`]),
//! `HSYNC_MODEL_AROUND=2,4,5,6` (step around those of issue 10's
//! defects, see [`scenario::around`]),
//! `HSYNC_MODEL_KEEP=1` (keep the sandbox of each failing run and print
//! its path). A failure prints the minimal case and is saved in
//! `tests/proptest-regressions/model-NAME.txt`, replayed first next time.

mod expect;
mod hdfs;
mod sandbox;
mod scenario;

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};

use expect::{Job, Outcome};
use sandbox::{is_lock_name, is_temp_name, is_within, name_of, EntryKind, Meta, Sandbox, Snapshot};
use scenario::{show, Features, JobSpec, Layout, Mode, Scenario};

/// Cases per property under `cargo test`: each is a handful of runs of
/// the binary per round, so all properties together stay well under two
/// minutes on two cores.
const DEFAULT_CASES: u32 = 24;

const ALL: Features = Features {
    multi: true,
    odd_names: true,
    special: true,
    kill: true,
    overlap: true,
    target_changes: true,
    wipe: true,
};

#[test]
fn model_core() {
    property("core", Features::default());
}

#[test]
fn model_target_changes() {
    let target_changes = true;
    property(
        "target_changes",
        Features {
            target_changes,
            ..Features::default()
        },
    );
}

#[test]
fn model_multi_job() {
    let multi = true;
    property(
        "multi_job",
        Features {
            multi,
            ..Features::default()
        },
    );
}

#[test]
fn model_odd_names() {
    let odd_names = true;
    property(
        "odd_names",
        Features {
            odd_names,
            ..Features::default()
        },
    );
}

#[test]
fn model_special_files() {
    let special = true;
    property(
        "special_files",
        Features {
            special,
            ..Features::default()
        },
    );
}

#[test]
fn model_wiped_target() {
    let wipe = true;
    property(
        "wiped_target",
        Features {
            wipe,
            ..Features::default()
        },
    );
}

#[test]
fn model_kill_9() {
    let kill = true;
    property(
        "kill_9",
        Features {
            kill,
            ..Features::default()
        },
    );
}

#[test]
fn model_overlapping_paths() {
    let (multi, overlap) = (true, true);
    property(
        "overlapping_paths",
        Features {
            multi,
            overlap,
            ..Features::default()
        },
    );
}

#[test]
fn model_everything() {
    property("everything", ALL);
}

/// The a→b and local→b jobs of [`hdfs`] on the real clusters, with fewer
/// cases (`HSYNC_MODEL_HDFS_CASES`, default 3): FsShell starts a JVM per
/// call, so a case takes about 15 s.
#[test]
fn model_hdfs() {
    let cases = env("HSYNC_MODEL_HDFS_CASES").unwrap_or(3);
    run_property("hdfs", cases, hdfs::scenario(), hdfs::check);
}

fn env<T: std::str::FromStr>(key: &str) -> Option<T> {
    std::env::var(key).ok().and_then(|v| v.parse().ok())
}

/// Runs one local property.
fn property(name: &'static str, features: Features) {
    let cases = env("PROPTEST_CASES").unwrap_or(DEFAULT_CASES);
    run_property(name, cases, scenario::scenario(features), |scenario| {
        check(scenario, features)
    });
}

/// Runs `check` on `cases` generated cases, unless `HSYNC_MODEL_FEATURES`
/// leaves the property out.
fn run_property<S: proptest::strategy::Strategy>(
    name: &'static str,
    cases: u32,
    strategy: S,
    check: impl Fn(&S::Value) -> Result<(), String>,
) {
    if let Ok(only) = std::env::var("HSYNC_MODEL_FEATURES") {
        if !only.split(',').any(|p| p.trim() == name) {
            eprintln!("model property {name} skipped (HSYNC_MODEL_FEATURES={only})");
            return;
        }
    }
    let regressions: &'static str =
        Box::leak(format!("tests/proptest-regressions/model-{name}.txt").into_boxed_str());
    let config = Config {
        cases,
        max_shrink_iters: env("PROPTEST_MAX_SHRINK_ITERS").unwrap_or(256),
        // Shrinking reruns the binary; a hang costs its whole bound each time.
        max_shrink_time: env("PROPTEST_MAX_SHRINK_TIME").unwrap_or(60_000),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        source_file: Some(file!()),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    tally(|t| *t = Tally::default());
    let result = runner.run(&strategy, |case| {
        tally(|t| t.cases += 1);
        check(&case).map_err(TestCaseError::fail)
    });
    TALLY.with(|t| {
        let t = t.borrow();
        eprintln!(
            "model property {name}: {} cases run (shrinking included), {} applies checked, \
             {} applies killed by kill -9 before they ended, {} plans and {} manifests refused",
            t.cases, t.applied, t.killed, t.plans_refused, t.manifests_refused
        );
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, case)) => panic!(
            "model property {name} failed: {why}\n\nminimal case:\n{case:?}\n\n\
             saved in {regressions}; replay with \
             HSYNC_MODEL_FEATURES={name} cargo test --test integration model::"
        ),
        Err(TestError::Abort(why)) => panic!("model property {name} aborted: {why}"),
    }
}

/// What a property's cases did, so that a run says how much it checked.
#[derive(Default)]
struct Tally {
    cases: u64,
    applied: u64,
    killed: u64,
    plans_refused: u64,
    manifests_refused: u64,
}

thread_local! {
    static TALLY: std::cell::RefCell<Tally> = std::cell::RefCell::default();
}

fn tally(count: impl FnOnce(&mut Tally)) {
    TALLY.with(|t| count(&mut t.borrow_mut()));
}

/// Every round of one case.
fn check(scenario: &Scenario, features: Features) -> Result<(), String> {
    let mut sandbox = Sandbox::new();
    let result = rounds(&mut sandbox, scenario, features);
    if result.is_err() && std::env::var_os("HSYNC_MODEL_KEEP").is_some() {
        eprintln!("kept the failing sandbox in {}", sandbox.keep().display());
    }
    result
}

fn rounds(sandbox: &mut Sandbox, scenario: &Scenario, features: Features) -> Result<(), String> {
    sandbox.build(scenario);
    let jobs: Vec<Job> = (scenario.jobs.iter().enumerate())
        .map(|(i, spec)| Job::resolve(i, spec))
        .collect();
    let local = |path: &[u8]| -> String {
        let path = if path.is_empty() {
            b".".as_slice()
        } else {
            path
        };
        String::from_utf8(path.to_vec()).expect("UTF-8 paths")
    };
    let text = manifest(&scenario.jobs, &jobs, &local);
    sandbox.write_manifest(&text);
    let names = expect::non_utf8();
    let sources: Vec<Vec<u8>> = (0..scenario.sources.len())
        .map(|k| format!("src/s{k}").into_bytes())
        .collect();
    let targets: Vec<Vec<u8>> = jobs.iter().map(|j| j.target.clone()).collect();
    let plan = sandbox.beside("plan.json");
    let replan = sandbox.beside("replan.json");
    let args = |list: &[&'static str], file: &std::ffi::OsString| -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = list.iter().map(Into::into).collect();
        args.push(file.clone());
        args
    };
    for (r, round) in scenario.rounds.iter().enumerate() {
        for change in &round.changes {
            sandbox.change(change, &sources, &targets);
        }
        let before = sandbox.snapshot();
        let model = expect::outcome(&before, &jobs, names);
        let context = |step: &str, e: String| {
            format!(
                "round {r}, {step}: {e}\nmodel: {}\nmanifest:\n{text}",
                describe(&model)
            )
        };

        let validate = sandbox.run(&["validate"], None);
        let code = i32::from(matches!(model, Outcome::Invalid(_)));
        validate.expect(code).map_err(|e| context("validate", e))?;

        let _ = std::fs::remove_file(&plan);
        let plan_args = args(&["plan", "--detailed-exitcode", "-o"], &plan);
        let planned = sandbox.run(&plan_args, None);
        planned
            .expect(model.plan_code())
            .map_err(|e| context("plan", e))?;
        if features.odd_names && !scenario::around("6") {
            human_output_is_escaped(&before, "plan", &planned.stderr)
                .map_err(|e| context("plan", e))?;
        }
        let expected = match &model {
            Outcome::Invalid(_) | Outcome::Unplannable(_) => {
                let after = sandbox.snapshot();
                unchanged(&before, &after, &[]).map_err(|e| context("refused plan", e))?;
                if matches!(model, Outcome::Invalid(_)) {
                    tally(|t| t.manifests_refused += 1);
                    return Ok(());
                }
                tally(|t| t.plans_refused += 1);
                continue;
            }
            Outcome::Applied { targets, .. } => targets,
        };
        if features.odd_names && !scenario::around("6") {
            let shown = sandbox.run(&args(&["show"], &plan), None);
            shown.expect(0).map_err(|e| context("show", e))?;
            human_output_is_escaped(&before, "show", &shown.stdout)
                .map_err(|e| context("show", e))?;
        }

        let mut apply_args = args(&["apply"], &plan);
        if scenario::around("2") {
            // Each round's apply its own journal: steps past issue 10's
            // "the journal trusts itself over the target" on a main without its fix.
            apply_args.push("--state-dir".into());
            apply_args.push(sandbox.beside(&format!("state-{r}")));
        }
        if let Some(ms) = round.kill_after_ms {
            let delay = Duration::from_millis(ms);
            let killed = if scenario::around("lock") {
                sandbox.run_until(&apply_args, delay, Sandbox::no_empty_lock)
            } else {
                sandbox.run(&apply_args, Some(delay))
            };
            match killed.code {
                Some(_) => killed
                    .expect(0)
                    .map_err(|e| context("apply (to be killed)", e))?,
                None => tally(|t| t.killed += 1),
            }
        }
        let applied = sandbox.run(&apply_args, None);
        let step = if round.kill_after_ms.is_some() {
            "apply after kill -9"
        } else {
            "apply"
        };
        applied.expect(0).map_err(|e| context(step, e))?;

        let after = sandbox.snapshot();
        for (root, want) in expected {
            holds(&after, root, want).map_err(|e| context(step, e))?;
        }
        let roots: Vec<&[u8]> = expected.iter().map(|(root, _)| root.as_slice()).collect();
        unchanged(&before, &after, &roots).map_err(|e| context(step, e))?;
        no_temporaries(&after).map_err(|e| context(step, e))?;

        tally(|t| t.applied += 1);
        let again = expect::outcome(&after, &jobs, names);
        let replanned = sandbox.run(&args(&["plan", "--detailed-exitcode", "-o"], &replan), None);
        replanned
            .expect(again.plan_code())
            .map_err(|e| context(&format!("second plan (model: {})", describe(&again)), e))?;
    }
    Ok(())
}

/// The manifest of the jobs, with only the keys the case sets (so that the
/// defaults are exercised too); `location` writes a sandbox path as the
/// manifest names it.
fn manifest(specs: &[JobSpec], jobs: &[Job], location: &dyn Fn(&[u8]) -> String) -> String {
    let mut text = String::new();
    for (spec, job) in specs.iter().zip(jobs) {
        let quoted = |path: &[u8]| toml_string(&location(path));
        let sources: Vec<String> = job.sources.iter().map(|s| quoted(s)).collect();
        text += &format!(
            "[[job]]\nname = \"{}\"\nsources = [{}]\ntarget = {}\n",
            job.name,
            sources.join(", "),
            quoted(&job.target)
        );
        let mode = match spec.mode {
            Mode::Skip => "skip",
            Mode::Update => "update",
            Mode::Overwrite => "overwrite",
        };
        text += &format!("mode = \"{mode}\"\n");
        if let Some(layout) = spec.layout {
            let layout = if layout == Layout::Nested {
                "nested"
            } else {
                "contents"
            };
            text += &format!("layout = \"{layout}\"\n");
        }
        if spec.compare.is_some() {
            let keys: Vec<&str> = [
                (job.compare_size, "\"size\""),
                (job.compare_mtime, "\"mtime\""),
                (job.compare_checksum, "\"checksum\""),
            ]
            .into_iter()
            .filter_map(|(on, key)| on.then_some(key))
            .collect();
            text += &format!("compare = [{}]\n", keys.join(", "));
        }
        if !job.include.is_empty() {
            text += &format!("include = {}\n", toml_string(&job.include.join("/")));
        }
        if !job.exclude.is_empty() {
            let exclude: Vec<String> = job.exclude.iter().map(|e| toml_string(e)).collect();
            text += &format!("exclude = [{}]\n", exclude.join(", "));
        }
        if job.delete {
            text += "delete = true\n";
        }
        let preserve: Vec<&str> = [(job.times, "\"times\""), (job.permission, "\"permission\"")]
            .into_iter()
            .filter_map(|(on, flag)| on.then_some(flag))
            .collect();
        if !preserve.is_empty() {
            text += &format!("preserve = [{}]\n", preserve.join(", "));
        }
        if job.atomic {
            text += "commit = \"atomic\"\n";
        }
        text += &format!("parallel = {}\n", spec.parallel);
        if spec.slow {
            text += "bandwidth = \"2MiB/s\"\n";
        }
        text += "\n";
    }
    text
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Invalid(why) => format!("manifest refused ({why})"),
        Outcome::Unplannable(why) => format!("plan refused ({why})"),
        Outcome::Applied { changes: true, .. } => "changes to apply".to_string(),
        Outcome::Applied { changes: false, .. } => "nothing to do".to_string(),
    }
}

/// The target `root` holds what the model says, hsync's lock aside.
fn holds(after: &Snapshot, root: &[u8], expected: &expect::Expected) -> Result<(), String> {
    let prefix = root.len() + usize::from(!root.is_empty());
    let actual: BTreeMap<&[u8], &Meta> = after
        .iter()
        .filter(|(path, _)| is_within(path, root) && path.as_slice() != root)
        .filter(|(path, _)| !is_lock_name(name_of(path)))
        .map(|(path, meta)| (&path[prefix..], meta))
        .collect();
    let mut wrong = Vec::new();
    for (path, want) in expected {
        match actual.get(path.as_slice()) {
            None => wrong.push(format!("missing {}: want {want:?}", show(path))),
            Some(meta) if !want.admits(meta) => {
                wrong.push(format!("{}: want {want:?}, found {meta:?}", show(path)))
            }
            Some(_) => {}
        }
    }
    for (path, meta) in &actual {
        if !expected.contains_key(*path) {
            wrong.push(format!("unexpected {}: {meta:?}", show(path)));
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    wrong.truncate(12);
    Err(format!(
        "target {} is not what the model says:\n  {}",
        show(root),
        wrong.join("\n  ")
    ))
}

/// Nothing outside the target `roots` changed, sources included (folder
/// mtimes aside, and the folders above a target root it may create).
fn unchanged(before: &Snapshot, after: &Snapshot, roots: &[&[u8]]) -> Result<(), String> {
    let outside = |snapshot: &Snapshot| -> BTreeMap<Vec<u8>, Meta> {
        snapshot
            .iter()
            .filter(|(path, _)| !roots.iter().any(|root| is_within(path, root)))
            .filter(|(path, _)| !is_lock_name(name_of(path)))
            .map(|(path, meta)| {
                let mut meta = meta.clone();
                if meta.kind == EntryKind::Dir {
                    meta.mtime_ms = 0;
                }
                (path.clone(), meta)
            })
            .collect()
    };
    let (was, is) = (outside(before), outside(after));
    let mut wrong = Vec::new();
    for (path, meta) in &was {
        match is.get(path) {
            None => wrong.push(format!("{} was removed", show(path))),
            Some(now) if now != meta => {
                wrong.push(format!("{} changed: {meta:?} -> {now:?}", show(path)))
            }
            Some(_) => {}
        }
    }
    for (path, meta) in &is {
        let above_a_root =
            meta.kind == EntryKind::Dir && roots.iter().any(|root| is_within(root, path));
        if !was.contains_key(path) && !above_a_root {
            wrong.push(format!("{} appeared: {meta:?}", show(path)));
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    wrong.truncate(12);
    Err(format!(
        "outside the target roots:\n  {}",
        wrong.join("\n  ")
    ))
}

/// No temporary file or staging folder of hsync's anywhere (a lock may stay).
fn no_temporaries(after: &Snapshot) -> Result<(), String> {
    let left: Vec<String> = after
        .keys()
        .filter(|path| is_temp_name(name_of(path)) && !is_lock_name(name_of(path)))
        .map(|path| show(path))
        .collect();
    match left.is_empty() {
        true => Ok(()),
        false => Err(format!("temporary files left: {}", left.join(", "))),
    }
}

/// Human output never prints a name's control characters or invalid bytes
/// raw: such a name could forge lines of a plan under review.
fn human_output_is_escaped(before: &Snapshot, what: &str, output: &[u8]) -> Result<(), String> {
    if output.contains(&0x1b) {
        return Err(format!("{what} printed a raw ESC"));
    }
    for path in before.keys() {
        let name = name_of(path);
        let raw =
            name.iter().any(|b| *b < 0x20 || *b == 0x7f) || std::str::from_utf8(name).is_err();
        if raw && sandbox::contains(output, name) {
            return Err(format!("{what} printed the name {} raw", show(name)));
        }
    }
    Ok(())
}
