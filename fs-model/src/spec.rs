use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which filesystem a path lives on, as a plan records it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum FsSpec {
    Local,
    Hdfs(HdfsSpec),
    /// A generated tree (`hsync_storage::SyntheticStorage`), for benchmarks.
    Synthetic(SyntheticSpec),
}

/// A synthetic tree: its URL holds all there is to it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSpec {
    /// `synthetic://NAME?files=N&...`, its parameters in one order.
    pub url: String,
    /// The name the manifest declares it by, for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// How to reach one HDFS cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HdfsSpec {
    /// `hdfs://host:port` or `hdfs://nameservice`.
    pub url: String,
    /// The name the manifest declares the cluster by, for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The user to act as (SIMPLE authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A folder of Hadoop XML configuration (`core-site.xml`, `hdfs-site.xml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_dir: Option<String>,
    /// Hadoop configuration keys (HA name services, failover, Kerberos...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// Kerberos, passed through to hdfs-native: the principal to log in as,
    /// from a keytab or an existing ticket cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kerberos_principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kerberos_keytab: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kerberos_cache: Option<String>,
}

impl FsSpec {
    /// A short name for messages: `local` or the cluster (or tree) URL.
    pub fn describe(&self) -> &str {
        match self {
            FsSpec::Local => "local",
            FsSpec::Hdfs(hdfs) => &hdfs.url,
            FsSpec::Synthetic(tree) => &tree.url,
        }
    }

    /// Whether both name the same filesystem: the local one, or one HDFS
    /// cluster by its URL whatever the user or settings used to reach it.
    pub fn is_same_filesystem(&self, other: &FsSpec) -> bool {
        match (self, other) {
            (FsSpec::Local, FsSpec::Local) => true,
            (FsSpec::Hdfs(a), FsSpec::Hdfs(b)) => a.cluster() == b.cluster(),
            (FsSpec::Synthetic(a), FsSpec::Synthetic(b)) => a.url == b.url,
            _ => false,
        }
    }
}

/// The NameNode's RPC port when a URL names none.
const DEFAULT_NAMENODE_PORT: &str = ":8020";

impl HdfsSpec {
    /// The cluster a URL names: its authority, without case or the default port.
    fn cluster(&self) -> String {
        let authority = self.url.strip_prefix("hdfs://").unwrap_or(&self.url);
        let authority = authority.trim_end_matches('/').to_ascii_lowercase();
        match authority.strip_suffix(DEFAULT_NAMENODE_PORT) {
            Some(host) => host.to_string(),
            None => authority,
        }
    }

    /// How messages name the cluster: `` `prod` (hdfs://nn1:8020) `` or the URL.
    pub fn describe(&self) -> String {
        match &self.alias {
            Some(alias) => format!("`{alias}` ({})", self.url),
            None => self.url.clone(),
        }
    }
}
