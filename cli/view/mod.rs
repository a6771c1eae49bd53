//! What people read: the views of plans and applies, apart from the
//! planner and the executor that decide and do. Every name goes through
//! `hsync_storage::display` (file contents through `one_line`), so nothing
//! read from a filesystem can forge a line or drive the terminal.

pub mod apply;
pub mod chunks;
pub mod compare;
pub mod content;
pub mod listing;
pub mod plan;
mod rollup;
pub mod style;
pub mod units;
mod words;
