//! Colour, as Terraform's: `+` green, `~` yellow, `-` red, `>` cyan. Only
//! where the stream is a terminal (or `CLICOLOR_FORCE` asks for it), never
//! under `NO_COLOR`: the choice is anstream's, made once per stream, and a
//! plain stream gets no escape at all.

use std::fmt;

use anstyle::{AnsiColor, Style};

/// What a line does, by its sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// `+`: something new (a copy of a missing file, a folder, an action a
    /// re-plan added).
    Add,
    /// `~`: something rewritten or changed.
    Change,
    /// `-`: something removed.
    Remove,
    /// `>`: something moved.
    Move,
    /// `!`: left alone.
    Skip,
}

impl Sign {
    pub fn char(self) -> char {
        match self {
            Sign::Add => '+',
            Sign::Change => '~',
            Sign::Remove => '-',
            Sign::Move => '>',
            Sign::Skip => '!',
        }
    }

    fn style(self) -> Style {
        let colour = match self {
            Sign::Add => AnsiColor::Green,
            Sign::Change => AnsiColor::Yellow,
            Sign::Remove => AnsiColor::Red,
            Sign::Move => AnsiColor::Cyan,
            Sign::Skip => return Style::new(),
        };
        Style::new().fg_color(Some(colour.into()))
    }
}

/// Whether a stream shows colour.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    colour: bool,
}

impl Palette {
    pub fn for_stream(stream: &impl anstream::stream::RawStream) -> Palette {
        let choice = anstream::AutoStream::choice(stream);
        Palette {
            colour: choice != anstream::ColorChoice::Never,
        }
    }

    /// `text` in the colour of `sign`.
    pub fn paint<T: fmt::Display>(self, sign: Sign, text: T) -> Painted<T> {
        let style = if self.colour {
            sign.style()
        } else {
            Style::new()
        };
        Painted { style, text }
    }
}

pub struct Painted<T> {
    style: Style,
    text: T,
}

impl<T: fmt::Display> fmt::Display for Painted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An empty style renders as nothing, its reset too.
        write!(f, "{}{}{:#}", self.style, self.text, self.style)
    }
}
