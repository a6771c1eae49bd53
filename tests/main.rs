//! Integration tests: the real `hsync` binary on temporary trees, each test
//! named after the rule it checks. `util` is the harness; every module but
//! `hdfs`, `hdfs_conformance`, `hdfs_ec`, `hdfs_faults`, `hdfs_ha`,
//! `hdfs_yarn` and `incremental` (which need the test clusters of
//! `scripts/hdfs`, and its YARN bed) is local only; `synthetic` needs no
//! filesystem at all.

mod apply;
mod arguments;
mod cluster;
mod distributed;
mod faults;
mod filters;
mod hdfs;
mod hdfs_conformance;
mod hdfs_distributed;
mod hdfs_ec;
mod hdfs_faults;
mod hdfs_ha;
mod hdfs_secure;
mod hdfs_yarn;
mod incremental;
mod interrupt;
mod lock;
mod model;
mod modes;
mod overlap;
mod plan_file;
mod resume;
mod review;
mod special;
mod synthetic;
mod unreachable;
mod util;
mod vendor;
