//! Which paths a job takes: DistCp+'s per-depth `include`, `exclude`
//! regexes, and `delete`, which never reaches past them.

use crate::util::{actions, one_job, Dir, MTIME};

/// `logs/{server1,server2,server3}/{today,yesterday,lastweek}/app.log`.
fn logs(dir: &Dir) {
    for server in ["server1", "server2", "server3"] {
        for day in ["today", "yesterday", "lastweek"] {
            dir.create(
                &format!("logs/{server}/{day}/app.log"),
                format!("{server} {day}\n"),
            );
        }
    }
}

const INCLUDE: &str = r#"include = "server1|server2/today|yesterday""#;

#[test]
fn include_filter_takes_one_sub_expression_per_depth() {
    let dir = Dir::new();
    logs(&dir);
    // Names that match a sub-expression, but at another depth.
    dir.create("logs/yesterday/app.log", "not below a server");
    dir.create(
        "logs/server1/today.log",
        "a file at depth 2 that is not today",
    );
    dir.create(
        "logs/server10/today/app.log",
        "sub-expressions match whole names",
    );
    let options = format!("mode = \"update\"\n{INCLUDE}");
    dir.manifest(&one_job(&["logs"], "target", &options));

    dir.plan();
    dir.apply();
    assert_eq!(
        dir.tree("target").paths(),
        [
            "server1/",
            "server1/today/",
            "server1/today/app.log",
            "server1/yesterday/",
            "server1/yesterday/app.log",
            "server2/",
            "server2/today/",
            "server2/today/app.log",
            "server2/yesterday/",
            "server2/yesterday/app.log",
        ]
    );
    assert_eq!(
        dir.tree("target/server2/today"),
        dir.tree("logs/server2/today")
    );
}

#[test]
fn folder_matching_last_include_sub_expression_is_taken_whole() {
    let dir = Dir::new();
    logs(&dir);
    // Below the last depth nothing is filtered, whatever the names.
    dir.create("logs/server1/today/deeper/still/app.log", "deep");
    dir.create("logs/server1/today/server3/lastweek", "any name");
    dir.mkdir("logs/server1/today/empty");
    let options = format!("mode = \"update\"\n{INCLUDE}");
    dir.manifest(&one_job(&["logs"], "target", &options));

    dir.plan();
    dir.apply();
    assert_eq!(
        dir.tree("target/server1/today"),
        dir.tree("logs/server1/today")
    );
    assert!(dir.exists("target/server1/today/empty"));
}

#[test]
fn folder_above_the_last_include_depth_is_created_only_for_what_it_leads_to() {
    let dir = Dir::new();
    dir.create("logs/server1/lastweek/app.log", "not taken");
    dir.create("logs/server2/today/app.log", "taken");
    let options = "mode = \"update\"\ninclude = \"server1|server2/today\"";
    dir.manifest(&one_job(&["logs"], "target", options));

    dir.plan();
    dir.apply();
    assert_eq!(
        dir.tree("target").paths(),
        ["server2/", "server2/today/", "server2/today/app.log"]
    );
}

#[test]
fn exclude_filter_drops_matching_paths() {
    let dir = Dir::new();
    dir.create("data/a/app.log", "kept");
    dir.create("data/a/app.log.tmp", "scratch file");
    dir.create("data/scratch/x", "inside an excluded folder");
    dir.create("data/a/scratch/y", "inside an excluded folder, deeper");
    dir.create(
        "data/keep/scratchpad.txt",
        "only a prefix of the name matches",
    );
    let options = "mode = \"update\"\nexclude = ['\\.tmp$', '(^|/)scratch$']";
    dir.manifest(&one_job(&["data"], "target", options));

    dir.plan();
    dir.apply();
    assert_eq!(
        dir.tree("target").paths(),
        ["a/", "a/app.log", "keep/", "keep/scratchpad.txt"]
    );
}

#[test]
fn delete_removes_extraneous_files_but_not_paths_outside_the_filter() {
    let dir = Dir::new();
    logs(&dir);
    dir.create("target/server1/today/app.log", "server1 today\n");
    // Extraneous and taken by the filters: deleted.
    dir.create("target/server1/today/old.log", "gone from the source");
    dir.create("target/server2/yesterday/olddir/x.log", "a folder gone too");
    // Extraneous but outside the filters: kept.
    let outside = [
        "target/server1/today/notes.tmp",
        "target/server1/lastweek/old.log",
        "target/server3/today/app.log",
        "target/readme.txt",
    ];
    for path in outside {
        dir.create(path, "not governed by this job");
    }
    let before: Vec<_> = outside.iter().map(|p| dir.identity(p)).collect();
    let options = format!("mode = \"update\"\ndelete = true\n{INCLUDE}\nexclude = ['\\.tmp$']");
    dir.manifest(&one_job(&["logs"], "target", &options));

    let plan = dir.plan();
    let deletes: Vec<String> = actions(&plan, 0)
        .into_iter()
        .filter(|a| a.starts_with("delete"))
        .collect();
    assert_eq!(
        deletes,
        [
            "delete server1/today/old.log",
            "delete server2/yesterday/olddir/x.log",
            "delete server2/yesterday/olddir",
        ]
    );
    let summary = dir.apply();
    assert_eq!(summary["files_deleted"], 2);
    assert_eq!(summary["dirs_deleted"], 1);

    assert!(!dir.exists("target/server1/today/old.log"));
    assert!(!dir.exists("target/server2/yesterday/olddir"));
    let after: Vec<_> = outside.iter().map(|p| dir.identity(p)).collect();
    assert_eq!(after, before, "a path outside the filters was touched");
    for day in ["today", "yesterday"] {
        let path = format!("server2/{day}");
        assert_eq!(
            dir.tree(&format!("target/{path}")),
            dir.tree(&format!("logs/{path}"))
        );
    }
}

#[test]
fn delete_keeps_a_folder_that_still_holds_paths_outside_the_filter() {
    let dir = Dir::new();
    dir.create("logs/server1/today/app.log", "server1 today\n");
    // server2 is gone from the source: its today/ is extraneous and taken,
    // its lastweek/ is outside the filter and must stay, so server2/ stays.
    dir.create("target/server2/today/app.log", "extraneous");
    dir.create("target/server2/lastweek/app.log", "outside the filter");
    let options = format!("mode = \"update\"\ndelete = true\n{INCLUDE}");
    dir.manifest(&one_job(&["logs"], "target", &options));

    let plan = dir.plan();
    assert!(
        !actions(&plan, 0).contains(&"delete server2".to_string()),
        "the plan deletes server2/, which holds server2/lastweek: {:?}",
        actions(&plan, 0)
    );
    dir.apply();
    assert!(!dir.exists("target/server2/today"));
    assert_eq!(
        dir.read_to_string("target/server2/lastweek/app.log"),
        "outside the filter"
    );
}

/// `a` in sync with times kept, and only the target with `a/extra/NAME`;
/// the job deletes, with `more` options.
fn folder_with_extra(dir: &Dir, name: &str, more: &str) {
    dir.create_at("source/a/f", "abcd", MTIME);
    dir.set_mtime("source/a", MTIME);
    dir.create_at("target/a/f", "abcd", MTIME);
    dir.create_at(&format!("target/a/extra/{name}"), name, MTIME);
    dir.set_mtime("target/a/extra", MTIME);
    dir.set_mtime("target/a", MTIME);
    let options = format!("mode = \"update\"\ndelete = true\npreserve = [\"times\"]{more}");
    dir.manifest(&one_job(&["source"], "target", &options));
}

#[test]
fn a_target_folder_kept_for_what_the_filter_leaves_out_does_not_touch_its_folders_times() {
    let dir = Dir::new();
    folder_with_extra(&dir, "keep.tmp", "\nexclude = ['\\.tmp$']");

    // a/extra stays for keep.tmp, so a's times are as they were: no change.
    dir.hsync(["plan", "--detailed-exitcode", "-o", "plan.json"])
        .code(0);
    // Once extra holds something to delete, a's times are still its own:
    // extra stays.
    dir.create_at("target/a/extra/old", "old", MTIME);
    dir.set_mtime("target/a/extra", MTIME);
    let plan = dir.plan();
    assert_eq!(actions(&plan, 0), ["delete a/extra/old"]);
}

#[test]
fn a_target_folder_deleted_whole_touches_its_folders_times() {
    let dir = Dir::new();
    folder_with_extra(&dir, "old", "");

    let plan = dir.plan();
    assert_eq!(
        actions(&plan, 0),
        ["set-attributes a", "delete a/extra/old", "delete a/extra"]
    );
    dir.apply();
    dir.hsync(["plan", "--detailed-exitcode", "-o", "plan.json"])
        .code(0);
}
