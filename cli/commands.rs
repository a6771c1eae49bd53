//! One function per subcommand; each returns the process exit code.

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hsync_executor::{distributed, ApplyOptions, Interrupt, RunOutcome, Summary};
use hsync_plan::{
    ChunkList, Chunking, LoadError, Outline, Plan, PlanFile, PlanReader, PlanWriter, Record,
};
use hsync_planner::manifest::Manifest;
use hsync_planner::PlanOptions;
use hsync_storage::lock::{self, Liveness};
use hsync_storage::{display, Connections, FsSpec};
use miette::{miette, Context, IntoDiagnostic, Result};

use crate::args::{Command, EngineName, SpreadArgs, ViewArgs};
use crate::progress;
use crate::view::listing::Length;
use crate::view::plan::{JobView, Totals, View};
use crate::view::style::Palette;
use crate::view::{self, units};

pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Validate { manifest } => validate(&manifest),
        Command::Plan {
            manifest,
            out,
            detailed_exitcode,
            full,
            view,
        } => {
            let options = PlanOptions {
                full,
                out: out.as_deref(),
            };
            plan(&manifest, detailed_exitcode, options, &view).await
        }
        Command::Show {
            plan,
            new,
            json,
            workers,
            chunks,
            view,
        } => {
            let chunking = |workers| match chunks {
                Some(chunks) => Chunking { chunks },
                None => Chunking::for_workers(workers),
            };
            let workers = workers.map(|workers| (workers, chunking(workers)));
            show(&plan, new.as_deref(), json, workers, &view).await
        }
        Command::Apply {
            plan,
            manifest,
            parallel,
            ignore_failures,
            summary,
            log,
            state_dir,
            buffer_kib,
            spread,
        } => {
            // An explicit --state-dir is checked now; the default one beside
            // the plan is made only once the plan is accepted.
            check_outputs(summary.as_deref(), log.as_deref(), state_dir.as_deref())?;
            let state_dir = state_dir.unwrap_or_else(|| beside(&plan, ".hsync"));
            let options = ApplyOptions {
                parallel,
                ignore_failures,
                state_dir,
                buffer_size: buffer_kib as usize * 1024,
                interrupt: Interrupt::default(),
            };
            let outputs = (summary.as_deref(), log.as_deref());
            apply(&plan, manifest.as_deref(), &options, outputs, &spread).await
        }
        Command::Worker { ticket } => worker(&ticket).await,
        Command::Unlock {
            target,
            manifest,
            force,
        } => unlock(&target, manifest.as_deref(), force).await,
    }
}

async fn unlock(target: &str, manifest: Option<&Path>, force: bool) -> Result<ExitCode> {
    let default = Path::new("hsync.toml");
    let manifest = match manifest {
        Some(path) => Some(Manifest::load(path)?),
        None if default.exists() => Some(Manifest::load(default)?),
        None => None,
    };
    let cwd = std::env::current_dir().into_diagnostic()?;
    let location = hsync_planner::manifest::locate(target, &cwd, manifest.as_ref())
        .map_err(|e| miette!("{e}"))?;
    let storage = Connections::default().get(&location.fs).into_diagnostic()?;
    let found = lock::find(&storage, &location.path)
        .await
        .into_diagnostic()?;
    if found.is_empty() {
        println!("{target} is not locked");
    }
    for found in found {
        let (path, holder) = (&found.path, &found.holder);
        // Plain lines, not a diagnostic: miette would wrap the paths.
        let refuse = |why: &str, hint: &str| {
            eprintln!(
                "hsync: {target} is locked by {holder}, {why}; the lock {path} is not removed"
            );
            eprintln!("  {hint}");
            Ok(ExitCode::FAILURE)
        };
        let why = match holder.liveness() {
            Liveness::Alive => {
                return refuse(
                    "which is running on this host",
                    "let that apply finish, or stop it (Ctrl-C) and run it again later",
                )
            }
            Liveness::Unknown if !force => {
                let hint = format!(
                    "if that apply no longer runs, remove the lock with `hsync unlock --force {target}`"
                );
                return refuse("whose run this host cannot check", &hint);
            }
            Liveness::Unknown => "whose run this host cannot check (--force)",
            Liveness::Gone => "which no longer runs",
        };
        lock::remove(&storage, &found).await.into_diagnostic()?;
        println!("removed the lock {path} of {target}, held by {holder}, {why}");
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(path: &Path) -> Result<ExitCode> {
    let manifest = Manifest::load(path)?;
    let names: Vec<_> = manifest.jobs.iter().map(|j| display(&j.name)).collect();
    println!(
        "{} is valid: {} ({})",
        path.display(),
        units::count(names.len() as u64, "job"),
        names.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

async fn plan(
    path: &Path,
    detailed_exitcode: bool,
    options: PlanOptions<'_>,
    args: &ViewArgs,
) -> Result<ExitCode> {
    let out = options.out;
    let manifest = Manifest::load(path)?;
    let connections = Connections::default();
    let destination = out.map_or_else(|| "stdout".to_string(), |out| out.display().to_string());
    let cannot_write = || format!("cannot write the plan to {destination}");
    // Written to a scratch file first, as the walks decide it: a plan that
    // fails writes nothing, and `-o` replaces its file only whole.
    // Readable as a file `-o` creates would be (the umask applies).
    let mut scratch = tempfile::Builder::new();
    scratch
        .prefix(".hsync-plan-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    // A plan file is renamed into place; anything else `-o` names (a
    // device such as /dev/null, a pipe) is written to, never replaced.
    let replaced = out.filter(|out| match std::fs::metadata(out) {
        Ok(meta) => meta.is_file(),
        Err(_) => true,
    });
    let scratch = match replaced.and_then(Path::parent) {
        Some(folder) if folder.as_os_str().is_empty() => scratch.tempfile_in("."),
        Some(folder) => scratch.tempfile_in(folder),
        None => scratch.tempfile(),
    }
    .into_diagnostic()
    .wrap_err_with(cannot_write)?;
    let manifest_ref = hsync_planner::manifest_ref(&manifest);
    let mut writer = PlanWriter::new(BufWriter::new(scratch.as_file()), &manifest_ref)
        .into_diagnostic()
        .wrap_err_with(cannot_write)?;
    let warnings = hsync_planner::plan(&manifest, &connections, options, &mut writer).await?;
    writer
        .finish()
        .into_diagnostic()
        .wrap_err_with(cannot_write)?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    let see_all = match out {
        Some(out) => format!("`hsync show --all {}` prints every line", shown(out)),
        None => "`hsync plan --all` prints every line".to_string(),
    };
    let view = view_of(args, Palette::for_stream(&std::io::stderr()), see_all);
    let stderr = &mut BufWriter::new(std::io::stderr());
    let read = PlanReader::open(scratch.path()).map_err(refused)?;
    let seen = match args.diff {
        // The diffs read the files each action names: the plan is held.
        true => {
            let plan = Plan::from_reader(read).map_err(refused)?;
            print_plan(&plan, &view, Some(&connections), stderr).await;
            Seen::of(&plan)
        }
        false => print_stream(read, &view, stderr).map_err(refused)?,
    };
    tracing::info!(
        listing_calls = seen.directories,
        entries = seen.entries,
        "listed"
    );
    let copy = |to: &mut dyn Write| {
        std::fs::File::open(scratch.path())
            .and_then(|mut plan| std::io::copy(&mut plan, to))
            .map(drop)
    };
    let written = match (replaced, out) {
        (Some(out), _) => scratch.persist(out).map(drop).map_err(|e| e.error),
        (None, Some(out)) => std::fs::OpenOptions::new()
            .write(true)
            .open(out)
            .and_then(|mut to| copy(&mut to)),
        (None, None) => copy(&mut std::io::stdout().lock()),
    };
    written.into_diagnostic().wrap_err_with(cannot_write)?;
    Ok(match (detailed_exitcode, seen.changes) {
        (true, true) => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    })
}

/// What the plan view saw of a plan: whether it changes anything, and what
/// planning listed.
#[derive(Default)]
struct Seen {
    changes: bool,
    directories: u64,
    entries: u64,
}

impl Seen {
    fn of(plan: &Plan) -> Seen {
        Seen {
            changes: plan.has_changes(),
            directories: plan.jobs.iter().map(|j| j.end.listed.directories).sum(),
            entries: plan.jobs.iter().map(|j| j.end.listed.entries).sum(),
        }
    }
}

/// The plan view of a plan read record by record, never held whole.
/// A failed write (a closed pipe) only cuts the view short.
fn print_stream<R: std::io::BufRead>(
    records: PlanReader<R>,
    view: &View,
    out: &mut impl Write,
) -> Result<Seen, LoadError> {
    let mut totals = Totals::default();
    let mut seen = Seen::default();
    let mut block: Option<JobView> = None;
    let mut shown = true;
    for record in records {
        let result = match record? {
            Record::Job(job) => {
                seen.changes |= job.has_changes_besides_actions();
                JobView::begin(*job, view, out).map(|begun| block = Some(begun))
            }
            Record::Action(action) => {
                seen.changes = true;
                match &mut block {
                    Some(block) => block.action(Cow::Owned(action), &mut totals, out),
                    None => Ok(()),
                }
            }
            Record::Skipped(skipped) => match &mut block {
                Some(block) => block.skipped(Cow::Owned(skipped), &mut totals, out),
                None => Ok(()),
            },
            Record::End(end) => {
                seen.directories += end.listed.directories;
                seen.entries += end.listed.entries;
                match block.take() {
                    Some(block) => block
                        .end(&end, &mut totals, out)
                        .and_then(|()| writeln!(out)),
                    None => Ok(()),
                }
            }
        };
        // Past a failed write the plan is still read, for what it changes.
        if result.is_err() {
            shown = false;
        }
        if !shown {
            block = None;
        }
    }
    if shown {
        let _ = totals.write(out);
        let _ = out.flush();
    }
    Ok(seen)
}

/// `workers`: the workers of `--workers` and how to cut the copies for them.
async fn show(
    path: &Path,
    new: Option<&Path>,
    json: bool,
    workers: Option<(u32, Chunking)>,
    args: &ViewArgs,
) -> Result<ExitCode> {
    let palette = Palette::for_stream(&std::io::stdout());
    let mut stdout = BufWriter::new(std::io::stdout());
    let see_all = match new {
        Some(new) => format!(
            "`hsync show --all {} {}` prints every line",
            shown(path),
            shown(new)
        ),
        None => format!("`hsync show --all {}` prints every line", shown(path)),
    };
    let view = view_of(args, palette, see_all);
    // Both plans are held.
    if let Some(new) = new {
        let (plan, replan) = (load_plan(path)?, load_plan(new)?);
        view::compare::plans(&plan, &replan, &shown(path), &view, &mut stdout);
        return Ok(ExitCode::SUCCESS);
    }
    // Checked whole, then read again to be shown (and to be cut).
    let file = PlanFile::open(path).map_err(refused)?;
    let records = file.records().map_err(refused)?;
    match (json, args.diff) {
        (true, _) => {
            let mut plan = PlanWriter::new(&mut stdout, records.manifest()).into_diagnostic()?;
            for record in records {
                record.map_err(refused)?.send(&mut plan).into_diagnostic()?;
            }
            plan.finish().into_diagnostic()?;
        }
        // The diffs read the files each action names: the plan is held.
        (false, true) => {
            let plan = Plan::from_reader(records).map_err(refused)?;
            print_plan(&plan, &view, Some(&Connections::default()), &mut stdout).await;
        }
        (false, false) => {
            print_stream(records, &view, &mut stdout).map_err(refused)?;
        }
    }
    if let Some((workers, chunking)) = workers {
        let list = ChunkList::of(&file, chunking).map_err(refused)?;
        match json {
            // After the plan file, one more line of one field, as its records.
            true => {
                let line = ChunksLine { chunks: &list };
                serde_json::to_writer(&mut stdout, &line).into_diagnostic()?;
                writeln!(stdout).into_diagnostic()?;
                stdout.flush().into_diagnostic()?;
            }
            // A closed pipe only cuts the view short, as it does the plan's.
            false => {
                let _ = writeln!(stdout)
                    .and_then(|()| view::chunks::write(&list, &file.outline, workers, &mut stdout))
                    .and_then(|()| stdout.flush());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The line `show --json --workers` writes after the plan file.
#[derive(serde::Serialize)]
struct ChunksLine<'a> {
    chunks: &'a ChunkList,
}

/// A path as a message shows it: escaped, so no name can forge the line.
fn shown(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    display(path.as_os_str().as_bytes()).into_owned()
}

fn view_of(args: &ViewArgs, palette: Palette, see_all: String) -> View {
    let length = match args.all {
        true => Length::All,
        false => Length::Rollup,
    };
    View {
        palette,
        length,
        see_all,
    }
}

/// The plan view, each job followed by the diffs of its files when
/// `diffs` gives the connections to read them through; then the totals.
/// A failed write (a closed pipe) only cuts the view short.
async fn print_plan(plan: &Plan, view: &View, diffs: Option<&Connections>, out: &mut impl Write) {
    let mut totals = Totals::default();
    for job in &plan.jobs {
        if view::plan::job(job, &mut totals, view, out).is_err() {
            return;
        }
        if let Some(connections) = diffs {
            let actions = job.actions.iter();
            let _ = view::content::job(job, actions, connections, view.palette, out).await;
        }
        let _ = writeln!(out);
    }
    let _ = totals.write(out);
    let _ = out.flush();
}

async fn apply(
    path: &Path,
    manifest: Option<&Path>,
    options: &ApplyOptions,
    (summary_file, log): (Option<&Path>, Option<&Path>),
    spread: &SpreadArgs,
) -> Result<ExitCode> {
    on_signals(&options.interrupt);
    let plan = PlanFile::open(path).map_err(refused)?;
    let outline = &plan.outline;
    let mut outputs = vec![
        ("plan", path),
        ("journal folder", options.state_dir.as_path()),
    ];
    outputs.extend(summary_file.map(|file| ("--summary file", file)));
    outputs.extend(log.map(|file| ("--log file", file)));
    refuse_outputs_in_deleting_targets(outline, &outputs)?;
    if let Some(manifest) = manifest {
        let text = std::fs::read(manifest)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot read the manifest {}", manifest.display()))?;
        let digest = blake3::hash(&text).to_hex().to_string();
        if digest != outline.manifest.digest {
            return Err(miette!(
                help = "make a new plan from this manifest with `hsync plan`",
                "the plan {} was made from the manifest {} as it was then, not from {} as it is now",
                path.display(),
                outline.manifest.path,
                manifest.display()
            ));
        }
    }
    let expected = Summary::expected(outline);
    let observer = progress::observer(expected.files_expected, expected.bytes_expected, log)
        .into_diagnostic()
        .wrap_err("cannot create the --log file")?;
    let observer = progress::debug_kill(observer);
    let connections = Connections::default();
    let summary = match engine(spread, outline)? {
        None => hsync_executor::apply(&plan, &connections, options, observer).await,
        Some(engine) => {
            let workers = u32::try_from(spread.workers).unwrap_or(u32::MAX);
            let chunking = match spread.chunks {
                Some(chunks) => Chunking {
                    chunks: u32::try_from(chunks).unwrap_or(u32::MAX),
                },
                None => Chunking::for_workers(workers),
            };
            let spread = distributed::Spread {
                engine: engine.as_ref(),
                workers: spread.workers,
                chunking,
            };
            distributed::apply(&plan, path, &connections, options, &spread, observer).await
        }
    }
    .map_err(|e| miette!("{}", hsync_storage::one_line(&e.to_string())))?;
    let json = serde_json::to_string_pretty(&summary).into_diagnostic()? + "\n";
    print!("{json}");
    if let Some(file) = summary_file {
        std::fs::write(file, &json)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write the summary to {}", file.display()))?;
    }
    eprintln!("{}", view::apply::summary(&summary));
    if let Some(cause) = &summary.lock_left {
        eprintln!("the lock stays ({cause}): the next apply takes it over, or `hsync unlock`");
    }
    if summary.files_stale > 0 {
        eprintln!(
            "some sources or targets changed since the plan was made: run `hsync plan` again"
        );
    }
    Ok(match summary.outcome {
        RunOutcome::Success => ExitCode::SUCCESS,
        RunOutcome::Interrupted => {
            eprintln!("interrupted: run the same command to resume");
            ExitCode::from(INTERRUPTED)
        }
        RunOutcome::Partial | RunOutcome::Failed => ExitCode::FAILURE,
    })
}

/// The engine `--engine` names, with what it needs from the environment.
fn engine(spread: &SpreadArgs, plan: &Outline) -> Result<Option<Box<dyn distributed::Engine>>> {
    let Some(name) = spread.engine else {
        return Ok(None);
    };
    let program = std::env::current_exe()
        .into_diagnostic()
        .wrap_err("cannot find the hsync binary to give the workers")?;
    Ok(Some(match name {
        EngineName::Local => Box::new(distributed::LocalEngine {
            program,
            attempts: WORKER_ATTEMPTS,
        }),
        EngineName::Command => Box::new(distributed::CommandEngine {
            command: spread.engine_command.clone().unwrap_or_default(),
            program,
        }),
        EngineName::Yarn => {
            let mapred = std::env::var("HSYNC_MAPRED").unwrap_or_else(|_| "mapred".into());
            Box::new(distributed::YarnEngine(distributed::YarnOptions {
                mapred: mapred.split_whitespace().map(str::to_string).collect(),
                program,
                queue: spread.queue.clone(),
                attempts: WORKER_ATTEMPTS,
                worker_env: worker_env(),
                hdfs_servers: hdfs_servers(plan),
            }))
        }
    }))
}

/// The URL of every HDFS cluster the plan reads or writes, once each.
fn hdfs_servers(plan: &Outline) -> Vec<String> {
    let mut urls: Vec<String> = plan
        .jobs
        .iter()
        .flat_map(|job| [&job.header.source_fs, &job.header.target_fs])
        .filter_map(|fs| match fs {
            FsSpec::Hdfs(cluster) => Some(cluster.url.clone()),
            _ => None,
        })
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

/// What of this process's environment a worker on a node is given: the
/// log filter, and in debug builds the tests' kill hook.
fn worker_env() -> Vec<String> {
    let names = ["HSYNC_LOG", "HSYNC_DEBUG_KILL"];
    let forwarded = if cfg!(debug_assertions) {
        &names[..]
    } else {
        &names[..1]
    };
    forwarded
        .iter()
        .filter_map(|name| {
            std::env::var(name)
                .ok()
                .map(|value| format!("{name}={value}"))
        })
        .collect()
}

/// Runs of a chunk's worker before its chunk is given up on (YARN's
/// `mapreduce.map.maxattempts` default).
const WORKER_ATTEMPTS: u32 = 4;

/// `hsync worker`: the chunks named on stdin, one after the other, each
/// reported on stdout as a JSON line and to the engine's counters on stderr
/// (the Hadoop Streaming `reporter:` protocol, which other engines ignore).
async fn worker(ticket: &Path) -> Result<ExitCode> {
    let text = std::fs::read(ticket)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read the ticket {}", ticket.display()))?;
    let ticket: distributed::Ticket = serde_json::from_slice(&text)
        .into_diagnostic()
        .wrap_err_with(|| "the ticket is damaged")?;
    let scratch = tempfile::tempdir_in(".")
        .into_diagnostic()
        .wrap_err("cannot make a scratch folder in the working folder")?;
    let mut worker = Worker {
        ticket,
        options: ApplyOptions {
            parallel: None,
            ignore_failures: true,
            state_dir: scratch.path().join("state"),
            buffer_size: 1 << 20,
            interrupt: Interrupt::default(),
        },
        scratch: scratch.path().to_path_buf(),
        // On a node, the delegation tokens its scheduler gave: the
        // manifest's keytab or ticket cache is on the machine that applied.
        connections: Connections::for_worker(),
        observer: progress::debug_kill(progress::lines()),
        // Hadoop Streaming gives a map its job's settings as variables.
        streaming: std::env::var_os("mapreduce_task_id").is_some(),
    };
    on_signals(&worker.options.interrupt);
    for line in std::io::stdin().lines() {
        let line = line.into_diagnostic()?;
        match distributed::Assignment::parse(&line) {
            Some(distributed::Assignment::Chunk(chunk)) => worker.run(chunk).await?,
            Some(distributed::Assignment::Slot(slot)) => {
                let ticket = worker.ticket.clone();
                let mut claims = distributed::Claims::new(ticket, slot, &worker.connections)
                    .await
                    .map_err(|e| {
                        miette!("slot {slot}: {}", hsync_storage::one_line(&e.to_string()))
                    })?;
                while let Some(chunk) = claims.next().await.map_err(|e| {
                    miette!("slot {slot}: {}", hsync_storage::one_line(&e.to_string()))
                })? {
                    worker.run(chunk).await?;
                    if worker.options.interrupt.is_set() {
                        break;
                    }
                }
            }
            None => {}
        }
        if worker.options.interrupt.is_set() {
            return Ok(ExitCode::from(INTERRUPTED));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `hsync worker` holds while it runs its chunks.
struct Worker {
    ticket: distributed::Ticket,
    options: ApplyOptions,
    scratch: PathBuf,
    connections: Connections,
    observer: std::sync::Arc<dyn hsync_executor::Observer>,
    streaming: bool,
}

impl Worker {
    /// Runs one chunk; its report goes to stdout as a JSON line and, under
    /// Hadoop Streaming, to the job's counters.
    async fn run(&mut self, chunk: u32) -> Result<()> {
        if self.streaming {
            eprintln!("reporter:status:hsync: chunk {chunk}");
        }
        let report = distributed::work(
            self.ticket.clone(),
            chunk,
            &self.scratch,
            &self.connections,
            &self.options,
            std::sync::Arc::clone(&self.observer),
        )
        .await
        .map_err(|e| miette!("chunk {chunk}: {}", hsync_storage::one_line(&e.to_string())))?;
        if self.streaming {
            for (name, value) in [
                ("chunks", 1),
                ("files copied", report.files_copied),
                ("bytes copied", report.bytes_copied),
                ("files already done", report.files_already_done),
                ("failures", report.failures.len() as u64),
            ] {
                eprintln!("reporter:counter:hsync,{name},{value}");
            }
        }
        println!("{}", serde_json::to_string(&report).into_diagnostic()?);
        Ok(())
    }
}

/// The exit code of an interrupted apply (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

/// SIGINT or SIGTERM: the first interrupts the apply (nothing new starts,
/// files in flight roll back, the summary is written, the locks released);
/// a second exits at once.
fn on_signals(interrupt: &Interrupt) {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn next(int: &mut Signal, term: &mut Signal) {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return; // no handler: the default, dying at once
    };
    let interrupt = interrupt.clone();
    tokio::spawn(async move {
        next(&mut int, &mut term).await;
        eprintln!("hsync: interrupted: starting nothing new, rolling back files in flight (again to stop at once)");
        interrupt.interrupt();
        next(&mut int, &mut term).await;
        eprintln!("hsync: interrupted again: stopping at once");
        std::process::exit(INTERRUPTED.into());
    });
}

/// Fails at once, before the plan is read or any target locked, when a
/// file or folder named on the command line cannot be written: finding out
/// after the copy would lose its summary.
fn check_outputs(
    summary: Option<&Path>,
    log: Option<&Path>,
    state_dir: Option<&Path>,
) -> Result<()> {
    for (option, file) in [("--summary", summary), ("--log", log)] {
        if let Some(file) = file {
            writable_file(file).map_err(|e| {
                miette!(
                    help = format!("name a file in a folder you can write, or leave out {option}"),
                    "cannot write the {option} file {}: {e}",
                    file.display()
                )
            })?;
        }
    }
    if let Some(dir) = state_dir {
        writable_dir(dir).map_err(|e| {
            miette!(
                help = "name a folder you can write; the journal of an apply lives there",
                "cannot write in the --state-dir {}: {e}",
                dir.display()
            )
        })?;
    }
    Ok(())
}

/// Whether `file` can be written, leaving an existing one as it is.
fn writable_file(file: &Path) -> std::io::Result<()> {
    use std::fs::OpenOptions;
    if file.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    match OpenOptions::new().append(true).open(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            OpenOptions::new().write(true).create_new(true).open(file)?;
            std::fs::remove_file(file)
        }
        opened => opened.map(drop),
    }
}

/// Whether files can be created in `dir`, which is created if missing.
fn writable_dir(dir: &Path) -> std::io::Result<()> {
    hsync_executor::journal::create_state_dir(dir)?;
    writable_file(&dir.join(format!(".hsync-probe-{}", std::process::id())))
}

fn load_plan(path: &Path) -> Result<Plan> {
    Plan::load(path).map_err(refused)
}

fn refused(e: LoadError) -> miette::Report {
    miette!(help = "make a new plan with `hsync plan`", "{e}")
}

/// Refuses an apply whose own files (the plan, its journal, the summary or
/// the log) lie inside a local target that deletes: the next plan would
/// list them for deletion, and the target would never be in sync.
fn refuse_outputs_in_deleting_targets(plan: &Outline, outputs: &[(&str, &Path)]) -> Result<()> {
    let deleting = plan
        .jobs
        .iter()
        .map(|job| &job.header)
        .filter(|job| job.options.delete && job.target_fs == FsSpec::Local);
    for job in deleting {
        let Ok(target) = Path::new(&job.target_root).canonicalize() else {
            continue; // not there yet: nothing inside it either
        };
        for (what, file) in outputs {
            if real_path(file).is_some_and(|real| real.starts_with(&target)) {
                return Err(miette!(
                    help = "keep hsync's own files outside the targets of jobs that delete (--summary, --log and --state-dir name other places)",
                    "the {what} {} lies inside the target {} of job `{}`, which deletes: the next plan would delete it",
                    file.display(),
                    job.target_root,
                    display(&job.name)
                ));
            }
        }
    }
    Ok(())
}

/// `file` with the symlinks of its folder resolved; the file itself may not
/// exist yet.
fn real_path(file: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(file).ok()?;
    match (absolute.parent(), absolute.file_name()) {
        (Some(folder), Some(name)) => Some(folder.canonicalize().ok()?.join(name)),
        _ => absolute.canonicalize().ok(),
    }
}

/// A path beside `file` (in the same folder).
fn beside(file: &Path, name: &str) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(name)
}
