//! Which roots of a manifest's jobs overlap. hsync never writes into a
//! source (a job's own or another job's: one plan lists every source before
//! any job runs), a job that deletes or commits atomically never shares its
//! target with another job, and a job that deletes never does so in a
//! folder that holds a file the plan is made from. `validate` asks this of
//! the manifest's paths, `plan` again of the real ones.

use hsync_storage::FsSpec;

/// Where a target lies relative to another path on the same filesystem,
/// compared by components (`/data/a` is not inside `/data/ab`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    Equal,
    Contains,
    Inside,
}

impl Relation {
    /// `target` against `other`, both absolute and normalised.
    pub(crate) fn of(target: &str, other: &str) -> Option<Relation> {
        fn parts(path: &str) -> Vec<&str> {
            path.split('/').filter(|c| !c.is_empty()).collect()
        }
        let (target, other) = (parts(target), parts(other));
        let shared = target
            .iter()
            .zip(&other)
            .take_while(|(a, b)| a == b)
            .count();
        match (shared == target.len(), shared == other.len()) {
            (true, true) => Some(Relation::Equal),
            (true, false) => Some(Relation::Contains),
            (false, true) => Some(Relation::Inside),
            (false, false) => None,
        }
    }

    /// The verb of "the target ... the source".
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Relation::Equal => "is",
            Relation::Contains => "contains",
            Relation::Inside => "lies inside",
        }
    }
}

/// The roots of one job, as the overlap rules see them.
#[derive(Debug)]
pub(crate) struct Roots<'a> {
    pub name: &'a str,
    pub source_fs: &'a FsSpec,
    pub sources: Vec<String>,
    pub target_fs: &'a FsSpec,
    pub target: String,
    pub delete: bool,
    /// `commit = "atomic"`: the job publishes its whole target by a rename.
    pub atomic: bool,
}

impl Roots<'_> {
    /// Why the job needs its target to itself, if it does.
    fn claim(&self) -> Option<Claim> {
        if self.delete {
            Some(Claim::Deletes)
        } else {
            self.atomic.then_some(Claim::Atomic)
        }
    }
}

/// What makes a job's target its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    Deletes,
    Atomic,
}

impl Claim {
    /// The verb, after one job's name or after "both".
    fn verb(self, both: bool) -> &'static str {
        match (self, both) {
            (Claim::Deletes, false) => "deletes",
            (Claim::Deletes, true) => "delete",
            (Claim::Atomic, false) => "commits atomically",
            (Claim::Atomic, true) => "commit atomically",
        }
    }
}

/// A local file a plan is made from, or written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Input {
    pub of: InputOf,
    /// Absolute and normalised, on the local filesystem.
    pub path: String,
}

/// Which file an [`Input`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputOf {
    Manifest,
    /// The `source_list` of a job.
    SourceList(usize),
    /// The file `plan -o` writes (not read, but applied, with the journal
    /// beside it), known to `plan` only.
    PlanFile,
}

/// Everything the overlap rules compare: the roots of every job and the
/// files the manifest reads. With symlinks resolved one input may have two
/// paths: the link's own entry, and the file it leads to.
#[derive(Debug)]
pub(crate) struct Paths<'a> {
    pub jobs: Vec<Roots<'a>>,
    pub inputs: Vec<Input>,
}

/// Two roots that must not overlap, and do. Jobs, sources and inputs are
/// indexes; the relation is always the target's to the other path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// A job's target and one of its own sources.
    OwnSource {
        job: usize,
        source: usize,
        relation: Relation,
    },
    /// The target of `writer` and a source of another job, `reader`.
    OtherSource {
        writer: usize,
        reader: usize,
        source: usize,
        relation: Relation,
    },
    /// The targets of two jobs (`first` < `second`), at least one of which
    /// deletes or commits atomically.
    Targets {
        first: usize,
        second: usize,
        relation: Relation,
    },
    /// The local target of a job that deletes, and a file the plan is made
    /// from that it is or contains.
    Input {
        job: usize,
        input: usize,
        relation: Relation,
    },
}

/// Every conflict among `paths`, in job order.
pub(crate) fn conflicts(paths: &Paths) -> Vec<Conflict> {
    let jobs = &paths.jobs;
    let mut found = Vec::new();
    for (writer, job) in jobs.iter().enumerate() {
        for (reader, other) in jobs.iter().enumerate() {
            if !job.target_fs.is_same_filesystem(other.source_fs) {
                continue;
            }
            for (source, path) in other.sources.iter().enumerate() {
                let Some(relation) = Relation::of(&job.target, path) else {
                    continue;
                };
                found.push(if reader == writer {
                    Conflict::OwnSource {
                        job: writer,
                        source,
                        relation,
                    }
                } else {
                    Conflict::OtherSource {
                        writer,
                        reader,
                        source,
                        relation,
                    }
                });
            }
        }
        for (second, other) in jobs.iter().enumerate().skip(writer + 1) {
            let relation = (job.claim().is_some() || other.claim().is_some())
                .then(|| job.target_fs.is_same_filesystem(other.target_fs))
                .filter(|same| *same)
                .and_then(|_| Relation::of(&job.target, &other.target));
            if let Some(relation) = relation {
                found.push(Conflict::Targets {
                    first: writer,
                    second,
                    relation,
                });
            }
        }
        if job.delete && job.target_fs.is_same_filesystem(&FsSpec::Local) {
            for (input, file) in paths.inputs.iter().enumerate() {
                // A target below a file is no folder the file is deleted from.
                let relation = Relation::of(&job.target, &file.path)
                    .filter(|relation| *relation != Relation::Inside);
                if let Some(relation) = relation {
                    found.push(Conflict::Input {
                        job: writer,
                        input,
                        relation,
                    });
                }
            }
        }
    }
    found
}

impl Conflict {
    /// What is wrong, in one line without the paths.
    pub(crate) fn message(&self, paths: &Paths) -> String {
        let jobs = &paths.jobs;
        match *self {
            Conflict::OwnSource { job, relation, .. } => format!(
                "job `{}`: the target {} a source",
                jobs[job].name,
                relation.verb()
            ),
            Conflict::OtherSource {
                writer,
                reader,
                relation,
                ..
            } => format!(
                "the target of job `{}` {} a source of job `{}`",
                jobs[writer].name,
                relation.verb(),
                jobs[reader].name
            ),
            Conflict::Targets {
                first,
                second,
                relation,
            } => {
                let shape = match relation {
                    Relation::Equal => "share a target",
                    Relation::Contains | Relation::Inside => "have nested targets",
                };
                let claims = match (jobs[first].claim(), jobs[second].claim()) {
                    (Some(a), Some(b)) if a == b => format!("both {}", a.verb(true)),
                    (a, b) => [(first, a), (second, b)]
                        .into_iter()
                        .filter_map(|(job, claim)| {
                            claim.map(|c| format!("`{}` {}", jobs[job].name, c.verb(false)))
                        })
                        .collect::<Vec<_>>()
                        .join(" and "),
                };
                format!(
                    "jobs `{}` and `{}` {shape}, and {claims}",
                    jobs[first].name, jobs[second].name
                )
            }
            Conflict::Input {
                job,
                input,
                relation,
            } => format!(
                "job `{}` deletes, and its target {} {}",
                jobs[job].name,
                relation.verb(),
                input_name(paths, paths.inputs[input].of, job)
            ),
        }
    }

    /// Why it is refused and what to do instead.
    pub(crate) fn help(&self, paths: &Paths) -> String {
        let jobs = &paths.jobs;
        match *self {
            Conflict::OwnSource { .. } => "hsync never writes into a source: a target that is or holds a source copies the source into itself (and with delete removes it), one inside a source grows by a level on every run. Choose a target apart from every source".to_string(),
            Conflict::OtherSource { writer, reader, .. } => format!(
                "hsync never writes into a source, and one plan lists every source before any job runs, so `{}` would copy what was there before `{}` wrote it: put the two jobs in two manifests and plan and apply them one after the other",
                jobs[reader].name, jobs[writer].name
            ),
            Conflict::Targets { first, second, .. } => {
                let claims = [jobs[first].claim(), jobs[second].claim()];
                let mut why = Vec::new();
                if claims.contains(&Some(Claim::Deletes)) {
                    why.push("a job that deletes removes what its sources do not hold, which includes the other job's files");
                }
                if claims.contains(&Some(Claim::Atomic)) {
                    why.push("an atomic job publishes its whole target with one rename, which fails when the other job made the folder first, and mixes the two trees when it did not");
                }
                let or_keep = if claims.contains(&Some(Claim::Atomic)) {
                    ""
                } else {
                    ", or leave out `delete`"
                };
                format!("{}: give each job its own target{or_keep}", why.join("; "))
            }
            Conflict::Input { input, .. } => {
                let removes = "a job that deletes removes from its target what its sources do not hold, which includes";
                match paths.inputs[input].of {
                    InputOf::PlanFile => format!("{removes} the plan file and the journal apply keeps beside it: write the plan outside the target, or leave out `delete`"),
                    of => {
                        let what = if of == InputOf::Manifest { "the manifest" } else { "the source list" };
                        format!("{removes} {what} the plan is made from: keep {what} outside the target, or leave out `delete`")
                    }
                }
            }
        }
    }

    /// The two roots: the target of the job named first, then the other.
    pub(crate) fn roots(&self) -> [Root; 2] {
        match *self {
            Conflict::OwnSource { job, source, .. } => {
                [Root::Target(job), Root::Source { job, source }]
            }
            Conflict::OtherSource {
                writer,
                reader,
                source,
                ..
            } => [
                Root::Target(writer),
                Root::Source {
                    job: reader,
                    source,
                },
            ],
            Conflict::Targets { first, second, .. } => [Root::Target(first), Root::Target(second)],
            Conflict::Input { job, input, .. } => [Root::Target(job), Root::Input(input)],
        }
    }

    /// What to call each of [`Conflict::roots`]: a job's own roots by their
    /// role alone, those of two jobs with the job's name.
    pub(crate) fn labels(&self, paths: &Paths) -> [String; 2] {
        let (own, writer) = match *self {
            Conflict::OwnSource { job, .. } | Conflict::Input { job, .. } => (true, job),
            Conflict::OtherSource { writer, .. } => (false, writer),
            Conflict::Targets { first, .. } => (false, first),
        };
        let name = |job: usize| &paths.jobs[job].name;
        self.roots().map(|root| match root {
            Root::Target(_) if own => "target".into(),
            Root::Source { .. } if own => "source".into(),
            Root::Target(job) => format!("target of `{}`", name(job)),
            Root::Source { job, .. } => format!("source of `{}`", name(job)),
            Root::Input(input) => match paths.inputs[input].of {
                InputOf::Manifest => "manifest".into(),
                InputOf::PlanFile => "plan file".into(),
                InputOf::SourceList(list) if list == writer => "source list".into(),
                InputOf::SourceList(list) => format!("source list of `{}`", name(list)),
            },
        })
    }

    /// The message and both roots, one per line, as `plan` found them:
    /// `real` are the roots with symlinks resolved, `written` the same roots
    /// as the manifest says.
    pub(crate) fn describe(&self, written: &Paths, real: &Paths) -> String {
        let mut text = self.message(real);
        for (root, label) in self.roots().into_iter().zip(self.labels(real)) {
            let real_path = root.path(real);
            let written = match root {
                // Inputs resolve to one or two paths: find the one written.
                Root::Input(input) => {
                    let of = real.inputs[input].of;
                    let written = written.inputs.iter().find(|i| i.of == of);
                    written.map_or(real_path, |i| i.path.as_str())
                }
                _ => root.path(written),
            };
            text.push_str(&format!("\n  {label}: {written}"));
            if written != real_path {
                text.push_str(&format!("\n    really {real_path}"));
            }
        }
        text
    }
}

/// An input as a message names it, seen from the job that deletes.
fn input_name(paths: &Paths, of: InputOf, job: usize) -> String {
    match of {
        InputOf::Manifest => "the manifest".into(),
        InputOf::PlanFile => "the plan file".into(),
        InputOf::SourceList(list) if list == job => "its source list".into(),
        InputOf::SourceList(list) => format!("the source list of job `{}`", paths.jobs[list].name),
    }
}

/// A job's target, one of its sources, or an input.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Root {
    Target(usize),
    Source { job: usize, source: usize },
    Input(usize),
}

impl Root {
    fn path<'a>(&self, paths: &'a Paths) -> &'a str {
        match *self {
            Root::Target(job) => &paths.jobs[job].target,
            Root::Source { job, source } => &paths.jobs[job].sources[source],
            Root::Input(input) => &paths.inputs[input].path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hsync_storage::HdfsSpec;

    fn hdfs(url: &str) -> FsSpec {
        FsSpec::Hdfs(HdfsSpec {
            url: url.into(),
            ..HdfsSpec::default()
        })
    }

    fn job<'a>(fs: &'a FsSpec, sources: &[&str], target: &str, delete: bool) -> Roots<'a> {
        Roots {
            name: "j",
            source_fs: fs,
            sources: sources.iter().map(|s| s.to_string()).collect(),
            target_fs: fs,
            target: target.into(),
            delete,
            atomic: false,
        }
    }

    /// The conflicts of `jobs`, with no input files.
    fn among(jobs: Vec<Roots>) -> Vec<Conflict> {
        conflicts(&Paths {
            jobs,
            inputs: Vec::new(),
        })
    }

    #[test]
    fn paths_are_compared_by_components() {
        assert_eq!(Relation::of("/data/a", "/data/a"), Some(Relation::Equal));
        assert_eq!(Relation::of("/data", "/data/a"), Some(Relation::Contains));
        assert_eq!(Relation::of("/", "/data"), Some(Relation::Contains));
        assert_eq!(Relation::of("/data/a/b", "/data/a"), Some(Relation::Inside));
        assert_eq!(Relation::of("/data/a", "/data/ab"), None);
        assert_eq!(Relation::of("/data/ab", "/data/a"), None);
    }

    #[test]
    fn hdfs_paths_overlap_on_the_same_cluster_only() {
        let (a, a_again, b) = (
            hdfs("hdfs://nn1:8020"),
            hdfs("hdfs://NN1:8020"),
            hdfs("hdfs://nn2:8020"),
        );
        let mut same = job(&a, &["/data"], "/data/mirror", false);
        same.target_fs = &a_again;
        assert_eq!(
            among(vec![same]),
            [Conflict::OwnSource {
                job: 0,
                source: 0,
                relation: Relation::Inside
            }]
        );
        let mut apart = job(&a, &["/data"], "/data/mirror", false);
        apart.target_fs = &b;
        assert_eq!(among(vec![apart]), []);
        let local = FsSpec::Local;
        let mut mixed = job(&local, &["/data"], "/data", false);
        mixed.target_fs = &a;
        assert_eq!(among(vec![mixed]), []);
    }

    #[test]
    fn hdfs_jobs_that_delete_into_nested_targets_conflict() {
        let (a, a_default_port) = (hdfs("hdfs://nn1:8020"), hdfs("hdfs://nn1"));
        let first = job(&a, &["/in/1"], "/out", true);
        let second = job(&a_default_port, &["/in/2"], "/out/2", false);
        assert_eq!(
            among(vec![first, second]),
            [Conflict::Targets {
                first: 0,
                second: 1,
                relation: Relation::Contains
            }]
        );
    }

    #[test]
    fn targets_that_overlap_without_delete_are_allowed() {
        let local = FsSpec::Local;
        let jobs = vec![
            job(&local, &["/in/1"], "/out", false),
            job(&local, &["/in/2"], "/out", false),
        ];
        assert_eq!(among(jobs), []);
    }

    #[test]
    fn a_target_inside_another_jobs_source_conflicts() {
        let local = FsSpec::Local;
        let jobs = vec![
            job(&local, &["/a"], "/b", false),
            job(&local, &["/b"], "/c", false),
        ];
        assert_eq!(
            among(jobs),
            [Conflict::OtherSource {
                writer: 0,
                reader: 1,
                source: 0,
                relation: Relation::Equal
            }]
        );
    }

    #[test]
    fn targets_that_overlap_are_refused_when_either_commits_atomically() {
        let local = FsSpec::Local;
        let mut atomic = job(&local, &["/in/1"], "/out/1", false);
        atomic.atomic = true;
        let jobs = vec![job(&local, &["/in/2"], "/out", false), atomic];
        assert_eq!(
            among(jobs),
            [Conflict::Targets {
                first: 0,
                second: 1,
                relation: Relation::Contains
            }]
        );
    }

    /// `jobs` and the manifest `/conf/hsync.toml`, with the source list of
    /// the last job.
    fn with_inputs(jobs: Vec<Roots>) -> Paths {
        let input = |of, path: &str| Input {
            of,
            path: path.into(),
        };
        let last = jobs.len() - 1;
        Paths {
            jobs,
            inputs: vec![
                input(InputOf::Manifest, "/conf/hsync.toml"),
                input(InputOf::SourceList(last), "/conf/lists/sources"),
            ],
        }
    }

    #[test]
    fn a_job_that_deletes_into_the_folder_of_its_manifest_conflicts() {
        let local = FsSpec::Local;
        let mut lists = job(&local, &["/in"], "/mirror", false);
        lists.name = "lists";
        let paths = with_inputs(vec![job(&local, &["/in"], "/conf", true), lists]);
        let input = |input| Conflict::Input {
            job: 0,
            input,
            relation: Relation::Contains,
        };
        let found = conflicts(&paths);
        assert_eq!(found, [input(0), input(1)]);
        assert_eq!(
            found.iter().map(|c| c.message(&paths)).collect::<Vec<_>>(),
            [
                "job `j` deletes, and its target contains the manifest",
                "job `j` deletes, and its target contains the source list of job `lists`",
            ]
        );
        let own = with_inputs(vec![job(&local, &["/in"], "/conf/lists/sources", true)]);
        let found = conflicts(&own);
        assert_eq!(
            found,
            [Conflict::Input {
                job: 0,
                input: 1,
                relation: Relation::Equal
            }]
        );
        assert_eq!(
            found[0].message(&own),
            "job `j` deletes, and its target is its source list"
        );
    }

    #[test]
    fn inputs_conflict_only_with_local_targets_that_delete_and_hold_them() {
        let local = FsSpec::Local;
        let cluster = hdfs("hdfs://nn1:8020");
        let mut remote = job(&local, &["/in"], "/conf", true);
        remote.target_fs = &cluster;
        let apart = [
            job(&local, &["/in"], "/conf", false),
            remote,
            job(&local, &["/in"], "/conf/hsync.toml/below", true),
            job(&local, &["/in"], "/conf/lists/other", true),
        ];
        for job in apart {
            let paths = with_inputs(vec![job]);
            assert_eq!(conflicts(&paths), [], "{:?}", paths.jobs[0]);
        }
    }
}
