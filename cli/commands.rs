//! One function per subcommand; each returns the process exit code.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hsync_executor::{ApplyOptions, RunOutcome, Summary};
use hsync_plan::Plan;
use hsync_planner::manifest::Manifest;
use hsync_planner::PlanOptions;
use hsync_storage::Connections;
use miette::{miette, Context, IntoDiagnostic, Result};

use crate::args::Command;
use crate::{progress, render};

pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Validate { manifest } => validate(&manifest),
        Command::Plan {
            manifest,
            out,
            detailed_exitcode,
            full,
        } => {
            let options = PlanOptions { full };
            plan(&manifest, out.as_deref(), detailed_exitcode, options).await
        }
        Command::Show { plan, json } => show(&plan, json),
        Command::Apply {
            plan,
            manifest,
            parallel,
            ignore_failures,
            summary,
            log,
            state_dir,
            buffer_kib,
        } => {
            let state_dir = state_dir.unwrap_or_else(|| beside(&plan, ".hsync"));
            let options = ApplyOptions {
                parallel,
                ignore_failures,
                state_dir,
                buffer_size: buffer_kib as usize * 1024,
            };
            let outputs = (summary.as_deref(), log.as_deref());
            apply(&plan, manifest.as_deref(), &options, outputs).await
        }
        Command::Unlock { target, manifest } => unlock(&target, manifest.as_deref()).await,
    }
}

async fn unlock(target: &str, manifest: Option<&Path>) -> Result<ExitCode> {
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
    match hsync_executor::lock::unlock(&storage, &location.path)
        .await
        .into_diagnostic()?
    {
        Some(holder) => println!("removed the lock of {target}, held by {holder}"),
        None => println!("{target} is not locked"),
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(path: &Path) -> Result<ExitCode> {
    let manifest = Manifest::load(path)?;
    let names: Vec<_> = manifest
        .jobs
        .iter()
        .map(|j| hsync_storage::display(&j.name))
        .collect();
    println!(
        "{} is valid: {} ({})",
        path.display(),
        render::count(names.len() as u64, "job"),
        names.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

async fn plan(
    path: &Path,
    out: Option<&Path>,
    detailed_exitcode: bool,
    options: PlanOptions,
) -> Result<ExitCode> {
    let manifest = Manifest::load(path)?;
    let plan = hsync_planner::plan(&manifest, &Connections::default(), options).await?;
    render::plan(&plan, &mut BufWriter::new(std::io::stderr().lock()));
    tracing::info!(
        listing_calls = plan.jobs.iter().map(|j| j.listed.directories).sum::<u64>(),
        entries = plan.jobs.iter().map(|j| j.listed.entries).sum::<u64>(),
        "listed"
    );
    let written = match out {
        Some(out) => {
            std::fs::File::create(out).and_then(|file| plan.write_json(BufWriter::new(file)))
        }
        None => plan.write_json(BufWriter::new(std::io::stdout().lock())),
    };
    let shown = out.map_or_else(|| "stdout".to_string(), |out| out.display().to_string());
    written
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write the plan to {shown}"))?;
    Ok(match (detailed_exitcode, plan.has_changes()) {
        (true, true) => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    })
}

fn show(path: &Path, json: bool) -> Result<ExitCode> {
    let plan = load_plan(path)?;
    let mut stdout = BufWriter::new(std::io::stdout().lock());
    if json {
        plan.write_json(stdout).into_diagnostic()?;
    } else {
        render::plan(&plan, &mut stdout);
    }
    Ok(ExitCode::SUCCESS)
}

async fn apply(
    path: &Path,
    manifest: Option<&Path>,
    options: &ApplyOptions,
    (summary_file, log): (Option<&Path>, Option<&Path>),
) -> Result<ExitCode> {
    let plan = load_plan(path)?;
    if let Some(manifest) = manifest {
        let text = std::fs::read(manifest)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot read the manifest {}", manifest.display()))?;
        let digest = blake3::hash(&text).to_hex().to_string();
        if digest != plan.manifest.digest {
            return Err(miette!(
                help = "make a new plan from this manifest with `hsync plan`",
                "the plan {} was made from the manifest {} as it was then, not from {} as it is now",
                path.display(),
                plan.manifest.path,
                manifest.display()
            ));
        }
    }
    let expected = Summary::expected(&plan);
    let observer = progress::observer(expected.files_expected, expected.bytes_expected, log)
        .into_diagnostic()
        .wrap_err("cannot create the --log file")?;
    let summary = hsync_executor::apply(&plan, &Connections::default(), options, observer)
        .await
        .map_err(|e| miette!("{}", hsync_storage::one_line(&e.to_string())))?;
    let json = serde_json::to_string_pretty(&summary).into_diagnostic()? + "\n";
    print!("{json}");
    if let Some(file) = summary_file {
        std::fs::write(file, &json)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write the summary to {}", file.display()))?;
    }
    let renamed = match summary.paths_renamed {
        0 => String::new(),
        n => format!("{n} renamed, "),
    };
    eprintln!(
        "apply {}: {} copied ({}), {renamed}{} already done, {} deleted, {} failed, {} stale, {} not done",
        match summary.outcome {
            RunOutcome::Success => "complete",
            RunOutcome::Partial => "partial",
            RunOutcome::Failed => "FAILED",
        },
        render::count(summary.files_copied, "file"),
        render::bytes(summary.bytes_copied),
        summary.files_already_done,
        summary.files_deleted + summary.dirs_deleted,
        summary.files_failed,
        summary.files_stale,
        summary.steps_not_done,
    );
    if summary.files_stale > 0 {
        eprintln!(
            "some sources or targets changed since the plan was made: run `hsync plan` again"
        );
    }
    Ok(if summary.outcome == RunOutcome::Success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn load_plan(path: &Path) -> Result<Plan> {
    Plan::load(path).map_err(|e| miette!(help = "make a new plan with `hsync plan`", "{e}"))
}

/// A path beside `file` (in the same folder).
fn beside(file: &Path, name: &str) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(name)
}
