//! The HDFS backend, on the native Rust client (`hdfs-native`).

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use hdfs_native::retry::{RetryNotice, RetryPolicy};
use hdfs_native::{Client, ClientBuilder, HdfsError, WriteOptions};

use crate::{
    parent_and_name, Attributes, ChecksumMode, CreateOptions, Entry, EntryKind, ErrorKind,
    FileChecksum, FileReader, FileWriter, HdfsSpec, Result, Storage, StorageError, XAttr,
};

#[derive(Debug)]
pub struct HdfsStorage {
    client: Client,
    /// What errors say about the cluster, shared with its open files.
    naming: Arc<Naming>,
    /// A DataNode answered a `COMPOSITE_CRC` request without one (Hadoop
    /// before 3.1): the cluster is not asked for one again.
    composite_crc_refused: AtomicBool,
    /// The principal, or the SIMPLE user, the manifest names.
    acting_user: Option<String>,
}

/// How errors name a cluster, and what a refusal of its credentials says to do.
#[derive(Debug)]
struct Naming {
    /// The cluster's alias and URL.
    cluster: String,
    /// How the manifest has this cluster authenticate.
    credentials: Credentials,
}

/// The Kerberos settings a cluster's manifest table gives.
#[derive(Debug)]
enum Credentials {
    Keytab {
        principal: String,
        keytab: String,
    },
    Cache(String),
    /// The delegation tokens of a file (a YARN container's), not the
    /// manifest's Kerberos credentials.
    Tokens(String),
    /// Kerberos (if the cluster's config asks for it) from the default
    /// ticket cache, or SIMPLE.
    Default {
        config_dir: bool,
    },
}

impl Credentials {
    fn of(spec: &HdfsSpec) -> Credentials {
        match (
            &spec.kerberos_principal,
            &spec.kerberos_keytab,
            &spec.kerberos_cache,
        ) {
            (principal, Some(keytab), _) => Credentials::Keytab {
                principal: principal.clone().unwrap_or_default(),
                keytab: keytab.clone(),
            },
            (_, None, Some(cache)) => Credentials::Cache(cache.clone()),
            _ => Credentials::Default {
                config_dir: spec.config_dir.is_some(),
            },
        }
    }

    /// What to check when Kerberos found no credentials, or only expired ones.
    fn no_credentials_hint(&self, expired: bool) -> String {
        match self {
            Credentials::Keytab { principal, keytab } => format!(
                "the keytab {keytab} gave none for `{principal}`: is the principal right, and \
                 does the keytab hold its key (`klist -kt {keytab}`)?"
            ),
            // A cache is not renewed by hsync; a keytab is, as often as needed.
            Credentials::Cache(_) | Credentials::Default { .. } if expired => {
                "the ticket has expired: run `kinit` again, then the same command (an apply \
                 resumes where it stopped); with `kerberos_keytab`, hsync renews tickets itself"
                    .to_string()
            }
            Credentials::Cache(cache) => {
                format!("the ticket cache {cache} holds no valid ticket: run `kinit` again")
            }
            Credentials::Tokens(file) => {
                format!("the delegation tokens of {file} are not for this cluster, or have expired")
            }
            Credentials::Default { .. } => "no ticket in the default cache: run `kinit`, or set \
                 `kerberos_principal` and `kerberos_keytab` on the cluster"
                .to_string(),
        }
    }
}

/// GSSAPI's routine errors (RFC 2744) that mean "no usable credentials".
const GSS_S_NO_CRED: u32 = 7;
const GSS_S_CREDENTIALS_EXPIRED: u32 = 11;

impl Naming {
    /// [`hdfs_error`], naming the cluster when it could not be reached or
    /// refused the credentials, with what to do about it.
    fn error(&self, op: &'static str, path: &str, err: HdfsError) -> StorageError {
        let unreachable = matches!(err, HdfsError::IOError(_));
        let refused = match &err {
            HdfsError::GSSAPIError(codes, _, text) => {
                let routine = (codes.raw() >> 16) & 0xff;
                // Kerberos says "Ticket expired" in the minor status of a
                // general failure.
                let expired = routine == GSS_S_CREDENTIALS_EXPIRED || text.contains("expired");
                let text = text.trim();
                if routine == GSS_S_NO_CRED || expired {
                    Some(format!(
                        "Kerberos authentication failed ({text}); {}",
                        self.credentials.no_credentials_hint(expired)
                    ))
                } else {
                    Some(format!("Kerberos authentication failed ({text})"))
                }
            }
            HdfsError::SASLError(text) => Some(format!("SASL negotiation failed: {text}")),
            HdfsError::NoSASLMechanism => Some(
                "the NameNode offers no authentication hsync can use (Kerberos or a token)"
                    .to_string(),
            ),
            _ => None,
        };
        let mut error = hdfs_error(op, path, err);
        if let Some(refused) = refused {
            error.message = format!("cluster {}: {refused}", self.cluster);
        } else if unreachable {
            error.message = format!("cluster {}: {}", self.cluster, error.message);
            // A Kerberized NameNode hangs up on a client that speaks SIMPLE.
            if let Credentials::Default { config_dir: false } = self.credentials {
                if error.message.contains("disconnected") {
                    error.message.push_str(
                        "; if the cluster is Kerberized, give its `config_dir` (where \
                         hadoop.security.authentication = kerberos) and its credentials",
                    );
                }
            }
        }
        error
    }
}

/// hsync's Hadoop settings where the cluster's own config sets none: a
/// NameNode connect may take 5 s (Hadoop: 20 s).
const CONNECT_DEFAULTS: [(&str, &str); 1] = [("ipc.client.connect.timeout", "5000")];

/// Until some NameNode of a cluster has answered, a call is retried 3 times
/// (about 0.4, 0.8 and 1.6 s apart on one NameNode), so a wrong or dead
/// address fails in seconds rather than after minutes of silence. Once one
/// has answered, Hadoop's failover policy applies (`dfs.client.failover.*`,
/// 15 retries of up to 15 s): a failover or restart is ridden out.
const FIRST_CONTACT: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    sleep_base: Duration::from_millis(200),
    sleep_max: Duration::from_millis(2000),
};

impl HdfsStorage {
    /// Connects as the manifest's cluster table says.
    pub fn connect(spec: &HdfsSpec) -> Result<Self> {
        HdfsStorage::open(spec, Credentials::of(spec))
    }

    /// Connects with the delegation tokens of `file`, which hdfs-native
    /// reads from `HADOOP_TOKEN_FILE_LOCATION`, rather than the manifest's
    /// Kerberos credentials (a token is used only without them).
    pub fn connect_with_tokens(spec: &HdfsSpec, file: &str) -> Result<Self> {
        let spec = HdfsSpec {
            kerberos_principal: None,
            kerberos_keytab: None,
            kerberos_cache: None,
            ..spec.clone()
        };
        HdfsStorage::open(&spec, Credentials::Tokens(file.to_string()))
    }

    fn open(spec: &HdfsSpec, credentials: Credentials) -> Result<Self> {
        let cluster = spec.describe();
        let retrying = cluster.clone();
        let mut builder = ClientBuilder::new()
            .with_url(spec.url.clone())
            .with_config_defaults(CONNECT_DEFAULTS)
            .with_first_contact_retries(FIRST_CONTACT)
            .with_retry_listener(move |retry: &RetryNotice| {
                let standby = is_standby(retry.error);
                // Asking the standby first and then the active, as every
                // client of an HA pair does, is no news.
                if standby && retry.wait.is_zero() {
                    return;
                }
                let what = if standby {
                    "is standby (a failover is under way)".to_string()
                } else {
                    format!("did not answer ({})", native_message(retry.error))
                };
                eprintln!(
                    "hsync: cluster {retrying}: the NameNode at {} {what}; retry {} of {} in {:.1} s",
                    retry.address,
                    retry.retry,
                    retry.max_retries,
                    retry.wait.as_secs_f64()
                );
            });
        if !spec.config.is_empty() {
            let config: HashMap<String, String> = spec
                .config
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            builder = builder.with_config(config);
        }
        if let Some(dir) = &spec.config_dir {
            builder = builder.with_config_dir(dir.clone());
        }
        if let Some(user) = &spec.user {
            builder = builder.with_user(user.clone());
        }
        if let Some(principal) = &spec.kerberos_principal {
            builder = builder.with_kerberos_principal(principal.clone());
        }
        if let Some(keytab) = &spec.kerberos_keytab {
            builder = builder.with_kerberos_keytab(keytab.clone());
        }
        if let Some(cache) = &spec.kerberos_cache {
            builder = builder.with_kerberos_cache(cache.clone());
        }
        let client = builder
            .build()
            .map_err(|e| hdfs_error("connect", &spec.url, e))?;
        Ok(HdfsStorage {
            client,
            naming: Arc::new(Naming {
                cluster,
                credentials,
            }),
            composite_crc_refused: AtomicBool::new(false),
            acting_user: spec
                .kerberos_principal
                .clone()
                .or_else(|| spec.user.clone()),
        })
    }

    /// [`hdfs_error`], naming the cluster when it could not be reached or
    /// refused the credentials.
    pub(crate) fn error(&self, op: &'static str, path: &str, err: HdfsError) -> StorageError {
        self.naming.error(op, path, err)
    }

    /// The native client, for the NameNode calls in `namenode.rs`.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Whether a DataNode of this cluster did not offer `COMPOSITE_CRC`.
    pub(crate) fn composite_crc_refused(&self) -> &AtomicBool {
        &self.composite_crc_refused
    }
}

fn hdfs_error(op: &'static str, path: &str, err: HdfsError) -> StorageError {
    let kind = match &err {
        HdfsError::FileNotFound(_) => ErrorKind::NotFound,
        HdfsError::AlreadyExists(_) => ErrorKind::AlreadyExists,
        HdfsError::UnsupportedFeature(_) => ErrorKind::Unsupported,
        HdfsError::IOError(_) | HdfsError::DataTransferError(_) => ErrorKind::Transient,
        HdfsError::GSSAPIError(..) | HdfsError::SASLError(_) | HdfsError::NoSASLMechanism => {
            ErrorKind::Unauthenticated
        }
        HdfsError::RPCError(class, _) if class.contains("AccessControlException") => {
            ErrorKind::PermissionDenied
        }
        HdfsError::RPCError(class, _) if class.contains("FileNotFoundException") => {
            ErrorKind::NotFound
        }
        HdfsError::RPCError(class, _) if class.contains("FileAlreadyExistsException") => {
            ErrorKind::AlreadyExists
        }
        _ => ErrorKind::Other,
    };
    StorageError::new(op, path, kind, native_message(&err))
}

/// The answer of a NameNode that is not the active one.
fn is_standby(err: &HdfsError) -> bool {
    matches!(err, HdfsError::RPCError(exception, _) | HdfsError::FatalRPCError(exception, _)
        if exception == "org.apache.hadoop.ipc.StandbyException")
}

/// What went wrong, in one line: a remote exception carries the NameNode's
/// Java stack trace, and an I/O error needs no "IO error occurred" before it.
fn native_message(err: &HdfsError) -> String {
    let message = match err {
        HdfsError::IOError(io) => io.to_string(),
        other => other.to_string(),
    };
    message.lines().next().unwrap_or_default().to_string()
}

fn entry_from(status: hdfs_native::client::FileStatus) -> Entry {
    let name = parent_and_name(&status.path).1.to_string();
    Entry {
        name,
        name_not_utf8: false,
        kind: if status.isdir {
            EntryKind::Dir
        } else {
            EntryKind::File
        },
        size: status.length as u64,
        mtime_ms: status.modification_time as i64,
        permission: u32::from(status.permission),
        owner: status.owner,
        group: status.group,
        replication: status.replication.unwrap_or(0) as u16,
        block_size: status.blocksize.unwrap_or(0),
        ec_policy: status.ec_policy,
        encrypted: status.encrypted,
    }
}

#[async_trait]
impl Storage for HdfsStorage {
    fn acting_user(&self) -> Option<&str> {
        self.acting_user.as_deref()
    }

    async fn stat(&self, path: &str) -> Result<Option<Entry>> {
        match self.client.get_file_info(path).await {
            Ok(status) => Ok(Some(entry_from(status))),
            Err(HdfsError::FileNotFound(_)) => Ok(None),
            Err(e) => Err(self.error("stat", path, e)),
        }
    }

    async fn list_dir(&self, path: &str) -> Result<Vec<Entry>> {
        let statuses = self
            .client
            .list_status(path, false)
            .await
            .map_err(|e| self.error("list", path, e))?;
        Ok(statuses.into_iter().map(entry_from).collect())
    }

    async fn open(&self, path: &str) -> Result<Box<dyn FileReader>> {
        let reader = self
            .client
            .read(path)
            .await
            .map_err(|e| self.error("open", path, e))?;
        Ok(Box::new(HdfsReader {
            reader,
            path: path.to_string(),
            naming: Arc::clone(&self.naming),
        }))
    }

    async fn create(&self, path: &str, options: &CreateOptions) -> Result<Box<dyn FileWriter>> {
        let mut write = WriteOptions::default().overwrite(true);
        if let Some(size) = options.block_size {
            write = write.block_size(size);
        }
        if let Some(replication) = options.replication {
            write = write.replication(u32::from(replication));
        }
        let writer = self
            .client
            .create(path, write)
            .await
            .map_err(|e| self.error("create", path, e))?;
        Ok(Box::new(HdfsWriter {
            writer,
            path: path.to_string(),
            naming: Arc::clone(&self.naming),
        }))
    }

    async fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.client
            .rename(from, to, true)
            .await
            .map_err(|e| self.error("rename", from, e))
    }

    /// The NameNode refuses a rename without overwrite onto an existing path.
    async fn rename_new(&self, from: &str, to: &str) -> Result<()> {
        self.client
            .rename(from, to, false)
            .await
            .map_err(|e| self.error("rename", from, e))
    }

    async fn remove_file(&self, path: &str) -> Result<()> {
        self.delete(path, false).await
    }

    async fn remove_dir(&self, path: &str) -> Result<()> {
        self.delete(path, false).await
    }

    async fn remove_tree(&self, path: &str) -> Result<()> {
        self.delete(path, true).await
    }

    fn as_hdfs(&self) -> Option<&HdfsStorage> {
        Some(self)
    }

    /// Files below a `.snapshot` folder are read-only by HDFS.
    fn immutable(&self, path: &str) -> bool {
        path.split('/').any(|name| name == ".snapshot")
    }

    /// HDFS clients and NameNodes keep symlinks disabled (HADOOP-10019), so
    /// a path is what it says.
    async fn real_path(&self, path: &str) -> Result<Option<String>> {
        Ok(Some(path.to_string()))
    }

    async fn create_dir(&self, path: &str) -> Result<()> {
        self.client
            .mkdirs(path, 0o755, true)
            .await
            .map_err(|e| self.error("mkdir", path, e))
    }

    async fn set_attributes(&self, path: &str, attributes: &Attributes) -> Result<()> {
        let err = |e| self.error("set attributes", path, e);
        if attributes.owner.is_some() || attributes.group.is_some() {
            let (owner, group) = (attributes.owner.as_deref(), attributes.group.as_deref());
            self.client
                .set_owner(path, owner, group)
                .await
                .map_err(err)?;
        }
        if let Some(mode) = attributes.permission {
            self.client.set_permission(path, mode).await.map_err(err)?;
        }
        if let Some(replication) = attributes.replication {
            self.client
                .set_replication(path, u32::from(replication))
                .await
                .map_err(err)?;
        }
        if let Some(mtime) = attributes.mtime_ms {
            self.client
                .set_times(path, mtime as u64, mtime as u64)
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    async fn xattrs(&self, path: &str) -> Result<Vec<XAttr>> {
        crate::namenode::xattrs(self, path).await
    }

    async fn set_xattrs(&self, path: &str, xattrs: &[XAttr]) -> Result<()> {
        for xattr in xattrs {
            crate::namenode::set_xattr(self, path, xattr).await?;
        }
        Ok(())
    }

    async fn file_checksum(&self, path: &str, mode: ChecksumMode) -> Result<Option<FileChecksum>> {
        crate::namenode::file_checksum(self, path, mode).await
    }
}

impl HdfsStorage {
    /// Unless `recursive`, a directory that is not empty is refused by the
    /// NameNode.
    async fn delete(&self, path: &str, recursive: bool) -> Result<()> {
        match self.client.delete(path, recursive).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(StorageError::new(
                "delete",
                path,
                ErrorKind::NotFound,
                "not found",
            )),
            Err(e) => Err(self.error("delete", path, e)),
        }
    }
}

struct HdfsReader {
    reader: hdfs_native::file::FileReader,
    path: String,
    naming: Arc<Naming>,
}

#[async_trait]
impl FileReader for HdfsReader {
    async fn read(&mut self, max: usize) -> Result<Bytes> {
        let len = max.min(self.reader.remaining());
        self.reader
            .read_bytes(len)
            .await
            .map_err(|e| self.naming.error("read", &self.path, e))
    }
}

struct HdfsWriter {
    writer: hdfs_native::file::FileWriter,
    path: String,
    naming: Arc<Naming>,
}

#[async_trait]
impl FileWriter for HdfsWriter {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        self.writer
            .write_bytes(data)
            .await
            .map_err(|e| self.naming.error("write", &self.path, e))?;
        Ok(())
    }

    async fn close(mut self: Box<Self>) -> Result<()> {
        self.writer
            .close()
            .await
            .map_err(|e| self.naming.error("close", &self.path, e))
    }
}
