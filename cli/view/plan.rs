//! The plan as a reviewer reads it, Terraform style: one block per job (its
//! header, a line per action, or a rollup by folder past a few hundred),
//! then the totals line. Written line by line from iterators of actions, so
//! a plan of millions of actions is never held as text.

use std::borrow::Cow;
use std::io::{self, Write};

use hsync_plan::{
    Action, Compared, JobEnd, JobHeader, JobOptions, JobPlan, Listed, Reason, SkipReason, Skipped,
};
use hsync_storage::{display, one_line, EntryKind};

use super::listing::{Length, Listing, Row};
use super::rollup::Column;
use super::style::{Palette, Sign};
use super::units::{bytes, count, exact_bytes, two_sizes};
use super::words;

/// How a plan is shown.
pub struct View {
    pub palette: Palette,
    pub length: Length,
    /// How to see every line of a rolled-up job: `` `hsync show --all plan.json` prints every line ``.
    pub see_all: String,
}

/// The kinds of lines a job's rollup counts, in [`PlanRow::column`]'s order.
const COLUMNS: &[Column] = &[
    Column {
        sign: Sign::Add,
        label: "copy or create",
    },
    Column {
        sign: Sign::Change,
        label: "update",
    },
    Column {
        sign: Sign::Remove,
        label: "delete",
    },
    Column {
        sign: Sign::Move,
        label: "rename",
    },
    Column {
        sign: Sign::Skip,
        label: "left alone",
    },
];

/// One job's block, without the blank line that ends it.
pub fn job(job: &JobPlan, totals: &mut Totals, view: &View, out: &mut dyn Write) -> io::Result<()> {
    let mut block = JobView::begin(job.header.clone(), view, out)?;
    for action in &job.actions {
        block.action(Cow::Borrowed(action), totals, out)?;
    }
    for skipped in &job.skipped {
        block.skipped(Cow::Borrowed(skipped), totals, out)?;
    }
    block.end(&job.end, totals, out)
}

/// One job's block as its records come: its header, then each line (or
/// past [`super::listing::THRESHOLD`] a rollup) of its actions, leftover
/// staging folders and skipped entries, then what it leaves alone.
pub struct JobView<'a, 'v> {
    header: JobHeader,
    view: &'v View,
    listing: Listing<PlanRow<'a>>,
    /// The leftover staging folders are shown after the actions.
    staging_shown: bool,
    changes: bool,
}

impl<'a, 'v> JobView<'a, 'v> {
    pub fn begin(
        header: JobHeader,
        view: &'v View,
        out: &mut dyn Write,
    ) -> io::Result<JobView<'a, 'v>> {
        self::header(&header, out)?;
        Ok(JobView {
            changes: header.has_changes_besides_actions(),
            header,
            view,
            listing: Listing::new(COLUMNS, view.length, view.palette),
            staging_shown: false,
        })
    }

    pub fn action(
        &mut self,
        action: Cow<'a, Action>,
        totals: &mut Totals,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        totals.count(&action);
        self.changes = true;
        self.listing.push(out, PlanRow::Action(action))
    }

    pub fn skipped(
        &mut self,
        skipped: Cow<'a, Skipped>,
        totals: &mut Totals,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        self.staging(totals, out)?;
        totals.skipped += 1;
        self.listing.push(out, PlanRow::Skipped(skipped))
    }

    fn staging(&mut self, totals: &mut Totals, out: &mut dyn Write) -> io::Result<()> {
        if std::mem::replace(&mut self.staging_shown, true) {
            return Ok(());
        }
        // Beside the root, so named by their whole path.
        for path in self.header.leftover_staging_paths() {
            totals.delete += 1;
            self.listing
                .push(out, PlanRow::Staging(format!("{path}/")))?;
        }
        Ok(())
    }

    pub fn end(mut self, end: &JobEnd, totals: &mut Totals, out: &mut dyn Write) -> io::Result<()> {
        self.staging(totals, out)?;
        self.listing.finish(out, &self.view.see_all)?;
        if self.header.snapshot.is_some() && self.changes {
            totals.snapshots += 1;
        }
        self::end(&end.unchanged, &end.listed, &end.compared, totals, out)
    }
}

/// What a job leaves alone and what planning read.
pub fn end(
    unchanged: &hsync_plan::Totals,
    listed: &Listed,
    compared: &Compared,
    totals: &mut Totals,
    out: &mut dyn Write,
) -> io::Result<()> {
    totals.unchanged += unchanged.files;
    totals.unchanged_bytes += unchanged.bytes;
    if unchanged.files > 0 {
        writeln!(
            out,
            "  = {} unchanged ({})",
            count(unchanged.files, "file"),
            bytes(unchanged.bytes)
        )?;
    }
    writeln!(
        out,
        "  ({} listed, {})",
        count(listed.directories, "directory"),
        count(listed.entries, "entry")
    )?;
    self::compared(compared, out)
}

/// Who, from where to where, and every option that changes what apply does.
pub fn header(job: &JobHeader, out: &mut dyn Write) -> io::Result<()> {
    let options = &job.options;
    let sources: Vec<Cow<str>> = job.source_roots.iter().map(display).collect();
    writeln!(
        out,
        "job {} ({} mode, {} layout{})",
        display(&job.name),
        name(options.mode),
        name(options.layout),
        if options.delete { ", delete" } else { "" }
    )?;
    writeln!(
        out,
        "  {} {} -> {} {}",
        job.source_fs.describe(),
        sources.join(", "),
        job.target_fs.describe(),
        display(&job.target_root)
    )?;
    writeln!(out, "  {}", settings(options))?;
    if let Some(cycle) = &job.snapshot {
        let name = &cycle.name;
        let dir = &cycle.source_dir;
        let line = match &cycle.base {
            None if cycle.on_target => format!("snapshot {name} of {dir}: whole trees compared; the target holds {name} already"),
            None => format!("snapshot {name} of {dir}: whole trees compared; the target takes {name} at the end"),
            Some(base) if base == name => format!("snapshot {name} of {dir}: nothing changed since it was synced"),
            Some(base) => format!("snapshot diff {base} -> {name} of {dir}; the target is unchanged since {base} and takes {name} at the end"),
        };
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// `compare size, mtime; preserve times; commit file; parallel 4; symlinks skip`,
/// with the filters, bandwidth and incremental settings when set.
fn settings(options: &JobOptions) -> String {
    let list = |values: Vec<String>| match values.is_empty() {
        true => "nothing".to_string(),
        false => values.join(", "),
    };
    let mut parts = vec![
        format!(
            "compare {}",
            list(options.compare.iter().map(name).collect())
        ),
        format!(
            "preserve {}",
            list(options.preserve.iter().map(name).collect())
        ),
        format!("commit {}", name(options.commit)),
        format!("parallel {}", options.parallel),
        format!("symlinks {}", name(options.symlinks)),
    ];
    if let Some(bandwidth) = options.bandwidth {
        parts.push(format!("bandwidth {}/s", exact_bytes(bandwidth)));
    }
    if let Some(incremental) = options.incremental {
        parts.push(format!(
            "incremental {} (keeping {})",
            name(incremental.by),
            count(incremental.keep_snapshots as u64, "snapshot")
        ));
    }
    // As the manifest quotes a regex; `one_line` keeps each to one line.
    let regex = |text: &String| format!("'{}'", one_line(text));
    if let Some(include) = &options.include {
        parts.push(format!("include {}", regex(include)));
    }
    if !options.exclude.is_empty() {
        let exclude: Vec<String> = options.exclude.iter().map(regex).collect();
        parts.push(format!("exclude {}", exclude.join(", ")));
    }
    parts.join("; ")
}

/// A line of the plan view.
enum PlanRow<'a> {
    Action(Cow<'a, Action>),
    /// An atomic job's staging folder left by an interrupted apply.
    Staging(String),
    Skipped(Cow<'a, Skipped>),
}

impl Row for PlanRow<'_> {
    fn column(&self) -> usize {
        let sign = match self {
            PlanRow::Action(action) => line(action).0,
            PlanRow::Staging(_) => Sign::Remove,
            PlanRow::Skipped(_) => Sign::Skip,
        };
        COLUMNS.iter().position(|c| c.sign == sign).unwrap_or(0)
    }

    fn path(&self) -> &str {
        match self {
            PlanRow::Action(action) => action.path(),
            PlanRow::Staging(_) => "",
            PlanRow::Skipped(skipped) => &skipped.path,
        }
    }

    fn is_dir(&self) -> bool {
        match self {
            PlanRow::Action(action) => is_dir(action),
            PlanRow::Staging(_) => false,
            PlanRow::Skipped(skipped) => skipped.entry == EntryKind::Dir,
        }
    }

    fn bytes(&self) -> u64 {
        match self {
            PlanRow::Action(action) => action_bytes(action),
            PlanRow::Staging(_) | PlanRow::Skipped(_) => 0,
        }
    }

    fn shown_path(&self) -> String {
        match self {
            PlanRow::Action(action) => shown_path(action),
            PlanRow::Staging(path) => path.clone(),
            PlanRow::Skipped(skipped) => skipped_path(skipped),
        }
    }

    fn write(&self, out: &mut dyn Write, width: usize, palette: Palette) -> io::Result<()> {
        let (sign, size, why) = match self {
            PlanRow::Action(action) => line(action),
            PlanRow::Staging(_) => (
                Sign::Remove,
                String::new(),
                "leftover of an interrupted atomic apply, with its contents".to_string(),
            ),
            PlanRow::Skipped(skipped) => {
                let side = match skipped.source {
                    Some(_) => "",
                    None => " in the target, left alone",
                };
                let kind = skipped.entry.describe();
                let why = words::skip_reason(skipped.reason);
                (Sign::Skip, String::new(), format!("{kind}: {why}{side}"))
            }
        };
        let text = format!(
            "{} {:<width$}  {size:>10}  {why}",
            sign.char(),
            self.shown_path()
        );
        writeln!(out, "  {}", palette.paint(sign, text))
    }
}

/// An action's sign, size column and reason, as its line shows them.
pub fn line(action: &Action) -> (Sign, String, String) {
    match action {
        Action::Mkdir(_) => (Sign::Add, String::new(), "new directory".to_string()),
        Action::Copy(copy) if matches!(copy.reason, Reason::Missing | Reason::Created) => (
            Sign::Add,
            bytes(copy.size),
            words::reason(copy.reason).to_string(),
        ),
        Action::Copy(copy) => {
            let why = words::reason(copy.reason);
            match copy.replaces {
                Some(seen) if seen.size == copy.size => (
                    Sign::Change,
                    bytes(copy.size),
                    format!("{why} (target the same size)"),
                ),
                Some(seen) => {
                    let (size, was) = two_sizes(copy.size, seen.size);
                    (Sign::Change, size, format!("{why} (target {was})"))
                }
                None => (Sign::Change, bytes(copy.size), why.to_string()),
            }
        }
        Action::SetAttributes(_) => (Sign::Change, String::new(), "attributes".to_string()),
        Action::Rename(rename) => (
            Sign::Move,
            String::new(),
            format!("renamed from {}", display(&rename.from)),
        ),
        Action::Symlink(link) => {
            let to = display(&link.link);
            match &link.replaces {
                None => (Sign::Add, String::new(), format!("symbolic link to {to}")),
                Some(was) => (
                    Sign::Change,
                    String::new(),
                    format!("symbolic link to {to} (was {})", display(was)),
                ),
            }
        }
        Action::Delete(delete) => {
            let size = match delete.entry {
                EntryKind::File => bytes(delete.seen.size),
                _ => String::new(),
            };
            let why = match (delete.leftover, delete.recursive, delete.entry) {
                (true, _, _) => "leftover of an interrupted apply",
                (false, true, EntryKind::Dir) => "deleted in the source, with its contents",
                (false, true, _) => "deleted in the source",
                (false, false, _) => "extraneous",
            };
            (Sign::Remove, size, why.to_string())
        }
    }
}

/// The bytes an action copies or deletes.
pub fn action_bytes(action: &Action) -> u64 {
    match action {
        Action::Copy(copy) => copy.size,
        Action::Delete(delete) if delete.entry == EntryKind::File => delete.seen.size,
        _ => 0,
    }
}

pub fn is_dir(action: &Action) -> bool {
    match action {
        Action::Mkdir(_) => true,
        Action::SetAttributes(set) => set.entry == EntryKind::Dir,
        Action::Delete(delete) => delete.entry == EntryKind::Dir,
        Action::Rename(rename) => rename.entry == EntryKind::Dir,
        Action::Copy(_) | Action::Symlink(_) => false,
    }
}

/// Folders end in `/` so a reviewer tells them from files at a glance;
/// names are escaped ([`display`]) so none can forge a line.
pub fn shown_path(action: &Action) -> String {
    let path = display(action.path());
    if is_dir(action) {
        format!("{path}/")
    } else {
        path.into_owned()
    }
}

/// A skipped entry's path as shown: a name that is not UTF-8 is in the plan
/// as its escaped spelling already (kept to one line all the same, should a
/// hand have written the plan).
fn skipped_path(skipped: &Skipped) -> String {
    let path = match skipped.reason {
        SkipReason::NameNotUtf8 => one_line(&skipped.path),
        _ => display(&skipped.path),
    };
    match skipped.entry {
        EntryKind::Dir => format!("{path}/"),
        _ => path.into_owned(),
    }
}

/// How same-size files were compared, when any were: by native checksums of
/// either kind (nothing read) or by reading both sides, and why.
fn compared(compared: &Compared, out: &mut dyn Write) -> io::Result<()> {
    if compared.is_empty() {
        return Ok(());
    }
    let mut ways = Vec::new();
    if compared.composite_crc > 0 {
        ways.push(format!(
            "{} by COMPOSITE_CRC checksums, no data read",
            compared.composite_crc
        ));
    }
    if compared.md5_crc > 0 {
        ways.push(format!(
            "{} by MD5MD5CRC32 checksums, no data read",
            compared.md5_crc
        ));
    }
    if compared.read > 0 {
        ways.push(format!("{} by reading both sides", compared.read));
    }
    writeln!(
        out,
        "  (compared {}: {})",
        count(
            compared.composite_crc + compared.md5_crc + compared.read,
            "same-size file"
        ),
        ways.join("; ")
    )?;
    for fallback in &compared.fallbacks {
        writeln!(
            out,
            "  (read {} because {}, e.g. {})",
            count(fallback.files, "file"),
            words::fallback(fallback),
            display(&fallback.example)
        )?;
    }
    Ok(())
}

/// An option's name as the manifest spells it.
pub fn name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// What the whole plan does, summed over its jobs.
#[derive(Default)]
pub struct Totals {
    copy: u64,
    copy_bytes: u64,
    update: u64,
    update_bytes: u64,
    delete: u64,
    mkdir: u64,
    rename: u64,
    /// Folders and files left in place whose attributes are set.
    attributes: u64,
    /// Snapshots incremental jobs take on their targets.
    snapshots: u64,
    unchanged: u64,
    unchanged_bytes: u64,
    /// Entries left alone (special files, symlinks, names not UTF-8).
    skipped: u64,
}

impl Totals {
    fn count(&mut self, action: &Action) {
        match action {
            Action::Mkdir(_) => self.mkdir += 1,
            Action::Copy(copy) if matches!(copy.reason, Reason::Missing | Reason::Created) => {
                self.copy += 1;
                self.copy_bytes += copy.size;
            }
            Action::Copy(copy) => {
                self.update += 1;
                self.update_bytes += copy.size;
            }
            Action::SetAttributes(_) => self.attributes += 1,
            Action::Rename(_) => self.rename += 1,
            Action::Symlink(link) if link.replaces.is_none() => self.copy += 1,
            Action::Symlink(_) => self.update += 1,
            Action::Delete(_) => self.delete += 1,
        }
    }

    fn is_empty(&self) -> bool {
        self.copy
            + self.update
            + self.delete
            + self.mkdir
            + self.rename
            + self.attributes
            + self.snapshots
            == 0
    }

    /// The totals line, always printed, whatever was rolled up.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let skipped = match self.skipped {
            0 => String::new(),
            n => format!("; {n} skipped"),
        };
        if self.is_empty() {
            return writeln!(
                out,
                "No changes. The target is in sync ({} unchanged, {}{skipped}).",
                count(self.unchanged, "file"),
                bytes(self.unchanged_bytes)
            );
        }
        let renames = match self.rename {
            0 => String::new(),
            n => format!("{} to rename, ", count(n, "path")),
        };
        let attributes = match self.attributes {
            0 => String::new(),
            n => format!(", {} to set attributes of", count(n, "path")),
        };
        writeln!(
            out,
            "Plan: {renames}{} to copy ({}), {} to update ({}), {} to delete, {} to create{attributes}, {} unchanged{skipped}.",
            count(self.copy, "file"),
            bytes(self.copy_bytes),
            count(self.update, "file"),
            bytes(self.update_bytes),
            count(self.delete, "path"),
            count(self.mkdir, "directory"),
            count(self.unchanged, "file"),
        )
    }
}
