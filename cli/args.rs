//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use hsync_plan::Chunking;

/// Declarative, reviewable, resumable replication of HDFS and local file trees.
#[derive(Debug, Parser)]
#[command(name = "hsync", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a manifest without contacting any filesystem.
    Validate {
        /// The manifest.
        #[arg(short, long, default_value = "hsync.toml")]
        manifest: PathBuf,
    },
    /// List both sides of every job and write the plan (JSON) to stdout;
    /// a human summary goes to stderr.
    Plan {
        #[arg(short, long, default_value = "hsync.toml")]
        manifest: PathBuf,
        /// Write the plan to this file instead of stdout.
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Incremental jobs compare whole trees instead of replaying the
        /// source's snapshot diff: the way to resync a target that changed.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Show a saved plan as a human reads it; with a second plan, what that
    /// re-plan adds, drops or changes against the first (the reviewed one).
    Show {
        /// The plan (with NEW, the one that was reviewed).
        plan: PathBuf,
        /// A newer plan to compare with PLAN, action by action.
        #[arg(conflicts_with = "diff")]
        new: Option<PathBuf>,
        /// Print the plan's JSON instead (with --workers, then a line of
        /// the chunks).
        #[arg(long, conflicts_with_all = ["new", "all", "diff"])]
        json: bool,
        /// Also show the chunks a distributed apply on this many workers
        /// would cut the copies into (4 a worker).
        #[arg(long, conflicts_with = "new", value_parser = clap::value_parser!(u32).range(1..))]
        workers: Option<u32>,
        /// Cut about this many chunks instead of 4 a worker.
        #[arg(long, requires = "workers", value_parser = clap::value_parser!(u32).range(1..=i64::from(Chunking::MAX_CHUNKS)))]
        chunks: Option<u32>,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Execute exactly the given plan; a killed apply resumes where it stopped
    /// when run again.
    Apply {
        plan: PathBuf,
        /// Refuse the plan unless it was made from this manifest.
        #[arg(short, long)]
        manifest: Option<PathBuf>,
        /// Transfers in flight per job (overrides the manifest).
        #[arg(long, value_parser = at_least_one)]
        parallel: Option<usize>,
        /// Go on past failed files and report each, as DistCp's -i.
        #[arg(long)]
        ignore_failures: bool,
        /// Also write the JSON summary to this file.
        #[arg(long)]
        summary: Option<PathBuf>,
        /// Write one JSON line per finished path (outcome, bytes or cause) to this file.
        #[arg(long)]
        log: Option<PathBuf>,
        /// Where the journal lives [default: .hsync beside the plan].
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Size of each read and write of a transfer, in KiB.
        #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(4..=65536))]
        buffer_kib: u32,
        #[command(flatten)]
        spread: SpreadArgs,
    },
    /// Run chunks of a distributed apply (what an engine starts on a node;
    /// not for people): reads chunk numbers on stdin, one per line.
    #[command(hide = true)]
    Worker {
        /// The run's ticket, as the engine shipped it.
        ticket: PathBuf,
    },
    /// Remove the lock an interrupted apply left on a target, after showing
    /// who held it. A lock whose apply still runs on this host is never
    /// removed; one from another host needs --force.
    Unlock {
        /// The target: a local path, hdfs://host:port/path or alias:/path.
        target: String,
        /// Also remove a lock whose holder this host cannot check (another
        /// host's apply, or a damaged lock file).
        #[arg(long)]
        force: bool,
        /// The manifest that declares the alias [default: hsync.toml, if present].
        #[arg(short, long)]
        manifest: Option<PathBuf>,
    },
}

/// Where an apply's copies run.
#[derive(Debug, clap::Args)]
pub struct SpreadArgs {
    /// Spread the copies over workers: `yarn` runs them as a map-only
    /// MapReduce job (Hadoop Streaming, through `mapred`, or the command in
    /// HSYNC_MAPRED), `local` as processes of this machine, `command` through
    /// --engine-command. Without it, this process copies.
    #[arg(long, value_enum)]
    pub engine: Option<EngineName>,
    /// The command that runs the workers for `--engine command` (Spark,
    /// Kubernetes: see the README), run with `sh -c`.
    #[arg(long, required_if_eq("engine", "command"))]
    pub engine_command: Option<String>,
    /// Workers at once.
    #[arg(long, requires = "engine", default_value_t = 2, value_parser = at_least_one)]
    pub workers: usize,
    /// Chunks the copies are cut into [default: 4 per worker].
    #[arg(long, requires = "engine", value_parser = at_least_one)]
    pub chunks: Option<usize>,
    /// The YARN queue of the job.
    #[arg(long, requires = "engine")]
    pub queue: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineName {
    Local,
    Yarn,
    Command,
}

/// How much of a plan is shown.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// Print every line of every job (a job of more than a few hundred
    /// lines is otherwise rolled up by folder).
    #[arg(long)]
    pub all: bool,
    /// Also print the line diff of each text file a copy replaces (target
    /// against source, as they are now), up to 256 KiB.
    #[arg(long)]
    pub diff: bool,
}

/// A count that must be at least 1, as `parallel` in a manifest.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1: it is how many files a job copies at once".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
