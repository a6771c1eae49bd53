//! The sandbox a case runs in: its trees built from a [`Scenario`], read
//! back byte for byte (names are bytes), changed between runs, and the
//! real binary run inside it with a bounded wait.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use filetime::FileTime;

use super::scenario::{Change, EntrySpec, FileSpec, Kind, LinkTo, Op, Scenario, Side};
use crate::util::noise;

/// An apply or plan that runs longer than this hangs (the slowest case,
/// megabytes under a bandwidth cap, takes a few seconds).
const HANG: Duration = Duration::from_secs(20);

/// What one path of the sandbox is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    Symlink(Vec<u8>),
    Fifo,
    Socket,
    Other,
}

/// One path as the test reads it, without following symlinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub kind: EntryKind,
    pub size: u64,
    /// The first 8 bytes of the content's blake3 (files only).
    pub hash: u64,
    pub mtime_ms: i64,
    pub mode: u32,
}

/// Every path below the sandbox root, relative, `/`-separated, as bytes.
pub type Snapshot = BTreeMap<Vec<u8>, Meta>;

/// `a/b` → `a/b/c`; `""` is the sandbox root.
pub fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    if parent.is_empty() {
        return name.to_vec();
    }
    let mut path = parent.to_vec();
    path.push(b'/');
    path.extend_from_slice(name);
    path
}

pub fn name_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|b| *b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

pub fn parent_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|b| *b == b'/') {
        Some(i) => &path[..i],
        None => b"",
    }
}

/// Whether `path` is `root` or below it (`""` holds everything).
pub fn is_within(path: &[u8], root: &[u8]) -> bool {
    root.is_empty()
        || path == root
        || (path.starts_with(root) && path.get(root.len()) == Some(&b'/'))
}

/// hsync's temporary names (`.NAME.hsync-tmp.TAG`), as `is_temp_name` in
/// storage/src/path.rs has them.
pub fn is_temp_name(name: &[u8]) -> bool {
    name.starts_with(b".") && contains(name, b".hsync-tmp.")
}

/// hsync's lock, which may stay (or live) beside or inside a target root.
pub fn is_lock_name(name: &[u8]) -> bool {
    is_temp_name(name) && name.ends_with(b".hsync-tmp.lock")
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// How a run of the binary ended.
pub struct Run {
    pub what: String,
    /// `None`: killed by a signal (the test's own kill, or a crash).
    pub code: Option<i32>,
    pub hung: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Run {
    /// Nothing panicked, nothing hung, nothing died of a signal.
    pub fn sane(&self) -> Result<(), String> {
        if self.hung {
            return Err(format!(
                "{} hung (over {HANG:?})\n{}",
                self.what,
                self.tail()
            ));
        }
        if self.code.is_none() {
            return Err(format!("{} died of a signal\n{}", self.what, self.tail()));
        }
        // 101 and "panicked" as Rust has them; "internal error" as hsync
        // reports a panic it caught.
        let panicked =
            contains(&self.stderr, b"panicked") || contains(&self.stderr, b"internal error");
        if self.code == Some(101) || panicked {
            return Err(format!("{} panicked\n{}", self.what, self.tail()));
        }
        Ok(())
    }

    pub fn expect(&self, code: i32) -> Result<(), String> {
        self.sane()?;
        if self.code != Some(code) {
            return Err(format!(
                "{} exited {:?}, expected {code}\n{}",
                self.what,
                self.code,
                self.tail()
            ));
        }
        Ok(())
    }

    /// The end of stderr and stdout, for a failure message.
    pub fn tail(&self) -> String {
        let cut = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!(
            "--- stderr ---\n{}\n--- stdout ---\n{}\n--------------",
            cut(&self.stderr),
            cut(&self.stdout)
        )
    }
}

/// A temporary folder: `box/` is the sandbox (manifest, `src/`, targets),
/// beside it the plans, the journal and the runs' output, so that
/// everything in `box/` is either a source, a target or must not change.
pub struct Sandbox {
    temp: Option<tempfile::TempDir>,
    pub top: PathBuf,
    pub root: PathBuf,
    runs: usize,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let temp = tempfile::Builder::new()
            .prefix("hsync-model-")
            .tempdir()
            .expect("a temporary directory");
        let top = temp.path().canonicalize().expect("a canonical temp path");
        let root = top.join("box");
        fs::create_dir_all(top.join("runs")).expect("runs/");
        fs::create_dir(&root).expect("box/");
        Sandbox {
            temp: Some(temp),
            top,
            root,
            runs: 0,
        }
    }

    /// Keeps the folder after the test, for a look at a failing case.
    pub fn keep(&mut self) -> PathBuf {
        if let Some(temp) = self.temp.take() {
            let _ = temp.keep();
        }
        self.top.clone()
    }

    pub fn path(&self, relative: &[u8]) -> PathBuf {
        if relative.is_empty() {
            return self.root.clone();
        }
        self.root.join(OsStr::from_bytes(relative))
    }

    pub fn write_manifest(&self, text: &str) {
        fs::write(self.root.join("hsync.toml"), text).expect("the manifest");
    }

    /// Creates the scenario's sources (`src/sN`) and initial targets (`tN`).
    pub fn build(&self, scenario: &Scenario) {
        fs::create_dir(self.root.join("src")).expect("src/");
        for (k, source) in scenario.sources.iter().enumerate() {
            let root = format!("src/s{k}").into_bytes();
            match &source.file_root {
                Some(file) => self.write_file(&root, file),
                None => {
                    fs::create_dir(self.path(&root)).expect("a source root");
                    self.build_tree(&root, &source.entries);
                }
            }
        }
        for (i, target) in scenario.targets.iter().enumerate() {
            if let Some(entries) = target {
                let root = format!("t{i}").into_bytes();
                fs::create_dir(self.path(&root)).expect("a target root");
                self.build_tree(&root, entries);
            }
        }
    }

    fn build_tree(&self, base: &[u8], entries: &[EntrySpec]) {
        let mut dirs = Vec::new();
        'entries: for entry in entries {
            let mut path = base.to_vec();
            for (i, name) in entry.path.iter().enumerate() {
                path = join(&path, &name.0);
                let last = i + 1 == entry.path.len();
                match fs::symlink_metadata(self.path(&path)) {
                    Ok(_) if last => continue 'entries,
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => continue 'entries,
                    Err(_) if last => {}
                    Err(_) => fs::create_dir(self.path(&path)).expect("a parent folder"),
                }
            }
            let full = self.path(&path);
            match &entry.kind {
                Kind::File(file) => self.write_file(&path, file),
                Kind::Dir(dir) => {
                    fs::create_dir(&full).expect("a folder");
                    dirs.push((full, dir.clone()));
                }
                Kind::Symlink(to) => {
                    let to: PathBuf = match to {
                        LinkTo::Sibling => "a".into(),
                        LinkTo::Parent => "..".into(),
                        LinkTo::Dangling => "nowhere".into(),
                        LinkTo::OtherTarget => self.root.join("t1"),
                        LinkTo::Sources => self.root.join("src"),
                    };
                    std::os::unix::fs::symlink(to, &full).expect("a symlink");
                }
                Kind::Fifo => {
                    let status = Command::new("mkfifo").arg(&full).status().expect("mkfifo");
                    assert!(status.success(), "mkfifo {}", full.display());
                }
                Kind::Socket => {
                    // The socket file stays once its listener is gone.
                    drop(std::os::unix::net::UnixListener::bind(&full).expect("a socket"));
                }
            }
        }
        // Folder times last: every entry made inside a folder changes its mtime.
        for (path, dir) in dirs.iter().rev() {
            fs::set_permissions(path, fs::Permissions::from_mode(dir.mode)).expect("chmod");
            set_mtime(path, dir.mtime_ms);
        }
    }

    fn write_file(&self, relative: &[u8], file: &FileSpec) {
        let path = self.path(relative);
        fs::write(&path, noise(file.size, file.seed)).expect("a file");
        fs::set_permissions(&path, fs::Permissions::from_mode(file.mode)).expect("chmod");
        set_mtime(&path, file.mtime_ms);
    }

    /// Every path below the sandbox root; FIFOs and sockets are never opened.
    pub fn snapshot(&self) -> Snapshot {
        read_tree(&self.root)
    }

    /// Makes one change; a change with nothing to act on does nothing.
    /// `targets` are the job targets, by job.
    pub fn change(&self, change: &Change, sources: &[Vec<u8>], targets: &[Vec<u8>]) {
        let root = match change.side {
            Side::Source(k) => &sources[k],
            Side::Target(j) => &targets[j],
        };
        let root_path = self.path(root);
        let Ok(meta) = fs::symlink_metadata(&root_path) else {
            return;
        };
        if change.op == Op::Wipe {
            if meta.is_dir() {
                fs::remove_dir_all(&root_path).expect("rm -rf a target");
            }
            return;
        }
        let snapshot = self.snapshot();
        let below = |want_dir: bool| -> Vec<Vec<u8>> {
            let mut found: Vec<Vec<u8>> = snapshot
                .iter()
                .filter(|(path, meta)| {
                    path.as_slice() != root.as_slice()
                        && is_within(path, root)
                        && !is_temp_name(name_of(path))
                        && match meta.kind {
                            EntryKind::Dir => want_dir,
                            EntryKind::File => !want_dir,
                            _ => false,
                        }
                })
                .map(|(path, _)| path.clone())
                .collect();
            if want_dir && meta.is_dir() {
                found.insert(0, root.clone());
            }
            found
        };
        let pick = |paths: Vec<Vec<u8>>| -> Option<Vec<u8>> {
            (!paths.is_empty()).then(|| paths[change.pick % paths.len()].clone())
        };
        let file = || pick(below(false));
        match change.op {
            Op::Edit | Op::Grow | Op::Truncate | Op::Touch => {
                // A source root that is a file is edited as any other.
                let path = if meta.is_file() {
                    Some(root.clone())
                } else {
                    file()
                };
                let Some(path) = path else { return };
                let full = self.path(&path);
                let old = fs::read(&full).expect("a file to change");
                let new = match change.op {
                    Op::Edit => noise(old.len(), change.seed),
                    Op::Grow => [old, noise(change.size.max(1), change.seed)].concat(),
                    Op::Truncate => old[..change.pick % (old.len() + 1)].to_vec(),
                    _ => old,
                };
                fs::write(&full, new).expect("change a file");
                set_mtime(&full, change.mtime_ms);
            }
            Op::DeleteFile | Op::RenameFile if meta.is_file() => {}
            Op::DeleteFile => {
                if let Some(path) = file() {
                    fs::remove_file(self.path(&path)).expect("delete a file");
                }
            }
            Op::RenameFile | Op::RenameDir => {
                let dirs = change.op == Op::RenameDir;
                let candidates: Vec<Vec<u8>> = below(dirs)
                    .into_iter()
                    .filter(|p| p.as_slice() != root.as_slice())
                    .collect();
                let Some(path) = pick(candidates) else { return };
                let to = self.path(&join(parent_of(&path), &change.name.0));
                if fs::symlink_metadata(&to).is_err() {
                    fs::rename(self.path(&path), to).expect("rename");
                }
            }
            Op::NewFile | Op::NewDir => {
                if !meta.is_dir() {
                    return;
                }
                let Some(dir) = pick(below(true)) else { return };
                let path = self.path(&join(&dir, &change.name.0));
                if fs::symlink_metadata(&path).is_ok() {
                    return;
                }
                if change.op == Op::NewDir {
                    fs::create_dir(&path).expect("a new folder");
                } else {
                    fs::write(&path, noise(change.size, change.seed)).expect("a new file");
                }
                set_mtime(&path, change.mtime_ms);
            }
            Op::DeleteDir => {
                let candidates: Vec<Vec<u8>> = below(true)
                    .into_iter()
                    .filter(|p| p.as_slice() != root.as_slice())
                    .collect();
                if let Some(path) = pick(candidates) {
                    fs::remove_dir_all(self.path(&path)).expect("delete a folder");
                }
            }
            Op::Wipe => unreachable!("handled above"),
        }
    }

    /// Runs `hsync ARGS` in the sandbox, killing it after `kill_after`
    /// (then it is no hang) or after [`HANG`] (then it is).
    pub fn run<A: AsRef<OsStr>>(&mut self, args: &[A], kill_after: Option<Duration>) -> Run {
        self.run_until(args, kill_after.unwrap_or(HANG), |_| kill_after.is_some())
    }

    /// Whether no lock file in the sandbox is empty (none is being written).
    pub fn no_empty_lock(&self) -> bool {
        let snapshot = self.snapshot();
        !snapshot
            .iter()
            .any(|(path, meta)| is_lock_name(name_of(path)) && meta.size == 0)
    }

    /// Runs `hsync ARGS`, killing it once `kill_after` has passed and
    /// `ready` says so (then it is no hang), or after [`HANG`] (then it is).
    pub fn run_until<A: AsRef<OsStr>>(
        &mut self,
        args: &[A],
        kill_after: Duration,
        ready: impl Fn(&Sandbox) -> bool,
    ) -> Run {
        self.runs += 1;
        let what = format!(
            "hsync {}",
            args.iter()
                .map(|a| a.as_ref().to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let out = self.top.join(format!("runs/{}.out", self.runs));
        let err = self.top.join(format!("runs/{}.err", self.runs));
        let mut child = Command::new(env!("CARGO_BIN_EXE_hsync"))
            .current_dir(&self.root)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("HSYNC_LOG")
            .env_remove("CLICOLOR_FORCE")
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("an output file"))
            .stderr(fs::File::create(&err).expect("an output file"))
            .spawn()
            .expect("the hsync binary starts");
        let started = Instant::now();
        let (status, hung) = loop {
            if let Some(status) = child.try_wait().expect("wait on hsync") {
                break (Some(status), false);
            }
            let elapsed = started.elapsed();
            if elapsed >= HANG || (elapsed >= kill_after && ready(self)) {
                let _ = child.kill();
                let _ = child.wait();
                break (None, elapsed >= HANG);
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        Run {
            what,
            code: status.and_then(|s| s.code()),
            hung,
            stdout: fs::read(out).unwrap_or_default(),
            stderr: fs::read(err).unwrap_or_default(),
        }
    }

    /// An argument naming a file beside the sandbox (plans, journals).
    pub fn beside(&self, name: &str) -> OsString {
        self.top.join(name).into_os_string()
    }
}

fn set_mtime(path: &Path, mtime_ms: i64) {
    let time = FileTime::from_unix_time(
        mtime_ms.div_euclid(1000),
        (mtime_ms.rem_euclid(1000) * 1_000_000) as u32,
    );
    filetime::set_symlink_file_times(path, time, time)
        .unwrap_or_else(|e| panic!("set the mtime of {}: {e}", path.display()));
}

/// Every path below `root` (a folder), relative to it, read without
/// following symlinks; FIFOs and sockets are never opened.
pub fn read_tree(root: &Path) -> Snapshot {
    let mut snapshot = Snapshot::new();
    read_dir(root, b"", &mut snapshot);
    snapshot
}

fn read_dir(root: &Path, relative: &[u8], out: &mut Snapshot) {
    let dir = if relative.is_empty() {
        root.to_path_buf()
    } else {
        root.join(OsStr::from_bytes(relative))
    };
    let Ok(listing) = fs::read_dir(dir) else {
        return;
    };
    for dirent in listing {
        let dirent = dirent.expect("a directory entry");
        let path = join(relative, dirent.file_name().as_bytes());
        let meta = dirent.path().symlink_metadata().expect("lstat");
        let kind = meta.file_type();
        use std::os::unix::fs::FileTypeExt;
        let (entry_kind, size, hash) = if kind.is_dir() {
            (EntryKind::Dir, 0, 0)
        } else if kind.is_symlink() {
            let to = fs::read_link(dirent.path()).expect("readlink");
            (EntryKind::Symlink(to.as_os_str().as_bytes().to_vec()), 0, 0)
        } else if kind.is_file() {
            let bytes = fs::read(dirent.path()).expect("a readable file");
            let hash = blake3::hash(&bytes).as_bytes()[..8].try_into().unwrap();
            (
                EntryKind::File,
                bytes.len() as u64,
                u64::from_le_bytes(hash),
            )
        } else if kind.is_fifo() {
            (EntryKind::Fifo, 0, 0)
        } else if kind.is_socket() {
            (EntryKind::Socket, 0, 0)
        } else {
            (EntryKind::Other, 0, 0)
        };
        let is_dir = entry_kind == EntryKind::Dir;
        out.insert(
            path.clone(),
            Meta {
                kind: entry_kind,
                size,
                hash,
                mtime_ms: meta.mtime() * 1000 + meta.mtime_nsec() / 1_000_000,
                mode: meta.mode() & 0o7777,
            },
        );
        if is_dir {
            read_dir(root, &path, out);
        }
    }
}
