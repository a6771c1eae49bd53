//! Path helpers shared by every backend: paths are absolute `/`-separated
//! strings on every filesystem, so one set of rules serves all.

/// Joins a root and a relative path (`""` is the root itself).
pub fn join(root: &str, relative: &str) -> String {
    match (root.trim_end_matches('/'), relative) {
        ("", "") => "/".to_string(),
        (root, "") => root.to_string(),
        (root, rel) => {
            let mut path = String::with_capacity(root.len() + 1 + rel.len());
            path.push_str(root);
            path.push('/');
            path.push_str(rel);
            path
        }
    }
}

/// Splits `/a/b/c` into (`/a/b`, `c`).
pub fn parent_and_name(path: &str) -> (&str, &str) {
    let path = path.trim_end_matches('/');
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

const TEMP_MARK: &str = ".hsync-tmp.";

/// The temporary name a file is written under before it is renamed into
/// place: a hidden sibling, so the rename stays inside one directory (and one
/// filesystem) and is atomic. `tag` ties it to the plan that wrote it.
pub fn temp_sibling(path: &str, tag: &str) -> String {
    let (parent, name) = parent_and_name(path);
    join(parent, &format!(".{name}{TEMP_MARK}{tag}"))
}

/// The tag of a plan: what ties temporary names to it (the start of its
/// fingerprint).
pub fn plan_tag(fingerprint: &str) -> &str {
    fingerprint.get(..TAG_LEN).unwrap_or(fingerprint)
}

const TAG_LEN: usize = 16;

/// Whether `tag` is one [`plan_tag`] gives (16 lowercase hex digits), so
/// that a name built from it is one of hsync's own and nothing else.
pub fn is_plan_tag(tag: &str) -> bool {
    tag.len() == TAG_LEN && tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The tag of one of hsync's temporary names (`.NAME.hsync-tmp.TAG`, or
/// `.NAME.hsync-tmp.run-TAG` for a distributed apply's run folder).
pub fn temp_tag(name: &str) -> Option<&str> {
    let tag = name.rsplit(TEMP_MARK).next().unwrap_or_default();
    is_temp_name(name).then(|| tag.strip_prefix(RUN_MARK).unwrap_or(tag))
}

/// What marks a distributed apply's run folder among temporary names.
pub(crate) const RUN_MARK: &str = "run-";

/// The tag of an atomic apply's staging folder of `root` named `name`
/// (`.ROOTNAME.hsync-tmp.TAG`, beside the root), or `None` for any other name.
pub fn staging_tag<'a>(root: &str, name: &'a str) -> Option<&'a str> {
    let (_, root_name) = parent_and_name(root);
    let tag = name
        .strip_prefix('.')?
        .strip_prefix(root_name)?
        .strip_prefix(TEMP_MARK)?;
    is_plan_tag(tag).then_some(tag)
}

/// Whether a name is one of hsync's own (a temporary file of any plan, a
/// staging folder or a lock): never part of a listing.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TEMP_MARK)
}

/// The lock file beside a target root: hidden, and marked as hsync's own.
pub fn lock_sibling(path: &str) -> String {
    temp_sibling(path, "lock")
}

/// Whether a name is a lock file; unlike other temporary names, one found in
/// a listing may belong to a run in progress and is never cleaned up.
pub fn is_lock_name(name: &str) -> bool {
    is_temp_name(name) && name.ends_with(&format!("{TEMP_MARK}lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_handles_root_and_empty_relative() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/data/", "a/b"), "/data/a/b");
        assert_eq!(join("/data", ""), "/data");
        assert_eq!(join("/", ""), "/");
    }

    #[test]
    fn temp_sibling_stays_in_the_same_directory() {
        let temp = temp_sibling("/dst/a/file.txt", "abc123");
        assert_eq!(temp, "/dst/a/.file.txt.hsync-tmp.abc123");
        assert_eq!(parent_and_name(&temp).0, "/dst/a");
        assert!(is_temp_name(parent_and_name(&temp).1));
        assert!(!is_temp_name("file.txt"));
        assert_eq!(temp_tag(parent_and_name(&temp).1), Some("abc123"));
    }

    #[test]
    fn only_a_staging_sibling_of_the_root_has_a_staging_tag() {
        let tag = "0123456789abcdef";
        let staging = temp_sibling("/out/target", tag);
        assert_eq!(
            staging_tag("/out/target", parent_and_name(&staging).1),
            Some(tag)
        );
        for other in [
            ".target.hsync-tmp.lock",
            ".target.hsync-tmp.0123",
            ".targetx.hsync-tmp.0123456789abcdef",
            ".other.hsync-tmp.0123456789abcdef",
            "target",
        ] {
            assert_eq!(staging_tag("/out/target", other), None, "{other}");
        }
    }
}
