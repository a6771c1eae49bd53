//! Where a manifest path points: the local filesystem, an HDFS URL, a
//! synthetic tree's URL, or a cluster alias (`prod:/data`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use hsync_storage::{FsSpec, HdfsSpec, Shape, SyntheticSpec, UrlError, SYNTHETIC_SCHEME};

/// A parsed location: a filesystem and an absolute path on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub fs: FsSpec,
    pub path: String,
}

/// Why a location string was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum LocationError {
    UnknownAlias(String),
    BadUrl(String),
    /// A `synthetic://` URL refused, with where in the text.
    BadSynthetic(UrlError),
}

/// Parses `text`, resolving relative local paths against `base` (the
/// manifest's folder) and aliases against `clusters`.
pub fn parse(
    text: &str,
    base: &Path,
    clusters: &BTreeMap<String, FsSpec>,
) -> Result<Location, LocationError> {
    if text.starts_with(SYNTHETIC_SCHEME) {
        let (spec, path) = synthetic(text).map_err(LocationError::BadSynthetic)?;
        let fs = FsSpec::Synthetic(spec);
        // Declared as a cluster: its alias names it in messages.
        let known = clusters.values().find(|spec| spec.is_same_filesystem(&fs));
        return Ok(Location {
            fs: known.cloned().unwrap_or(fs),
            path: normalize(&path),
        });
    }
    if let Some(rest) = text.strip_prefix("hdfs://") {
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() {
            return Err(LocationError::BadUrl(text.to_string()));
        }
        let url = format!("hdfs://{authority}");
        let known = clusters.values().find_map(|spec| match spec {
            FsSpec::Hdfs(hdfs) if hdfs.url == url => Some(hdfs.clone()),
            _ => None,
        });
        let spec = known.unwrap_or(HdfsSpec {
            url,
            ..HdfsSpec::default()
        });
        return Ok(Location {
            fs: FsSpec::Hdfs(spec),
            path: normalize(if path.is_empty() { "/" } else { path }),
        });
    }
    if let Some(path) = text.strip_prefix("file://") {
        return Ok(local(Path::new(path), base));
    }
    if let Some((alias, path)) = alias_split(text) {
        return match clusters.get(alias) {
            Some(spec) => Ok(Location {
                fs: spec.clone(),
                path: normalize(path),
            }),
            None => Err(LocationError::UnknownAlias(alias.to_string())),
        };
    }
    Ok(local(Path::new(text), base))
}

/// A synthetic tree's URL as its spec (the parameters in one order)
/// and the path it names (`/` when none).
pub(crate) fn synthetic(url: &str) -> Result<(SyntheticSpec, String), UrlError> {
    let (shape, path) = Shape::parse(url)?;
    let spec = SyntheticSpec {
        url: shape.url(),
        alias: None,
    };
    Ok((spec, path))
}

/// `name:/path` where `name` looks like an alias (letters, digits, `-`, `_`).
fn alias_split(text: &str) -> Option<(&str, &str)> {
    let (alias, path) = text.split_once(':')?;
    let looks_like_alias = !alias.is_empty()
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && path.starts_with('/');
    looks_like_alias.then_some((alias, path))
}

fn local(path: &Path, base: &Path) -> Location {
    Location {
        fs: FsSpec::Local,
        path: local_path(path, base),
    }
}

/// A local path, absolute (against `base`) and normalised.
pub(crate) fn local_path(path: &Path, base: &Path) -> String {
    let absolute: PathBuf = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    normalize(&absolute.to_string_lossy())
}

/// Removes `.`, `..` and repeated slashes without touching the filesystem
/// (a target may not exist yet).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().unwrap_or_default()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clusters() -> BTreeMap<String, FsSpec> {
        let spec = HdfsSpec {
            url: "hdfs://nn1:8020".into(),
            ..HdfsSpec::default()
        };
        BTreeMap::from([("prod".to_string(), FsSpec::Hdfs(spec))])
    }

    #[test]
    fn relative_local_paths_resolve_against_the_manifest_folder() {
        let loc = parse("data/../src/a", Path::new("/work/repo"), &clusters()).unwrap();
        assert_eq!(
            loc,
            Location {
                fs: FsSpec::Local,
                path: "/work/repo/src/a".into()
            }
        );
    }

    #[test]
    fn an_alias_takes_its_cluster_settings() {
        let loc = parse("prod:/logs//x/", Path::new("/"), &clusters()).unwrap();
        assert_eq!(loc.path, "/logs/x");
        assert!(matches!(loc.fs, FsSpec::Hdfs(ref s) if s.url == "hdfs://nn1:8020"));
    }

    #[test]
    fn an_hdfs_url_names_its_cluster() {
        let loc = parse("hdfs://nn2:9000/a/b", Path::new("/"), &clusters()).unwrap();
        assert_eq!(loc.path, "/a/b");
        assert!(matches!(loc.fs, FsSpec::Hdfs(ref s) if s.url == "hdfs://nn2:9000"));
    }

    #[test]
    fn a_synthetic_url_names_its_tree_and_a_path_in_it() {
        let loc = parse(
            "synthetic://tree/d01?seed=7&files=1000",
            Path::new("/"),
            &clusters(),
        )
        .unwrap();
        assert_eq!(loc.path, "/d01");
        let url = "synthetic://tree?files=1000&fanout=100&seed=7&sizes=4096-65536";
        assert!(matches!(loc.fs, FsSpec::Synthetic(ref s) if s.url == url));
    }

    #[test]
    fn an_unknown_alias_is_refused() {
        let err = parse("dev:/x", Path::new("/"), &clusters()).unwrap_err();
        assert_eq!(err, LocationError::UnknownAlias("dev".into()));
    }
}
