//! The plan file and what users read of it: a deterministic, sealed JSON
//! file, a Terraform-style summary, exit codes a scheduler can act on, and
//! plain refusals of plans that cannot be trusted.

use crate::util::{guide_example, one_job, reseal, says, Dir, MTIME};

/// The DistCp guide's example as the quick start's `reports` job: update,
/// size and mtime compared, times and permissions preserved, and an
/// extraneous `old.csv` to delete.
fn reports(dir: &Dir, preserve: &str) {
    guide_example(dir, "target");
    dir.fill("target/old.csv", 16, b'z');
    dir.set_mtime("target/old.csv", MTIME);
    let compare = if preserve.contains("times") {
        "compare = [\"size\", \"mtime\"]\n"
    } else {
        ""
    };
    dir.manifest(&format!(
        "[[job]]\nname = \"reports\"\nsources = [\"source/first\", \"source/second\"]\n\
         target = \"target\"\nmode = \"update\"\n{compare}delete = true\npreserve = {preserve}\n"
    ));
}

/// The quick start's manifest: the `reports` job and the DistCp+ `logs` job.
fn quickstart(dir: &Dir) {
    reports(dir, r#"["times", "permission"]"#);
    for server in ["server1", "server2", "server3"] {
        for day in ["today", "yesterday", "lastweek"] {
            let folder = format!("logs/{server}/{day}");
            dir.create(&format!("{folder}/app.log"), format!("{server} {day}\n"));
            dir.create(&format!("{folder}/app.log.tmp"), "scratch\n");
        }
    }
    let mut manifest = dir.read_to_string("hsync.toml");
    manifest.push_str(
        r#"
[[job]]
name = "logs"
sources = ["logs"]
target = "target-logs"
mode = "update"
include = "server1|server2/today|yesterday"
exclude = ['\.tmp$']
preserve = ["times"]
"#,
    );
    dir.manifest(&manifest);
}

#[test]
fn plan_shows_the_guide_example_as_a_reviewer_reads_it() {
    let dir = Dir::new();
    reports(&dir, r#"["times", "permission"]"#);

    let out = dir.hsync(["plan"]).ok();
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_human_view", out.stderr);
}

#[test]
fn show_prints_a_saved_plan_as_plan_did() {
    let dir = Dir::new();
    reports(&dir, r#"["times", "permission"]"#);
    let planned = dir.hsync(["plan", "-o", "plan.json"]).ok();

    let shown = dir.hsync(["show", "plan.json"]).ok();
    assert_eq!(shown.stdout, planned.stderr);
    assert_eq!(shown.stderr, "");
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("show_saved_plan", shown.stdout);
}

#[test]
fn show_json_prints_the_plan_file_itself() {
    let dir = Dir::new();
    reports(&dir, "[]");
    dir.hsync(["plan", "-o", "plan.json"]).ok();

    let shown = dir.hsync(["show", "--json", "plan.json"]).ok();
    assert_eq!(shown.stdout, dir.read_to_string("plan.json"));
}

#[test]
fn show_json_with_workers_adds_a_line_of_the_chunks_after_the_plan_file() {
    let dir = Dir::new();
    reports(&dir, "[]");
    dir.hsync(["plan", "-o", "plan.json"]).ok();

    let shown = dir
        .hsync(["show", "--json", "plan.json", "--workers", "3"])
        .ok();
    let (plan, chunks) = shown.stdout[..shown.stdout.len() - 1]
        .rsplit_once('\n')
        .expect("lines");
    assert_eq!(plan.to_string() + "\n", dir.read_to_string("plan.json"));
    let chunks: serde_json::Value = serde_json::from_str(chunks).expect("a JSON line");
    let list = &chunks["chunks"];
    assert_eq!(
        list["fingerprint"],
        dir.plan_json("plan.json")["fingerprint"]
    );
    assert_eq!(list["chunking"]["chunks"], 12);
    // The plan's three copies, one a chunk.
    let files: Vec<_> = list["chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .map(|c| (c["files"].as_u64(), c["first_path"].as_str()))
        .collect();
    assert_eq!(
        files,
        [
            (Some(1), Some("10")),
            (Some(1), Some("2")),
            (Some(1), Some("20"))
        ]
    );
}

#[test]
fn plan_is_byte_identical_for_unchanged_inputs() {
    let dir = Dir::new();
    reports(&dir, r#"["permission"]"#);

    let first = dir.hsync(["plan"]).ok();
    let second = dir.hsync(["plan"]).ok();
    dir.hsync(["plan", "-o", "plan.json"]).ok();
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(first.stderr, second.stderr);
    assert_eq!(dir.read_to_string("plan.json"), first.stdout);
    let plan = dir.plan_json("plan.json");
    assert_eq!(plan["format_version"], 3);
    assert_eq!(plan["manifest"]["path"], "hsync.toml");
}

#[test]
fn plan_with_preserved_times_is_byte_identical_for_unchanged_inputs() {
    let dir = Dir::new();
    quickstart(&dir);

    let first = dir.hsync(["plan"]).ok();
    let second = dir.hsync(["plan"]).ok();
    let differing: Vec<_> = first
        .stdout
        .lines()
        .zip(second.stdout.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert!(differing.is_empty(), "lines that differ: {differing:#?}");
}

#[test]
fn detailed_exitcode_is_2_when_there_are_changes() {
    let dir = Dir::new();
    reports(&dir, "[]");

    let out = dir.hsync(["plan", "--detailed-exitcode"]).code(2);
    assert_eq!(out.plan()["jobs"][0]["name"], "reports");
    // Without the flag, changes are not an exit code.
    dir.hsync(["plan"]).code(0);
}

#[test]
fn detailed_exitcode_is_1_on_error() {
    let dir = Dir::new();
    dir.manifest(&one_job(&["missing"], "target", ""));

    let out = dir.hsync(["plan", "--detailed-exitcode"]).code(1);
    assert!(says(&out.stderr, "does not exist"), "{out}");
}

#[test]
fn apply_then_plan_reports_no_changes_with_detailed_exitcode_0() {
    let dir = Dir::new();
    quickstart(&dir);

    dir.plan();
    let summary = dir.apply();
    assert_eq!(summary["outcome"], "success");
    assert_eq!(summary["files_copied"], 7);
    assert_eq!(summary["files_deleted"], 1);

    let out = dir.hsync(["plan", "--detailed-exitcode"]).code(0);
    assert!(
        out.stderr
            .ends_with("No changes. The target is in sync (8 files unchanged, 224 B).\n"),
        "{out}"
    );
    // Times were preserved: that is why nothing differs by mtime.
    for (source, target) in [
        ("source/second/10", "target/10"),
        (
            "logs/server1/today/app.log",
            "target-logs/server1/today/app.log",
        ),
        ("logs/server1/today", "target-logs/server1/today"),
        ("logs/server2", "target-logs/server2"),
    ] {
        assert_eq!(dir.mtime_ms(target), dir.mtime_ms(source), "{target}");
    }
}

#[test]
fn tampered_plan_is_refused() {
    let dir = Dir::new();
    reports(&dir, "[]");
    let mut plan = dir.plan();
    // Redirect a copy to another name and keep the old fingerprint.
    plan["jobs"][0]["actions"][0]["path"] = "elsewhere".into();
    dir.write_plan(&plan);
    let before = dir.tree("target");

    let out = dir.hsync(["apply", "plan.json"]).code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(dir.tree("target"), before);
    assert!(!dir.exists(".hsync"), "no journal for a refused plan");
    dir.hsync(["show", "plan.json"]).code(1);
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("tampered_plan_error", out.stderr);
}

#[test]
fn plan_of_another_format_version_is_refused() {
    let dir = Dir::new();
    reports(&dir, "[]");
    let mut plan = dir.plan();
    plan["format_version"] = 1.into();
    dir.write_plan(&plan);
    let before = dir.tree("target");

    let out = dir.hsync(["apply", "plan.json"]).code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(dir.tree("target"), before);
    let shown = dir.hsync(["show", "plan.json"]).code(1);
    assert_eq!(shown.stderr, out.stderr);
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("unknown_format_version_error", out.stderr);
}

#[test]
fn plan_with_an_unknown_op_is_refused() {
    let dir = Dir::new();
    reports(&dir, "[]");
    let mut plan = dir.plan();
    plan["jobs"][0]["actions"][0]["op"] = "chmod".into();
    dir.write_plan(&plan);
    let before = dir.tree("target");

    let out = dir.hsync(["apply", "plan.json"]).code(1);
    assert!(says(&out.stderr, "does not match the plan schema"), "{out}");
    assert!(says(&out.stderr, "chmod"), "{out}");
    assert_eq!(dir.tree("target"), before);
}

#[test]
fn validate_reports_every_mistake_at_once() {
    let dir = Dir::new();
    dir.manifest(
        r#"[[job]]
name = "a"
sources = ["src", "prod:/data"]
target = "dst"
delete = true
compare = ["mtime"]
include = "server(1"

[[job]]
name = "a"
sources = ["src"]
target = "dst"
bandwidth = "fast"
"#,
    );

    let out = dir.hsync(["validate"]).code(1);
    assert_eq!(out.stdout, "");
    // Each mistake once, pointing at its line. (The wording of the help
    // texts is the manifest module's to refine, so it is not pinned here.)
    for (mistake, line) in [
        ("6 mistakes in the manifest hsync.toml", ""),
        ("unknown cluster alias `prod`", "[hsync.toml:3:"),
        (
            "`delete` needs mode = \"update\" or \"overwrite\"",
            "[hsync.toml:5:",
        ),
        (
            "comparing `mtime` needs preserve = [\"times\"]",
            "[hsync.toml:6:",
        ),
        ("`include` is not a valid regex", "[hsync.toml:7:"),
        ("two jobs are named `a`", "[hsync.toml:10:"),
        ("`fast` is not a bandwidth", "[hsync.toml:13:"),
    ] {
        assert_eq!(out.stderr.matches(mistake).count(), 1, "{mistake}\n{out}");
        assert!(out.stderr.contains(line), "{line}\n{out}");
    }
}

#[test]
fn validate_accepts_the_quick_start_manifest() {
    let dir = Dir::new();
    quickstart(&dir);
    let out = dir.hsync(["validate"]).ok();
    assert_eq!(out.stdout, "hsync.toml is valid: 2 jobs (reports, logs)\n");
}

#[test]
fn relative_paths_resolve_against_the_manifest_folder() {
    let dir = Dir::new();
    guide_example(&dir, "elsewhere");
    dir.create(
        "conf/replication.toml",
        one_job(&["../source/first"], "../target", r#"mode = "update""#),
    );
    dir.mkdir("plans");

    dir.hsync(["plan", "-m", "conf/replication.toml", "-o", "plans/p.json"])
        .ok();
    let plan = dir.plan_json("plans/p.json");
    let root = dir.path().display();
    assert_eq!(
        plan["jobs"][0]["source_roots"][0],
        format!("{root}/source/first")
    );
    assert_eq!(plan["jobs"][0]["target_root"], format!("{root}/target"));
    assert_eq!(plan["manifest"]["path"], "conf/replication.toml");

    dir.hsync(["apply", "-m", "conf/replication.toml", "plans/p.json"])
        .ok();
    assert_eq!(dir.tree("target"), dir.tree("source/first"));
}

#[test]
fn plan_reaching_outside_its_roots_is_refused_even_with_a_valid_fingerprint() {
    let dir = Dir::new();
    reports(&dir, "[]");
    dir.plan();
    let text = dir.read_to_string("plan.json");
    // The harness seals exactly as hsync does.
    assert_eq!(reseal(&text), text);

    // A crafted plan: a copy aimed above the target root, sealed anew.
    let crafted = text.replacen("\"path\":\"10\"", "\"path\":\"../escaped\"", 1);
    assert_ne!(crafted, text);
    dir.create("plan.json", reseal(&crafted));

    let out = dir.hsync(["apply", "plan.json"]).code(1);
    assert!(says(&out.stderr, "reaches outside its roots"), "{out}");
    assert!(says(&out.stderr, "`../escaped`"), "{out}");
    assert!(!dir.exists("escaped"));
    assert!(!dir.exists(".hsync"));
}

#[test]
fn a_plan_whose_actions_are_out_of_order_is_refused_before_anything_is_applied() {
    let dir = Dir::new();
    dir.create("source/a/x", "x");
    dir.create("source/a.txt", "t");
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
    dir.plan();
    // Plain string order, which puts `a.txt` inside the walk of `a/`.
    let text = dir.read_to_string("plan.json");
    let mut lines: Vec<&str> = text.lines().collect();
    let at = |lines: &[&str], path: &str| {
        let field = format!("\"path\":\"{path}\"");
        lines.iter().position(|l| l.contains(&field)).unwrap()
    };
    let moved = lines.remove(at(&lines, "a.txt"));
    lines.insert(at(&lines, "a") + 1, moved);
    dir.create("plan.json", reseal(&(lines.join("\n") + "\n")));

    let out = dir.hsync(["apply", "plan.json"]).code(1);
    assert!(says(&out.stderr, "out of order"), "{out}");
    assert!(says(&out.stderr, "`a/x` comes after `a.txt`"), "{out}");
    assert!(!dir.exists("target"), "a refused plan touched the target");
    assert!(!dir.exists(".hsync"), "no journal for a refused plan");
}

#[test]
fn a_plan_written_to_a_device_leaves_the_device_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = Dir::new();
    reports(&dir, "[]");

    dir.hsync(["plan", "-o", "/dev/null"]).ok();
    let null = std::fs::metadata("/dev/null").expect("/dev/null");
    assert!(null.file_type().is_char_device(), "/dev/null was replaced");
}

#[test]
fn a_failed_plan_leaves_the_plan_file_as_it_was() {
    let dir = Dir::new();
    reports(&dir, "[]");
    dir.create("plan.json", "an earlier plan\n");
    std::fs::remove_dir_all(dir.path().join("source/second")).unwrap();

    dir.hsync(["plan", "-o", "plan.json"]).code(1);
    assert_eq!(dir.read_to_string("plan.json"), "an earlier plan\n");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with(".hsync-plan-"))
        .collect();
    assert!(leftovers.is_empty(), "scratch files left: {leftovers:?}");
}
