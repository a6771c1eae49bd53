//! The harness: temporary trees, the real `hsync` binary run inside them,
//! and listings of both sides that check a copy without trusting hsync.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use filetime::FileTime;
use serde_json::Value;

/// A modification time that every test can use: 2023-11-14 22:13:20 UTC.
pub const MTIME: i64 = 1_700_000_000;

/// A temporary directory holding a manifest, its source and target trees and
/// the plans and journals of a test. Removed when dropped.
pub struct Dir {
    _temp: tempfile::TempDir,
    root: PathBuf,
}

impl Dir {
    pub fn new() -> Dir {
        let temp = tempfile::Builder::new()
            .prefix("hsync-test-")
            .tempdir()
            .expect("a temporary directory");
        // hsync prints absolute paths as the kernel resolves them.
        let root = temp.path().canonicalize().expect("a canonical temp path");
        Dir { _temp: temp, root }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn join(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Writes a file (and its missing parents).
    pub fn create(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("parent directories");
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Writes a file of `size` bytes, each `byte`: the DistCp guide's files
    /// differ only by size, so a byte per side tells which side a file holds.
    pub fn fill(&self, relative: &str, size: usize, byte: u8) -> PathBuf {
        self.create(relative, vec![byte; size])
    }

    /// Writes a file with `mtime` (seconds since the epoch).
    pub fn create_at(&self, relative: &str, contents: impl AsRef<[u8]>, mtime: i64) -> PathBuf {
        let path = self.create(relative, contents);
        self.set_mtime(relative, mtime);
        path
    }

    pub fn mkdir(&self, relative: &str) -> PathBuf {
        let path = self.join(relative);
        fs::create_dir_all(&path).expect("mkdir");
        path
    }

    pub fn set_mtime(&self, relative: &str, seconds: i64) {
        filetime::set_file_mtime(self.join(relative), FileTime::from_unix_time(seconds, 0))
            .unwrap_or_else(|e| panic!("set the mtime of {relative}: {e}"));
    }

    /// The modification time in milliseconds, as hsync records it.
    pub fn mtime_ms(&self, relative: &str) -> i64 {
        let meta = self.metadata(relative);
        meta.mtime() * 1000 + meta.mtime_nsec() / 1_000_000
    }

    /// Inode and modification time: both stay the same only if a file was
    /// not rewritten (hsync writes a new file and renames it into place).
    pub fn identity(&self, relative: &str) -> (u64, i64, i64) {
        let meta = self.metadata(relative);
        (meta.ino(), meta.mtime(), meta.mtime_nsec())
    }

    fn metadata(&self, relative: &str) -> fs::Metadata {
        fs::metadata(self.join(relative)).unwrap_or_else(|e| panic!("stat {relative}: {e}"))
    }

    pub fn exists(&self, relative: &str) -> bool {
        self.join(relative).symlink_metadata().is_ok()
    }

    pub fn read(&self, relative: &str) -> Vec<u8> {
        fs::read(self.join(relative)).unwrap_or_else(|e| panic!("read {relative}: {e}"))
    }

    pub fn read_to_string(&self, relative: &str) -> String {
        String::from_utf8(self.read(relative)).expect("UTF-8")
    }

    /// Writes `hsync.toml`, the manifest `hsync` reads by default.
    pub fn manifest(&self, text: &str) {
        self.create("hsync.toml", text);
    }

    /// `hsync ARGS` run in this directory.
    pub fn hsync<I, S>(&self, args: I) -> TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsync"));
        cmd.current_dir(&self.root)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("HSYNC_LOG")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null());
        TestCommand { cmd }
    }

    /// `hsync ARGS` run as a user without privileges (`nobody`, through
    /// `setpriv`, when the tests run as root), so that permissions apply.
    pub fn hsync_unprivileged<I, S>(&self, args: I) -> TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut test = self.hsync(args);
        if is_root() {
            let cmd = &test.cmd;
            let mut setpriv = Command::new("setpriv");
            setpriv
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(cmd.get_program())
                .args(cmd.get_args())
                .current_dir(&self.root)
                .env("NO_COLOR", "1")
                .env("USER", "nobody")
                .env_remove("HSYNC_LOG")
                .env_remove("CLICOLOR_FORCE")
                .stdin(Stdio::null());
            test.cmd = setpriv;
        }
        test
    }

    /// Gives `relative` to the user [`Dir::hsync_unprivileged`] runs as.
    pub fn give_to_unprivileged(&self, relative: &str) {
        if is_root() {
            std::os::unix::fs::chown(self.join(relative), Some(65534), Some(65534)).expect("chown");
        }
    }

    /// `hsync plan -o plan.json`, which must succeed; returns the plan.
    pub fn plan(&self) -> Value {
        self.hsync(["plan", "-o", "plan.json"]).ok();
        self.plan_json("plan.json")
    }

    /// `hsync apply plan.json`, which must succeed; returns the summary.
    pub fn apply(&self) -> Value {
        self.hsync(["apply", "plan.json"]).ok().json()
    }

    /// Writes an edited plan over `plan.json`, as a hand would: the
    /// fingerprint is the one [`Dir::plan_json`] read.
    pub fn write_plan(&self, plan: &Value) {
        self.create("plan.json", plan_text(plan));
    }

    /// A plan file as one JSON value, see [`plan_value`].
    pub fn plan_json(&self, relative: &str) -> Value {
        plan_value(&self.read_to_string(relative))
    }

    /// Every file and folder below `relative`, read by the test itself.
    pub fn tree(&self, relative: &str) -> Tree {
        Tree::read(&self.join(relative))
    }

    /// hsync's temporary files (`.NAME.hsync-tmp.TAG`) and staging folders
    /// anywhere below `relative`.
    pub fn temp_leftovers(&self, relative: &str) -> Vec<String> {
        self.tree(relative)
            .0
            .into_keys()
            .filter(|path| {
                let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                name.starts_with('.') && name.contains(".hsync-tmp.")
            })
            .collect()
    }

    /// Snapshot settings: the temp path reads `[TMP]`, fingerprints read
    /// `[FINGERPRINT]`. Keep the guard alive while asserting.
    pub fn snapshot_settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.add_filter(&regex_escape(&self.root.display().to_string()), "[TMP]");
        settings.add_filter(r"\b[0-9a-f]{64}\b", "[FINGERPRINT]");
        settings
    }
}

/// Whether the tests run as root (who passes every permission check).
pub fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

pub fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The real binary, ready to run; see [`Dir::hsync`].
pub struct TestCommand {
    cmd: Command,
}

impl TestCommand {
    /// Sets an environment variable for the run.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.cmd.env(key, value);
        self
    }

    /// More arguments, after those it was made with.
    pub fn args<'a>(&mut self, args: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.cmd.args(args);
        self
    }

    /// Unsets an environment variable for the run (the harness sets `NO_COLOR`).
    pub fn env_remove(&mut self, key: &str) -> &mut Self {
        self.cmd.env_remove(key);
        self
    }

    /// Runs to completion, whatever the exit code.
    pub fn output(&mut self) -> Output {
        let out = self.cmd.output().expect("the hsync binary runs");
        Output {
            code: out.status.code().expect("hsync exits rather than dying"),
            stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Runs and requires exit code 0.
    pub fn ok(&mut self) -> Output {
        self.code(0)
    }

    /// Runs and requires `code`.
    pub fn code(&mut self, code: i32) -> Output {
        let out = self.output();
        assert_eq!(out.code, code, "{:?} exited {}\n{out}", self.cmd, out.code);
        out
    }

    /// Starts the command in the background; stdout and stderr go to files
    /// in the test's directory (`<name>.stdout`, `<name>.stderr`).
    pub fn spawn(&mut self, dir: &Dir, name: &str) -> Child {
        let file = |ext: &str| {
            fs::File::create(dir.join(&format!("{name}.{ext}"))).expect("an output file")
        };
        self.cmd
            .stdout(file("stdout"))
            .stderr(file("stderr"))
            .spawn()
            .expect("the hsync binary starts")
    }
}

/// Waits for a spawned `hsync` (see [`TestCommand::spawn`]) to exit on its
/// own; kills it and panics with its stderr once `hang` has passed.
pub fn wait_bounded(
    child: &mut Child,
    dir: &Dir,
    name: &str,
    hang: std::time::Duration,
) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait on hsync") {
            return status;
        }
        if started.elapsed() > hang {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "hsync ({name}) did not end within {hang:?}:\n{}",
                dir.read_to_string(&format!("{name}.stderr"))
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// How often a journal (`.hsync/<fingerprint>/shard-0.jsonl`) recorded each
/// (step, mark); fails the test on a torn record or on any pair recorded
/// twice (a step done twice, a copy committing twice).
pub fn journal_marks_once(path: &Path) -> std::collections::HashSet<(String, String)> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut marks = std::collections::HashMap::<(String, String), usize>::new();
    for line in text.lines() {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("torn record {line:?}: {e}"));
        let step = record["step"].as_str().expect("a step").to_string();
        let mark = record["mark"].as_str().expect("a mark").to_string();
        *marks.entry((step, mark)).or_default() += 1;
    }
    let twice: Vec<_> = marks.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "journaled more than once: {twice:?}");
    marks.into_keys().collect()
}

/// A journal as a killed apply of `plan` (made in `dir`, applied with the
/// default state folder) leaves it: one record per `(path, mark)` of a
/// copy of the first job, named by its ordinal. Whether the plan was
/// applied completely before is forgotten.
pub fn journal_of_copies(dir: &Dir, plan: &Value, marks: &[(&str, &str)]) -> String {
    let fingerprint = plan["fingerprint"].as_str().expect("a fingerprint");
    let actions = plan["jobs"][0]["actions"].as_array().expect("actions");
    let mut text = String::new();
    for (path, mark) in marks {
        let ordinal = actions
            .iter()
            .position(|a| a["op"] == "copy" && a["path"] == *path)
            .unwrap_or_else(|| panic!("no copy of {path}"));
        text.push_str(&format!(
            "{{\"step\":\"0/{ordinal}/copy\",\"mark\":\"{mark}\"}}\n"
        ));
    }
    let _ = fs::remove_file(dir.join(".hsync/finished.jsonl"));
    let journal = format!(".hsync/{fingerprint}/shard-0.jsonl");
    dir.create(&journal, &text);
    journal
}

/// Copies the journal at `path` records `done` so far, to watch an apply
/// in flight (0 before the journal exists).
pub fn copies_committed(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |journal| {
        journal
            .lines()
            .filter(|l| l.contains("/copy\"") && l.contains("\"done\""))
            .count()
    })
}

/// What a finished `hsync` printed and how it exited.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// The plan `hsync plan` wrote to stdout, see [`plan_value`].
    pub fn plan(&self) -> Value {
        plan_value(&self.stdout)
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.stdout, self.stderr
        )
    }
}

/// One entry of a [`Tree`].
#[derive(Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    /// Size and the first 16 hex digits of the content's blake3.
    File(u64, String),
    /// A symlink and its text (never followed).
    Link(String),
    /// A FIFO, socket or device (never opened).
    Special,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Dir => write!(f, "dir"),
            Node::File(size, hash) => write!(f, "{size} B {hash}"),
            Node::Link(text) => write!(f, "-> {text}"),
            Node::Special => write!(f, "special"),
        }
    }
}

/// A listing keyed by relative path (folders end in `/`), hidden names
/// included, so that two trees compare equal only if they hold the same
/// names, sizes and contents.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Tree(pub BTreeMap<String, Node>);

impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl Tree {
    pub fn read(root: &Path) -> Tree {
        let mut tree = Tree::default();
        if root.exists() {
            walk(root, "", &mut tree.0);
        }
        tree
    }

    /// The same entries below `prefix/`, as a target in nested layout holds them.
    pub fn under(&self, prefix: &str) -> Tree {
        let mut tree = Tree(BTreeMap::new());
        tree.0.insert(format!("{prefix}/"), Node::Dir);
        for (path, node) in &self.0 {
            tree.0.insert(format!("{prefix}/{path}"), node.clone());
        }
        tree
    }

    /// Both trees' entries (the second wins where both have a path).
    pub fn merged(&self, other: &Tree) -> Tree {
        let mut tree = self.clone();
        tree.0.extend(other.0.clone());
        tree
    }

    /// Only the files, path → (size, hash).
    pub fn files(&self) -> Tree {
        Tree(
            self.0
                .iter()
                .filter(|(_, node)| matches!(node, Node::File(..)))
                .map(|(p, n)| (p.clone(), n.clone()))
                .collect(),
        )
    }

    /// Only the files at their final names (no hsync temporary name).
    pub fn final_files(&self) -> Tree {
        Tree(
            self.files()
                .0
                .into_iter()
                .filter(|(path, _)| !path.contains(".hsync-tmp."))
                .collect(),
        )
    }

    pub fn paths(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Node>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("{prefix}{name}");
        let kind = entry.file_type().expect("a file type");
        if kind.is_dir() {
            out.insert(format!("{relative}/"), Node::Dir);
            walk(&entry.path(), &format!("{relative}/"), out);
        } else if kind.is_symlink() {
            let text = fs::read_link(entry.path()).expect("a link's text");
            out.insert(relative, Node::Link(text.to_string_lossy().into_owned()));
        } else if !kind.is_file() {
            out.insert(relative, Node::Special);
        } else {
            let bytes = fs::read(entry.path()).expect("a readable file");
            let hash = blake3::hash(&bytes).to_hex()[..16].to_string();
            out.insert(relative, Node::File(bytes.len() as u64, hash));
        }
    }
}

/// `size` bytes of deterministic noise, different for every `seed`.
pub fn noise(size: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

/// Whether a diagnostic says `needle`, however miette wrapped its lines
/// (it breaks long paths at `/` and indents continuations with `│`).
pub fn says(diagnostic: &str, needle: &str) -> bool {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '│')
            .collect()
    };
    squash(diagnostic).contains(&squash(needle))
}

/// The fields of a job's `end` line.
const JOB_END_FIELDS: [&str; 3] = ["unchanged", "listed", "compared"];

/// A plan file's lines gathered into one JSON value, shaped as the plan is
/// in memory: `{format_version, manifest, jobs: [{name, …, actions,
/// skipped, unchanged, listed, compared}], fingerprint}`.
pub fn plan_value(text: &str) -> Value {
    let mut plan = serde_json::Map::new();
    let mut jobs = Vec::new();
    for line in text.lines() {
        let Value::Object(line) = serde_json::from_str(line).expect("a plan line is JSON") else {
            panic!("a plan line is an object: {line}");
        };
        if line.contains_key("op") {
            let job: &mut Value = jobs.last_mut().expect("an action inside a job");
            job["actions"]
                .as_array_mut()
                .unwrap()
                .push(Value::Object(line));
        } else if let Some(Value::Object(header)) = line.get("job") {
            let mut job = header.clone();
            job.insert("actions".into(), Value::Array(Vec::new()));
            job.insert("skipped".into(), Value::Array(Vec::new()));
            jobs.push(Value::Object(job));
        } else if let Some(skipped) = line.get("skipped") {
            let job: &mut Value = jobs.last_mut().expect("a skipped entry inside a job");
            job["skipped"].as_array_mut().unwrap().push(skipped.clone());
        } else if let Some(Value::Object(end)) = line.get("end") {
            let job = jobs.last_mut().expect("an end inside a job");
            job.as_object_mut().unwrap().extend(end.clone());
        } else {
            plan.extend(line);
        }
    }
    let fingerprint = plan.remove("fingerprint").expect("a trailer");
    plan.insert("jobs".into(), Value::Array(jobs));
    plan.insert("fingerprint".into(), fingerprint);
    Value::Object(plan)
}

/// The plan file of a [`plan_value`], with the fingerprint it holds.
pub fn plan_text(plan: &Value) -> String {
    let mut lines = Vec::new();
    let mut header = plan.as_object().expect("a plan is an object").clone();
    let jobs = header.remove("jobs").expect("jobs");
    let fingerprint = header.remove("fingerprint").expect("a fingerprint");
    lines.push(Value::Object(header));
    for job in jobs.as_array().expect("jobs") {
        let mut job = job.as_object().expect("a job").clone();
        let actions = job.remove("actions").expect("actions");
        let skipped = job.remove("skipped").expect("skipped");
        let end: serde_json::Map<String, Value> = JOB_END_FIELDS
            .iter()
            .filter_map(|field| Some((field.to_string(), job.remove(*field)?)))
            .collect();
        lines.push(serde_json::json!({ "job": job }));
        lines.extend(actions.as_array().expect("actions").iter().cloned());
        let skipped = skipped.as_array().expect("skipped").iter();
        lines.extend(skipped.map(|s| serde_json::json!({ "skipped": s })));
        lines.push(serde_json::json!({ "end": end }));
    }
    lines.push(serde_json::json!({ "fingerprint": fingerprint }));
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// Seals an edited plan file's text as `hsync plan` would: the fingerprint
/// is the blake3 of every line before the trailer, so a crafted plan passes
/// the tamper check and meets the loader's other checks.
pub fn reseal(plan_text: &str) -> String {
    let body = plan_text.trim_end_matches('\n');
    let trailer = body.rfind('\n').expect("a plan has lines") + 1;
    let fingerprint = blake3::hash(&plan_text.as_bytes()[..trailer]).to_hex();
    format!(
        "{}{{\"fingerprint\":\"{fingerprint}\"}}\n",
        &plan_text[..trailer]
    )
}

/// A plan's actions of job `job`, one line each: `op path [reason]`.
pub fn actions(plan: &Value, job: usize) -> Vec<String> {
    plan["jobs"][job]["actions"]
        .as_array()
        .expect("a plan's actions")
        .iter()
        .map(|a| {
            let mut line = format!(
                "{} {}",
                a["op"].as_str().expect("an op"),
                a["path"].as_str().expect("a path")
            );
            if let Some(reason) = a["reason"].as_str() {
                line.push(' ');
                line.push_str(reason);
            }
            line
        })
        .collect()
}

/// The sources and target of the DistCp guide's sizes example:
/// `source/first/{1,2}` and `source/second/{10,20}` against a target that
/// holds `1` (same), `10` and `20` (other sizes) and nothing else. Source
/// files hold `x`, target files `y` except the equal `1`. Every file has
/// the mtime [`MTIME`].
pub fn guide_example(dir: &Dir, target: &str) {
    for (path, size) in [
        ("source/first/1", 32),
        ("source/first/2", 32),
        ("source/second/10", 64),
        ("source/second/20", 32),
    ] {
        dir.fill(path, size, b'x');
        dir.set_mtime(path, MTIME);
    }
    for (name, size, byte) in [("1", 32, b'x'), ("10", 32, b'y'), ("20", 64, b'y')] {
        let path = format!("{target}/{name}");
        dir.fill(&path, size, byte);
        dir.set_mtime(&path, MTIME);
    }
}

/// A manifest with one job; `options` are extra lines of TOML.
pub fn one_job(sources: &[&str], target: &str, options: &str) -> String {
    let sources: Vec<String> = sources.iter().map(|s| format!("{s:?}")).collect();
    format!(
        "[[job]]\nname = \"test\"\nsources = [{}]\ntarget = {target:?}\n{options}\n",
        sources.join(", ")
    )
}
