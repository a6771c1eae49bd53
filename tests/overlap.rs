//! hsync never writes into a source: a target that is, holds or lies inside
//! a source is refused by `validate` and by `plan` (on the real paths, so a
//! symlink cannot hide it), and so are jobs whose targets overlap when one
//! of them deletes or commits atomically, and a job that deletes in a folder
//! that holds the manifest or a source list.

use crate::util::{one_job, says, Dir};

/// A source tree that every test here copies: `src/{a,sub/b}`.
fn source(dir: &Dir) {
    dir.create("src/a", "a");
    dir.create("src/sub/b", "b");
}

/// Runs `validate` and `plan`, which must both refuse the manifest and
/// write no plan; returns `plan`'s stderr.
fn refused(dir: &Dir) -> String {
    refused_at(dir, "hsync.toml")
}

/// [`refused`], of the manifest at `manifest`.
fn refused_at(dir: &Dir, manifest: &str) -> String {
    let before = dir.tree("");
    let validate = dir.hsync(["validate", "-m", manifest]).code(1);
    assert_eq!(validate.stdout, "");
    let plan = dir
        .hsync(["plan", "-m", manifest, "-o", "plan.json"])
        .code(1);
    assert_eq!(plan.stdout, "");
    assert_eq!(
        validate.stderr, plan.stderr,
        "plan refuses with validate's words"
    );
    assert_eq!(dir.tree(""), before, "nothing was written");
    plan.stderr
}

#[test]
fn a_target_that_contains_its_source_is_refused() {
    let dir = Dir::new();
    source(&dir);
    dir.manifest(&one_job(&["src"], ".", "mode = \"update\"\ndelete = true"));
    let stderr = refused(&dir);
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("target_contains_its_source_error", stderr);
}

#[test]
fn a_target_equal_to_its_source_is_refused() {
    let dir = Dir::new();
    source(&dir);
    dir.manifest(&one_job(&["src"], "./src/", "mode = \"update\""));
    let stderr = refused(&dir);
    assert!(
        says(&stderr, "job `test`: the target is a source"),
        "{stderr}"
    );
}

#[test]
fn a_target_inside_its_source_is_refused() {
    let dir = Dir::new();
    source(&dir);
    dir.manifest(&one_job(&["src"], "src/sub/mirror", ""));
    let stderr = refused(&dir);
    assert!(
        says(&stderr, "job `test`: the target lies inside a source"),
        "{stderr}"
    );
}

#[test]
fn a_target_that_reaches_into_its_source_through_a_symlink_is_refused_by_plan() {
    let dir = Dir::new();
    source(&dir);
    std::os::unix::fs::symlink(dir.join("src/sub"), dir.join("link")).expect("a symlink");
    // The target does not exist yet: its nearest existing ancestor is the link.
    dir.manifest(&one_job(
        &["src"],
        "link/mirror",
        "mode = \"update\"\ndelete = true",
    ));
    let validated = dir.hsync(["validate"]).ok();
    assert!(validated.stdout.contains("is valid"), "{validated}");
    let out = dir.hsync(["plan", "-o", "plan.json"]).code(1);
    assert!(!dir.exists("plan.json"));
    assert!(!dir.exists("src/sub/mirror"), "nothing was created");
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!(
        "target_inside_its_source_through_a_symlink_error",
        out.stderr
    );
}

#[test]
fn a_source_that_is_a_symlink_to_the_target_is_refused_by_plan() {
    let dir = Dir::new();
    dir.create("target/old", "old");
    std::os::unix::fs::symlink(dir.join("target"), dir.join("alias")).expect("a symlink");
    dir.manifest(&one_job(
        &["alias"],
        "target",
        "mode = \"update\"\ndelete = true",
    ));
    dir.hsync(["validate"]).ok();
    let out = dir.hsync(["plan", "-o", "plan.json"]).code(1);
    assert!(
        says(
            &out.stderr,
            &format!(
                "job `test`: the target is a source\n  target: {target}\n  source: {alias}\n    really {target}",
                target = dir.join("target").display(),
                alias = dir.join("alias").display()
            )
        ),
        "{out}"
    );
    assert_eq!(dir.read_to_string("target/old"), "old");
}

#[test]
fn two_jobs_that_delete_into_one_target_are_refused() {
    let dir = Dir::new();
    dir.create("in/first/a", "a");
    dir.create("in/second/b", "b");
    dir.manifest(
        "[[job]]\nname = \"first\"\nsources = [\"in/first\"]\ntarget = \"out\"\nmode = \"update\"\ndelete = true\n\n\
         [[job]]\nname = \"second\"\nsources = [\"in/second\"]\ntarget = \"out\"\nmode = \"update\"\ndelete = true\n",
    );
    let stderr = refused(&dir);
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("two_jobs_delete_into_one_target_error", stderr);
}

#[test]
fn two_jobs_with_nested_targets_are_refused_when_one_deletes() {
    let dir = Dir::new();
    dir.create("in/all/a", "a");
    dir.create("in/part/b", "b");
    dir.manifest(
        "[[job]]\nname = \"all\"\nsources = [\"in/all\"]\ntarget = \"out\"\nmode = \"update\"\ndelete = true\n\n\
         [[job]]\nname = \"part\"\nsources = [\"in/part\"]\ntarget = \"out/part\"\nmode = \"update\"\n",
    );
    let stderr = refused(&dir);
    assert!(
        says(
            &stderr,
            "jobs `all` and `part` have nested targets, and `all` deletes"
        ),
        "{stderr}"
    );
}

#[test]
fn two_jobs_with_nested_targets_through_a_symlink_are_refused_by_plan() {
    let dir = Dir::new();
    dir.create("in/all/a", "a");
    dir.create("in/part/b", "b");
    dir.mkdir("out");
    std::os::unix::fs::symlink(dir.join("out"), dir.join("elsewhere")).expect("a symlink");
    dir.manifest(
        "[[job]]\nname = \"all\"\nsources = [\"in/all\"]\ntarget = \"out\"\nmode = \"update\"\ndelete = true\n\n\
         [[job]]\nname = \"part\"\nsources = [\"in/part\"]\ntarget = \"elsewhere/part\"\nmode = \"update\"\n",
    );
    dir.hsync(["validate"]).ok();
    let out = dir.hsync(["plan", "-o", "plan.json"]).code(1);
    assert!(
        says(
            &out.stderr,
            "jobs `all` and `part` have nested targets, and `all` deletes"
        ),
        "{out}"
    );
}

#[test]
fn two_jobs_sharing_a_target_without_delete_plan_and_apply() {
    let dir = Dir::new();
    dir.create("in/first/a", "a");
    dir.create("in/second/b", "b");
    dir.manifest(
        "[[job]]\nname = \"first\"\nsources = [\"in/first\"]\ntarget = \"out\"\nmode = \"update\"\n\n\
         [[job]]\nname = \"second\"\nsources = [\"in/second\"]\ntarget = \"out\"\nmode = \"update\"\n",
    );
    dir.hsync(["validate"]).ok();
    dir.plan();
    dir.apply();
    assert_eq!(dir.read_to_string("out/a"), "a");
    assert_eq!(dir.read_to_string("out/b"), "b");
}

#[test]
fn a_job_writing_into_another_jobs_source_is_refused() {
    let dir = Dir::new();
    dir.create("a/x", "x");
    dir.create("b/y", "y");
    dir.manifest(
        "[[job]]\nname = \"a-to-b\"\nsources = [\"a\"]\ntarget = \"b\"\n\n\
         [[job]]\nname = \"b-to-c\"\nsources = [\"b\"]\ntarget = \"c\"\n",
    );
    let stderr = refused(&dir);
    assert!(
        says(
            &stderr,
            "the target of job `a-to-b` is a source of job `b-to-c`"
        ),
        "{stderr}"
    );
}

/// A manifest that mirrors `../src` into its own folder, `mirror`.
fn manifest_in_the_target(dir: &Dir, options: &str) {
    source(dir);
    dir.create("mirror/hsync.toml", one_job(&["../src"], ".", options));
}

#[test]
fn a_job_that_deletes_into_the_folder_of_its_manifest_is_refused() {
    let dir = Dir::new();
    manifest_in_the_target(&dir, "mode = \"update\"\ndelete = true");
    let stderr = refused_at(&dir, "mirror/hsync.toml");
    assert!(dir.exists("mirror/hsync.toml"));
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("deletes_into_the_folder_of_its_manifest_error", stderr);
}

#[test]
fn a_job_that_copies_into_the_folder_of_its_manifest_without_delete_plans_and_applies() {
    let dir = Dir::new();
    manifest_in_the_target(&dir, "mode = \"update\"");
    let manifest = dir.read_to_string("mirror/hsync.toml");
    dir.hsync(["plan", "-m", "mirror/hsync.toml", "-o", "plan.json"])
        .ok();
    dir.hsync(["apply", "plan.json"]).ok();
    assert_eq!(dir.read_to_string("mirror/sub/b"), "b");
    assert_eq!(dir.read_to_string("mirror/hsync.toml"), manifest);
}

#[test]
fn a_job_that_deletes_into_the_folder_of_its_manifest_through_a_symlink_is_refused_by_plan() {
    let dir = Dir::new();
    source(&dir);
    dir.create(
        "conf/hsync.toml",
        one_job(&["../src"], "../mirror", "mode = \"update\"\ndelete = true"),
    );
    std::os::unix::fs::symlink(dir.join("conf"), dir.join("mirror")).expect("a symlink");
    dir.hsync(["validate", "-m", "conf/hsync.toml"]).ok();
    let out = dir
        .hsync(["plan", "-m", "conf/hsync.toml", "-o", "plan.json"])
        .code(1);
    assert!(!dir.exists("plan.json"));
    assert!(dir.exists("conf/hsync.toml"));
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!(
        "deletes_into_the_folder_of_its_manifest_through_a_symlink_error",
        out.stderr
    );
}

#[test]
fn a_job_that_deletes_the_file_its_manifest_links_to_is_refused_by_plan() {
    let dir = Dir::new();
    source(&dir);
    dir.create(
        "mirror/real.toml",
        one_job(&["src"], "mirror", "mode = \"update\"\ndelete = true"),
    );
    std::os::unix::fs::symlink(dir.join("mirror/real.toml"), dir.join("hsync.toml"))
        .expect("a symlink");
    dir.hsync(["validate"]).ok();
    let out = dir.hsync(["plan", "-o", "plan.json"]).code(1);
    assert!(
        says(
            &out.stderr,
            &format!(
                "job `test` deletes, and its target contains the manifest\n  target: {mirror}\n  manifest: {link}\n    really {mirror}/real.toml",
                mirror = dir.join("mirror").display(),
                link = dir.join("hsync.toml").display()
            )
        ),
        "{out}"
    );
    assert_eq!(
        dir.read_to_string("mirror/real.toml"),
        dir.read_to_string("hsync.toml")
    );
}

#[test]
fn a_job_that_deletes_into_the_folder_of_a_source_list_is_refused() {
    let dir = Dir::new();
    source(&dir);
    dir.create("mirror/sources.txt", "src\n");
    dir.manifest(
        "[[job]]\nname = \"test\"\nsource_list = \"mirror/sources.txt\"\ntarget = \"mirror\"\nmode = \"update\"\ndelete = true\n",
    );
    let stderr = refused(&dir);
    assert!(
        says(
            &stderr,
            "job `test` deletes, and its target contains its source list"
        ),
        "{stderr}"
    );
    assert_eq!(dir.read_to_string("mirror/sources.txt"), "src\n");
}

#[test]
fn two_jobs_with_nested_targets_are_refused_when_one_commits_atomically() {
    let dir = Dir::new();
    dir.create("in/all/a", "a");
    dir.create("in/part/b", "b");
    dir.manifest(
        "[[job]]\nname = \"all\"\nsources = [\"in/all\"]\ntarget = \"out\"\ncommit = \"atomic\"\n\n\
         [[job]]\nname = \"part\"\nsources = [\"in/part\"]\ntarget = \"out/part\"\n",
    );
    let stderr = refused(&dir);
    assert!(
        says(
            &stderr,
            "jobs `all` and `part` have nested targets, and `all` commits atomically"
        ),
        "{stderr}"
    );
}

#[test]
fn two_atomic_jobs_sharing_a_target_are_refused() {
    let dir = Dir::new();
    dir.create("in/first/a", "a");
    dir.create("in/second/b", "b");
    dir.manifest(
        "[[job]]\nname = \"first\"\nsources = [\"in/first\"]\ntarget = \"out\"\ncommit = \"atomic\"\n\n\
         [[job]]\nname = \"second\"\nsources = [\"in/second\"]\ntarget = \"out\"\ncommit = \"atomic\"\n",
    );
    let stderr = refused(&dir);
    assert!(
        says(
            &stderr,
            "jobs `first` and `second` share a target, and both commit atomically"
        ),
        "{stderr}"
    );
}

#[test]
fn a_plan_written_into_a_target_that_deletes_is_refused() {
    let dir = Dir::new();
    source(&dir);
    dir.manifest(&one_job(
        &["src"],
        "mirror",
        "mode = \"update\"\ndelete = true",
    ));
    dir.create("mirror/a", "a");
    // The next plan would list the plan file and its journal as extraneous.
    let out = dir.hsync(["plan", "-o", "mirror/plan.json"]).code(1);
    assert!(!dir.exists("mirror/plan.json"), "no plan was written");
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_written_into_a_target_that_deletes_error", out.stderr);
}
