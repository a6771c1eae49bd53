//! The manifest as written: TOML shapes with their source spans, before
//! any meaning is given to them.

use std::collections::BTreeMap;

use hsync_plan::{Commit, Compare, IncrementalBy, Layout, Mode, Preserve, Symlinks};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    #[serde(default)]
    pub clusters: BTreeMap<String, Spanned<RawCluster>>,
    #[serde(default)]
    pub job: Vec<Spanned<RawJob>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub url: Spanned<String>,
    pub user: Option<String>,
    pub config_dir: Option<String>,
    pub kerberos_principal: Option<String>,
    pub kerberos_keytab: Option<String>,
    pub kerberos_cache: Option<String>,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJob {
    pub name: Spanned<String>,
    pub sources: Option<Spanned<Vec<Spanned<String>>>>,
    pub source_list: Option<Spanned<String>>,
    pub target: Spanned<String>,
    pub mode: Option<Spanned<Mode>>,
    pub layout: Option<Spanned<Layout>>,
    pub compare: Option<Spanned<Vec<Compare>>>,
    pub delete: Option<Spanned<bool>>,
    pub include: Option<Spanned<String>>,
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    #[serde(default)]
    pub preserve: Vec<Spanned<Preserve>>,
    pub commit: Option<Spanned<Commit>>,
    pub parallel: Option<Spanned<usize>>,
    pub bandwidth: Option<Spanned<String>>,
    pub incremental: Option<Spanned<IncrementalBy>>,
    pub keep_snapshots: Option<Spanned<usize>>,
    pub symlinks: Option<Spanned<Symlinks>>,
}
