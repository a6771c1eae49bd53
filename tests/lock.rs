//! One writer per target: the lock lives inside the target root (where its
//! owner can always write) under a name no plan lists, and `hsync unlock`
//! removes only a lock whose holder is known to be gone, or with `--force`
//! one it cannot check.

use std::os::unix::fs::PermissionsExt;

use crate::util::{one_job, says, Dir};

/// No process has this pid.
const GONE: u32 = 4_294_967_294;

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("a hostname")
        .trim()
        .to_string()
}

/// Writes a lock file at `relative` naming `host`, `pid` and the user ops.
fn lock_file(dir: &Dir, relative: &str, host: &str, pid: u32) {
    lock_file_of(dir, relative, host, pid, "ops");
}

/// Writes a lock file at `relative` naming `host`, `pid` and `user`.
fn lock_file_of(dir: &Dir, relative: &str, host: &str, pid: u32, user: &str) {
    let holder = format!(
        r#"{{"host":"{host}","pid":{pid},"user":"{user}","plan":"0123456789abcdef0123","started_ms":1700000000000}}"#
    );
    dir.create(relative, holder);
}

/// The user a local apply's lock names.
fn this_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
}

/// A small job whose target exists.
fn job(dir: &Dir) {
    dir.create("source/a", "a");
    dir.mkdir("target");
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
}

fn snapshot(dir: &Dir, name: &str, text: &str) {
    let mut settings = dir.snapshot_settings();
    settings.add_filter(&crate::util::regex_escape(&hostname()), "[HOST]");
    let _guard = settings.bind_to_scope();
    insta::assert_snapshot!(name, text);
}

#[test]
fn unlock_refuses_a_lock_whose_holder_runs_on_this_host() {
    let dir = Dir::new();
    job(&dir);
    // pid 1 always runs.
    lock_file(&dir, "target/.hsync-tmp.lock", &hostname(), 1);

    let out = dir.hsync(["unlock", "target"]).code(1);
    assert!(
        dir.exists("target/.hsync-tmp.lock"),
        "a live lock was removed"
    );
    snapshot(&dir, "unlock_refuses_a_live_holder", &out.stderr);
    // Not even with --force.
    dir.hsync(["unlock", "--force", "target"]).code(1);
    assert!(dir.exists("target/.hsync-tmp.lock"));
    // And apply is refused meanwhile.
    dir.plan();
    let out = dir.hsync(["apply", "plan.json"]).code(1);
    assert!(says(&out.stderr, "is locked by ops@"), "{out}");
    assert!(!dir.exists("target/a"), "a locked target was written");
}

#[test]
fn unlock_removes_a_lock_whose_holder_is_gone_after_showing_it() {
    let dir = Dir::new();
    job(&dir);
    lock_file(&dir, "target/.hsync-tmp.lock", &hostname(), GONE);

    let out = dir.hsync(["unlock", "target"]).ok();
    assert!(!dir.exists("target/.hsync-tmp.lock"));
    snapshot(&dir, "unlock_removes_a_gone_holder", &out.stdout);
    let out = dir.hsync(["unlock", "target"]).ok();
    snapshot(&dir, "unlock_of_an_unlocked_target", &out.stdout);
}

#[test]
fn unlock_of_another_hosts_lock_needs_force() {
    let dir = Dir::new();
    job(&dir);
    lock_file(&dir, "target/.hsync-tmp.lock", "elsewhere", 1);

    let out = dir.hsync(["unlock", "target"]).code(1);
    assert!(dir.exists("target/.hsync-tmp.lock"));
    snapshot(&dir, "unlock_of_another_host_without_force", &out.stderr);

    let out = dir.hsync(["unlock", "--force", "target"]).ok();
    assert!(!dir.exists("target/.hsync-tmp.lock"));
    snapshot(&dir, "unlock_of_another_host_with_force", &out.stdout);
    dir.plan();
    dir.apply();
    assert_eq!(dir.tree("target"), dir.tree("source"));
}

#[test]
fn a_lock_left_by_another_user_is_refused_though_its_process_is_gone() {
    let dir = Dir::new();
    job(&dir);
    lock_file(&dir, "target/.hsync-tmp.lock", &hostname(), GONE);
    dir.plan();
    let out = dir.hsync(["apply", "plan.json"]).code(1);
    assert!(says(&out.stderr, "is locked by ops@"), "{out}");
    assert!(!dir.exists("target/a"), "a locked target was written");
    // Freed by hand (its holder is known to be gone), the target is ours.
    dir.hsync(["unlock", "target"]).ok();
    dir.apply();
    assert_eq!(dir.tree("target"), dir.tree("source"));
}

#[test]
fn unlock_also_finds_a_lock_beside_the_target_root() {
    // Where atomic and incremental jobs (and earlier releases) keep it.
    let dir = Dir::new();
    job(&dir);
    lock_file(&dir, ".target.hsync-tmp.lock", &hostname(), GONE);
    let out = dir.hsync(["unlock", "target"]).ok();
    assert!(says(&out.stdout, "removed the lock"), "{out}");
    assert!(!dir.exists(".target.hsync-tmp.lock"));
}

#[test]
fn the_lock_lives_inside_the_target_root_and_a_plan_never_deletes_it() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.create("target/extra", "x");
    dir.manifest(&one_job(
        &["source"],
        "target",
        "mode = \"update\"\ndelete = true",
    ));
    // What a killed apply leaves: its lock, in the root.
    lock_file_of(
        &dir,
        "target/.hsync-tmp.lock",
        &hostname(),
        GONE,
        &this_user(),
    );
    let plan = dir.plan();
    let actions = crate::util::actions(&plan, 0);
    assert_eq!(actions, ["copy a missing", "delete extra"]);
    // The lock of a run that is gone is taken over and released.
    dir.apply();
    assert_eq!(dir.tree("target"), dir.tree("source"));
    assert!(!dir.exists("target/.hsync-tmp.lock"));

    // While an apply runs, its lock is in the root, not beside it.
    dir.create("source/big", crate::util::noise(1 << 20, 1));
    std::fs::write(
        dir.join("hsync.toml"),
        one_job(
            &["source"],
            "target",
            "mode = \"update\"\nbandwidth = \"1MiB/s\"",
        ),
    )
    .unwrap();
    dir.plan();
    let mut child = dir.hsync(["apply", "plan.json"]).spawn(&dir, "apply");
    let started = std::time::Instant::now();
    while !dir.exists("target/.hsync-tmp.lock") {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the apply ended unseen"
        );
        assert!(started.elapsed().as_secs() < 30, "no lock in the root");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(!dir.exists(".target.hsync-tmp.lock"));
    // Readable and writable by its holder only, as all of hsync's state
    // on a target.
    let mode = std::fs::metadata(dir.join("target/.hsync-tmp.lock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let status = crate::util::wait_bounded(&mut child, &dir, "apply", 30 * SECOND);
    assert!(status.success(), "{}", dir.read_to_string("apply.stderr"));
    assert!(!dir.exists("target/.hsync-tmp.lock"));
}

const SECOND: std::time::Duration = std::time::Duration::from_secs(1);

#[test]
fn a_user_who_owns_the_target_but_not_its_parent_can_apply() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.mkdir("parent/target");
    dir.mkdir("state");
    dir.give_to_unprivileged("parent/target");
    dir.give_to_unprivileged("state");
    let mode = |relative: &str, mode| {
        std::fs::set_permissions(dir.join(relative), std::fs::Permissions::from_mode(mode))
            .expect("chmod")
    };
    mode("", 0o755);
    mode("parent", 0o555);
    dir.manifest(&one_job(&["source"], "parent/target", "mode = \"update\""));
    dir.plan();

    let out = dir
        .hsync_unprivileged(["apply", "--state-dir", "state", "plan.json"])
        .output();
    mode("parent", 0o755);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(dir.tree("parent/target"), dir.tree("source"));
}

#[test]
fn a_lock_that_cannot_be_created_names_its_path_and_what_is_needed() {
    let dir = Dir::new();
    dir.create("source/a", "a");
    dir.mkdir("target");
    dir.mkdir("state");
    dir.give_to_unprivileged("state");
    let mode = |relative: &str, mode| {
        std::fs::set_permissions(dir.join(relative), std::fs::Permissions::from_mode(mode))
            .expect("chmod")
    };
    mode("", 0o755);
    mode("target", 0o555);
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
    dir.plan();

    let out = dir
        .hsync_unprivileged(["apply", "--state-dir", "state", "plan.json"])
        .output();
    mode("target", 0o755);
    assert_eq!(out.code, 1, "{out}");
    let lock = dir.join("target/.hsync-tmp.lock").display().to_string();
    assert!(says(&out.stderr, &lock), "{out}");
    let needed = format!("needs write access to {}", dir.join("target").display());
    assert!(says(&out.stderr, &needed), "{out}");
}

/// Starts a throttled apply of `options` and returns once hsync's
/// temporary files (or staging folder) show up beside `watch`'s entries:
/// not the lock, nor the lock being written (under a `writing-` name until
/// it is renamed into place, which a loaded machine can delay).
fn running_apply(dir: &Dir, target: &str, watch: &str, options: &str) -> std::process::Child {
    for i in 0..8 {
        dir.create(&format!("source/f{i}"), crate::util::noise(256 << 10, i));
    }
    dir.manifest(&one_job(&["source"], target, options));
    dir.plan();
    let mut child = dir.hsync(["apply", "plan.json"]).spawn(dir, "apply");
    let started = std::time::Instant::now();
    while dir
        .temp_leftovers(watch)
        .iter()
        .all(|t| t.ends_with(".lock") || t.contains(".hsync-tmp.writing-"))
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the apply ended unseen"
        );
        assert!(started.elapsed() < 30 * SECOND, "no temporary file");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child
}

#[test]
fn a_plan_made_while_an_apply_runs_warns_and_leaves_its_temporary_files_alone() {
    let dir = Dir::new();
    let options = "mode = \"update\"\ndelete = true\nparallel = 2\nbandwidth = \"1MiB/s\"";
    let mut child = running_apply(&dir, "target", "target", options);

    let out = dir.hsync(["plan", "-o", "during.json"]).ok();
    let warning = format!(
        "warning: job `test`: the target {} is locked by",
        dir.join("target").display()
    );
    assert!(out.stderr.contains(&warning), "{out}");
    assert!(
        says(
            &out.stderr,
            &format!("@{} (pid {})", hostname(), child.id())
        ),
        "{out}"
    );
    assert!(!out.stderr.contains("leftover"), "{out}");
    let during = dir.plan_json("during.json");
    assert!(
        !crate::util::actions(&during, 0)
            .iter()
            .any(|a| a.contains(".hsync-tmp.")),
        "{during:#}"
    );
    let status = crate::util::wait_bounded(&mut child, &dir, "apply", 60 * SECOND);
    assert!(status.success(), "{}", dir.read_to_string("apply.stderr"));
    assert_eq!(dir.tree("target"), dir.tree("source"));
}

#[test]
fn a_plan_made_while_an_atomic_apply_runs_leaves_its_staging_folder_alone() {
    let dir = Dir::new();
    dir.mkdir("out");
    let options = "commit = \"atomic\"\nparallel = 2\nbandwidth = \"1MiB/s\"";
    let mut child = running_apply(&dir, "out/target", "out", options);

    let out = dir.hsync(["plan", "-o", "during.json"]).ok();
    assert!(says(&out.stderr, "is locked by"), "{out}");
    let during = dir.plan_json("during.json");
    assert_eq!(
        during["jobs"][0].get("leftover_staging"),
        None,
        "{during:#}"
    );
    let status = crate::util::wait_bounded(&mut child, &dir, "apply", 60 * SECOND);
    assert!(status.success(), "{}", dir.read_to_string("apply.stderr"));
}

#[test]
fn a_lock_file_is_never_seen_incomplete_whatever_the_moment_of_a_kill() {
    // A lock written in place could be cut off empty by a kill -9, naming no
    // holder: every later apply was refused until `hsync unlock`.
    let dir = Dir::new();
    dir.create("source/a", crate::util::noise(100_000, 1));
    dir.manifest(&one_job(&["source"], "target", "mode = \"update\""));
    dir.plan();
    for attempt in 0..150u64 {
        let mut child = dir.hsync(["apply", "plan.json"]).spawn(&dir, "apply");
        std::thread::sleep(std::time::Duration::from_micros(attempt % 6 * 1000));
        let _ = child.kill();
        let _ = child.wait();
        if let Ok(text) = std::fs::read_to_string(dir.join("target/.hsync-tmp.lock")) {
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                "a lock file cut off at attempt {attempt}: {text:?}"
            );
        }
        let _ = std::fs::remove_dir_all(dir.join("target"));
        let _ = std::fs::remove_dir_all(dir.join(".hsync"));
    }
    // Whatever a kill left, the same apply goes through.
    dir.apply();
    assert_eq!(dir.read("target/a"), crate::util::noise(100_000, 1));
}

#[test]
fn a_lock_a_dead_run_of_this_host_was_writing_is_removed_by_the_next_apply() {
    let dir = Dir::new();
    job(&dir);
    dir.plan();
    // Killed while it wrote its lock, after the plan was made: no plan
    // lists it, so the apply that takes the lock removes it.
    let writing = format!(
        "target/..hsync-tmp.lock.hsync-tmp.writing-{GONE}@{}",
        hostname()
    );
    dir.create(&writing, "{\"host\":");
    dir.apply();
    assert_eq!(dir.temp_leftovers("target"), Vec::<String>::new());
    assert_eq!(dir.read("target/a"), b"a");
}

#[test]
fn unlock_escapes_what_a_lock_file_says_about_its_holder() {
    let dir = Dir::new();
    job(&dir);
    dir.create(
        "target/.hsync-tmp.lock",
        r#"{"host":"far\u001b[8m\nforged","pid":7,"user":"ops\r","plan":"0123456789abcdef","started_ms":1700000000000}"#,
    );
    let out = dir.hsync(["unlock", "target"]).code(1);
    assert!(
        !out.stderr.contains('\u{1b}') && !out.stderr.contains('\r'),
        "{out}"
    );
    assert!(out.stderr.contains(r"far\x1b[8m\nforged"), "{out}");
}

#[test]
fn the_state_folder_an_apply_creates_is_its_users_alone() {
    let dir = Dir::new();
    job(&dir);
    dir.plan();
    dir.hsync(["apply", "plan.json", "--state-dir", "state/hsync"])
        .ok();
    // Its journals name every path copied: neither read nor listed by others.
    for folder in ["state", "state/hsync"] {
        let mode = std::fs::metadata(dir.join(folder))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{folder}");
    }
}
