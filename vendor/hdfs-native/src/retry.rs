//! hsync patch: a caller can be told of each retry of a NameNode call, to
//! say which NameNode it is waiting for instead of waiting in silence.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::HdfsError;

/// One failed NameNode call about to be tried again.
#[derive(Debug)]
pub struct RetryNotice<'a> {
    /// The NameNode (`host:port`) the failed call went to.
    pub address: &'a str,
    /// Which retry this is, from 1.
    pub retry: u32,
    /// How many retries there are at most (`dfs.client.failover.max.attempts`).
    pub max_retries: u32,
    /// How long the client waits before it.
    pub wait: Duration,
    pub error: &'a HdfsError,
}

/// Called with each [`RetryNotice`], from the task making the call.
#[derive(Clone)]
pub struct RetryListener(pub Arc<dyn Fn(&RetryNotice<'_>) + Send + Sync>);

impl fmt::Debug for RetryListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RetryListener")
    }
}
