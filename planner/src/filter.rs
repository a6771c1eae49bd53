//! Which source paths a job takes: DistCp+'s per-depth include filter and
//! plain exclude regexes.

use regex::Regex;

/// `include` is split on `/` into one sub-expression per depth below the
/// source root; a name at depth `d` must match sub-expression `d` whole. A
/// folder matching the last sub-expression is taken whole. `exclude`
/// regexes are searched in the whole path below the root.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl PathFilter {
    pub fn new(include: Option<&str>, exclude: &[String]) -> Result<PathFilter, regex::Error> {
        let include = match include {
            Some(text) => text
                .split('/')
                .map(|part| {
                    // On its own first: `a)|(?:b` would otherwise pair with
                    // the anchoring group and stop matching whole names.
                    Regex::new(part)?;
                    Regex::new(&format!("^(?:{part})$"))
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let exclude = exclude
            .iter()
            .map(|e| Regex::new(e))
            .collect::<Result<_, _>>()?;
        Ok(PathFilter { include, exclude })
    }

    /// Whether the entry at `relative` (below the source root) is taken;
    /// for a directory, whether it is listed at all.
    pub fn admits(&self, relative: &str) -> bool {
        if self.exclude.iter().any(|e| e.is_match(relative)) {
            return false;
        }
        let depth = relative.split('/').count();
        let name = relative.rsplit('/').next().unwrap_or(relative);
        match self.include.get(depth - 1) {
            Some(pattern) => pattern.is_match(name),
            None => true,
        }
    }

    /// [`PathFilter::admits`] for the entry `name` of the folder `parent`:
    /// with no filter, without spelling out its path.
    pub fn admits_entry(&self, parent: &str, name: &str) -> bool {
        if self.include.is_empty() && self.exclude.is_empty() {
            return true;
        }
        self.admits(&crate::listing::join_relative(parent, name))
    }

    /// Whether a directory at `relative` only leads towards deeper matches
    /// (it is above the last include depth), so it is worth creating only if
    /// something below it is taken.
    pub fn is_partial(&self, relative: &str) -> bool {
        relative.split('/').count() < self.include.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs_filter() -> PathFilter {
        PathFilter::new(Some("server1|server2/today|yesterday"), &[]).unwrap()
    }

    #[test]
    fn include_matches_one_sub_expression_per_depth() {
        let f = logs_filter();
        assert!(f.admits("server1"));
        assert!(f.admits("server1/yesterday"));
        assert!(f.admits("server2/today"));
        assert!(!f.admits("yesterday"));
        assert!(!f.admits("server3"));
        assert!(!f.admits("server1/tomorrow"));
    }

    #[test]
    fn include_sub_expressions_match_whole_names() {
        let f = logs_filter();
        assert!(!f.admits("server10"));
        assert!(!f.admits("server1/today-old"));
    }

    #[test]
    fn a_folder_matching_the_last_sub_expression_is_taken_whole() {
        let f = logs_filter();
        assert!(f.admits("server1/today/anything/deeper.log"));
        assert!(f.is_partial("server1"));
        assert!(!f.is_partial("server1/today"));
    }

    #[test]
    fn each_include_sub_expression_must_be_a_regex_on_its_own() {
        assert!(PathFilter::new(Some("a)|(?:b"), &[]).is_err());
        assert!(PathFilter::new(Some("server(1/2)"), &[]).is_err());
    }

    #[test]
    fn exclude_searches_the_whole_relative_path() {
        let f = PathFilter::new(None, &[r"\.tmp$".to_string(), "^scratch/".to_string()]).unwrap();
        assert!(!f.admits("a/b/file.tmp"));
        assert!(!f.admits("scratch/x"));
        assert!(f.admits("a/file.txt"));
        assert!(f.admits("scratch"));
    }
}
