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

impl std::fmt::Display for XAttrNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.prefix())
    }
}

/// An extended attribute: `user.name = value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XAttr {
    pub namespace: XAttrNamespace,
    /// The name without its namespace prefix.
    pub name: String,
    /// The value; an attribute set without one reads back empty.
    pub value: Vec<u8>,
}

impl XAttr {
    /// An attribute in the `user` namespace, the only one ordinary users own.
    pub fn user(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        XAttr {
            namespace: XAttrNamespace::User,
            name: name.into(),
            value: value.into(),
        }
    }

    /// The prefixed name Hadoop shows: `user.name`.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.namespace, self.name)
    }
}
