//! `hsync`: replicate file trees between HDFS clusters and the local
//! filesystem the way Terraform manages infrastructure: a reviewed manifest,
//! a plan file, and an apply that does exactly that plan.
//!
//! Exit codes (README, "Exit codes"): 0 success or nothing to do, 1 any
//! error (usage errors and internal errors included), 2 only for changes
//! under `plan --detailed-exitcode`, 130 an interrupted apply.

mod args;
mod commands;
mod progress;
mod view;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;

/// Set by the panic hook: a panic on any thread makes the run fail.
static PANICKED: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        PANICKED.store(true, Ordering::SeqCst);
        let backtrace = std::backtrace::Backtrace::capture();
        let backtrace = match backtrace.status() {
            std::backtrace::BacktraceStatus::Captured => backtrace.to_string(),
            _ => "run with RUST_BACKTRACE=1 to see where it came from\n".to_string(),
        };
        // Not eprint!, which panics (and so aborts) when stderr is gone.
        let _ = write!(
            std::io::stderr(),
            "hsync: internal error, a bug in hsync (please report it): {info}\n{backtrace}"
        );
    }));
    let code = std::panic::catch_unwind(run).unwrap_or(ExitCode::FAILURE);
    if PANICKED.load(Ordering::SeqCst) {
        ExitCode::FAILURE
    } else {
        code
    }
}

fn run() -> ExitCode {
    // Debug builds only: how the tests see what a panic on some thread
    // looks like to a user.
    #[cfg(debug_assertions)]
    if std::env::var_os("HSYNC_DEBUG_PANIC").is_some() {
        let _ = std::thread::spawn(|| panic!("HSYNC_DEBUG_PANIC is set")).join();
    }
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        // As Terraform: `--help` and `--version` succeed, a usage error is
        // an error (clap's 2 would read as "changes" to a scheduler).
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("HSYNC_LOG"))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hsync: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command)) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}
