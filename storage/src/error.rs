use std::fmt;

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// A failed storage call: which operation, on which path, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{op} {}: {}", crate::display(path), crate::one_line(message))]
pub struct StorageError {
    pub op: &'static str,
    pub path: String,
    pub kind: ErrorKind,
    pub message: String,
}

/// The causes callers act on; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    PermissionDenied,
    Unsupported,
    /// A chain of symbolic links that never ends.
    Loop,
    /// Worth another try: a connection dropped, a DataNode went away.
    Transient,
    /// The cluster refused the credentials, or they expired: every later
    /// call would fail the same way until they are renewed.
    Unauthenticated,
    Other,
}

impl StorageError {
    pub fn new(op: &'static str, path: &str, kind: ErrorKind, message: impl fmt::Display) -> Self {
        StorageError {
            op,
            path: path.to_string(),
            kind,
            message: message.to_string(),
        }
    }

    pub fn from_io(op: &'static str, path: &str, err: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match err.kind() {
            Io::NotFound => ErrorKind::NotFound,
            Io::AlreadyExists => ErrorKind::AlreadyExists,
            Io::PermissionDenied => ErrorKind::PermissionDenied,
            Io::Unsupported => ErrorKind::Unsupported,
            Io::Interrupted | Io::TimedOut | Io::ConnectionReset | Io::ConnectionAborted => {
                ErrorKind::Transient
            }
            _ if err.raw_os_error() == Some(libc::ELOOP) => ErrorKind::Loop,
            _ => ErrorKind::Other,
        };
        StorageError::new(op, path, kind, err)
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
}
