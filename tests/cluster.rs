//! The two real HDFS test clusters of `scripts/hdfs`, as tests see them:
//! Hadoop's own FsShell to seed and check them, never hsync's client.
//!
//! Tests that write to cluster b hold [`clusters_in_use`]; the one that
//! stops b's DataNode takes [`outage`] exclusively.

use std::path::Path;
use std::process::Command;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::util::{copies_committed, noise, Dir, Tree};

/// Held shared by tests that need cluster b whole, exclusively by the one
/// that takes its DataNode away.
static OUTAGE: RwLock<()> = RwLock::new(());

/// Shared use of both clusters, excluded while a DataNode is stopped.
pub fn clusters_in_use() -> RwLockReadGuard<'static, ()> {
    OUTAGE
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn outage() -> RwLockWriteGuard<'static, ()> {
    OUTAGE
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/hdfs")
}

/// The script that runs a cluster: `s` and `t`, the Kerberized ones, are
/// `scripts/secure`'s.
pub fn script_of(cluster: &str) -> std::path::PathBuf {
    match cluster {
        "s" | "t" => Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/secure"),
        _ => script(),
    }
}

/// One of the test clusters.
pub struct Cluster {
    /// `a` or `b`, as `scripts/hdfs` names them, or `s` or `t`, the
    /// Kerberized clusters of `scripts/secure`, each in a realm of its own.
    pub name: &'static str,
    pub url: String,
    /// The Hadoop config folder that defines a nameservice URL (`hdfs://ns1`
    /// of Hadoop 3's HA cluster b), from `HSYNC_TEST_HDFS_B_CONFIG`.
    pub config_dir: Option<String>,
}

pub fn cluster(name: &'static str) -> Cluster {
    let var = format!("HSYNC_TEST_HDFS_{}", name.to_uppercase());
    let url = std::env::var(&var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: these tests need the real HDFS test clusters. Run the suite with \
             scripts/test, or `scripts/hdfs start && eval \"$(scripts/hdfs env)\"` first."
        )
    });
    let config_dir = std::env::var(format!("{var}_CONFIG")).ok();
    Cluster {
        name,
        url,
        config_dir,
    }
}

/// Whether the clusters run Hadoop 3 (`HSYNC_HADOOP` of `scripts/hdfs env`).
pub fn hadoop3() -> bool {
    std::env::var("HSYNC_HADOOP").is_ok_and(|v| v.starts_with('3'))
}

/// A folder on both clusters that no other test (or earlier run) uses.
pub fn unique_root(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .subsec_nanos();
    format!("/t/{test}-{}-{nanos}", std::process::id())
}

impl Cluster {
    pub fn alias(&self, path: &str) -> String {
        format!("{}:{path}", self.name)
    }

    /// Hadoop's FsShell on this cluster; panics with its output on failure.
    pub fn shell(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.shell_bytes(args)).into_owned()
    }

    /// [`Cluster::shell`]'s output as bytes (`-cat` of binary files).
    pub fn shell_bytes(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new(script_of(self.name))
            .arg("shell")
            .arg(self.name)
            .args(args)
            .output()
            .expect("scripts/hdfs runs");
        assert!(
            out.status.success(),
            "FsShell {args:?} on {} failed:\n{}\n{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Sets the erasure-coding policy of the folder `dir` (Hadoop 3).
    pub fn set_ec_policy(&self, dir: &str, policy: &str) {
        self.tool("ec", &["-setPolicy", "-path", dir, "-policy", policy]);
    }

    /// Makes the empty folder `dir` an encryption zone under the bed's key
    /// (Hadoop 3: `HSYNC_TEST_ZONE_KEY`, in the cluster's keystore file).
    pub fn encryption_zone(&self, dir: &str) {
        let key = std::env::var("HSYNC_TEST_ZONE_KEY").expect("the bed's zone key (Hadoop 3)");
        self.tool("crypto", &["-createZone", "-keyName", &key, "-path", dir]);
    }

    /// One of `scripts/hdfs`'s Hadoop tools on this cluster; panics with
    /// its output on failure.
    fn tool(&self, tool: &str, args: &[&str]) {
        let out = Command::new(script())
            .args([tool, self.name])
            .args(args)
            .output()
            .expect("scripts/hdfs runs");
        assert!(
            out.status.success(),
            "{tool} {args:?} on {} failed:\n{}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Copies a local folder to `remote` (which must not exist) with FsShell.
    pub fn put(&self, local: &Path, remote: &str) {
        self.put_with(&[], local, remote);
    }

    /// [`Cluster::put`] with `-put` flags (`-p` keeps times and modes).
    pub fn put_with(&self, flags: &[&str], local: &Path, remote: &str) {
        let parent = remote.rsplit_once('/').map_or("/", |(p, _)| p);
        self.shell(&["-mkdir", "-p", parent]);
        let local = local.display().to_string();
        let mut args = vec!["-put"];
        args.extend_from_slice(flags);
        args.extend([local.as_str(), remote]);
        self.shell(&args);
    }

    /// The tree at `remote`, fetched by FsShell and listed locally.
    pub fn tree(&self, remote: &str, scratch: &Dir) -> Tree {
        let local = scratch.join(&format!(
            "fetched-{}{}",
            self.name,
            remote.replace('/', "_")
        ));
        let _ = std::fs::remove_dir_all(&local);
        self.shell(&["-get", remote, &local.display().to_string()]);
        Tree::read(&local)
    }

    /// `-stat FORMAT` of one path.
    pub fn stat(&self, format: &str, path: &str) -> String {
        self.shell(&["-stat", format, path]).trim().to_string()
    }

    /// Every path below `remote`, from `-ls -R`.
    pub fn paths(&self, remote: &str) -> Vec<String> {
        self.shell(&["-ls", "-R", remote])
            .lines()
            .filter_map(|line| line.find(" /").map(|i| line[i + 1..].to_string()))
            .collect()
    }

    pub fn exists(&self, path: &str) -> bool {
        let status = Command::new(script_of(self.name))
            .args(["shell", self.name, "-test", "-e", path])
            .status()
            .expect("scripts/hdfs runs");
        status.success()
    }

    /// Every file below `remote` with its size, from `-ls -R` (NameNode only:
    /// works while the DataNode is down). Paths are relative to `remote`.
    pub fn sizes(&self, remote: &str) -> Vec<(String, u64)> {
        self.shell(&["-ls", "-R", remote])
            .lines()
            .filter(|line| line.starts_with('-'))
            .filter_map(|line| {
                let path = &line[line.find(" /")? + 1..];
                let size = line.split_whitespace().nth(4)?.parse().ok()?;
                let relative = path.strip_prefix(remote)?.trim_start_matches('/');
                Some((relative.to_string(), size))
            })
            .collect()
    }
}

impl Cluster {
    /// The manifest's `[clusters.NAME]` table for this cluster.
    pub fn manifest_table(&self, user: Option<&str>) -> String {
        let mut table = format!("[clusters.{}]\nurl = {:?}\n", self.name, self.url);
        if let Some(dir) = &self.config_dir {
            table += &format!("config_dir = {dir:?}\n");
        }
        if let Some(user) = user {
            table += &format!("user = {user:?}\n");
        }
        table
    }

    /// How hsync's storage layer reaches this cluster.
    pub fn spec(&self) -> hsync_storage::HdfsSpec {
        hsync_storage::HdfsSpec {
            url: self.url.clone(),
            config_dir: self.config_dir.clone(),
            ..Default::default()
        }
    }
}

/// The manifest header that names both clusters; `b_user` acts on b.
pub fn clusters(a: &Cluster, b: &Cluster, b_user: Option<&str>) -> String {
    format!("{}\n{}\n", a.manifest_table(None), b.manifest_table(b_user))
}

/// A throttled apply from a to b in flight: `files` files of 512 KiB in
/// `ROOT/src` on a (also in `dir`'s `src`), planned to `ROOT/dst` on b with
/// 2 transfers at `bandwidth`, started in the background (output in
/// `dir`'s `apply.stdout` and `apply.stderr`) and returned once it has
/// committed 4 copies, with its journal.
pub fn slow_apply_committing(
    dir: &Dir,
    root: &str,
    files: u64,
    bandwidth: &str,
) -> (std::process::Child, std::path::PathBuf) {
    let (a, b) = (cluster("a"), cluster("b"));
    for i in 0..files {
        dir.create(&format!("src/part-{i:02}.bin"), noise(512 * 1024, 100 + i));
    }
    a.put(&dir.join("src"), &format!("{root}/src"));
    dir.manifest(&format!(
        "{}[[job]]\nname = \"slow\"\nsources = [{:?}]\ntarget = {:?}\nmode = \"update\"\n\
         parallel = 2\nbandwidth = {bandwidth:?}\n",
        clusters(&a, &b, None),
        a.alias(&format!("{root}/src")),
        b.alias(&format!("{root}/dst")),
    ));
    let plan = dir.plan();
    let fingerprint = plan["fingerprint"].as_str().expect("a fingerprint");
    let journal = dir.join(&format!(".hsync/{fingerprint}/shard-0.jsonl"));
    let mut child = dir.hsync(["apply", "plan.json"]).spawn(dir, "apply");
    let started = std::time::Instant::now();
    while copies_committed(&journal) < 4 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the apply committed nothing in 60 s"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the apply ended before it had committed 4 copies"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (child, journal)
}
