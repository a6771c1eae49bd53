//! The manifest: clusters and replication jobs, as a team checks them into
//! git. [`Manifest::load`] turns the TOML into resolved [`Job`]s or into
//! miette diagnostics that point at the offending span.

mod check;
mod diagnostic;
mod location;
mod raw;
mod suggest;
mod units;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use hsync_plan::{Commit, JobOptions};
use hsync_storage::FsSpec;
use miette::NamedSource;

pub use diagnostic::{InvalidManifest, ManifestError, UnreadableManifest};
pub(crate) use location::local_path;
pub use location::Location;

use crate::filter::PathFilter;
use crate::overlap::{Input, InputOf, Paths, Roots};
use check::Checker;
use raw::RawManifest;
use suggest::toml_error;

/// Transfers in flight per job when the manifest does not say.
pub const DEFAULT_PARALLEL: usize = 8;

/// hsync snapshots an incremental job keeps on each side when the manifest
/// does not say: the base of the next diff and the one before it.
pub const DEFAULT_KEEP_SNAPSHOTS: usize = 2;

/// A manifest that passed validation.
#[derive(Debug)]
pub struct Manifest {
    /// The path as the user named it.
    pub path: PathBuf,
    /// blake3 of the manifest's bytes.
    pub digest: String,
    pub jobs: Vec<Job>,
    /// The declared cluster aliases (HDFS clusters, synthetic trees).
    pub clusters: BTreeMap<String, FsSpec>,
    /// The local files a plan is made from: this manifest and the jobs'
    /// source lists, absolute.
    pub(crate) inputs: Vec<Input>,
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

impl Job {
    /// The roots the overlap rules compare.
    pub(crate) fn roots(&self) -> Roots<'_> {
        Roots {
            name: &self.name,
            source_fs: &self.source_fs,
            sources: self.sources.clone(),
            target_fs: &self.target_fs,
            target: self.target.clone(),
            delete: self.options.delete,
            atomic: self.options.commit == Commit::Atomic,
        }
    }
}

impl Manifest {
    /// Every path the overlap rules compare, as the manifest says.
    pub(crate) fn paths(&self) -> Paths<'_> {
        Paths {
            jobs: self.jobs.iter().map(Job::roots).collect(),
            inputs: self.inputs.clone(),
        }
    }
}

/// Where a job's roots are written in the manifest.
struct RootSpans {
    sources: Vec<Range<usize>>,
    target: Range<usize>,
    /// `delete = true`, when written (an incremental job deletes unsaid).
    delete: Option<Range<usize>>,
    /// `commit = "atomic"`, when written.
    atomic: Option<Range<usize>>,
    /// The `source_list` file, absolute, and where it is named.
    source_list: Option<(String, Range<usize>)>,
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
        let raw: RawManifest = toml::from_str(text).map_err(|e| invalid(vec![toml_error(&e)]))?;
        let mut checker = Checker {
            text,
            base,
            errors: Vec::new(),
            clusters: BTreeMap::new(),
            broken_clusters: BTreeSet::new(),
        };
        checker.clusters(&raw);
        // `base` is the manifest's folder.
        let name = path.file_name().map_or(path, Path::new);
        let manifest = Input {
            of: InputOf::Manifest,
            path: location::local_path(name, base),
        };
        let (jobs, inputs) = checker.jobs(&raw, manifest);
        if !checker.errors.is_empty() {
            return Err(invalid(checker.errors).into());
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            digest: blake3::hash(text.as_bytes()).to_hex().to_string(),
            jobs,
            clusters: checker.clusters,
            inputs,
        })
    }
}

/// Resolves a location written on the command line: an alias of `manifest`
/// (if any), an hdfs:// URL, or a local path relative to `base`.
pub fn locate(text: &str, base: &Path, manifest: Option<&Manifest>) -> Result<Location, String> {
    let no_clusters = BTreeMap::new();
    let clusters = manifest.map_or(&no_clusters, |m| &m.clusters);
    location::parse(text, base, clusters).map_err(|e| match e {
        location::LocationError::UnknownAlias(alias) => {
            format!("unknown cluster alias `{alias}`: declare it in the manifest's [clusters]")
        }
        location::LocationError::BadUrl(url) => format!("`{url}` is not a valid hdfs:// URL"),
        location::LocationError::BadSynthetic(e) => format!("{} ({})", e.message, e.help),
    })
}

#[cfg(test)]
mod tests;
