//! Engines run a distributed apply's chunks: each places workers (`hsync
//! worker TICKET`, told on stdin which chunk to run, or which slot to claim
//! chunks in) and retries a worker that dies. hsync copies; the engine only
//! places and retries.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;
use hsync_storage::{FsSpec, HdfsSpec};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use super::{RunFolder, Ticket};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start {what}: {source}")]
    Start {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Storage(#[from] hsync_storage::StorageError),
}

#[async_trait]
pub trait Engine: Send + Sync {
    /// How users name it (`--engine NAME`).
    fn name(&self) -> &'static str;

    /// Whether its workers can reach the filesystem: any, unless they run
    /// on other machines.
    fn reaches(&self, _fs: &FsSpec) -> bool {
        true
    }

    /// Runs the chunks `pending` of the run, `workers` at a time, and
    /// returns once every worker has ended; whether each chunk is complete
    /// is in its report.
    async fn run(
        &self,
        run: &RunFolder,
        pending: &[u32],
        workers: usize,
    ) -> Result<(), EngineError>;
}

/// Our stderr, as a child's stdout: an engine's output is its own log, and
/// the apply's stdout is the summary.
fn to_stderr() -> Result<Stdio, EngineError> {
    let fd = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|source| EngineError::Start {
            what: "an engine's output".into(),
            source,
        })?;
    Ok(fd.into())
}

/// The ticket as a local file in a scratch folder of its own, for workers
/// to be given: that of a new round of the run, so that claims of an
/// earlier one bind no worker.
async fn ticket_file(run: &RunFolder) -> Result<(tempfile::TempDir, PathBuf), EngineError> {
    let dir = tempfile::tempdir().map_err(|source| EngineError::Start {
        what: "a scratch folder".into(),
        source,
    })?;
    let path = dir.path().join("ticket.json");
    let round = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .to_string();
    // The run's round from now on: workers of an earlier one, if any still
    // run, stop at their next claim.
    run.write_note(super::ROUND_NOTE, &round).await?;
    let ticket = Ticket {
        round,
        ..run.ticket.clone()
    };
    let text = serde_json::to_vec(&ticket).expect("a ticket serialises");
    std::fs::write(&path, text).map_err(|source| EngineError::Start {
        what: format!("the ticket file {}", path.display()),
        source,
    })?;
    Ok((dir, path))
}

/// Worker processes on this machine: the distributed path without a
/// cluster scheduler, for a machine with cores and bandwidth to spare, and
/// the contract's reference engine.
pub struct LocalEngine {
    /// The hsync binary the workers run.
    pub program: PathBuf,
    /// Runs of a worker that dies before its chunks are done.
    pub attempts: u32,
}

#[async_trait]
impl Engine for LocalEngine {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn run(
        &self,
        run: &RunFolder,
        pending: &[u32],
        workers: usize,
    ) -> Result<(), EngineError> {
        // The scratch folder lives until the workers are done with the ticket.
        let (_scratch, ticket) = ticket_file(run).await?;
        let workers = workers.clamp(1, pending.len().max(1));
        let mut running = tokio::task::JoinSet::new();
        for slot in 0..workers {
            let (program, ticket, attempts) = (self.program.clone(), ticket.clone(), self.attempts);
            running.spawn(async move {
                let mut last = None;
                for _ in 0..attempts.max(1) {
                    match worker(&program, &ticket, slot).await {
                        Ok(()) => return Ok(()),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.expect("an attempt"))
            });
        }
        let mut failed = Vec::new();
        while let Some(joined) = running.join_next().await {
            if let Err(e) = joined.expect("a worker task") {
                failed.push(e.to_string());
            }
        }
        match failed.is_empty() {
            true => Ok(()),
            false => Err(EngineError::Failed(failed.join("; "))),
        }
    }
}

/// One worker process in `slot`: it claims chunks until none is left.
async fn worker(program: &PathBuf, ticket: &PathBuf, slot: usize) -> Result<(), EngineError> {
    let what = || format!("the worker {}", program.display());
    let mut command = Command::new(program);
    command
        .arg("worker")
        .arg(ticket)
        .stdin(Stdio::piped())
        // Its reports are in the run folder; stdout is the apply's summary.
        .stdout(Stdio::null())
        .kill_on_drop(true);
    // A worker dies with the apply that started it, so the same command run
    // again never finds the last run's workers still copying.
    // SAFETY: prctl is async-signal-safe and touches nothing of the parent's.
    unsafe {
        command.pre_exec(
            || match libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            },
        );
    }
    let mut child = command.spawn().map_err(|source| EngineError::Start {
        what: what(),
        source,
    })?;
    let mut stdin = child.stdin.take().expect("a piped stdin");
    // A worker that dies early closes its stdin: its status says why.
    let _ = stdin.write_all(slot_line(slot).as_bytes()).await;
    drop(stdin);
    let status = child.wait().await.map_err(|source| EngineError::Start {
        what: what(),
        source,
    })?;
    match status.success() {
        true => Ok(()),
        false => Err(EngineError::Failed(format!("a worker ended with {status}"))),
    }
}

/// Any scheduler, through a command of the user's (a `spark-submit`, a
/// `kubectl` script): it is run with `sh -c` and these variables, and must
/// run `$HSYNC_BINARY worker $HSYNC_TICKET` once per line of
/// `$HSYNC_CHUNKS` (the chunk on its stdin), wherever it likes, at most
/// `$HSYNC_WORKERS` at once, retrying a worker that dies; it ends once they
/// are done (the chunks' reports, not its exit status, say which are).
pub struct CommandEngine {
    pub command: String,
    /// The hsync binary the workers run.
    pub program: PathBuf,
}

#[async_trait]
impl Engine for CommandEngine {
    fn name(&self) -> &'static str {
        "command"
    }

    async fn run(
        &self,
        run: &RunFolder,
        pending: &[u32],
        workers: usize,
    ) -> Result<(), EngineError> {
        let (dir, ticket) = ticket_file(run).await?;
        let chunks = dir.path().join("chunks.txt");
        let lines: String = pending.iter().map(|c| format!("{c}\n")).collect();
        std::fs::write(&chunks, lines).map_err(|source| EngineError::Start {
            what: "the chunk list".into(),
            source,
        })?;
        let status = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env("HSYNC_TICKET", &ticket)
            .env("HSYNC_CHUNKS", &chunks)
            .env("HSYNC_BINARY", &self.program)
            .env("HSYNC_WORKERS", workers.to_string())
            .stdin(Stdio::null())
            .stdout(to_stderr()?)
            .kill_on_drop(true)
            .status()
            .await
            .map_err(|source| EngineError::Start {
                what: format!("the engine command `{}`", self.command),
                source,
            })?;
        match status.success() {
            true => Ok(()),
            false => Err(EngineError::Failed(format!(
                "the engine command `{}` ended with {status}",
                self.command
            ))),
        }
    }
}

/// How the YARN engine submits its job.
#[derive(Debug, Clone)]
pub struct YarnOptions {
    /// Hadoop's `mapred` launcher (a command and its first arguments).
    pub mapred: Vec<String>,
    /// The hsync binary shipped to the nodes.
    pub program: PathBuf,
    pub queue: Option<String>,
    /// Attempts YARN makes at each chunk's task (`mapreduce.map.maxattempts`).
    pub attempts: u32,
    /// Variables the workers are given (`NAME=VALUE`, Streaming's `-cmdenv`).
    pub worker_env: Vec<String>,
    /// Every cluster the plan reads or writes, for the job to get a
    /// delegation token of each (`mapreduce.job.hdfs-servers`).
    pub hdfs_servers: Vec<String>,
}

/// What a worker in `slot` is given on stdin (see [`super::Assignment`]).
fn slot_line(slot: usize) -> String {
    format!("slot {slot}\n")
}

/// The run folder's note of the YARN job running its chunks.
const JOB_NOTE: &str = "yarn-job";

/// A map-only MapReduce job through Hadoop Streaming, as DistCp runs on
/// YARN: one map per chunk, the hsync binary shipped in the job's
/// distributed cache, YARN's attempts and no speculative execution.
pub struct YarnEngine(pub YarnOptions);

#[async_trait]
impl Engine for YarnEngine {
    fn name(&self) -> &'static str {
        "yarn"
    }

    fn reaches(&self, fs: &FsSpec) -> bool {
        matches!(fs, FsSpec::Hdfs(_))
    }

    async fn run(
        &self,
        run: &RunFolder,
        pending: &[u32],
        workers: usize,
    ) -> Result<(), EngineError> {
        let options = &self.0;
        let (dir, ticket) = ticket_file(run).await?;
        let FsSpec::Hdfs(cluster) = &run.ticket.fs else {
            return Err(EngineError::Failed("the run folder is not on HDFS".into()));
        };
        let url = |path: &str| format!("{}{path}", cluster.url.trim_end_matches('/'));
        // One line per worker, each its own map (NLineInputFormat), which
        // claims chunks until none is left: a map's JVM starts once, and a
        // fast one takes more chunks (DistCp's dynamic strategy).
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let input = format!("{}/input-{stamp}.txt", run.ticket.folder);
        let workers = workers.clamp(1, pending.len().max(1));
        let lines: String = (0..workers).map(slot_line).collect();
        let input_file = dir.path().join("input.txt");
        std::fs::write(&input_file, lines).map_err(|source| EngineError::Start {
            what: "the job's input".into(),
            source,
        })?;
        run.upload(&input_file, &input).await?;
        let output = format!("{}/output-{stamp}", run.ticket.folder);
        let program = options.program.display().to_string();
        let (launcher, first) = options
            .mapred
            .split_first()
            .ok_or_else(|| EngineError::Failed("no mapred command".into()))?;
        // The job acts as the user hsync acts as on the run folder's cluster:
        // its output and staging are that user's, and the run folder stays
        // theirs to remove.
        let identity = launcher_identity(cluster, dir.path()).await?;
        let as_user = |command: &mut Command| {
            command.envs(identity.iter().map(|(name, value)| (name, value)));
        };
        let mut command = Command::new(launcher);
        as_user(&mut command);
        command.args(first).arg("streaming");
        let settings = [
            format!(
                "mapreduce.job.name=hsync apply {}",
                hsync_storage::plan_tag(&run.ticket.plan)
            ),
            format!("mapreduce.map.maxattempts={}", options.attempts.max(1)),
            "mapreduce.map.speculative=false".into(),
            "mapreduce.input.lineinputformat.linespermap=1".into(),
            format!(
                "mapreduce.job.hdfs-servers={}",
                options.hdfs_servers.join(",")
            ),
            // A map takes as long as its chunk's copies, without a word
            // of output: its status lines keep it alive, not a timeout.
            "mapreduce.task.timeout=0".into(),
        ];
        for setting in settings.into_iter().chain(
            options
                .queue
                .iter()
                .map(|q| format!("mapreduce.job.queuename={q}")),
        ) {
            command.arg("-D").arg(setting);
        }
        command
            .arg("-files")
            .arg(format!("{program}#hsync,{}#ticket.json", ticket.display()))
            .args([
                "-inputformat",
                "org.apache.hadoop.mapred.lib.NLineInputFormat",
            ])
            .arg("-input")
            .arg(url(&input))
            .arg("-output")
            .arg(url(&output))
            .args(["-mapper", "hsync worker ticket.json"])
            .args(options.worker_env.iter().flat_map(|v| ["-cmdenv", v]))
            .args(["-numReduceTasks", "0"])
            .stdin(Stdio::null())
            .kill_on_drop(true);
        // An earlier run's job may still run if its apply was killed: it
        // must not copy beside this one.
        if let Some(job) = run.read_note(JOB_NOTE).await? {
            let mut kill = Command::new(launcher);
            as_user(&mut kill);
            kill.args(first).args(["job", "-kill", job.trim()]);
            kill.stdout(Stdio::null())
                .stderr(Stdio::null())
                .stdin(Stdio::null());
            // A job that is over cannot be killed, which is as good.
            let _ = kill.status().await;
        }
        let mut child = command
            .stdout(to_stderr()?)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| EngineError::Start {
                what: format!("{launcher} streaming"),
                source,
            })?;
        // The launcher's log goes on to ours; the job's id is noted in the
        // run folder as soon as it is known.
        let mut lines = BufReader::new(child.stderr.take().expect("a piped stderr")).lines();
        let mut noted = None;
        while let Ok(Some(line)) = lines.next_line().await {
            // Noted before it is said, from the first line that names it:
            // whoever reads the line finds the note.
            if let Some(job) = job_named_in(&line).filter(|job| noted.as_ref() != Some(job)) {
                run.write_note(JOB_NOTE, &job).await?;
                noted = Some(job);
            }
            eprintln!("{line}");
        }
        let status = child.wait().await.map_err(|source| EngineError::Start {
            what: format!("{launcher} streaming"),
            source,
        })?;
        match status.success() {
            true => Ok(()),
            // The chunks' reports say which finished.
            false => Err(EngineError::Failed(format!(
                "the YARN job ended with {status}; `{launcher} job -list all` names it"
            ))),
        }
    }
}

/// How the `mapred` launcher, a Hadoop client of its own, logs in as the
/// user hsync acts as on `cluster`: SIMPLE names the user; Kerberos gives it
/// the manifest's ticket cache, or one made in `scratch` from the manifest's
/// keytab. The job gets its delegation tokens with that login, and its
/// tasks use them alone.
async fn launcher_identity(
    cluster: &HdfsSpec,
    scratch: &Path,
) -> Result<Vec<(&'static str, String)>, EngineError> {
    let principal = cluster.kerberos_principal.as_deref().unwrap_or_default();
    Ok(match (&cluster.kerberos_keytab, &cluster.kerberos_cache) {
        (Some(keytab), _) => {
            let cache = format!("FILE:{}", scratch.join("launcher.ccache").display());
            let kinit = Command::new("kinit")
                .args(["-c", &cache, "-kt", keytab, principal])
                .stdin(Stdio::null())
                .output()
                .await
                .map_err(|source| EngineError::Start {
                    what: "kinit, which logs the `mapred` launcher in from the keytab".into(),
                    source,
                })?;
            if !kinit.status.success() {
                return Err(EngineError::Failed(format!(
                    "kinit could not log the `mapred` launcher in as `{principal}` from {keytab}: {}",
                    hsync_storage::one_line(&String::from_utf8_lossy(&kinit.stderr))
                )));
            }
            vec![("KRB5CCNAME", cache)]
        }
        (None, Some(cache)) => vec![("KRB5CCNAME", cache.clone())],
        (None, None) => cluster
            .user
            .iter()
            .map(|user| ("HADOOP_USER_NAME", user.clone()))
            .collect(),
    })
}

/// The MapReduce job a line of the streaming launcher's log names: its
/// application once submitted (`application_T_N` is job `job_T_N`), then
/// the job as it runs.
fn job_named_in(line: &str) -> Option<String> {
    if let Some(app) = line.split("Submitted application application_").nth(1) {
        return Some(format!("job_{}", app.trim()));
    }
    line.split("Running job: ")
        .nth(1)
        .map(|job| job.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::job_named_in;

    #[test]
    fn the_job_is_known_from_its_submitted_application_on() {
        let submitted = "08:48:44 INFO impl.YarnClientImpl: Submitted application application_1796287356817_0002";
        let running = "08:48:43 INFO mapreduce.Job: Running job: job_1796287356817_0002";
        assert_eq!(
            job_named_in(submitted).as_deref(),
            Some("job_1796287356817_0002")
        );
        assert_eq!(
            job_named_in(running).as_deref(),
            Some("job_1796287356817_0002")
        );
        assert_eq!(
            job_named_in("08:49:09 INFO mapreduce.Job:  map 0% reduce 0%"),
            None
        );
    }
}
