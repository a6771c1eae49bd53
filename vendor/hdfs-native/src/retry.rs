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

/// hsync patch: how a NameNode call is retried before any NameNode of the
/// client has answered ([`crate::ClientBuilder::with_first_contact_retries`]):
/// a cluster that was never reached is given up on sooner than one that
/// answered and is failing over. Its attempts never exceed
/// `dfs.client.failover.max.attempts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries at most.
    pub max_attempts: u32,
    /// The first wait, doubled at each round over the NameNodes.
    pub sleep_base: Duration,
    /// The longest wait.
    pub sleep_max: Duration,
}

/// Called with each [`RetryNotice`], from the task making the call.
#[derive(Clone)]
pub struct RetryListener(pub Arc<dyn Fn(&RetryNotice<'_>) + Send + Sync>);

impl fmt::Debug for RetryListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RetryListener")
    }
}
