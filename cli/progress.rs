//! Live output of an apply: a progress bar on a terminal (pending |
//! transferring | complete, bytes, rate, ETA), plain log lines otherwise.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hsync_executor::{Event, Observer, Outcome};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::render;

/// Picks the display that suits stderr.
pub fn observer(files: u64, bytes: u64) -> Arc<dyn Observer> {
    if std::io::stderr().is_terminal() {
        Arc::new(Bar::new(files, bytes))
    } else {
        Arc::new(Log)
    }
}

/// One line per finished path, for logs and pipes.
struct Log;

impl Observer for Log {
    fn event(&self, event: &Event) {
        if let Event::Finished { path, outcome } = event {
            if let Some(line) = describe(path, outcome) {
                eprintln!("{line}");
            }
        }
    }
}

fn describe(path: &str, outcome: &Outcome) -> Option<String> {
    Some(match outcome {
        Outcome::Copied { bytes } => format!("copied   {path} ({})", render::bytes(*bytes)),
        Outcome::AlreadyDone => format!("done     {path} (by an earlier run)"),
        Outcome::Created => format!("created  {path}/"),
        Outcome::Deleted => format!("deleted  {path}"),
        Outcome::Published => format!("published {path}"),
        Outcome::Stale(cause) => format!("stale    {path}: {cause}"),
        Outcome::Failed(cause) => format!("FAILED   {path}: {cause}"),
        Outcome::NotDone(cause) => format!("not done {path}: {cause}"),
        Outcome::AttributesSet => return None,
    })
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
            Event::Finished { path, outcome } => {
                self.transferring.lock().map(|mut t| t.remove(path)).ok();
                if matches!(outcome, Outcome::Copied { .. } | Outcome::AlreadyDone) {
                    self.complete.fetch_add(1, Ordering::Relaxed);
                }
                if matches!(outcome, Outcome::Failed(_) | Outcome::Stale(_)) {
                    if let Some(line) = describe(path, outcome) {
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
