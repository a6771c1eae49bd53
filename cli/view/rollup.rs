//! A job too long to read line by line, rolled up by folder: for each
//! folder, how many lines of each kind and how many bytes, the biggest
//! folders first, as deep as fits a screen; then the biggest lines.
//!
//! Fed one row at a time and bounded whatever their number: counters for
//! at most [`FOLDERS`] folders (the deepest level is given up when they
//! would be more) and the [`BIGGEST`] biggest rows.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, Write};

use hsync_storage::display;

use super::listing::Row;
use super::style::{Palette, Sign};
use super::units::{bytes, count, grouped};

/// Folders counted at most, over every level.
const FOLDERS: usize = 20_000;
/// Levels of folders counted at most.
const DEPTH: usize = 8;
/// Folder rows that fit a screen.
const SCREEN: usize = 40;
/// The biggest lines shown whole.
const BIGGEST: usize = 10;

/// A kind of line, as the rollup counts it.
pub struct Column {
    pub sign: Sign,
    pub label: &'static str,
}

#[derive(Debug, Clone, Default)]
struct Cells(Vec<(u64, u64)>);

impl Cells {
    fn add(&mut self, columns: usize, column: usize, size: u64) {
        if self.0.is_empty() {
            self.0 = vec![(0, 0); columns];
        }
        let cell = &mut self.0[column];
        cell.0 += 1;
        cell.1 += size;
    }

    fn merge(&mut self, other: &Cells) {
        if self.0.is_empty() {
            self.0 = vec![(0, 0); other.0.len()];
        }
        for (cell, more) in self.0.iter_mut().zip(&other.0) {
            cell.0 += more.0;
            cell.1 += more.1;
        }
    }

    fn lines(&self) -> u64 {
        self.0.iter().map(|cell| cell.0).sum()
    }

    fn bytes(&self) -> u64 {
        self.0.iter().map(|cell| cell.1).sum()
    }

    /// Biggest first: by bytes, then by lines.
    fn weight(&self) -> Reverse<(u64, u64)> {
        Reverse((self.bytes(), self.lines()))
    }

    fn get(&self, column: usize) -> (u64, u64) {
        self.0.get(column).copied().unwrap_or_default()
    }
}

/// A row kept among the biggest: by size, the earlier first on a tie.
struct Big<R> {
    size: u64,
    order: Reverse<u64>,
    row: R,
}

impl<R> PartialEq for Big<R> {
    fn eq(&self, other: &Self) -> bool {
        (self.size, self.order) == (other.size, other.order)
    }
}
impl<R> Eq for Big<R> {}
impl<R> PartialOrd for Big<R> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<R> Ord for Big<R> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.size, self.order).cmp(&(other.size, other.order))
    }
}

pub struct Rollup<R> {
    columns: &'static [Column],
    /// Per level (the first is the folders at the top), each folder's
    /// counts, everything below it included.
    levels: Vec<BTreeMap<String, Cells>>,
    /// Levels still counted: fewer than [`DEPTH`] once [`FOLDERS`] were reached.
    depth: usize,
    /// Folders counted at most ([`FOLDERS`]).
    cap: usize,
    /// Entries at the top level, in no folder.
    top: Cells,
    /// Folders at the top level past the cap, together.
    uncounted: Cells,
    total: Cells,
    biggest: BinaryHeap<Reverse<Big<R>>>,
    rows: u64,
}

impl<R: Row> Rollup<R> {
    pub fn new(columns: &'static [Column]) -> Rollup<R> {
        Rollup {
            columns,
            levels: vec![BTreeMap::new()],
            depth: DEPTH,
            cap: FOLDERS,
            top: Cells::default(),
            uncounted: Cells::default(),
            total: Cells::default(),
            biggest: BinaryHeap::new(),
            rows: 0,
        }
    }

    pub fn add(&mut self, row: R) {
        let (columns, column, size) = (self.columns.len(), row.column(), row.bytes());
        self.total.add(columns, column, size);
        let path = row.path();
        // Its folders, from the top: a folder's own line counts in it.
        let ends = path.match_indices('/').map(|(i, _)| i);
        let whole = (row.is_dir() && !path.is_empty()).then_some(path.len());
        let mut folders = ends.chain(whole).map(|end| &path[..end]).peekable();
        if folders.peek().is_none() {
            self.top.add(columns, column, size);
        }
        for (level, folder) in folders.enumerate() {
            if level >= self.depth {
                break;
            }
            if level == self.levels.len() {
                self.levels.push(BTreeMap::new());
            }
            if let Some(cells) = self.levels[level].get_mut(folder) {
                cells.add(columns, column, size);
                continue;
            }
            // A new folder past the cap: give up the deepest levels rather
            // than the whole rollup (each kept level stays exact).
            while self.folders() >= self.cap && self.levels.len() > 1 {
                self.levels.pop();
                self.depth = self.levels.len();
            }
            if level >= self.depth {
                break;
            }
            if self.folders() >= self.cap {
                self.uncounted.add(columns, column, size);
                break;
            }
            let cells = self.levels[level].entry(folder.to_string()).or_default();
            cells.add(columns, column, size);
        }
        self.rows += 1;
        if size > 0 {
            let order = Reverse(self.rows);
            self.biggest.push(Reverse(Big { size, order, row }));
            if self.biggest.len() > BIGGEST {
                self.biggest.pop();
            }
        }
    }

    fn folders(&self) -> usize {
        self.levels.iter().map(BTreeMap::len).sum()
    }

    pub fn write(self, out: &mut dyn Write, palette: Palette, see_all: &str) -> io::Result<()> {
        writeln!(
            out,
            "  {} rolled up by folder, the biggest first ({see_all}):",
            count(self.rows, "line"),
        )?;
        self.table()
            .write(out, self.columns, &self.total, palette)?;
        let mut biggest: Vec<Big<R>> = self.biggest.into_iter().map(|big| big.0).collect();
        biggest.sort_by(|a, b| b.cmp(a));
        if !biggest.is_empty() {
            writeln!(out, "  the {} biggest:", biggest.len())?;
            let width = biggest
                .iter()
                .map(|big| big.row.shown_path().chars().count())
                .max()
                .unwrap_or(0);
            for big in &biggest {
                big.row.write(out, width, palette)?;
            }
        }
        Ok(())
    }

    /// The folder rows: as many levels as fit a screen, each folder's
    /// children below it, biggest first.
    fn table(&self) -> Table {
        let top = usize::from(!self.top.0.is_empty());
        let mut rows = top + self.levels[0].len();
        let mut depth = 1;
        while depth < self.levels.len() && rows + self.levels[depth].len() <= SCREEN {
            rows += self.levels[depth].len();
            depth += 1;
        }
        let mut table = Table::default();
        let mut tops: Vec<(&String, &Cells)> = self.levels[0].iter().collect();
        tops.sort_by_key(|(name, cells)| (cells.weight(), *name));
        let mut more = self.uncounted.clone();
        let uncounted = !self.uncounted.0.is_empty();
        let mut hidden = 0;
        if tops.len() + usize::from(uncounted) > SCREEN - top {
            for (_, cells) in tops.drain((SCREEN - top - 1).min(tops.len())..) {
                more.merge(cells);
                hidden += 1;
            }
        }
        for (name, cells) in tops {
            self.folder(&mut table, 0, depth, name, cells);
        }
        if !self.top.0.is_empty() {
            table
                .rows
                .push(("(top level)".to_string(), self.top.clone()));
        }
        // Folders past the cap were never told apart, so not counted.
        match (hidden, uncounted) {
            (0, false) => {}
            (_, true) => table.rows.push(("... more folders".to_string(), more)),
            // At least two: one would have fitted in this row's place.
            (n, false) => table
                .rows
                .push((format!("... {} more folders", grouped(n)), more)),
        }
        table
    }

    fn folder(&self, table: &mut Table, level: usize, depth: usize, name: &str, cells: &Cells) {
        let indent = "  ".repeat(level);
        table
            .rows
            .push((format!("{indent}{}/", display(name)), cells.clone()));
        if level + 1 >= depth {
            return;
        }
        let prefix = format!("{name}/");
        let mut children: Vec<(&String, &Cells)> = self.levels[level + 1]
            .range(prefix.clone()..)
            .take_while(|(child, _)| child.starts_with(&prefix))
            .collect();
        children.sort_by_key(|(child, cells)| (cells.weight(), *child));
        for (child, cells) in children {
            self.folder(table, level + 1, depth, child, cells);
        }
    }
}

/// Folder rows, each a name and its counts.
#[derive(Default)]
struct Table {
    rows: Vec<(String, Cells)>,
}

impl Table {
    /// One column per kind of line the job has, aligned: `+ 1,200 3.1 MiB`
    /// (bytes only for kinds that move any).
    fn write(
        &self,
        out: &mut dyn Write,
        columns: &[Column],
        total: &Cells,
        palette: Palette,
    ) -> io::Result<()> {
        let shown: Vec<usize> = (0..columns.len()).filter(|&c| total.get(c).0 > 0).collect();
        let cell = |cells: &Cells, c: usize, widths: (usize, usize)| {
            let (lines, size) = cells.get(c);
            let sign = columns[c].sign.char();
            match (lines, total.get(c).1) {
                (0, _) => String::new(),
                (_, 0) => format!("{sign} {:>w$}", grouped(lines), w = widths.0),
                _ => format!(
                    "{sign} {:>w$} {:>b$}",
                    grouped(lines),
                    bytes(size),
                    w = widths.0,
                    b = widths.1
                ),
            }
        };
        let numbers: Vec<(usize, usize)> = shown
            .iter()
            .map(|&c| {
                let lines = self
                    .rows
                    .iter()
                    .map(|(_, cells)| grouped(cells.get(c).0).len());
                let size = self
                    .rows
                    .iter()
                    .map(|(_, cells)| bytes(cells.get(c).1).len());
                (lines.max().unwrap_or(0), size.max().unwrap_or(0))
            })
            .collect();
        let header: Vec<String> = shown
            .iter()
            .map(|&c| format!("{} {}", columns[c].sign.char(), columns[c].label))
            .collect();
        let widths: Vec<usize> = shown
            .iter()
            .zip(&numbers)
            .zip(&header)
            .map(|((&c, &n), label)| {
                let cells = self.rows.iter().map(|(_, cells)| cell(cells, c, n).len());
                cells.chain([label.len()]).max().unwrap_or(0)
            })
            .collect();
        let name_width = self
            .rows
            .iter()
            .map(|(name, _)| name.chars().count())
            .chain(["folder".len()])
            .max()
            .unwrap_or(0);
        let line = |name: &str, texts: Vec<String>, out: &mut dyn Write| -> io::Result<()> {
            let last = texts.iter().rposition(|t| !t.is_empty());
            write!(out, "  {name:<name_width$}")?;
            for (i, text) in texts.iter().enumerate().take(last.map_or(0, |l| l + 1)) {
                let sign = columns[shown[i]].sign;
                let padded = match Some(i) == last {
                    true => text.clone(),
                    false => format!("{text:<w$}", w = widths[i]),
                };
                write!(out, "  {}", palette.paint(sign, padded))?;
            }
            writeln!(out)
        };
        line("folder", header, out)?;
        for (name, cells) in &self.rows {
            let texts = shown
                .iter()
                .zip(&numbers)
                .map(|(&c, &n)| cell(cells, c, n))
                .collect();
            line(name, texts, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file (or, ending in `/`, a folder) of `size` bytes, as `+`.
    struct Line(&'static str, u64);

    const COLUMNS: &[Column] = &[Column {
        sign: Sign::Add,
        label: "copy",
    }];

    impl Row for Line {
        fn column(&self) -> usize {
            0
        }
        fn path(&self) -> &str {
            self.0.trim_end_matches('/')
        }
        fn is_dir(&self) -> bool {
            self.0.ends_with('/')
        }
        fn bytes(&self) -> u64 {
            self.1
        }
        fn shown_path(&self) -> String {
            self.0.to_string()
        }
        fn write(&self, out: &mut dyn Write, _: usize, _: Palette) -> io::Result<()> {
            writeln!(out, "  + {}", self.0)
        }
    }

    fn shown(rollup: Rollup<Line>) -> String {
        let mut out = Vec::new();
        let palette = Palette::for_stream(&Vec::<u8>::new());
        rollup.write(&mut out, palette, "see all").unwrap();
        // Each line with its spaces squashed: the alignment is not the point.
        let text = String::from_utf8(out).unwrap();
        let lines = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
        lines.collect::<Vec<_>>().join("\n") + "\n"
    }

    #[test]
    fn a_folder_counts_everything_below_it_and_its_own_line() {
        let mut rollup = Rollup::new(COLUMNS);
        for line in [
            Line("a/", 0),
            Line("a/b/c", 5),
            Line("a/d", 1),
            Line("top", 2),
        ] {
            rollup.add(line);
        }
        let text = shown(rollup);
        assert!(text.contains("\na/ + 3 6 B\na/b/ + 1 5 B\n"), "{text}");
        assert!(text.contains("\n(top level) + 1 2 B\n"), "{text}");
    }

    #[test]
    fn past_the_cap_the_deepest_level_is_given_up_and_never_counted_again() {
        let mut rollup = Rollup::new(COLUMNS);
        rollup.cap = 3;
        for line in [
            Line("a/x/1", 1),
            Line("b/y/1", 1),
            Line("c/z/1", 1),
            Line("a/w/1", 1),
        ] {
            rollup.add(line);
        }
        // `c/` took the place of the second level; `a/w` is not counted apart.
        assert_eq!((rollup.depth, rollup.levels.len()), (1, 1));
        assert_eq!(rollup.levels[0]["a"].get(0), (2, 2));
        for line in [Line("d/1", 1), Line("e/1", 1)] {
            rollup.add(line);
        }
        let text = shown(rollup);
        assert!(text.contains("\n... more folders + 2 2 B\n"), "{text}");
        assert!(text.starts_with("6 lines rolled up"), "{text}");
    }

    #[test]
    fn more_top_folders_than_a_screen_end_in_a_line_for_the_rest() {
        let mut rollup = Rollup::new(COLUMNS);
        let names: Vec<&'static str> = (0..50)
            .map(|i| &*Box::leak(format!("f{i:02}/file").into_boxed_str()))
            .collect();
        for (i, name) in names.into_iter().enumerate() {
            rollup.add(Line(name, 100 + i as u64));
        }
        let text = shown(rollup);
        // The biggest first, 39 of them, then the 11 smallest together.
        assert!(text.contains("\nfolder + copy\nf49/ + 1 149 B\n"), "{text}");
        assert!(
            text.contains("\nf11/ + 1 111 B\n... 11 more folders + 11 1.1 KiB\n"),
            "{text}"
        );
        assert!(!text.contains("f10/"), "{text}");
    }
}
