//! Live output of an apply: a progress bar on a terminal (pending |
//! transferring | complete, bytes, rate, ETA), plain log lines otherwise.

use std::collections::HashSet;
use std::fs::File;
use std::io::IsTerminal;
use std::io::{LineWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hsync_executor::{Event, Observer, Outcome};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::view::apply::{finished, journal_checked, staged};

/// Picks the display that suits stderr, and writes the per-file log when
/// one is asked for.
pub fn observer(files: u64, bytes: u64, log: Option<&Path>) -> std::io::Result<Arc<dyn Observer>> {
    let display: Arc<dyn Observer> = if std::io::stderr().is_terminal() {
        Arc::new(Bar::new(files, bytes))
    } else {
        Arc::new(Log)
    };
    Ok(match log {
        Some(path) => {
            let file = LineWriter::new(File::create(path)?);
            Arc::new(FileLog {
                display,
                file: Mutex::new(file),
            })
        }
        None => display,
    })
}

/// Debug builds only: how the tests kill an apply or a worker at a moment
/// of their choosing, as `kill -9` would. `HSYNC_DEBUG_KILL=WHEN:MARKER`,
/// WHEN `copied-N` or `created-N` (after the N-th file this process copied,
/// or folder it created), `copying` or
/// `committing` (as that stage of a distributed apply begins). The marker
/// file is made just before: a process that finds it lives, so the run
/// after the kill goes on.
pub fn debug_kill(observer: Arc<dyn Observer>) -> Arc<dyn Observer> {
    #[cfg(debug_assertions)]
    if let Some((when, marker)) = std::env::var("HSYNC_DEBUG_KILL")
        .ok()
        .and_then(|v| v.split_once(':').map(|(w, m)| (w.to_string(), m.into())))
    {
        return Arc::new(Kill {
            observer,
            when,
            marker,
            seen: Default::default(),
        });
    }
    observer
}

#[cfg(debug_assertions)]
struct Kill {
    observer: Arc<dyn Observer>,
    when: String,
    marker: std::path::PathBuf,
    /// Files copied and folders created so far.
    seen: [AtomicU64; 2],
}

#[cfg(debug_assertions)]
impl Observer for Kill {
    fn event(&self, event: &Event) {
        self.observer.event(event);
        let now = match event {
            Event::Finished { outcome, .. } => {
                let what = match outcome {
                    Outcome::Copied { .. } => "copied",
                    Outcome::Created => "created",
                    _ => return,
                };
                let seen = &self.seen[usize::from(what == "created")];
                let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                self.when == format!("{what}-{n}")
            }
            Event::Stage(hsync_executor::Stage::Copying { .. }) => self.when == "copying",
            Event::Stage(hsync_executor::Stage::Committing) => self.when == "committing",
            _ => false,
        };
        if now && File::create_new(&self.marker).is_ok() {
            // SAFETY: a signal to this very process.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        }
    }
}

/// Plain log lines on stderr, whatever it is: a worker's, whose stderr is
/// its engine's log.
pub fn lines() -> Arc<dyn Observer> {
    Arc::new(Log)
}

#[derive(serde::Serialize)]
struct LogRecord<'a> {
    path: &'a str,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'a str>,
    /// Where a renamed path was.
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a str>,
    /// The name of a snapshot taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot: Option<&'a str>,
}

/// One JSON line per finished path (path, outcome, bytes or cause), as
/// DistCp's `-log` keeps one record per file; events also go on to `display`.
struct FileLog {
    display: Arc<dyn Observer>,
    file: Mutex<LineWriter<File>>,
}

impl Observer for FileLog {
    fn event(&self, event: &Event) {
        self.display.event(event);
        let Event::Finished { path, outcome } = event else {
            return;
        };
        let record = |outcome| LogRecord {
            path,
            outcome,
            bytes: None,
            cause: None,
            from: None,
            snapshot: None,
        };
        let record = match outcome {
            Outcome::Copied { bytes } => LogRecord {
                bytes: Some(*bytes),
                ..record("copied")
            },
            Outcome::AlreadyDone => record("already-done"),
            Outcome::Created => record("created"),
            Outcome::Deleted => record("deleted"),
            Outcome::AttributesSet => record("attributes-set"),
            Outcome::Published => record("published"),
            Outcome::Renamed { from } => LogRecord {
                from: Some(from),
                ..record("renamed")
            },
            Outcome::SnapshotTaken { name } => LogRecord {
                snapshot: Some(name),
                ..record("snapshot-taken")
            },
            Outcome::Moved(_) | Outcome::Elsewhere => return,
            Outcome::Stale(cause) => LogRecord {
                cause: Some(cause),
                ..record("stale")
            },
            Outcome::Failed(cause) => LogRecord {
                cause: Some(cause),
                ..record("failed")
            },
            Outcome::NotDone(cause) => LogRecord {
                cause: Some(cause),
                ..record("not-done")
            },
        };
        let record = serde_json::to_string(&record).expect("a record serialises");
        if let Ok(mut file) = self.file.lock() {
            // A log that cannot be written must not stop the copy.
            let _ = writeln!(file, "{record}");
        }
    }
}

/// One line per finished path, for logs and pipes.
struct Log;

impl Observer for Log {
    fn event(&self, event: &Event) {
        let line = match event {
            Event::Finished { path, outcome } => finished(path, outcome),
            Event::JournalChecked(check) => Some(journal_checked(check)),
            Event::Stage(stage) => Some(staged(stage)),
            Event::Started { .. } | Event::Bytes(_) => None,
        };
        if let Some(mut line) = line {
            // One write: stderr is unbuffered, and `eprintln!` makes two.
            line.push('\n');
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

struct Bar {
    bar: ProgressBar,
    files: u64,
    /// Paths whose transfer started and has not finished.
    transferring: Mutex<HashSet<String>>,
    complete: AtomicU64,
}

impl Bar {
    fn new(files: u64, bytes: u64) -> Bar {
        let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            // The bar takes what the terminal width leaves, so the line never wraps.
            "{msg} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} [{wide_bar}]",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        bar.set_style(style);
        let this = Bar {
            bar,
            files,
            transferring: Mutex::default(),
            complete: AtomicU64::new(0),
        };
        this.update();
        this
    }

    fn update(&self) {
        let transferring = self.transferring.lock().map_or(0, |t| t.len() as u64);
        let complete = self.complete.load(Ordering::Relaxed);
        let pending = self.files.saturating_sub(transferring + complete);
        self.bar.set_message(format!(
            "pending {pending} | transferring {transferring} | complete {complete}"
        ));
    }
}

impl Observer for Bar {
    fn event(&self, event: &Event) {
        match event {
            Event::Started { path, .. } => {
                self.transferring
                    .lock()
                    .map(|mut t| t.insert(path.clone()))
                    .ok();
            }
            Event::Bytes(n) => self.bar.inc(*n),
            Event::JournalChecked(check) => self.bar.println(journal_checked(check)),
            Event::Stage(stage) => self.bar.println(staged(stage)),
            Event::Finished { path, outcome } => {
                self.transferring.lock().map(|mut t| t.remove(path)).ok();
                if matches!(outcome, Outcome::Copied { .. } | Outcome::AlreadyDone) {
                    self.complete.fetch_add(1, Ordering::Relaxed);
                }
                if matches!(outcome, Outcome::Failed(_) | Outcome::Stale(_)) {
                    if let Some(line) = finished(path, outcome) {
                        self.bar.println(line);
                    }
                }
            }
        }
        self.update();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
