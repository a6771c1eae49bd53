//! The plan file: JSON lines, written and read as a stream.
//!
//! ```text
//! {"format_version":3,"manifest":{...}}        the header
//! {"job":{...}}                                each job: its header,
//! {"op":"copy",...}                            its actions and skipped
//! {"skipped":{...}}                            entries in plan order,
//! {"end":{...}}                                and what planning counted
//! {"fingerprint":"..."}                        blake3 of every byte above
//! ```
//!
//! One record per line keeps a plan of ten million actions diffable and
//! greppable, and lets `plan` write it and `apply` read it without holding
//! it. The fingerprint is hashed while writing and checked while reading:
//! a reader yields the trailer's verdict as its last item, so nothing may be
//! trusted before the stream has ended without an error ([`Outline::read`]
//! reads a plan whole once for that, before apply acts on any record).

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, Write};
use std::path::Path;

use hsync_fs_model::is_plan_tag;
use serde::{Deserialize, Serialize};

use crate::order::OrderCheck;
use crate::{Action, Commit, JobEnd, JobHeader, JobPlan, ManifestRef, Plan, Skipped};

/// The plan format this build writes and reads.
pub const FORMAT_VERSION: u32 = 3;

/// One line of a plan between its header and its trailer.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Job(Box<JobHeader>),
    Action(Action),
    Skipped(Skipped),
    End(JobEnd),
}

impl Record {
    /// Hands the record to `sink`, as a planner would.
    pub fn send(&self, sink: &mut dyn PlanSink) -> std::io::Result<()> {
        match self {
            Record::Job(header) => sink.job(header),
            Record::Action(action) => sink.action(action),
            Record::Skipped(skipped) => sink.skipped(skipped),
            Record::End(end) => sink.end_job(end),
        }
    }
}

/// Why a plan file was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the plan {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the plan {path} has format version {found}, this hsync reads version {FORMAT_VERSION}"
    )]
    Version { path: String, found: String },
    #[error("the plan {path} does not match the plan schema at line {line}: {reason}")]
    Schema {
        path: String,
        line: u64,
        reason: String,
    },
    #[error(
        "the plan {path} was changed after it was written (fingerprint {recorded}, content {actual})"
    )]
    Tampered {
        path: String,
        recorded: String,
        actual: String,
    },
    #[error(
        "the plan {path} was replaced while it was read: nothing after this point was applied"
    )]
    Changed { path: String },
    #[error("the plan {path} reaches outside its roots: {reason}")]
    Escapes { path: String, reason: String },
    #[error("the plan {path} has its actions out of order at line {line}: {reason}")]
    Order {
        path: String,
        line: u64,
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format_version: u32,
    manifest: ManifestRef,
}

/// The lines that are not actions, each an object of one field.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum Line<J, S, E> {
    Job(J),
    Skipped(S),
    End(E),
    Fingerprint(String),
    /// Never written as such: actions are written bare, tagged by `op`.
    #[serde(skip)]
    Action(Action),
}

/// One line of a plan. Actions are most lines, and hsync writes `op`
/// first; an action spelled otherwise still reads.
fn parse(text: &str) -> Result<Line<Box<JobHeader>, Skipped, JobEnd>, serde_json::Error> {
    if text.starts_with("{\"op\":") {
        return serde_json::from_str(text).map(Line::Action);
    }
    serde_json::from_str(text)
        .or_else(|e| serde_json::from_str(text).map(Line::Action).map_err(|_| e))
}

/// Where a planner puts a plan as it decides it, record by record: the
/// plan file ([`PlanWriter`]), or anything that reads plans as they come.
/// Call [`PlanSink::job`], then the job's records, then
/// [`PlanSink::end_job`], for every job.
pub trait PlanSink {
    fn job(&mut self, header: &JobHeader) -> std::io::Result<()>;
    fn action(&mut self, action: &Action) -> std::io::Result<()>;
    fn skipped(&mut self, skipped: &Skipped) -> std::io::Result<()>;
    fn end_job(&mut self, end: &JobEnd) -> std::io::Result<()>;
}

/// Writes a plan file as the planner decides it (see [`PlanSink`]); then
/// [`PlanWriter::finish`] writes the trailer.
pub struct PlanWriter<W: Write> {
    out: W,
    hasher: blake3::Hasher,
    line: Vec<u8>,
}

impl<W: Write> PlanWriter<W> {
    pub fn new(out: W, manifest: &ManifestRef) -> std::io::Result<PlanWriter<W>> {
        let mut writer = PlanWriter {
            out,
            hasher: blake3::Hasher::new(),
            line: Vec::with_capacity(512),
        };
        writer.write(&Header {
            format_version: FORMAT_VERSION,
            manifest: manifest.clone(),
        })?;
        Ok(writer)
    }

    /// Writes the trailer and returns the plan's fingerprint with the output.
    pub fn finish(mut self) -> std::io::Result<(String, W)> {
        let fingerprint = self.hasher.finalize().to_hex().to_string();
        let trailer = Line::<(), (), ()>::Fingerprint(fingerprint.clone());
        serde_json::to_writer(&mut self.out, &trailer)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok((fingerprint, self.out))
    }

    fn write(&mut self, value: &impl Serialize) -> std::io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, value)?;
        self.line.push(b'\n');
        self.hasher.update(&self.line);
        self.out.write_all(&self.line)
    }
}

impl<W: Write> PlanSink for PlanWriter<W> {
    fn job(&mut self, header: &JobHeader) -> std::io::Result<()> {
        self.write(&Line::<_, (), ()>::Job(header))
    }

    fn action(&mut self, action: &Action) -> std::io::Result<()> {
        self.write(action)
    }

    fn skipped(&mut self, skipped: &Skipped) -> std::io::Result<()> {
        self.write(&Line::<(), _, ()>::Skipped(skipped))
    }

    fn end_job(&mut self, end: &JobEnd) -> std::io::Result<()> {
        self.write(&Line::<(), (), _>::End(end))
    }
}

/// Reads a plan's records in order, checking each as it comes: the file's
/// structure (a header, then jobs of a header, records and an end, then the
/// trailer), that every path stays under its job's roots, and at the end
/// the fingerprint, whose mismatch is the last item.
pub struct PlanReader<R> {
    input: R,
    path: String,
    manifest: ManifestRef,
    hasher: blake3::Hasher,
    line: String,
    number: u64,
    /// The header of the job being read.
    job: Option<JobHeader>,
    /// The order of the job's actions so far.
    order: OrderCheck,
    /// A first reading's first order error, given once the fingerprint
    /// is known to match (a tampered plan is told as such).
    disorder: Option<LoadError>,
    fingerprint: Option<String>,
    /// The fingerprint an earlier reading of the same file found.
    expected: Option<String>,
    done: bool,
}

impl PlanReader<BufReader<File>> {
    pub fn open(path: &Path) -> Result<PlanReader<BufReader<File>>, LoadError> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|source| LoadError::Read {
            path: shown.clone(),
            source,
        })?;
        PlanReader::new(BufReader::with_capacity(1 << 16, file), &shown)
    }
}

impl<R: BufRead> PlanReader<R> {
    /// Reads the header; `path` names the plan in errors.
    pub fn new(input: R, path: &str) -> Result<PlanReader<R>, LoadError> {
        let mut reader = PlanReader {
            input,
            path: path.to_string(),
            manifest: ManifestRef {
                path: String::new(),
                digest: String::new(),
            },
            hasher: blake3::Hasher::new(),
            line: String::new(),
            number: 0,
            job: None,
            order: OrderCheck::default(),
            disorder: None,
            fingerprint: None,
            expected: None,
            done: false,
        };
        if !reader.read_line()? {
            return Err(reader.schema("the file is empty"));
        }
        let text = reader.line.trim_end();
        let header: serde_json::Value = serde_json::from_str(text).map_err(|_| {
            // A plan of format 2 or older is one pretty-printed JSON object.
            reader.older_version().unwrap_or_else(|| {
                reader
                    .schema("the first line is not a plan header (was this made by `hsync plan`?)")
            })
        })?;
        // The version is checked before the rest, so a plan from another
        // release gets that reason rather than a field-level complaint.
        let version = header.get("format_version");
        if version.and_then(|v| v.as_u64()) != Some(u64::from(FORMAT_VERSION)) {
            let found = version.map_or_else(|| "none".to_string(), |v| v.to_string());
            return Err(reader.version(found));
        }
        let header: Header =
            serde_json::from_value(header).map_err(|e| reader.schema(&e.to_string()))?;
        reader.manifest = header.manifest;
        reader.hasher.update(reader.line.as_bytes());
        Ok(reader)
    }

    pub fn manifest(&self) -> &ManifestRef {
        &self.manifest
    }

    /// The recorded fingerprint, once the stream has ended without error.
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// Reads the next line into `self.line`; false at the end of the file.
    fn read_line(&mut self) -> Result<bool, LoadError> {
        self.line.clear();
        let read = self
            .input
            .read_line(&mut self.line)
            .map_err(|source| LoadError::Read {
                path: self.path.clone(),
                source,
            })?;
        self.number += 1;
        Ok(read > 0)
    }

    fn next_record(&mut self) -> Result<Option<Record>, LoadError> {
        if !self.read_line()? {
            return Err(self.schema("the plan ends before its fingerprint (a cut-off file?)"));
        }
        if !self.line.ends_with('\n') {
            return Err(self.schema("the last line is cut off"));
        }
        let record = match parse(self.line.trim_end_matches('\n')) {
            Ok(Line::Job(header)) => Record::Job(header),
            Ok(Line::Skipped(skipped)) => Record::Skipped(skipped),
            Ok(Line::End(end)) => Record::End(end),
            Ok(Line::Action(action)) => Record::Action(action),
            Ok(Line::Fingerprint(recorded)) => {
                self.finish_with(recorded)?;
                return Ok(None);
            }
            Err(e) => return Err(self.schema(&e.to_string())),
        };
        self.hasher.update(self.line.as_bytes());
        self.check(&record)?;
        Ok(Some(record))
    }

    /// The trailer: nothing after it, no job left open, the content as sealed.
    fn finish_with(&mut self, recorded: String) -> Result<(), LoadError> {
        if self.job.is_some() {
            return Err(self.schema("the fingerprint comes before the end of a job"));
        }
        if self.read_line()? {
            return Err(self.schema("there is more after the fingerprint"));
        }
        let actual = self.hasher.finalize().to_hex().to_string();
        if actual != recorded {
            return Err(LoadError::Tampered {
                path: self.path.clone(),
                recorded,
                actual,
            });
        }
        if self.expected.as_ref().is_some_and(|e| *e != recorded) {
            return Err(LoadError::Changed {
                path: self.path.clone(),
            });
        }
        if let Some(disorder) = self.disorder.take() {
            return Err(disorder);
        }
        self.fingerprint = Some(recorded);
        Ok(())
    }

    /// The file's structure, and every path under its job's roots.
    fn check(&mut self, record: &Record) -> Result<(), LoadError> {
        let escapes = |reason: String| LoadError::Escapes {
            path: self.path.clone(),
            reason,
        };
        match (record, &self.job) {
            (Record::Job(header), None) => {
                check_header(header).map_err(escapes)?;
                self.job = Some(header.as_ref().clone());
                self.order = OrderCheck::default();
            }
            (Record::Job(_), Some(_)) => {
                return Err(self.schema("a job begins before the one before it ended"))
            }
            (Record::End(_), Some(_)) => self.job = None,
            (Record::Action(action), Some(job)) => {
                check_action(job, action).map_err(escapes)?;
                if let Err(reason) = self.order.next(action) {
                    let error = LoadError::Order {
                        path: self.path.clone(),
                        line: self.number,
                        reason,
                    };
                    // A second reading is acted on as it comes.
                    if self.expected.is_some() {
                        return Err(error);
                    }
                    self.disorder.get_or_insert(error);
                }
            }
            (Record::Skipped(_), Some(_)) => {}
            (_, None) => return Err(self.schema("a record outside of any job")),
        }
        Ok(())
    }

    /// The version of a format-2 (or older) plan, whose second line is
    /// `  "format_version": N,`.
    fn older_version(&mut self) -> Option<LoadError> {
        if self.line.trim_end() != "{" || !self.read_line().ok()? {
            return None;
        }
        let found = self
            .line
            .trim()
            .strip_prefix("\"format_version\":")?
            .trim()
            .trim_end_matches(',')
            .to_string();
        Some(self.version(found))
    }

    fn version(&self, found: String) -> LoadError {
        LoadError::Version {
            path: self.path.clone(),
            found,
        }
    }

    fn schema(&self, reason: &str) -> LoadError {
        LoadError::Schema {
            path: self.path.clone(),
            line: self.number,
            reason: reason.to_string(),
        }
    }
}

impl<R: BufRead> Iterator for PlanReader<R> {
    type Item = Result<Record, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_record().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// A plan without its actions: what apply needs before it acts (the jobs,
/// the fingerprint), from a pass over the whole file that checks it all.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline {
    pub manifest: ManifestRef,
    pub fingerprint: String,
    pub jobs: Vec<JobOutline>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobOutline {
    pub header: JobHeader,
    pub end: JobEnd,
    /// How many actions the job has.
    pub actions: u64,
    /// Files and symlinks it copies, and the bytes of the files.
    pub files: u64,
    pub bytes: u64,
    /// The copy actions among them (the files without the symlinks).
    pub copies: u64,
}

impl Outline {
    /// Reads and checks the whole plan at `path`, keeping only its outline.
    pub fn read(path: &Path) -> Result<Outline, LoadError> {
        Outline::from_reader(PlanReader::open(path)?)
    }

    pub fn from_reader<R: BufRead>(mut reader: PlanReader<R>) -> Result<Outline, LoadError> {
        let mut jobs = Vec::new();
        let mut current: Option<JobOutline> = None;
        for record in reader.by_ref() {
            match (record?, &mut current) {
                (Record::Job(header), _) => {
                    current = Some(JobOutline {
                        header: *header,
                        end: JobEnd::default(),
                        actions: 0,
                        files: 0,
                        bytes: 0,
                        copies: 0,
                    })
                }
                (Record::Action(action), Some(job)) => {
                    job.actions += 1;
                    match action {
                        Action::Copy(copy) => {
                            job.files += 1;
                            job.copies += 1;
                            job.bytes += copy.size;
                        }
                        Action::Symlink(_) => job.files += 1,
                        _ => {}
                    }
                }
                (Record::End(end), Some(_)) => {
                    let mut job = current.take().expect("a job is open");
                    job.end = end;
                    jobs.push(job);
                }
                // The reader refuses records outside a job.
                (Record::Skipped(_), _) | (_, None) => {}
            }
        }
        Ok(Outline {
            manifest: reader.manifest().clone(),
            fingerprint: reader.fingerprint().unwrap_or_default().to_string(),
            jobs,
        })
    }

    /// Whether applying the plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.jobs
            .iter()
            .any(|job| job.actions > 0 || job.header.has_changes_besides_actions())
    }
}

/// An open plan whose outline has been read: its records can be read again,
/// from the same open file (a plan renamed over it meanwhile is not read),
/// and a second reading that does not match the first ends in an error.
pub struct PlanFile {
    file: File,
    path: String,
    pub outline: Outline,
}

impl PlanFile {
    pub fn open(path: &Path) -> Result<PlanFile, LoadError> {
        let shown = path.display().to_string();
        let read_error = |source| LoadError::Read {
            path: shown.clone(),
            source,
        };
        let file = File::open(path).map_err(read_error)?;
        let reader = BufReader::with_capacity(1 << 16, file.try_clone().map_err(read_error)?);
        let outline = Outline::from_reader(PlanReader::new(reader, &shown)?)?;
        Ok(PlanFile {
            file,
            path: shown,
            outline,
        })
    }

    /// The plan's path, as errors name it.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The plan's records from the start. The reader's fingerprint check
    /// ends it with an error if the file changed since it was opened.
    pub fn records(&self) -> Result<PlanReader<BufReader<File>>, LoadError> {
        let read_error = |source| LoadError::Read {
            path: self.path.clone(),
            source,
        };
        let mut file = self.file.try_clone().map_err(read_error)?;
        file.rewind().map_err(read_error)?;
        let reader = PlanReader::new(BufReader::with_capacity(1 << 16, file), &self.path)?;
        Ok(PlanReader {
            expected: Some(self.outline.fingerprint.clone()),
            ..reader
        })
    }
}

impl Plan {
    /// Reads a whole plan into memory: for plans a person reads, and tests.
    pub fn load(path: &Path) -> Result<Plan, LoadError> {
        Plan::from_reader(PlanReader::open(path)?)
    }

    pub fn from_reader<R: BufRead>(mut reader: PlanReader<R>) -> Result<Plan, LoadError> {
        let mut jobs = Vec::new();
        let mut current: Option<JobPlan> = None;
        for record in reader.by_ref() {
            match (record?, &mut current) {
                (Record::Job(header), _) => {
                    current = Some(JobPlan {
                        header: *header,
                        actions: Vec::new(),
                        skipped: Vec::new(),
                        end: JobEnd::default(),
                    })
                }
                (Record::Action(action), Some(job)) => job.actions.push(action),
                (Record::Skipped(skipped), Some(job)) => job.skipped.push(skipped),
                (Record::End(end), Some(_)) => {
                    let mut job = current.take().expect("a job is open");
                    job.end = end;
                    jobs.push(job);
                }
                // The reader refuses records outside a job.
                (_, None) => {}
            }
        }
        Ok(Plan {
            format_version: FORMAT_VERSION,
            manifest: reader.manifest().clone(),
            jobs,
            fingerprint: reader.fingerprint().unwrap_or_default().to_string(),
        })
    }
}

/// A job's roots are absolute and normal; the one path outside the root it
/// may name is an atomic target's own staging sibling, by tag; a snapshot
/// cycle reads only the snapshot it names.
fn check_header(job: &JobHeader) -> Result<(), String> {
    for root in job.source_roots.iter().chain([&job.target_root]) {
        if !root.starts_with('/') || (root != "/" && !is_normal_relative(&root[1..])) {
            return Err(format!(
                "job `{}`: root `{root}` is not an absolute, normal path",
                job.name
            ));
        }
    }
    let tags_ok = job.leftover_staging.iter().all(|tag| is_plan_tag(tag));
    let atomic = job.options.commit == Commit::Atomic;
    if !tags_ok || (!atomic && !job.leftover_staging.is_empty()) {
        return Err(format!(
            "job `{}`: leftover_staging holds something other than tags of an atomic target's staging folders",
            job.name
        ));
    }
    if let Some(cycle) = &job.snapshot {
        // Names are single path segments.
        let names = std::iter::once(&cycle.name).chain(&cycle.base);
        let simple = names
            .into_iter()
            .all(|n| is_normal_relative(n) && !n.contains('/'));
        let source = format!(
            "{}/.snapshot/{}",
            cycle.source_dir.trim_end_matches('/'),
            cycle.name
        );
        if !simple || job.source_roots != [source] {
            return Err(format!(
                "job `{}`: its snapshot cycle does not match its source",
                job.name
            ));
        }
    }
    Ok(())
}

/// Action paths are relative and normal (no `..`, no `.`, no empty
/// segment), source references name an existing root.
fn check_action(job: &JobHeader, action: &Action) -> Result<(), String> {
    let renamed_from = match action {
        Action::Rename(rename) => Some(rename.from.as_str()),
        _ => None,
    };
    for path in std::iter::once(action.path()).chain(renamed_from) {
        if !is_normal_relative(path) {
            return Err(format!(
                "job `{}`: action path `{}` is not a normal relative path",
                job.name,
                hsync_fs_model::display(path),
            ));
        }
    }
    if let Action::Copy(copy) = action {
        let known_root = copy.source.root < job.source_roots.len();
        let normal = copy.source.path.is_empty() || is_normal_relative(&copy.source.path);
        if !known_root || !normal {
            return Err(format!(
                "job `{}`: copy source `{}` of root {} is outside the job's sources",
                job.name,
                hsync_fs_model::display(&copy.source.path),
                copy.source.root
            ));
        }
    }
    Ok(())
}

/// `a/b/c`: no leading or trailing `/`, no empty, `.` or `..` segment.
fn is_normal_relative(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."))
}

#[cfg(test)]
mod tests;
