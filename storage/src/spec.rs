use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which filesystem a path lives on, as a plan records it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum FsSpec {
    Local,
    Hdfs(HdfsSpec),
}

/// How to reach one HDFS cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HdfsSpec {
    /// `hdfs://host:port` or `hdfs://nameservice`.
    pub url: String,
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
    /// A short name for messages: `local` or the cluster URL.
    pub fn describe(&self) -> &str {
        match self {
            FsSpec::Local => "local",
            FsSpec::Hdfs(hdfs) => &hdfs.url,
        }
    }
}
