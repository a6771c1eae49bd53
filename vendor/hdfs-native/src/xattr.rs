//! hsync patch: public types for the extended attribute calls of
//! [`Client`](crate::Client).

use std::fmt::Display;

use crate::proto::hdfs::XAttrProto;
use crate::proto::hdfs::x_attr_proto::XAttrNamespaceProto;
use crate::{HdfsError, Result};

/// The namespace of an extended attribute; its name is the attribute's
/// prefix (`user.name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum XAttrNamespace {
    User,
    Trusted,
    Security,
    System,
    Raw,
}

impl XAttrNamespace {
    /// The prefix of attribute names in this namespace, without the dot.
    pub fn prefix(&self) -> &'static str {
        match self {
            XAttrNamespace::User => "user",
            XAttrNamespace::Trusted => "trusted",
            XAttrNamespace::Security => "security",
            XAttrNamespace::System => "system",
            XAttrNamespace::Raw => "raw",
        }
    }
}

impl Display for XAttrNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.prefix())
    }
}

impl From<XAttrNamespaceProto> for XAttrNamespace {
    fn from(value: XAttrNamespaceProto) -> Self {
        match value {
            XAttrNamespaceProto::User => XAttrNamespace::User,
            XAttrNamespaceProto::Trusted => XAttrNamespace::Trusted,
            XAttrNamespaceProto::Security => XAttrNamespace::Security,
            XAttrNamespaceProto::System => XAttrNamespace::System,
            XAttrNamespaceProto::Raw => XAttrNamespace::Raw,
        }
    }
}

impl From<XAttrNamespace> for XAttrNamespaceProto {
    fn from(value: XAttrNamespace) -> Self {
        match value {
            XAttrNamespace::User => XAttrNamespaceProto::User,
            XAttrNamespace::Trusted => XAttrNamespaceProto::Trusted,
            XAttrNamespace::Security => XAttrNamespaceProto::Security,
            XAttrNamespace::System => XAttrNamespaceProto::System,
            XAttrNamespace::Raw => XAttrNamespaceProto::Raw,
        }
    }
}

/// An extended attribute. A value the NameNode reports as absent is empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct XAttr {
    pub namespace: XAttrNamespace,
    /// The name without the namespace prefix.
    pub name: String,
    pub value: Vec<u8>,
}

impl XAttr {
    pub fn new(
        namespace: XAttrNamespace,
        name: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            namespace,
            name: name.into(),
            value: value.into(),
        }
    }

    /// The prefixed name, as Hadoop prints it: `user.name`.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.namespace, self.name)
    }

    /// Splits a prefixed name (`user.name`) into its namespace and name. The
    /// prefix is case-insensitive, as in Hadoop's `XAttrHelper`.
    pub fn parse_name(full_name: &str) -> Result<(XAttrNamespace, String)> {
        let invalid = || {
            HdfsError::InvalidArgument(format!(
                "xattr name must be prefixed with user/trusted/security/system/raw, followed by a '.': {full_name}"
            ))
        };
        let (prefix, name) = full_name.split_once('.').ok_or_else(invalid)?;
        let namespace = match prefix.to_ascii_lowercase().as_str() {
            "user" => XAttrNamespace::User,
            "trusted" => XAttrNamespace::Trusted,
            "security" => XAttrNamespace::Security,
            "system" => XAttrNamespace::System,
            "raw" => XAttrNamespace::Raw,
            _ => return Err(invalid()),
        };
        if name.is_empty() {
            return Err(invalid());
        }
        Ok((namespace, name.to_string()))
    }
}

impl From<XAttrProto> for XAttr {
    fn from(value: XAttrProto) -> Self {
        XAttr {
            namespace: value.namespace().into(),
            name: value.name,
            value: value.value.unwrap_or_default(),
        }
    }
}

impl From<XAttr> for XAttrProto {
    fn from(value: XAttr) -> Self {
        XAttrProto {
            namespace: XAttrNamespaceProto::from(value.namespace) as i32,
            name: value.name,
            value: Some(value.value),
        }
    }
}
