//! The filesystem model hsync shares between the plan and the backends:
//! how a filesystem is named ([`FsSpec`]), what a listing says of an entry,
//! which attributes a copy may preserve, how names are shown and how hsync's
//! own paths are spelt. Plain data with no client behind it, so the plan
//! schema depends on it without depending on any backend.

mod entry;
pub mod lock;
mod name;
mod path;
mod preserve;
mod spec;
mod xattr;

pub use entry::{Attributes, Entry, EntryKind};
pub use name::{display, one_line, parse_display};
pub use path::{
    is_lock_name, is_plan_tag, is_temp_name, join, lock_sibling, parent_and_name, plan_tag,
    staging_tag, temp_sibling, temp_tag,
};
pub use preserve::Preserve;
pub use spec::{FsSpec, HdfsSpec, SyntheticSpec};
pub use xattr::{XAttr, XAttrNamespace};
