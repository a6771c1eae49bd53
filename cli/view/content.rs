//! `--diff`: the line diff of each text file a copy replaces, the target's
//! content against the source's, as they are now (Terraform shows a file's
//! content change; Ansible's `--diff`). Binary files and files past
//! [`LIMIT`] say so instead; nothing outside the job's roots is read.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use hsync_plan::{Action, CopyAction, JobPlan};
use hsync_storage::{display, join, one_line, Connections, Storage};
use similar::{ChangeTag, TextDiff};

use super::style::{Palette, Sign};
use super::units::bytes;

/// The largest file whose content is shown.
const LIMIT: u64 = 256 * 1024;

/// The diffs of the replacing copies among `actions`, of `job`.
pub async fn job<'a>(
    job: &JobPlan,
    actions: impl Iterator<Item = &'a Action>,
    connections: &Connections,
    palette: Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let copies = actions.filter_map(|action| match action {
        Action::Copy(copy) if copy.replaces.is_some() => Some(copy),
        _ => None,
    });
    let mut sides = None;
    for copy in copies {
        if sides.is_none() {
            let source = connections.get(&job.source_fs);
            let target = connections.get(&job.target_fs);
            sides = Some(source.and_then(|s| Ok((s, target?))));
        }
        let shown = display(&copy.path);
        let text = match sides.as_ref().expect("connected above") {
            Ok((source, target)) => contents(job, copy, source, target).await,
            Err(e) => Err(format!("cannot connect: {}", one_line(&e.to_string()))),
        };
        match text {
            Ok((was, now)) if was == now => {
                writeln!(out, "  diff of {shown}: the contents are the same")?
            }
            Ok((was, now)) => {
                writeln!(out, "  diff of {shown}:")?;
                let source = job.source_roots.get(copy.source.root);
                let source = join(source.map_or("", String::as_str), &copy.source.path);
                let target = join(&job.target_root, &copy.path);
                let names = (display(&target), display(&source));
                diff(&was, &now, names, palette, out)?;
            }
            Err(why) => writeln!(out, "  diff of {shown}: not shown, {why}")?,
        }
    }
    Ok(())
}

/// The target's text and the source's, or why there is none to show.
async fn contents(
    job: &JobPlan,
    copy: &CopyAction,
    source: &Arc<dyn Storage>,
    target: &Arc<dyn Storage>,
) -> Result<(String, String), String> {
    let was_size = copy.replaces.map_or(0, |seen| seen.size);
    if copy.size.max(was_size) > LIMIT {
        return Err(format!("larger than {}", bytes(LIMIT)));
    }
    let Some(source_root) = job.source_roots.get(copy.source.root) else {
        return Err("the plan names no such source root".to_string());
    };
    let source_path = join(source_root, &copy.source.path);
    let target_path = join(&job.target_root, &copy.path);
    let was = read(target, &job.target_root, &target_path).await?;
    let now = read(source, source_root, &source_path).await?;
    Ok((was, now))
}

/// A file's text, up to [`LIMIT`].
async fn read(storage: &Arc<dyn Storage>, root: &str, path: &str) -> Result<String, String> {
    let cannot = |e: hsync_storage::StorageError| one_line(&e.to_string()).into_owned();
    let (real_root, real) = (storage.real_path(root).await, storage.real_path(path).await);
    let (Some(real_root), Some(real)) = (real_root.map_err(cannot)?, real.map_err(cannot)?) else {
        return Err(format!("{} is gone", display(path)));
    };
    if !real.starts_with(&format!("{}/", real_root.trim_end_matches('/'))) {
        return Err(format!("{} leads outside its root", display(path)));
    }
    let mut reader = storage.open(path).await.map_err(cannot)?;
    let mut data = Vec::new();
    loop {
        let chunk = reader.read(64 * 1024).await.map_err(cannot)?;
        if chunk.is_empty() {
            break;
        }
        data.extend_from_slice(&chunk);
        if data.len() as u64 > LIMIT {
            return Err(format!("larger than {}", bytes(LIMIT)));
        }
    }
    match String::from_utf8(data) {
        Ok(text) if !text.contains('\0') => Ok(text),
        _ => Err("a binary file".to_string()),
    }
}

/// A unified diff, target (`-`) to source (`+`); each line escaped so a
/// file's bytes cannot drive the terminal.
fn diff(
    was: &str,
    now: &str,
    (target, source): (Cow<str>, Cow<str>),
    palette: Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let diff = TextDiff::configure()
        .timeout(Duration::from_secs(2))
        .diff_lines(was, now);
    writeln!(
        out,
        "  {}",
        palette.paint(Sign::Remove, format!("--- {target}"))
    )?;
    writeln!(
        out,
        "  {}",
        palette.paint(Sign::Add, format!("+++ {source}"))
    )?;
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        writeln!(out, "  {}", palette.paint(Sign::Move, hunk.header()))?;
        for change in hunk.iter_changes() {
            let text = one_line(change.value().trim_end_matches('\n'));
            let line = |sign: Sign| format!("{}{text}", sign.char());
            match change.tag() {
                ChangeTag::Equal => writeln!(out, "   {text}")?,
                ChangeTag::Delete => {
                    writeln!(out, "  {}", palette.paint(Sign::Remove, line(Sign::Remove)))?
                }
                ChangeTag::Insert => {
                    writeln!(out, "  {}", palette.paint(Sign::Add, line(Sign::Add)))?
                }
            }
            if change.missing_newline() {
                writeln!(out, "  \\ No newline at end of file")?;
            }
        }
    }
    Ok(())
}
