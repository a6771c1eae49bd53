//! Human views of a plan (Terraform style) and of sizes. Rendering lives
//! here, apart from the planner that decides.

use std::io::Write;

use std::borrow::Cow;

use hsync_plan::{Action, Compared, JobPlan, Plan, Reason, SkipReason, Skipped};
use hsync_storage::{display, one_line, EntryKind};

/// The whole plan: one block per job, then the totals line.
/// Written line by line: a plan of a million actions is never held as text.
/// A failed write (a closed pipe) only cuts the view short.
pub fn plan(plan: &Plan, out: &mut impl Write) {
    let mut totals = Totals::default();
    for job in &plan.jobs {
        render_job(out, job, &mut totals);
    }
    let skipped = match totals.skipped {
        0 => String::new(),
        n => format!("; {n} skipped"),
    };
    if totals.is_empty() {
        let _ = writeln!(
            out,
            "No changes. The target is in sync ({} unchanged, {}{skipped}).",
            count(totals.unchanged, "file"),
            bytes(totals.unchanged_bytes)
        );
    } else {
        let renames = match totals.rename {
            0 => String::new(),
            n => format!("{} to rename, ", count(n, "path")),
        };
        let attributes = match totals.attributes {
            0 => String::new(),
            n => format!(", {} to set attributes of", count(n, "path")),
        };
        let _ = writeln!(
            out,
            "Plan: {renames}{} to copy ({}), {} to update ({}), {} to delete, {} to create{attributes}, {} unchanged{skipped}.",
            count(totals.copy, "file"),
            bytes(totals.copy_bytes),
            count(totals.update, "file"),
            bytes(totals.update_bytes),
            count(totals.delete, "path"),
            count(totals.mkdir, "directory"),
            count(totals.unchanged, "file"),
        );
    }
    let _ = out.flush();
}

#[derive(Default)]
struct Totals {
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
}

fn render_job(out: &mut impl Write, job: &JobPlan, totals: &mut Totals) {
    let options = &job.options;
    let sources: Vec<Cow<str>> = job.source_roots.iter().map(display).collect();
    let sources = sources.join(", ");
    let _ = writeln!(
        out,
        "job {} ({} mode, {} layout{})",
        display(&job.name),
        name(options.mode),
        name(options.layout),
        if options.delete { ", delete" } else { "" }
    );
    let _ = writeln!(
        out,
        "  {} {} -> {} {}",
        job.source_fs.describe(),
        sources,
        job.target_fs.describe(),
        display(&job.target_root)
    );
    if let Some(cycle) = &job.snapshot {
        let name = &cycle.name;
        let dir = &cycle.source_dir;
        let line = match &cycle.base {
            None if cycle.on_target => format!("snapshot {name} of {dir}: whole trees compared; the target holds {name} already"),
            None => format!("snapshot {name} of {dir}: whole trees compared; the target takes {name} at the end"),
            Some(base) if base == name => format!("snapshot {name} of {dir}: nothing changed since it was synced"),
            Some(base) => format!("snapshot diff {base} -> {name} of {dir}; the target is unchanged since {base} and takes {name} at the end"),
        };
        let _ = writeln!(out, "  {line}");
        if job.has_changes() {
            totals.snapshots += 1;
        }
    }
    let width = job
        .actions
        .iter()
        .map(|a| display_path(a).chars().count())
        .chain(job.skipped.iter().map(|s| skipped_path(s).chars().count()))
        .max()
        .unwrap_or(0);
    for action in &job.actions {
        let path = display_path(action);
        let (sign, size, why) = match action {
            Action::Mkdir(_) => {
                totals.mkdir += 1;
                ('+', String::new(), "new directory".to_string())
            }
            Action::Copy(copy) if matches!(copy.reason, Reason::Missing | Reason::Created) => {
                totals.copy += 1;
                totals.copy_bytes += copy.size;
                ('+', bytes(copy.size), copy.reason.describe().to_string())
            }
            Action::Copy(copy) => {
                totals.update += 1;
                totals.update_bytes += copy.size;
                let was = copy
                    .replaces
                    .map(|seen| format!(" (target {})", bytes(seen.size)))
                    .unwrap_or_default();
                (
                    '~',
                    bytes(copy.size),
                    format!("{}{was}", copy.reason.describe()),
                )
            }
            Action::SetAttributes(_) => {
                totals.attributes += 1;
                ('~', String::new(), "attributes".to_string())
            }
            Action::Rename(rename) => {
                totals.rename += 1;
                let from = display(&rename.from);
                ('>', String::new(), format!("renamed from {from}"))
            }
            Action::Symlink(link) => {
                let to = display(&link.link);
                match &link.replaces {
                    None => {
                        totals.copy += 1;
                        ('+', String::new(), format!("symbolic link to {to}"))
                    }
                    Some(was) => {
                        totals.update += 1;
                        let was = display(was);
                        (
                            '~',
                            String::new(),
                            format!("symbolic link to {to} (was {was})"),
                        )
                    }
                }
            }
            Action::Delete(delete) => {
                totals.delete += 1;
                let size = if delete.entry == EntryKind::File {
                    bytes(delete.seen.size)
                } else {
                    String::new()
                };
                let why = match (delete.leftover, delete.recursive, delete.entry) {
                    (true, _, _) => "leftover of an interrupted apply",
                    (false, true, EntryKind::Dir) => "deleted in the source, with its contents",
                    (false, true, _) => "deleted in the source",
                    (false, false, _) => "extraneous",
                };
                ('-', size, why.to_string())
            }
        };
        let _ = writeln!(out, "  {sign} {path:<width$}  {size:>10}  {why}");
    }
    // Beside the root, so named by their whole path.
    for staging in job.leftover_staging_paths() {
        totals.delete += 1;
        let staging = format!("{staging}/");
        let why = "leftover of an interrupted atomic apply, with its contents";
        let _ = writeln!(out, "  - {staging:<width$}  {:>10}  {why}", "");
    }
    for skipped in &job.skipped {
        totals.skipped += 1;
        let path = skipped_path(skipped);
        let kind = skipped.entry.describe();
        let side = match skipped.source {
            Some(_) => "",
            None => " in the target, left alone",
        };
        let why = skipped.reason.describe();
        let _ = writeln!(out, "  ! {path:<width$}  {:>10}  {kind}: {why}{side}", "");
    }
    totals.unchanged += job.end.unchanged.files;
    totals.unchanged_bytes += job.end.unchanged.bytes;
    if job.end.unchanged.files > 0 {
        let _ = writeln!(
            out,
            "  = {} unchanged ({})",
            count(job.end.unchanged.files, "file"),
            bytes(job.end.unchanged.bytes)
        );
    }
    let _ = writeln!(
        out,
        "  ({} listed, {})",
        count(job.end.listed.directories, "directory"),
        count(job.end.listed.entries, "entry")
    );
    render_compared(out, &job.end.compared);
    let _ = writeln!(out);
}

/// How same-size files were compared, when any were: by native checksums of
/// either kind (nothing read) or by reading both sides, and why.
fn render_compared(out: &mut impl Write, compared: &Compared) {
    if compared.is_empty() {
        return;
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
    let _ = writeln!(
        out,
        "  (compared {}: {})",
        count(
            compared.composite_crc + compared.md5_crc + compared.read,
            "same-size file"
        ),
        ways.join("; ")
    );
    for fallback in &compared.fallbacks {
        let _ = writeln!(
            out,
            "  (read {} because {}, e.g. {})",
            count(fallback.files, "file"),
            fallback.describe(),
            display(&fallback.example)
        );
    }
}

/// An option's name as the manifest spells it.
fn name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Folders end in `/` so a reviewer tells them from files at a glance;
/// names are escaped ([`display`]) so none can forge a line.
fn display_path(action: &Action) -> String {
    let is_dir = match action {
        Action::Mkdir(_) => true,
        Action::SetAttributes(set) => set.entry == EntryKind::Dir,
        Action::Delete(delete) => delete.entry == EntryKind::Dir,
        Action::Rename(rename) => rename.entry == EntryKind::Dir,
        Action::Copy(_) | Action::Symlink(_) => false,
    };
    let path = display(action.path());
    if is_dir {
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

pub fn count(n: u64, noun: &str) -> String {
    let plural = match noun {
        "directory" => "directories".to_string(),
        "entry" => "entries".to_string(),
        _ => format!("{noun}s"),
    };
    format!("{n} {}", if n == 1 { noun } else { &plural })
}

/// `1023 B`, `1.5 KiB`, `2.0 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(bytes(32), "32 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}
