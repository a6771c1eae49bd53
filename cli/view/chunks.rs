//! The chunks a distributed apply cuts a plan's copies into, after the plan
//! view (`show --workers`): a line per chunk, in columns, then the totals.

use std::io::{self, Write};

use hsync_plan::{Chunk, ChunkList, Chunking, Outline};
use hsync_storage::display;

use super::units::{bytes, count, exact_bytes, grouped};

/// The chunks of `list`, cut for `workers` from the plan of `outline`.
pub fn write(
    list: &ChunkList,
    outline: &Outline,
    workers: u32,
    out: &mut dyn Write,
) -> io::Result<()> {
    let asked = match list.chunking == Chunking::for_workers(workers) {
        true => format!(
            "{} asked, {} a worker",
            grouped(list.chunking.chunks.into()),
            Chunking::PER_WORKER
        ),
        false => format!("{} asked", grouped(list.chunking.chunks.into())),
    };
    let heading = format!("Chunks for {} ({asked})", count(workers.into(), "worker"));
    if list.chunks.is_empty() {
        return writeln!(out, "{heading}: none, the plan copies no files.");
    }
    writeln!(out, "{heading}:")?;
    let rows: Vec<[String; 6]> = list.chunks.iter().map(|c| cells(c, outline)).collect();
    let header = ["chunk", "job", "files", "bytes", "", "copies"].map(String::from);
    let mut widths = [0; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let [index, job, files, exact, rounded, copies] = row;
        let [wi, wj, wf, we, wr, _] = widths;
        writeln!(
            out,
            "  {index:>wi$}  {job:<wj$}  {files:>wf$}  {exact:>we$}  {rounded:>wr$}  {copies}"
        )?;
    }
    let (files, total) = list.totals();
    writeln!(
        out,
        "Chunks: {}, {}, {} ({}).",
        count(list.chunks.len() as u64, "chunk"),
        count(files, "file"),
        exact_bytes(total),
        bytes(total)
    )
}

/// A chunk's line: its index, job, files, bytes exactly and rounded, and
/// its first and last copy.
fn cells(chunk: &Chunk, outline: &Outline) -> [String; 6] {
    let job = display(&outline.jobs[chunk.job].header.name).into_owned();
    let copies = match chunk.files {
        1 => display(&chunk.first_path).into_owned(),
        _ => format!(
            "{} … {}",
            display(&chunk.first_path),
            display(&chunk.last_path)
        ),
    };
    [
        chunk.index.to_string(),
        job,
        grouped(chunk.files),
        exact_bytes(chunk.bytes),
        bytes(chunk.bytes),
        copies,
    ]
}
