//! The lines of one job, printed whole while they fit a review and rolled
//! up by folder past that. Memory stays bounded whatever the number of
//! lines: a window of [`THRESHOLD`] rows, then the rollup's counters.

use std::io::{self, Write};

use super::rollup::{Column, Rollup};
use super::style::Palette;

/// Past this many lines a job is rolled up (unless every line is asked for).
pub const THRESHOLD: usize = 300;

/// One line of a listing.
pub trait Row {
    /// Which of the listing's columns it counts in.
    fn column(&self) -> usize;
    /// Its path below the target root, as the plan holds it (empty for a
    /// path beside the root): the rollup's folders come from it.
    fn path(&self) -> &str;
    /// Whether the path is a folder (then it counts in that folder's row).
    fn is_dir(&self) -> bool;
    /// The bytes it copies or deletes.
    fn bytes(&self) -> u64;
    /// The path as printed: escaped, folders ending in `/`.
    fn shown_path(&self) -> String;
    /// The line itself, its path padded to `width` characters.
    fn write(&self, out: &mut dyn Write, width: usize, palette: Palette) -> io::Result<()>;
}

/// Every line, or a rollup past the threshold.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    Rollup,
    All,
}

pub struct Listing<R> {
    columns: &'static [Column],
    length: Length,
    palette: Palette,
    window: Vec<R>,
    state: State<R>,
}

enum State<R> {
    /// Still within the window.
    Window,
    /// Every line asked for, past the window: printed as they come, at the
    /// window's width.
    Streaming {
        width: usize,
    },
    Rolled(Box<Rollup<R>>),
}

impl<R: Row> Listing<R> {
    pub fn new(columns: &'static [Column], length: Length, palette: Palette) -> Listing<R> {
        Listing {
            columns,
            length,
            palette,
            window: Vec::new(),
            state: State::Window,
        }
    }

    pub fn push(&mut self, out: &mut dyn Write, row: R) -> io::Result<()> {
        match &mut self.state {
            State::Window if self.window.len() < THRESHOLD => self.window.push(row),
            State::Window => {
                self.window.push(row);
                let window = std::mem::take(&mut self.window);
                self.state = match self.length {
                    Length::All => {
                        let width = width(&window);
                        for row in &window {
                            row.write(out, width, self.palette)?;
                        }
                        State::Streaming { width }
                    }
                    Length::Rollup => {
                        let mut rollup = Box::new(Rollup::new(self.columns));
                        window.into_iter().for_each(|row| rollup.add(row));
                        State::Rolled(rollup)
                    }
                };
            }
            State::Streaming { width } => row.write(out, *width, self.palette)?,
            State::Rolled(rollup) => rollup.add(row),
        }
        Ok(())
    }

    /// Prints what is left; `see_all` says how to see every line of a
    /// rolled-up listing.
    pub fn finish(self, out: &mut dyn Write, see_all: &str) -> io::Result<()> {
        match self.state {
            State::Window => {
                let width = width(&self.window);
                for row in &self.window {
                    row.write(out, width, self.palette)?;
                }
                Ok(())
            }
            State::Streaming { .. } => Ok(()),
            State::Rolled(rollup) => rollup.write(out, self.palette, see_all),
        }
    }
}

fn width<R: Row>(rows: &[R]) -> usize {
    rows.iter()
        .map(|row| row.shown_path().chars().count())
        .max()
        .unwrap_or(0)
}
