//! The model: from the sandbox as it is before a plan and the manifest's
//! jobs, what the targets hold after the apply (or why the manifest or the
//! plan is refused). A plain function of the README's rules, written apart
//! from the planner: it shares no code with hsync.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use super::sandbox::{
    is_lock_name, is_temp_name, is_within, join, name_of, EntryKind, Meta, Snapshot,
};
use super::scenario::{CompareSpec, ExcludeSpec, JobSpec, Layout, Mode, Pattern};

/// What becomes of a local source name that is not UTF-8: the one decision
/// the issue leaves open. `HSYNC_MODEL_NON_UTF8=carry` models the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonUtf8 {
    /// Not copied (and not a change), like a special file.
    Skip,
    /// Copied under exactly its bytes.
    Carry,
}

pub fn non_utf8() -> NonUtf8 {
    match std::env::var("HSYNC_MODEL_NON_UTF8").as_deref() {
        Ok("carry") => NonUtf8::Carry,
        _ => NonUtf8::Skip,
    }
}

/// A job with the README's defaults filled in.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    /// Sandbox-relative paths.
    pub sources: Vec<Vec<u8>>,
    pub target: Vec<u8>,
    pub mode: Mode,
    pub layout: Layout,
    pub compare_size: bool,
    pub compare_mtime: bool,
    pub compare_checksum: bool,
    /// The include sub-expressions and exclude regexes as the manifest says them.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub delete: bool,
    pub times: bool,
    pub permission: bool,
    pub atomic: bool,
}

impl Job {
    pub fn resolve(index: usize, spec: &JobSpec) -> Job {
        // README: `layout` defaults to nested in skip mode, else contents;
        // `compare` to size, plus mtime when times are preserved.
        let layout = spec.layout.unwrap_or(match spec.mode {
            Mode::Skip => Layout::Nested,
            _ => Layout::Contents,
        });
        let (size, mtime, checksum) = match spec.compare {
            None => (true, spec.times, false),
            Some(CompareSpec::Size) => (true, false, false),
            Some(CompareSpec::SizeChecksum) => (true, false, true),
            Some(CompareSpec::Checksum) => (false, false, true),
            Some(CompareSpec::SizeMtime) => (true, true, false),
        };
        let names = |names: &[super::scenario::Name]| {
            let escaped: Vec<String> = names
                .iter()
                .map(|n| regex::escape(std::str::from_utf8(&n.0).expect("plain names")))
                .collect();
            escaped.join("|")
        };
        let include = spec
            .include
            .iter()
            .flatten()
            .map(|p| match p {
                Pattern::Any => ".*".to_string(),
                Pattern::Names(n) => names(n),
            })
            .collect();
        let exclude = spec
            .exclude
            .iter()
            .map(|e| match e {
                ExcludeSpec::Suffix(n) => format!("{}$", names(std::slice::from_ref(n))),
                ExcludeSpec::Prefix(n) => format!("^{}/", names(std::slice::from_ref(n))),
                ExcludeSpec::Contains(n) => names(std::slice::from_ref(n)),
            })
            .collect();
        Job {
            name: format!("j{index}"),
            sources: spec
                .sources
                .iter()
                .map(|k| format!("src/s{k}").into_bytes())
                .collect(),
            target: spec.target.path().into_bytes(),
            mode: spec.mode,
            layout,
            compare_size: size,
            compare_mtime: mtime,
            compare_checksum: checksum,
            include,
            exclude,
            delete: spec.delete,
            times: spec.times,
            permission: spec.permission,
            atomic: spec.atomic,
        }
    }
}

/// What one path of a target should be after the apply; `None` fields are
/// not checked (a copied file's mtime when times are not preserved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub kind: EntryKind,
    /// Size and hash, for files.
    pub content: Option<(u64, u64)>,
    pub mtime_ms: Option<i64>,
    pub mode: Option<u32>,
}

impl Want {
    /// Exactly as it is now: a path the apply must leave alone.
    fn unchanged(meta: &Meta) -> Want {
        let is_dir = meta.kind == EntryKind::Dir;
        Want {
            kind: meta.kind.clone(),
            content: (meta.kind == EntryKind::File).then_some((meta.size, meta.hash)),
            // A folder's mtime moves with what happens inside it.
            mtime_ms: (!is_dir).then_some(meta.mtime_ms),
            mode: Some(meta.mode),
        }
    }

    pub fn admits(&self, meta: &Meta) -> bool {
        self.kind == meta.kind
            && self.content.map_or(true, |c| c == (meta.size, meta.hash))
            && self.mtime_ms.map_or(true, |m| m == meta.mtime_ms)
            && self.mode.map_or(true, |m| m == meta.mode)
    }
}

/// A target root's expected contents, keyed relative to the root.
pub type Expected = BTreeMap<Vec<u8>, Want>;

#[derive(Debug)]
pub enum Outcome {
    /// `validate` and `plan` refuse the manifest (exit 1), nothing written.
    Invalid(String),
    /// `plan` fails (exit 1), nothing written.
    Unplannable(String),
    /// Each job's target root and what it holds after the apply.
    Applied {
        targets: Vec<(Vec<u8>, Expected)>,
        changes: bool,
    },
}

impl Outcome {
    /// `plan --detailed-exitcode`'s exit code.
    pub fn plan_code(&self) -> i32 {
        match self {
            Outcome::Invalid(_) | Outcome::Unplannable(_) => 1,
            Outcome::Applied { changes: true, .. } => 2,
            Outcome::Applied { changes: false, .. } => 0,
        }
    }
}

/// The whole manifest against the sandbox as it is.
pub fn outcome(before: &Snapshot, jobs: &[Job], names: NonUtf8) -> Outcome {
    if let Some(why) = overlap(jobs) {
        return Outcome::Invalid(why);
    }
    let mut targets = Vec::new();
    let mut changes = false;
    for job in jobs {
        match expect_job(before, job, names) {
            Ok((expected, changed)) => {
                targets.push((job.target.clone(), expected));
                changes |= changed;
            }
            Err(why) => return Outcome::Unplannable(format!("job {}: {why}", job.name)),
        }
    }
    Outcome::Applied { targets, changes }
}

/// The path rules: a target may not equal, hold or lie inside any
/// job's source, and two targets that are equal or nested may not be
/// written when either job deletes.
fn overlap(jobs: &[Job]) -> Option<String> {
    let nested = |a: &[u8], b: &[u8]| is_within(a, b) || is_within(b, a);
    let show = |p: &[u8]| super::scenario::show(if p.is_empty() { b"." } else { p });
    for job in jobs {
        for other in jobs {
            for source in &other.sources {
                if nested(&job.target, source) {
                    return Some(format!(
                        "target {} of {} overlaps source {} of {}",
                        show(&job.target),
                        job.name,
                        show(source),
                        other.name
                    ));
                }
            }
        }
    }
    for (i, a) in jobs.iter().enumerate() {
        for b in &jobs[i + 1..] {
            if nested(&a.target, &b.target) && (a.delete || b.delete) {
                return Some(format!(
                    "targets of {} and {} overlap and one deletes",
                    a.name, b.name
                ));
            }
        }
    }
    None
}

/// The README's include (one sub-expression per depth, whole names; a
/// folder matching the last is taken whole) and exclude (searched in the
/// path below the source root).
struct Filter {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl Filter {
    fn new(job: &Job) -> Filter {
        let regex = |r: &str| Regex::new(r).expect("a generated regex");
        Filter {
            include: job
                .include
                .iter()
                .map(|p| regex(&format!("^(?:{p})$")))
                .collect(),
            exclude: job.exclude.iter().map(|e| regex(e)).collect(),
        }
    }

    fn admits(&self, relative: &[u8]) -> bool {
        let text = String::from_utf8_lossy(relative);
        if self.exclude.iter().any(|e| e.is_match(&text)) {
            return false;
        }
        let depth = text.split('/').count();
        let name = text.rsplit('/').next().unwrap_or(&text);
        self.include
            .get(depth - 1)
            .map_or(true, |pattern| pattern.is_match(name))
    }

    /// A folder above the last include depth: created only for what is
    /// taken below it.
    fn leads_on(&self, relative: &[u8]) -> bool {
        depth(relative) < self.include.len()
    }
}

fn depth(relative: &[u8]) -> usize {
    relative.iter().filter(|b| **b == b'/').count() + 1
}

/// `a/b/c` → `a`, `a/b`.
fn ancestors(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .map(move |(i, _)| &path[..i])
}

/// What a source puts at one target path.
struct Wanted<'a> {
    meta: &'a Meta,
    /// Leads on to deeper include depths.
    partial: bool,
}

/// The entries directly below `dir` (sandbox-relative), sorted by name.
fn children<'a>(
    snapshot: &'a Snapshot,
    dir: &[u8],
) -> impl Iterator<Item = (&'a [u8], &'a Meta)> + 'a {
    let start = if dir.is_empty() {
        Vec::new()
    } else {
        join(dir, b"")
    };
    let len = start.len();
    snapshot
        .range(start.clone()..)
        .take_while(move |(path, _)| path.starts_with(&start))
        .filter(move |(path, _)| !path[len..].contains(&b'/'))
        .map(|(path, meta)| (name_of(path), meta))
}

fn expect_job(before: &Snapshot, job: &Job, names: NonUtf8) -> Result<(Expected, bool), String> {
    let filter = Filter::new(job);
    let mut wanted: BTreeMap<Vec<u8>, Wanted> = BTreeMap::new();
    for source in &job.sources {
        let root = before
            .get(source)
            .ok_or_else(|| format!("source {} is missing", super::scenario::show(source)))?;
        let root_name = name_of(source).to_vec();
        let mut found: Vec<(Vec<u8>, Wanted)> = Vec::new();
        if root.kind != EntryKind::Dir {
            found.push((
                root_name,
                Wanted {
                    meta: root,
                    partial: false,
                },
            ));
        } else {
            let prefix = match job.layout {
                Layout::Contents => Vec::new(),
                Layout::Nested => {
                    found.push((
                        root_name.clone(),
                        Wanted {
                            meta: root,
                            partial: false,
                        },
                    ));
                    root_name
                }
            };
            walk_source(
                before,
                source,
                b"",
                &filter,
                names,
                &mut |relative, meta| {
                    let partial = meta.kind == EntryKind::Dir && filter.leads_on(relative);
                    let target = if prefix.is_empty() {
                        relative.to_vec()
                    } else {
                        join(&prefix, relative)
                    };
                    found.push((target, Wanted { meta, partial }));
                },
            );
        }
        // README: two sources that map a file to the same target path
        // abort planning; folders from several sources merge (the first's
        // attributes win).
        for (target, want) in found {
            match wanted.get(&target) {
                Some(first)
                    if first.meta.kind == EntryKind::Dir && want.meta.kind == EntryKind::Dir => {}
                Some(_) => {
                    return Err(format!(
                        "two sources map to {}",
                        super::scenario::show(&target)
                    ))
                }
                None => {
                    wanted.insert(target, want);
                }
            }
        }
    }
    let needed: BTreeSet<Vec<u8>> = wanted
        .iter()
        .filter(|(_, w)| !w.partial)
        .flat_map(|(path, _)| ancestors(path).map(<[u8]>::to_vec).collect::<Vec<_>>())
        .collect();
    wanted.retain(|path, w| !w.partial || needed.contains(path));

    let in_scope = |relative: &[u8]| -> bool {
        let below: &[u8] = match job.layout {
            Layout::Contents => relative,
            Layout::Nested => match relative.iter().position(|b| *b == b'/') {
                Some(i) => &relative[i + 1..],
                None => return true,
            },
        };
        ancestors(below).all(|a| filter.admits(a)) && filter.admits(below)
    };

    // The target as the plan sees it, and everything it holds.
    let target_root = before.get(&job.target);
    let mut current: BTreeMap<Vec<u8>, &Meta> = BTreeMap::new();
    match target_root {
        // A target below a file can never be made: planning stops.
        None if ancestors(&job.target).any(|folder| {
            before
                .get(folder)
                .is_some_and(|meta| !matches!(meta.kind, EntryKind::Dir | EntryKind::Symlink(_)))
        }) =>
        {
            return Err("a folder above the target is a file".into())
        }
        None => {}
        Some(meta) if meta.kind != EntryKind::Dir => {
            return Err("the target is not a folder".into())
        }
        Some(_) if job.atomic => return Err("an atomic commit needs an absent target".into()),
        Some(_) => {
            for (path, meta) in before.range(join(&job.target, b"")..) {
                if !is_within(path, &job.target) {
                    break;
                }
                if path.as_slice() != job.target.as_slice() {
                    let relative =
                        path[job.target.len() + usize::from(!job.target.is_empty())..].to_vec();
                    current.insert(relative, meta);
                }
            }
        }
    }
    let mut listed: BTreeMap<Vec<u8>, &Meta> = BTreeMap::new();
    let mut partly_listed: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut leftovers: Vec<Vec<u8>> = Vec::new();
    if target_root.is_some() {
        let mut pending = vec![Vec::new()];
        while let Some(dir) = pending.pop() {
            for (name, meta) in children(before, &join_root(&job.target, &dir)) {
                let relative = if dir.is_empty() {
                    name.to_vec()
                } else {
                    join(&dir, name)
                };
                if is_temp_name(name) {
                    if !matches!(meta.kind, EntryKind::Symlink(_)) && !is_lock_name(name) {
                        leftovers.push(relative);
                    } else {
                        partly_listed.insert(dir.clone());
                    }
                    continue;
                }
                // A target name that is not UTF-8 is left alone, and so is its folder.
                let foreign = names == NonUtf8::Skip && std::str::from_utf8(name).is_err();
                let admitted = !foreign
                    && (wanted.contains_key(&relative) || (job.delete && in_scope(&relative)));
                if !admitted {
                    partly_listed.insert(dir.clone());
                    continue;
                }
                if meta.kind == EntryKind::Dir {
                    pending.push(relative.clone());
                }
                listed.insert(relative, meta);
            }
        }
    }

    let mut expected: Expected = current
        .iter()
        .map(|(path, meta)| (path.clone(), Want::unchanged(meta)))
        .collect();
    let mut changes = false;
    let remove = |expected: &mut Expected, path: &[u8]| {
        expected.retain(|p, _| !is_within(p, path));
    };
    for path in &leftovers {
        remove(&mut expected, path);
        changes = true;
    }
    for (path, want) in &wanted {
        let source = want.meta;
        let is_dir = source.kind == EntryKind::Dir;
        let existing = listed.get(path);
        if let Some(existing) = existing {
            if (existing.kind == EntryKind::Dir) != is_dir {
                return Err(format!(
                    "{} is a {} in the source and not in the target",
                    super::scenario::show(path),
                    if is_dir { "folder" } else { "file" }
                ));
            }
        }
        let mtime = job.times.then_some(source.mtime_ms);
        let copied = Want {
            kind: source.kind.clone(),
            content: (!is_dir).then_some((source.size, source.hash)),
            mtime_ms: mtime,
            mode: job.permission.then_some(source.mode),
        };
        match existing {
            None => {
                expected.insert(path.clone(), copied);
                changes = true;
            }
            Some(existing) if is_dir => {
                let differs = (job.times && existing.mtime_ms != source.mtime_ms)
                    || (job.permission && existing.mode != source.mode);
                changes |= differs;
                let mode = if job.permission {
                    source.mode
                } else {
                    existing.mode
                };
                expected.insert(
                    path.clone(),
                    Want {
                        mode: Some(mode),
                        ..copied
                    },
                );
            }
            Some(existing) => {
                let differs = match job.mode {
                    Mode::Skip => false,
                    Mode::Overwrite => true,
                    Mode::Update => {
                        (job.compare_size && source.size != existing.size)
                            || (job.compare_mtime && source.mtime_ms != existing.mtime_ms)
                            || (job.compare_checksum
                                && (source.size != existing.size || source.hash != existing.hash))
                    }
                };
                if differs {
                    expected.insert(path.clone(), copied);
                    changes = true;
                } else if source.kind == EntryKind::File {
                    // As DistCp: a file left in place still gets the
                    // preserved attributes.
                    let kept = Want::unchanged(existing);
                    let set = Want {
                        mtime_ms: mtime.or(kept.mtime_ms),
                        mode: copied.mode.or(kept.mode),
                        ..kept.clone()
                    };
                    changes |= set != kept;
                    expected.insert(path.clone(), set);
                }
            }
        }
    }
    if job.delete {
        // A folder holding what the listing left out stays, and so do the
        // folders above it.
        let kept: BTreeSet<&[u8]> = partly_listed
            .iter()
            .flat_map(|p| ancestors(p).chain(std::iter::once(p.as_slice())))
            .collect();
        for (path, meta) in &listed {
            let keep = meta.kind == EntryKind::Dir && kept.contains(path.as_slice());
            if !keep && !wanted.contains_key(path) && in_scope(path) {
                remove(&mut expected, path);
                changes = true;
            }
        }
    }
    Ok((expected, changes))
}

/// Calls `take` for every source entry the job takes below `dir` (relative
/// to the source root), parents first: special files (symlinks, FIFOs,
/// sockets) are skipped and never opened, as are names that are not UTF-8
/// under [`NonUtf8::Skip`]; a folder the filter refuses is not entered.
fn walk_source<'a>(
    snapshot: &'a Snapshot,
    root: &[u8],
    dir: &[u8],
    filter: &Filter,
    names: NonUtf8,
    take: &mut dyn FnMut(&[u8], &'a Meta),
) {
    let below: Vec<(Vec<u8>, &'a Meta)> = children(snapshot, &join_root(root, dir))
        .map(|(name, meta)| (name.to_vec(), meta))
        .collect();
    for (name, meta) in below {
        let relative = if dir.is_empty() {
            name.clone()
        } else {
            join(dir, &name)
        };
        let special = !matches!(meta.kind, EntryKind::Dir | EntryKind::File);
        let skipped_name = names == NonUtf8::Skip && std::str::from_utf8(&name).is_err();
        if special || skipped_name || !filter.admits(&relative) {
            continue;
        }
        take(&relative, meta);
        if meta.kind == EntryKind::Dir {
            walk_source(snapshot, root, &relative, filter, names, take);
        }
    }
}

fn join_root(root: &[u8], relative: &[u8]) -> Vec<u8> {
    if relative.is_empty() {
        root.to_vec()
    } else {
        join(root, relative)
    }
}
