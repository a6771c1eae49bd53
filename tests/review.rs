//! Plans a reviewer can read at any size: a job of more than a few hundred
//! lines is rolled up by folder (`--all` prints every line), the header
//! names every option that changes what apply does, sizes that round alike
//! are shown exactly, a re-plan is compared with the reviewed plan action
//! by action, `--diff` shows the lines a copy changes, `--workers` the
//! chunks a distributed apply would cut the copies into, and signs are in
//! colour only where colour is asked for.

use crate::util::Dir;

/// 310 lines: 120 copies in three months of logs, 160 in two data folders,
/// their 8 folders, a top-level file updated and 20 files (and their
/// folder) deleted.
fn big(dir: &Dir) {
    for month in ["01", "02", "03"] {
        for i in 1..=40 {
            dir.fill(
                &format!("source/logs/2024/{month}/{i:03}.log"),
                100 * i,
                b'l',
            );
        }
    }
    for (folder, files, size) in [("a", 100, 1000), ("b", 60, 50_000)] {
        for i in 1..=files {
            dir.fill(&format!("source/data/{folder}/{i:03}.bin"), size, b'd');
        }
    }
    dir.fill("source/readme.txt", 10, b'r');
    dir.fill("target/readme.txt", 12, b'r');
    for i in 1..=20 {
        dir.fill(&format!("target/old/{i:02}.tmp"), 7, b'o');
    }
    dir.manifest(
        "[[job]]\nname = \"big\"\nsources = [\"source\"]\ntarget = \"target\"\n\
         mode = \"update\"\ndelete = true\n",
    );
}

#[test]
fn a_job_of_more_than_300_lines_is_rolled_up_by_folder_biggest_first() {
    let dir = Dir::new();
    big(&dir);

    let planned = dir.hsync(["plan", "-o", "plan.json"]).ok();
    let shown = dir.hsync(["show", "plan.json"]).ok();
    assert_eq!(shown.stdout, planned.stderr);
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_rolled_up_by_folder", shown.stdout);
}

#[test]
fn show_all_prints_every_line_of_a_rolled_up_job() {
    let dir = Dir::new();
    big(&dir);

    let planned = dir.hsync(["plan", "--all", "-o", "plan.json"]).ok();
    let shown = dir.hsync(["show", "--all", "plan.json"]).ok();
    assert_eq!(shown.stdout, planned.stderr);
    let actions = dir.plan_json("plan.json")["jobs"][0]["actions"]
        .as_array()
        .map_or(0, Vec::len);
    let lines = shown.stdout.lines().filter(|l| l.starts_with("  ")).count();
    // Every action, plus the source line, the options line and the listing.
    assert_eq!((actions, lines), (310, 310 + 3));
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_every_line", shown.stdout);
}

#[test]
fn the_job_header_names_every_option_that_changes_what_apply_does() {
    let dir = Dir::new();
    dir.fill("source/keep/a.txt", 3, b'a');
    dir.fill("source/keep/a.tmp", 3, b'a');
    dir.manifest(
        "[[job]]\nname = \"everything\"\nsources = [\"source\"]\ntarget = \"target\"\n\
         mode = \"overwrite\"\ncompare = [\"size\", \"mtime\"]\n\
         preserve = [\"times\", \"permission\"]\nparallel = 3\nbandwidth = \"10MiB/s\"\n\
         symlinks = \"follow\"\ninclude = \"keep\"\nexclude = ['\\.tmp$']\n\n\
         [[job]]\nname = \"at-once\"\nsources = [\"source\"]\ntarget = \"published\"\n\
         commit = \"atomic\"\n",
    );

    let out = dir.hsync(["plan"]).ok();
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_header_with_every_option", out.stderr);
}

#[test]
fn sizes_that_round_alike_are_shown_exactly() {
    let dir = Dir::new();
    dir.fill("source/close", 2150, b'n');
    dir.fill("target/close", 2148, b'o');
    dir.fill("source/far", 4096, b'n');
    dir.fill("target/far", 2048, b'o');
    dir.manifest(
        "[[job]]\nname = \"sizes\"\nsources = [\"source\"]\ntarget = \"target\"\nmode = \"update\"\n",
    );

    let out = dir.hsync(["plan"]).ok();
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_exact_sizes", out.stderr);
}

/// A reviewed plan, then the tree moves on: a file grows, one appears, one
/// goes, an extraneous one is removed by hand.
fn replanned(dir: &Dir) {
    dir.fill("source/grows.txt", 10, b'g');
    dir.fill("source/goes.txt", 5, b'x');
    dir.fill("source/same.txt", 5, b's');
    dir.fill("target/extra.txt", 3, b'e');
    dir.manifest(
        "[[job]]\nname = \"moving\"\nsources = [\"source\"]\ntarget = \"target\"\n\
         mode = \"update\"\ndelete = true\n",
    );
    dir.hsync(["plan", "-o", "reviewed.json"]).ok();
    dir.fill("source/grows.txt", 2150, b'g');
    dir.fill("source/new.txt", 7, b'n');
    std::fs::remove_file(dir.join("source/goes.txt")).expect("remove goes.txt");
    std::fs::remove_file(dir.join("target/extra.txt")).expect("remove extra.txt");
    dir.hsync(["plan", "-o", "new.json"]).ok();
}

#[test]
fn show_old_new_says_what_a_replan_added_dropped_or_changed() {
    let dir = Dir::new();
    replanned(&dir);

    let out = dir.hsync(["show", "reviewed.json", "new.json"]).ok();
    let mut settings = dir.snapshot_settings();
    // The change of a source's mtime is exact, and of today.
    settings.add_filter(r"mtime_ms \d+ -> \d+", "mtime_ms [BEFORE] -> [AFTER]");
    let _settings = settings.bind_to_scope();
    insta::assert_snapshot!("show_old_new", out.stdout);
}

#[test]
fn show_of_a_plan_against_itself_finds_no_differences() {
    let dir = Dir::new();
    replanned(&dir);

    let out = dir.hsync(["show", "new.json", "new.json"]).ok();
    assert!(
        out.stdout
            .ends_with("No differences: both plans do the same (3 actions).\n"),
        "{out}"
    );
}

#[test]
fn show_old_new_compares_jobs_by_name_and_names_those_on_one_side() {
    let dir = Dir::new();
    dir.fill("source/a.txt", 3, b'a');
    let job = |name: &str| {
        format!("[[job]]\nname = \"{name}\"\nsources = [\"source\"]\ntarget = \"{name}\"\n")
    };
    dir.manifest(&(job("kept") + &job("gone")));
    dir.hsync(["plan", "-o", "reviewed.json"]).ok();
    dir.manifest(&(job("kept") + "parallel = 2\n" + &job("fresh")));
    dir.hsync(["plan", "-o", "new.json"]).ok();

    let out = dir.hsync(["show", "reviewed.json", "new.json"]).ok();
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("show_old_new_jobs", out.stdout);
}

#[test]
fn diff_shows_the_lines_each_replaced_text_file_changes() {
    let dir = Dir::new();
    dir.create("source/notes.txt", "one\ntwo\nthree\nfour\n");
    dir.create("target/notes.txt", "one\n2\nthree\n");
    dir.create("source/hostile.txt", "fine\n\x1b[2Jcleared\n");
    dir.create("target/hostile.txt", "fine\n");
    dir.create("source/image.bin", b"\x89PNG\0\0\x01");
    dir.create("target/image.bin", b"\x89PNG\0\0");
    dir.fill("source/huge.log", 300 * 1024, b'h');
    dir.fill("target/huge.log", 200 * 1024, b'h');
    dir.create("source/new.txt", "not replacing anything\n");
    dir.manifest(
        "[[job]]\nname = \"texts\"\nsources = [\"source\"]\ntarget = \"target\"\nmode = \"update\"\n",
    );

    let planned = dir.hsync(["plan", "--diff", "-o", "plan.json"]).ok();
    let shown = dir.hsync(["show", "--diff", "plan.json"]).ok();
    assert_eq!(shown.stdout, planned.stderr);
    assert!(!shown.stdout.contains('\x1b'), "{shown}");
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_diff", shown.stdout);
}

/// A small plan of each sign: `+`, `~`, `-`.
fn signs(dir: &Dir) {
    dir.fill("source/new", 1, b'n');
    dir.fill("source/grown", 2, b'n');
    dir.fill("target/grown", 1, b'o');
    dir.fill("target/extra", 1, b'o');
    dir.manifest(
        "[[job]]\nname = \"signs\"\nsources = [\"source\"]\ntarget = \"target\"\n\
         mode = \"update\"\ndelete = true\n",
    );
}

#[test]
fn signs_are_in_colour_when_clicolor_force_asks_and_plain_under_no_color() {
    let dir = Dir::new();
    signs(&dir);

    let plain = dir.hsync(["plan"]).ok().stderr;
    assert!(!plain.contains('\x1b'), "{plain}");
    let forced = dir
        .hsync(["plan"])
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .ok()
        .stderr;
    // NO_COLOR wins over CLICOLOR_FORCE.
    let both = dir.hsync(["plan"]).env("CLICOLOR_FORCE", "1").ok().stderr;
    assert_eq!(both, plain);
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("plan_in_colour", forced.replace('\x1b', "\\e"));
}

#[test]
fn a_long_comparison_is_rolled_up_by_folder_as_a_plan_is() {
    let dir = Dir::new();
    dir.fill("source/readme.txt", 10, b'r');
    dir.manifest(
        "[[job]]\nname = \"big\"\nsources = [\"source\"]\ntarget = \"target\"\n\
         mode = \"update\"\ndelete = true\n",
    );
    dir.hsync(["plan", "-o", "reviewed.json"]).ok();
    big(&dir);
    dir.hsync(["plan", "-o", "new.json"]).ok();

    let out = dir.hsync(["show", "reviewed.json", "new.json"]).ok();
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("show_old_new_rolled_up", out.stdout);
}

/// Two jobs: twelve logs, and a video among three thumbnails.
fn logs_and_media(dir: &Dir) {
    for i in 1..=12 {
        dir.fill(&format!("logs/{i:02}.log"), 100 * i, b'l');
    }
    for i in 1..=3 {
        dir.fill(&format!("media/thumbs/{i}.jpg"), 2000, b't');
    }
    dir.fill("media/video.mp4", 1 << 20, b'v');
    dir.manifest(
        "[[job]]\nname = \"logs\"\nsources = [\"logs\"]\ntarget = \"backup/logs\"\n\n\
         [[job]]\nname = \"media\"\nsources = [\"media\"]\ntarget = \"backup/media\"\n",
    );
}

#[test]
fn show_with_workers_lists_the_chunks_of_the_copies() {
    let dir = Dir::new();
    logs_and_media(&dir);
    dir.hsync(["plan", "-o", "plan.json"]).ok();

    let plain = dir.hsync(["show", "plan.json"]).ok();
    let shown = dir.hsync(["show", "plan.json", "--workers", "2"]).ok();
    assert!(shown.stdout.starts_with(&plain.stdout), "{shown}");
    let asked = dir
        .hsync(["show", "plan.json", "--workers", "2", "--chunks", "3"])
        .ok();
    let _settings = dir.snapshot_settings().bind_to_scope();
    insta::assert_snapshot!("show_with_workers", shown.stdout);
    insta::assert_snapshot!("show_with_workers_and_chunks", asked.stdout);
}

#[test]
fn show_with_workers_of_a_plan_without_copies_says_there_are_no_chunks() {
    let dir = Dir::new();
    logs_and_media(&dir);
    dir.plan();
    dir.apply();
    dir.hsync(["plan", "-o", "plan.json"]).ok();

    let shown = dir.hsync(["show", "plan.json", "--workers", "2"]).ok();
    let last = shown.stdout.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "Chunks for 2 workers (8 asked, 4 a worker): none, the plan copies no files."
    );
}

#[test]
fn chunks_are_asked_for_with_workers_only() {
    let dir = Dir::new();
    logs_and_media(&dir);
    dir.hsync(["plan", "-o", "plan.json"]).ok();

    let out = dir.hsync(["show", "plan.json", "--chunks", "3"]).code(1);
    assert!(out.stderr.contains("--workers <WORKERS>"), "{out}");
    dir.hsync(["show", "plan.json", "--workers", "0"]).code(1);
    dir.hsync(["show", "plan.json", "plan.json", "--workers", "2"])
        .code(1);
}
