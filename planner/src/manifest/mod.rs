//! The manifest: clusters and replication jobs, as a team checks them into
//! git. [`Manifest::load`] turns the TOML into resolved [`Job`]s or into
//! miette diagnostics that point at the offending span.

mod diagnostic;
mod location;
mod raw;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hsync_plan::{Commit, Compare, JobOptions, Layout, Mode, Preserve};
use hsync_storage::{Capability, FsSpec, HdfsSpec};
use miette::NamedSource;
use toml::Spanned;

pub use diagnostic::{InvalidManifest, ManifestError, UnreadableManifest};
pub use location::Location;

use crate::filter::PathFilter;
use raw::{RawJob, RawManifest};

/// Transfers in flight per job when the manifest does not say.
pub const DEFAULT_PARALLEL: usize = 8;

/// A manifest that passed validation.
#[derive(Debug)]
pub struct Manifest {
    /// The path as the user named it.
    pub path: PathBuf,
    /// blake3 of the manifest's bytes.
    pub digest: String,
    pub jobs: Vec<Job>,
}

/// One job, with every location resolved and every default filled in.
#[derive(Debug)]
pub struct Job {
    pub name: String,
    pub source_fs: FsSpec,
    pub sources: Vec<String>,
    pub target_fs: FsSpec,
    pub target: String,
    pub options: JobOptions,
    pub filter: PathFilter,
}

/// Reading a manifest fails for one of two reasons.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LoadError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Unreadable(#[from] UnreadableManifest),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(#[from] InvalidManifest),
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| UnreadableManifest {
            path: path.display().to_string(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        Manifest::parse(&text, path, &base)
    }

    /// Parses manifest text; `base` is the folder relative paths resolve against.
    pub fn parse(text: &str, path: &Path, base: &Path) -> Result<Manifest, LoadError> {
        let invalid = |errors| InvalidManifest {
            src: NamedSource::new(path.display().to_string(), text.to_string()),
            errors,
        };
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().to_string();
            invalid(vec![ManifestError::at(span, message, "here")])
        })?;
        let mut checker = Checker {
            base,
            errors: Vec::new(),
            clusters: BTreeMap::new(),
        };
        checker.clusters(&raw);
        let jobs = checker.jobs(&raw);
        if !checker.errors.is_empty() {
            return Err(invalid(checker.errors).into());
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            digest: blake3::hash(text.as_bytes()).to_hex().to_string(),
            jobs,
        })
    }
}

/// Validates a raw manifest, collecting every mistake rather than the first.
struct Checker<'a> {
    base: &'a Path,
    errors: Vec<ManifestError>,
    clusters: BTreeMap<String, HdfsSpec>,
}

impl Checker<'_> {
    fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        label: &str,
    ) -> &mut ManifestError {
        self.errors.push(ManifestError::at(span, message, label));
        self.errors.last_mut().expect("just pushed")
    }

    fn clusters(&mut self, raw: &RawManifest) {
        for (alias, cluster) in &raw.clusters {
            let cluster = cluster.get_ref();
            if !cluster.url.get_ref().starts_with("hdfs://") {
                self.error(
                    cluster.url.span(),
                    format!("cluster `{alias}` needs an hdfs:// URL"),
                    "not hdfs://",
                )
                .help = Some("write it as url = \"hdfs://namenode:8020\"".into());
                continue;
            }
            let spec = HdfsSpec {
                url: cluster.url.get_ref().trim_end_matches('/').to_string(),
                user: cluster.user.clone(),
                config_dir: cluster.config_dir.clone(),
                config: cluster.config.clone(),
            };
            self.clusters.insert(alias.clone(), spec);
        }
    }

    fn jobs(&mut self, raw: &RawManifest) -> Vec<Job> {
        if raw.job.is_empty() {
            self.error(0..0, "the manifest declares no job", "add a [[job]] table")
                .help = Some("see examples/quickstart/hsync.toml".into());
        }
        let mut names: BTreeMap<&str, Range<usize>> = BTreeMap::new();
        let mut jobs = Vec::new();
        for job in &raw.job {
            let name = &job.get_ref().name;
            if let Some(first) = names.insert(name.get_ref(), name.span()) {
                let message = format!("two jobs are named `{}`", name.get_ref());
                self.error(name.span(), message, "second use").help = Some(format!(
                    "the first is at bytes {}..{}; job names must be unique",
                    first.start, first.end
                ));
            }
            if let Some(job) = self.job(job.get_ref()) {
                jobs.push(job);
            }
        }
        jobs
    }

    fn location(&mut self, text: &Spanned<String>) -> Option<Location> {
        match location::parse(text.get_ref(), self.base, &self.clusters) {
            Ok(location) => Some(location),
            Err(location::LocationError::UnknownAlias(alias)) => {
                let known: Vec<_> = self.clusters.keys().map(String::as_str).collect();
                let help = if known.is_empty() {
                    format!("declare it as [clusters.{alias}] with a url")
                } else {
                    format!("known clusters: {}", known.join(", "))
                };
                self.error(
                    text.span(),
                    format!("unknown cluster alias `{alias}`"),
                    "not declared in [clusters]",
                )
                .help = Some(help);
                None
            }
            Err(location::LocationError::BadUrl(url)) => {
                self.error(
                    text.span(),
                    format!("`{url}` is not a valid hdfs:// URL"),
                    "no host",
                );
                None
            }
        }
    }

    fn source_texts(&mut self, job: &RawJob) -> Vec<Spanned<String>> {
        match (&job.sources, &job.source_list) {
            (Some(_), Some(list)) => {
                self.error(
                    list.span(),
                    "a job takes `sources` or `source_list`, not both",
                    "second list",
                );
                Vec::new()
            }
            (Some(sources), None) => {
                if sources.get_ref().is_empty() {
                    self.error(sources.span(), "`sources` is empty", "no source");
                }
                sources.get_ref().clone()
            }
            (None, Some(list)) => {
                let file = self.base.join(list.get_ref());
                match std::fs::read_to_string(&file) {
                    // Each line of the list points back at the `source_list` key.
                    Ok(text) => text
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(|l| Spanned::new(list.span(), l.to_string()))
                        .collect(),
                    Err(e) => {
                        self.error(
                            list.span(),
                            format!("cannot read the source list {}: {e}", file.display()),
                            "here",
                        );
                        Vec::new()
                    }
                }
            }
            (None, None) => {
                self.error(
                    job.name.span(),
                    format!("job `{}` has no sources", job.name.get_ref()),
                    "this job",
                )
                .help = Some("add sources = [\"path\", ...] or source_list = \"file\"".into());
                Vec::new()
            }
        }
    }

    fn job(&mut self, job: &RawJob) -> Option<Job> {
        let errors_before = self.errors.len();
        let mut sources = Vec::new();
        let mut source_fs: Option<(FsSpec, Range<usize>)> = None;
        for text in self.source_texts(job) {
            let Some(location) = self.location(&text) else {
                continue;
            };
            match &source_fs {
                Some((fs, first)) if *fs != location.fs => {
                    let message = "all sources of a job must be on one filesystem";
                    self.error(
                        text.span(),
                        message,
                        format!("on {}", location.fs.describe()).as_str(),
                    )
                    .help = Some(format!(
                        "the first source (bytes {}..{}) is on {}; split the job in two",
                        first.start,
                        first.end,
                        fs.describe()
                    ));
                }
                Some(_) => {}
                None => source_fs = Some((location.fs.clone(), text.span())),
            }
            sources.push(location.path);
        }
        let target = self.location(&job.target);

        let mode = job.mode.unwrap_or(Mode::Skip);
        let layout = job.layout.unwrap_or(match mode {
            Mode::Skip => Layout::Nested,
            Mode::Update | Mode::Overwrite => Layout::Contents,
        });
        let mut preserve: Vec<Preserve> = job.preserve.iter().map(|p| *p.get_ref()).collect();
        preserve.sort();
        preserve.dedup();
        let compare = match &job.compare {
            Some(compare) => {
                let mut keys = compare.get_ref().clone();
                keys.sort();
                keys.dedup();
                if keys.contains(&Compare::Mtime) && !preserve.contains(&Preserve::Times) {
                    self.error(compare.span(), "comparing `mtime` needs preserve = [\"times\"]", "mtime compared")
                        .help = Some("without preserved times every copied file has a new mtime, so every file would differ on the next run".into());
                }
                if keys.is_empty() {
                    self.error(compare.span(), "`compare` needs at least one key", "empty");
                }
                keys
            }
            None if preserve.contains(&Preserve::Times) => vec![Compare::Size, Compare::Mtime],
            None => vec![Compare::Size],
        };
        let delete = job.delete.as_ref().map(|d| *d.get_ref()).unwrap_or(false);
        if let Some(d) = job
            .delete
            .as_ref()
            .filter(|d| *d.get_ref() && mode == Mode::Skip)
        {
            self.error(d.span(), "`delete` needs mode = \"update\" or \"overwrite\"", "delete in skip mode")
                .help = Some("as with DistCp, deleting extraneous files only makes sense when the target is kept in sync".into());
        }
        let commit = job
            .commit
            .as_ref()
            .map(|c| *c.get_ref())
            .unwrap_or(Commit::File);
        if let Some(c) = job
            .commit
            .as_ref()
            .filter(|c| *c.get_ref() == Commit::Atomic && (mode != Mode::Skip || delete))
        {
            self.error(c.span(), "`commit = \"atomic\"` publishes a whole new target and works only with mode = \"skip\" and no delete", "atomic")
                .help = Some("as with DistCp's -atomic, the target must not exist yet; use commit = \"file\" to sync an existing target".into());
        }
        let parallel = match &job.parallel {
            Some(p) if *p.get_ref() == 0 => {
                self.error(p.span(), "`parallel` must be at least 1", "zero");
                1
            }
            Some(p) => *p.get_ref(),
            None => DEFAULT_PARALLEL,
        };
        let bandwidth = job
            .bandwidth
            .as_ref()
            .and_then(|b| match parse_bandwidth(b.get_ref()) {
                Some(rate) => Some(rate),
                None => {
                    self.error(
                        b.span(),
                        format!("`{}` is not a bandwidth", b.get_ref()),
                        "expected e.g. \"200MiB/s\"",
                    )
                    .help = Some(
                        "a number with an optional unit: B, KB, MB, GB, KiB, MiB, GiB, then /s"
                            .into(),
                    );
                    None
                }
            });
        let filter = self.filter(job);

        if let Some(target) = &target {
            for flag in &job.preserve {
                if !backend_supports(&target.fs, *flag.get_ref()) {
                    let message = format!(
                        "the target filesystem ({}) cannot preserve `{}`",
                        target.fs.describe(),
                        preserve_name(*flag.get_ref())
                    );
                    self.error(flag.span(), message, "not supported there").help = Some(
                        "remove it from `preserve`: hsync never drops a preserve flag silently"
                            .into(),
                    );
                }
            }
        }

        if self.errors.len() > errors_before {
            return None;
        }
        let (source_fs, _) = source_fs?;
        let target = target?;
        Some(Job {
            name: job.name.get_ref().clone(),
            source_fs,
            sources,
            target_fs: target.fs,
            target: target.path,
            options: JobOptions {
                mode,
                layout,
                include: job.include.as_ref().map(|i| i.get_ref().clone()),
                exclude: job.exclude.iter().map(|e| e.get_ref().clone()).collect(),
                compare,
                delete,
                preserve,
                commit,
                parallel,
                bandwidth,
            },
            filter: filter?,
        })
    }

    fn filter(&mut self, job: &RawJob) -> Option<PathFilter> {
        let mut ok = true;
        let include = job.include.as_ref().map(|i| i.get_ref().as_str());
        if let (Some(text), Err(e)) = (&job.include, PathFilter::new(include, &[])) {
            self.error(text.span(), "`include` is not a valid regex", "bad regex")
                .help = Some(e.to_string());
            ok = false;
        }
        let excludes: Vec<String> = job.exclude.iter().map(|e| e.get_ref().clone()).collect();
        for text in &job.exclude {
            if let Err(e) = regex::Regex::new(text.get_ref()) {
                self.error(text.span(), "`exclude` is not a valid regex", "bad regex")
                    .help = Some(e.to_string());
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        PathFilter::new(include, &excludes).ok()
    }
}

/// Parses `200MiB/s`, `50MB/s`, `1048576` (bytes per second).
fn parse_bandwidth(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text.strip_suffix("/s").unwrap_or(text).trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let rate = (number * scale).round();
    (rate >= 1.0).then_some(rate as u64)
}

fn capability(flag: Preserve) -> Capability {
    match flag {
        Preserve::Times => Capability::Times,
        Preserve::Permission => Capability::Permission,
        Preserve::Owner => Capability::Owner,
        Preserve::Group => Capability::Group,
        Preserve::Replication => Capability::Replication,
        Preserve::Blocksize => Capability::BlockSize,
        Preserve::Acl => Capability::Acl,
        Preserve::Xattr => Capability::Xattr,
    }
}

fn backend_supports(fs: &FsSpec, flag: Preserve) -> bool {
    hsync_storage::supports(fs, capability(flag))
}

fn preserve_name(flag: Preserve) -> &'static str {
    match flag {
        Preserve::Times => "times",
        Preserve::Permission => "permission",
        Preserve::Owner => "owner",
        Preserve::Group => "group",
        Preserve::Replication => "replication",
        Preserve::Blocksize => "blocksize",
        Preserve::Acl => "acl",
        Preserve::Xattr => "xattr",
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bandwidth;

    #[test]
    fn bandwidth_units() {
        assert_eq!(parse_bandwidth("200MiB/s"), Some(200 * 1024 * 1024));
        assert_eq!(parse_bandwidth("50MB/s"), Some(50_000_000));
        assert_eq!(parse_bandwidth("1048576"), Some(1_048_576));
        assert_eq!(parse_bandwidth("fast"), None);
        assert_eq!(parse_bandwidth("0"), None);
    }
}
