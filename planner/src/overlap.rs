//! Which roots of a manifest's jobs overlap. hsync never writes into a
//! source (a job's own or another job's: one plan lists every source before
//! any job runs), and a job that deletes never shares its target with
//! another job. `validate` asks this of the manifest's paths, `plan` again
//! of the real ones.

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
}

/// Two roots that must not overlap, and do. Jobs and sources are indexes;
/// the relation is always the target's to the other path.
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
    /// deletes.
    Targets {
        first: usize,
        second: usize,
        relation: Relation,
    },
}

/// Every conflict among `jobs`, in job order.
pub(crate) fn conflicts(jobs: &[Roots]) -> Vec<Conflict> {
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
            let relation = (job.delete || other.delete)
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
    }
    found
}

impl Conflict {
    /// What is wrong, in one line without the paths.
    pub(crate) fn message(&self, jobs: &[Roots]) -> String {
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
                let deletes = match (jobs[first].delete, jobs[second].delete) {
                    (true, true) => "both delete".to_string(),
                    (true, false) => format!("`{}` deletes", jobs[first].name),
                    _ => format!("`{}` deletes", jobs[second].name),
                };
                format!(
                    "jobs `{}` and `{}` {shape}, and {deletes}",
                    jobs[first].name, jobs[second].name
                )
            }
        }
    }

    /// Why it is refused and what to do instead.
    pub(crate) fn help(&self, jobs: &[Roots]) -> String {
        match *self {
            Conflict::OwnSource { .. } => "hsync never writes into a source: a target that is or holds a source copies the source into itself (and with delete removes it), one inside a source grows by a level on every run. Choose a target apart from every source".to_string(),
            Conflict::OtherSource { writer, reader, .. } => format!(
                "hsync never writes into a source, and one plan lists every source before any job runs, so `{}` would copy what was there before `{}` wrote it: put the two jobs in two manifests and plan and apply them one after the other",
                jobs[reader].name, jobs[writer].name
            ),
            Conflict::Targets { .. } => "a job that deletes removes what its sources do not hold, which includes the other job's files: give each job its own target, or leave out `delete`".to_string(),
        }
    }

    /// The two roots: the target of the job named first, then the other.
    pub(crate) fn roots(&self) -> [Root; 2] {
        let target = |job| Root { job, source: None };
        match *self {
            Conflict::OwnSource { job, source, .. } => [
                target(job),
                Root {
                    job,
                    source: Some(source),
                },
            ],
            Conflict::OtherSource {
                writer,
                reader,
                source,
                ..
            } => [
                target(writer),
                Root {
                    job: reader,
                    source: Some(source),
                },
            ],
            Conflict::Targets { first, second, .. } => [target(first), target(second)],
        }
    }

    /// What to call each of [`Conflict::roots`].
    pub(crate) fn labels(&self, jobs: &[Roots]) -> [String; 2] {
        let [first, second] = self.roots();
        if let Conflict::OwnSource { .. } = self {
            return ["target".into(), "source".into()];
        }
        [first, second].map(|root| {
            let role = if root.source.is_some() {
                "source"
            } else {
                "target"
            };
            format!("{role} of `{}`", jobs[root.job].name)
        })
    }

    /// The message and both roots, one per line, as `plan` found them:
    /// `real` are the jobs' roots with symlinks resolved, `written` the same
    /// roots as the manifest says.
    pub(crate) fn describe(&self, written: &[Roots], real: &[Roots]) -> String {
        let mut text = self.message(real);
        for (root, label) in self.roots().into_iter().zip(self.labels(real)) {
            let (written, real) = (root.path(written), root.path(real));
            text.push_str(&format!("\n  {label}: {written}"));
            if written != real {
                text.push_str(&format!("\n    really {real}"));
            }
        }
        text
    }
}

/// A job's target (`source: None`) or one of its sources.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Root {
    pub job: usize,
    pub source: Option<usize>,
}

impl Root {
    fn path<'a>(&self, jobs: &'a [Roots]) -> &'a str {
        match self.source {
            Some(source) => &jobs[self.job].sources[source],
            None => &jobs[self.job].target,
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
        }
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
            conflicts(&[same]),
            [Conflict::OwnSource {
                job: 0,
                source: 0,
                relation: Relation::Inside
            }]
        );
        let mut apart = job(&a, &["/data"], "/data/mirror", false);
        apart.target_fs = &b;
        assert_eq!(conflicts(&[apart]), []);
        let local = FsSpec::Local;
        let mut mixed = job(&local, &["/data"], "/data", false);
        mixed.target_fs = &a;
        assert_eq!(conflicts(&[mixed]), []);
    }

    #[test]
    fn hdfs_jobs_that_delete_into_nested_targets_conflict() {
        let (a, a_default_port) = (hdfs("hdfs://nn1:8020"), hdfs("hdfs://nn1"));
        let first = job(&a, &["/in/1"], "/out", true);
        let second = job(&a_default_port, &["/in/2"], "/out/2", false);
        assert_eq!(
            conflicts(&[first, second]),
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
        let jobs = [
            job(&local, &["/in/1"], "/out", false),
            job(&local, &["/in/2"], "/out", false),
        ];
        assert_eq!(conflicts(&jobs), []);
    }

    #[test]
    fn a_target_inside_another_jobs_source_conflicts() {
        let local = FsSpec::Local;
        let jobs = [
            job(&local, &["/a"], "/b", false),
            job(&local, &["/b"], "/c", false),
        ];
        assert_eq!(
            conflicts(&jobs),
            [Conflict::OtherSource {
                writer: 0,
                reader: 1,
                source: 0,
                relation: Relation::Equal
            }]
        );
    }
}
