//! Checking a raw manifest: every mistake collected, each pointing at its span.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use hsync_plan::{Commit, Compare, Incremental, JobOptions, Layout, Mode, Preserve, Symlinks};
use hsync_storage::{supports, FsSpec, HdfsSpec, SYNTHETIC_SCHEME};
use toml::Spanned;

use super::raw::{RawJob, RawManifest};
use super::units::parse_bandwidth;
use super::{
    location, Job, Location, ManifestError, RootSpans, DEFAULT_KEEP_SNAPSHOTS, DEFAULT_PARALLEL,
};
use crate::filter::PathFilter;
use crate::overlap::{self, Conflict, Input, InputOf, Paths, Root};

/// Validates a raw manifest, collecting every mistake rather than the first.
pub(super) struct Checker<'a> {
    /// The manifest's text, to point inside a string value.
    pub(super) text: &'a str,
    pub(super) base: &'a Path,
    pub(super) errors: Vec<ManifestError>,
    pub(super) clusters: BTreeMap<String, FsSpec>,
    /// Declared clusters whose URL was refused (already reported).
    pub(super) broken_clusters: BTreeSet<String>,
}

impl Checker<'_> {
    fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut ManifestError {
        self.errors.push(ManifestError::at(span, message, label));
        self.errors.last_mut().expect("just pushed")
    }

    pub(super) fn clusters(&mut self, raw: &RawManifest) {
        for (alias, spanned) in &raw.clusters {
            let cluster = spanned.get_ref();
            if cluster.url.get_ref().starts_with(SYNTHETIC_SCHEME) {
                self.synthetic_cluster(alias, &cluster.url);
                continue;
            }
            let label = match cluster.url.get_ref().strip_prefix("hdfs://") {
                None => Some("not hdfs://"),
                Some(host) if host.is_empty() || host.starts_with('/') => Some("no host"),
                Some(_) => None,
            };
            if let Some(label) = label {
                self.error(
                    cluster.url.span(),
                    format!("cluster `{alias}` needs an hdfs:// URL"),
                    label,
                )
                .help = Some("write it as url = \"hdfs://namenode:8020\"".into());
                self.broken_clusters.insert(alias.clone());
                continue;
            }
            let credential = match (&cluster.kerberos_keytab, &cluster.kerberos_cache) {
                (Some(_), _) => Some("kerberos_keytab"),
                (None, Some(_)) => Some("kerberos_cache"),
                (None, None) => None,
            };
            if let (Some(credential), None) = (credential, &cluster.kerberos_principal) {
                self.error(
                    spanned.span(),
                    format!("cluster `{alias}` gives a {credential} but no kerberos_principal"),
                    "no kerberos_principal",
                )
                .help = Some(format!(
                    "name whose credentials the {credential} holds: \
                     kerberos_principal = \"user@REALM\""
                ));
                self.broken_clusters.insert(alias.clone());
                continue;
            }
            let spec = HdfsSpec {
                url: cluster.url.get_ref().trim_end_matches('/').to_string(),
                alias: Some(alias.clone()),
                user: cluster.user.clone(),
                config_dir: cluster.config_dir.clone(),
                config: cluster.config.clone(),
                kerberos_principal: cluster.kerberos_principal.clone(),
                kerberos_keytab: cluster.kerberos_keytab.clone(),
                kerberos_cache: cluster.kerberos_cache.clone(),
            };
            self.clusters.insert(alias.clone(), FsSpec::Hdfs(spec));
        }
    }

    /// A synthetic tree declared as a cluster (`url = "synthetic://..."`).
    fn synthetic_cluster(&mut self, alias: &str, url: &Spanned<String>) {
        match location::synthetic(url.get_ref()) {
            Ok((_, path)) if path != "/" => {
                self.error(
                    url.span(),
                    format!("cluster `{alias}` names a path"),
                    "a path",
                )
                .help = Some(format!(
                    "name the tree only, and the path where it is used: `{alias}:{path}`"
                ));
                self.broken_clusters.insert(alias.to_string());
            }
            Ok((mut spec, _)) => {
                spec.alias = Some(alias.to_string());
                self.clusters
                    .insert(alias.to_string(), FsSpec::Synthetic(spec));
            }
            Err(e) => {
                self.bad_synthetic(url, e);
                self.broken_clusters.insert(alias.to_string());
            }
        }
    }

    /// A refused synthetic URL, pointed at where it goes wrong.
    fn bad_synthetic(&mut self, url: &Spanned<String>, e: hsync_storage::UrlError) {
        let span = self.inside(url, e.at);
        self.error(span, e.message, e.label).help = Some(e.help);
    }

    /// The jobs that passed, and the files the plan is made from: `manifest`
    /// and their source lists.
    pub(super) fn jobs(&mut self, raw: &RawManifest, manifest: Input) -> (Vec<Job>, Vec<Input>) {
        if raw.job.is_empty() {
            self.error(0..0, "the manifest declares no job", "add a [[job]] table")
                .help = Some("see examples/quickstart/hsync.toml".into());
        }
        let mut names: BTreeMap<&str, Range<usize>> = BTreeMap::new();
        let mut jobs = Vec::new();
        let mut spans = Vec::new();
        for job in &raw.job {
            let name = &job.get_ref().name;
            if let Some(first) = names.get(name.get_ref().as_str()) {
                let message = format!("two jobs are named `{}`", name.get_ref());
                self.error(name.span(), message, "second use")
                    .also(first.clone(), "first use")
                    .help = Some(
                    "job names must be unique: a plan and its journal refer to jobs by name".into(),
                );
            } else {
                names.insert(name.get_ref(), name.span());
            }
            if let Some((job, roots)) = self.job(job.get_ref()) {
                jobs.push(job);
                spans.push(roots);
            }
        }
        let lists = spans.iter().enumerate().filter_map(|(job, spans)| {
            let (path, _) = spans.source_list.as_ref()?;
            Some(Input {
                of: InputOf::SourceList(job),
                path: path.clone(),
            })
        });
        let inputs: Vec<Input> = std::iter::once(manifest).chain(lists).collect();
        let paths = Paths {
            jobs: jobs.iter().map(Job::roots).collect(),
            inputs,
        };
        self.overlaps(&paths, &spans);
        let inputs = paths.inputs;
        (jobs, inputs)
    }

    /// Refuses targets that overlap a source or, where a job deletes or
    /// commits atomically, another target, and jobs that delete in a folder
    /// that holds an input: each conflict points at the paths as written
    /// (the manifest itself has no span) and at what makes the job's target
    /// its own.
    fn overlaps(&mut self, paths: &Paths, spans: &[RootSpans]) {
        for conflict in overlap::conflicts(paths) {
            let [target, other] = conflict.roots().map(|root| match root {
                Root::Target(job) => Some(spans[job].target.clone()),
                Root::Source { job, source } => Some(spans[job].sources[source].clone()),
                Root::Input(input) => match paths.inputs[input].of {
                    InputOf::Manifest | InputOf::PlanFile => None,
                    InputOf::SourceList(job) => spans[job]
                        .source_list
                        .as_ref()
                        .map(|(_, span)| span.clone()),
                },
            });
            let [target_label, other_label] = conflict.labels(paths);
            let mistake = self.error(
                target.unwrap_or_default(),
                conflict.message(paths),
                target_label,
            );
            if let Some(other) = other {
                mistake.also(other, other_label);
            }
            let claimants = match conflict {
                Conflict::Targets { first, second, .. } => vec![first, second],
                Conflict::Input { job, .. } => vec![job],
                Conflict::OwnSource { .. } | Conflict::OtherSource { .. } => Vec::new(),
            };
            for job in claimants {
                let name = &paths.jobs[job].name;
                if let Some(delete) = spans[job].delete.clone() {
                    mistake.also(delete, format!("`{name}` deletes"));
                }
                if let Some(atomic) = spans[job].atomic.clone() {
                    mistake.also(atomic, format!("`{name}` commits atomically"));
                }
            }
            mistake.help = Some(conflict.help(paths));
        }
    }

    fn location(&mut self, text: &Spanned<String>) -> Option<Location> {
        match location::parse(text.get_ref(), self.base, &self.clusters) {
            Ok(location) => Some(location),
            // Its declaration was refused already; that is the mistake to fix.
            Err(location::LocationError::UnknownAlias(alias))
                if self.broken_clusters.contains(&alias) =>
            {
                None
            }
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
            Err(location::LocationError::BadSynthetic(e)) => {
                self.bad_synthetic(text, e);
                None
            }
            Err(location::LocationError::BadUrl(url)) => {
                self.error(
                    text.span(),
                    format!("`{url}` is not a valid hdfs:// URL"),
                    "no namenode host",
                )
                .help = Some(
                    "write hdfs://namenode:8020/path, or alias:/path with a cluster declared in [clusters]"
                        .into(),
                );
                None
            }
        }
    }

    fn source_texts(&mut self, job: &RawJob) -> Vec<Spanned<String>> {
        match (&job.sources, &job.source_list) {
            (Some(sources), Some(list)) => {
                self.error(
                    list.span(),
                    "a job takes `sources` or `source_list`, not both",
                    "second list",
                )
                .also(sources.span(), "first list")
                .help = Some("keep one: list the sources inline, or in the file".into());
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
                            "this file",
                        )
                        .help = Some("a relative path is read from the manifest's folder".into());
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

    fn job(&mut self, job: &RawJob) -> Option<(Job, RootSpans)> {
        let errors_before = self.errors.len();
        let mut sources = Vec::new();
        let mut source_spans = Vec::new();
        let mut source_fs: Option<(FsSpec, Range<usize>)> = None;
        for text in self.source_texts(job) {
            let Some(location) = self.location(&text) else {
                continue;
            };
            match &source_fs {
                Some((fs, first)) if *fs != location.fs => {
                    let message = "all sources of a job must be on one filesystem";
                    let first_label = format!("on {}", fs.describe());
                    self.error(
                        text.span(),
                        message,
                        format!("on {}", location.fs.describe()),
                    )
                    .also(first.clone(), first_label)
                    .help = Some("split the job in two, one per filesystem".into());
                }
                Some(_) => {}
                None => source_fs = Some((location.fs.clone(), text.span())),
            }
            sources.push(location.path);
            source_spans.push(text.span());
        }
        let target = self.location(&job.target);

        // An incremental job mirrors its source: its defaults say so.
        let incremental = job.incremental.is_some();
        let mode = job
            .mode
            .as_ref()
            .map(|m| *m.get_ref())
            .unwrap_or(if incremental {
                Mode::Update
            } else {
                Mode::Skip
            });
        let layout = job
            .layout
            .as_ref()
            .map(|l| *l.get_ref())
            .unwrap_or(match mode {
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
                        .help = Some("add \"times\" to `preserve`, or compare by size only: without preserved times every copied file gets a new mtime, so it would differ again on the next run".into());
                }
                if keys.is_empty() {
                    self.error(compare.span(), "`compare` needs at least one key", "empty")
                        .help = Some("leave `compare` out for the default: size, and mtime when times are preserved".into());
                }
                keys
            }
            None if preserve.contains(&Preserve::Times) => vec![Compare::Size, Compare::Mtime],
            None => vec![Compare::Size],
        };
        let delete = job
            .delete
            .as_ref()
            .map(|d| *d.get_ref())
            .unwrap_or(incremental);
        if let Some(d) = job
            .delete
            .as_ref()
            .filter(|d| *d.get_ref() && mode == Mode::Skip)
        {
            let mistake = self.error(
                d.span(),
                "`delete` needs mode = \"update\" or \"overwrite\"",
                "delete in skip mode",
            );
            let mode_is = match &job.mode {
                Some(m) => {
                    mistake.also(m.span(), "skip mode");
                    "mode is \"skip\""
                }
                None => "mode defaults to \"skip\"",
            };
            mistake.help = Some(format!("{mode_is}, which leaves existing files alone; as with DistCp's -delete, removing extraneous files needs a target kept in sync: set mode = \"update\""));
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
            let mistake = self.error(
                c.span(),
                "`commit = \"atomic\"` needs mode = \"skip\" and no delete",
                "atomic commit",
            );
            if let Some(m) = job.mode.as_ref().filter(|m| *m.get_ref() != Mode::Skip) {
                mistake.also(m.span(), "not skip");
            }
            if let Some(d) = job.delete.as_ref().filter(|d| *d.get_ref()) {
                mistake.also(d.span(), "delete");
            }
            mistake.help = Some("an atomic commit publishes a whole new target, as DistCp's -atomic does, so there is nothing to update or delete; use commit = \"file\" to sync an existing target".into());
        }
        let symlinks = self.symlinks(job, source_fs.as_ref().map(|(fs, _)| fs), target.as_ref());
        let parallel = match &job.parallel {
            Some(p) if *p.get_ref() == 0 => {
                self.error(p.span(), "`parallel` must be at least 1", "zero")
                    .help = Some(format!(
                    "it is how many files a job copies at once; leave it out for {DEFAULT_PARALLEL}"
                ));
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
        let incremental = self.incremental(
            job,
            source_fs.as_ref().map(|(fs, _)| fs),
            &sources,
            target.as_ref(),
        );

        if let Some(target) = &target {
            for flag in &job.preserve {
                if !supports(&target.fs, *flag.get_ref()) {
                    let message = format!(
                        "the target filesystem ({}) cannot preserve `{}`",
                        target.fs.describe(),
                        flag.get_ref().name()
                    );
                    let supported: Vec<&str> = Preserve::ALL
                        .iter()
                        .filter(|f| supports(&target.fs, **f))
                        .map(|f| f.name())
                        .collect();
                    self.error(flag.span(), message, "not supported there").help = Some(format!(
                        "remove it from `preserve` (hsync never drops a flag silently); this target preserves {}",
                        supported.join(", ")
                    ));
                }
            }
        }
        // Other attributes come with the source's listing; xattrs are read
        // from the source file itself, so its filesystem must have them.
        // (When the target cannot take them either, that error says enough.)
        if let (Some((source, _)), Some(target)) = (&source_fs, &target) {
            for flag in &job.preserve {
                let flag_value = *flag.get_ref();
                if flag_value == Preserve::Xattr
                    && supports(&target.fs, flag_value)
                    && !supports(source, flag_value)
                {
                    let message = format!(
                        "the source filesystem ({}) has no xattrs hsync can read, so it cannot preserve `xattr`",
                        source.describe()
                    );
                    self.error(flag.span(), message, "needs an HDFS source")
                        .help = Some("remove \"xattr\" from `preserve` (hsync never drops a flag silently): extended attributes are copied only from HDFS to HDFS".into());
                }
            }
        }

        if self.errors.len() > errors_before {
            return None;
        }
        let (source_fs, _) = source_fs?;
        let target = target?;
        let spans = RootSpans {
            sources: source_spans,
            target: job.target.span(),
            delete: job
                .delete
                .as_ref()
                .filter(|d| *d.get_ref())
                .map(Spanned::span),
            atomic: job
                .commit
                .as_ref()
                .filter(|c| *c.get_ref() == Commit::Atomic)
                .map(Spanned::span),
            source_list: job.source_list.as_ref().map(|list| {
                let path = location::local_path(Path::new(list.get_ref()), self.base);
                (path, list.span())
            }),
        };
        let job = Job {
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
                incremental,
                symlinks,
            },
            filter: filter?,
        };
        Some((job, spans))
    }

    /// `symlinks`: `"copy"` recreates links, which only the local
    /// filesystem has on both sides.
    fn symlinks(
        &mut self,
        job: &RawJob,
        source_fs: Option<&FsSpec>,
        target: Option<&Location>,
    ) -> Symlinks {
        let Some(symlinks) = &job.symlinks else {
            return Symlinks::Skip;
        };
        let local = |fs: Option<&FsSpec>| matches!(fs, Some(FsSpec::Local));
        if *symlinks.get_ref() == Symlinks::Copy
            && !(local(source_fs) && local(target.map(|t| &t.fs)))
        {
            self.error(symlinks.span(), "symlinks = \"copy\" needs a local source and a local target", "not local to local")
                .help = Some("HDFS keeps no symbolic links hsync can make or read: use \"follow\" to copy what the links point to, or \"skip\"".into());
        }
        *symlinks.get_ref()
    }

    /// `incremental = "snapshot"`: DistCp's `-diff` needs one snapshottable
    /// HDFS source copied into an HDFS target that mirrors it, and so does
    /// hsync. Every option that contradicts that is pointed at.
    fn incremental(
        &mut self,
        job: &RawJob,
        source_fs: Option<&FsSpec>,
        sources: &[String],
        target: Option<&Location>,
    ) -> Option<Incremental> {
        let keep = job.keep_snapshots.as_ref();
        let Some(by) = &job.incremental else {
            if let Some(keep) = keep {
                self.error(keep.span(), "`keep_snapshots` needs incremental = \"snapshot\"", "no snapshots")
                    .help = Some("only an incremental job takes snapshots; remove this line or add incremental = \"snapshot\"".into());
            }
            return None;
        };
        let mut conflict = |span: Range<usize>, message: &str, label: &str, help: &str| {
            let mistake = self.error(span.clone(), message.to_string(), label.to_string());
            if span != by.span() {
                mistake.also(by.span(), "incremental");
            }
            mistake.help = Some(help.to_string());
        };
        let on_hdfs = |fs: Option<&FsSpec>| matches!(fs, Some(FsSpec::Hdfs(_)) | None);
        if !on_hdfs(source_fs) || !on_hdfs(target.map(|t| &t.fs)) {
            conflict(by.span(), "incremental = \"snapshot\" needs an HDFS source and an HDFS target", "not HDFS on both sides",
                "snapshot diffs are an HDFS feature (HDFS-7535); use a full job between other filesystems");
        }
        if sources.len() > 1 {
            conflict(by.span(), "incremental = \"snapshot\" takes exactly one source", "several sources",
                "a snapshot diff is of one snapshottable directory, as DistCp's -diff takes one source; split the job, one per source");
        }
        if let Some(mode) = job.mode.as_ref().filter(|m| *m.get_ref() != Mode::Update) {
            conflict(mode.span(), "incremental = \"snapshot\" needs mode = \"update\"", "not update",
                "the target mirrors the source (DistCp's -diff needs -update); remove `mode`, update is the default here");
        }
        if let Some(delete) = job.delete.as_ref().filter(|d| !*d.get_ref()) {
            conflict(delete.span(), "incremental = \"snapshot\" mirrors deletes", "delete = false",
                "a snapshot diff replays deletes and renames, so the target must mirror the source; remove `delete`");
        }
        if let Some(layout) = job
            .layout
            .as_ref()
            .filter(|l| *l.get_ref() != Layout::Contents)
        {
            conflict(layout.span(), "incremental = \"snapshot\" copies the source's contents into the target", "nested",
                "the target directory mirrors the snapshottable source directory; remove `layout` and name the nested directory in `target`");
        }
        if let Some(commit) = job
            .commit
            .as_ref()
            .filter(|c| *c.get_ref() == Commit::Atomic)
        {
            conflict(
                commit.span(),
                "incremental = \"snapshot\" updates its target in place",
                "atomic",
                "an atomic commit publishes a new target; remove `commit`",
            );
        }
        if let Some(include) = &job.include {
            conflict(include.span(), "`include` is not supported with incremental = \"snapshot\" yet", "include",
                "per-depth includes and snapshot diffs do not combine yet; use `exclude`, or a full job");
        }
        let keep_snapshots = match keep {
            Some(k) if *k.get_ref() == 0 => {
                self.error(k.span(), "`keep_snapshots` must be at least 1", "zero")
                    .help = Some(format!("the newest synced snapshot is the base of the next diff; leave it out for {DEFAULT_KEEP_SNAPSHOTS}"));
                1
            }
            Some(k) => *k.get_ref(),
            None => DEFAULT_KEEP_SNAPSHOTS,
        };
        Some(Incremental {
            by: *by.get_ref(),
            keep_snapshots,
        })
    }

    fn filter(&mut self, job: &RawJob) -> Option<PathFilter> {
        let mut ok = true;
        if let Some(text) = &job.include {
            ok &= self.include(text);
        }
        let excludes: Vec<String> = job.exclude.iter().map(|e| e.get_ref().clone()).collect();
        for text in &job.exclude {
            if let Err(e) = regex::Regex::new(text.get_ref()) {
                self.error(text.span(), "`exclude` is not a valid regex", "not a regex")
                    .help = Some(e.to_string());
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let include = job.include.as_ref().map(|i| i.get_ref().as_str());
        PathFilter::new(include, &excludes).ok()
    }

    /// Checks each `/`-separated sub-expression of `include` on its own,
    /// pointing at the one that is wrong.
    fn include(&mut self, text: &Spanned<String>) -> bool {
        let value = text.get_ref();
        if value.is_empty() {
            self.error(text.span(), "`include` is empty", "matches nothing")
                .help = Some("leave `include` out to take everything".into());
            return false;
        }
        let depths = value.split('/').count();
        let per_depth = "`include` is split on `/` into one regex per depth below the source";
        let mut ok = true;
        let mut start = 0;
        for (index, part) in value.split('/').enumerate() {
            let range = start..start + part.len();
            start = range.end + 1;
            let depth = if depths > 1 {
                format!("depth {} of {depths}", index + 1)
            } else {
                String::new()
            };
            if part.is_empty() {
                // Point at the `/` next to the empty sub-expression.
                let slash = if range.start > 0 {
                    range.start - 1..range.start
                } else {
                    0..1
                };
                let span = self.inside(text, slash);
                self.error(span, "`include` has an empty sub-expression", format!("{depth} is empty"))
                    .help = Some(format!("{per_depth}; an empty one matches no name, so nothing below it would be copied: remove the extra `/`"));
                ok = false;
            } else if let Err(e) = regex::Regex::new(part) {
                let span = self.inside(text, range);
                let label = if depths > 1 {
                    format!("{depth}: not a regex")
                } else {
                    "not a regex".to_string()
                };
                let mut help = e.to_string();
                if depths > 1 {
                    help = format!("{help}\n{per_depth}, each a regex on its own");
                }
                self.error(span, "`include` is not a valid regex", label)
                    .help = Some(help);
                ok = false;
            }
        }
        ok
    }

    /// The span of `range` (bytes of a string value) in the manifest, when
    /// the value is written without escapes; else the whole value's span.
    fn inside(&self, value: &Spanned<String>, range: Range<usize>) -> Range<usize> {
        let span = value.span();
        let written = self.text.get(span.clone()).unwrap_or_default();
        let quotes_around = written.len() == value.get_ref().len() + 2
            && written.get(1..written.len() - 1) == Some(value.get_ref().as_str());
        if quotes_around {
            span.start + 1 + range.start..span.start + 1 + range.end
        } else {
            span
        }
    }
}
