//! The attributes a copy may carry beyond its bytes. One list serves the
//! manifest's `preserve`, the plan, and what each backend can honour.

use serde::{Deserialize, Serialize};

/// Declares [`Preserve`] from one list of flags and their names, so the
/// enum, its serde spelling, [`Preserve::ALL`] and [`Preserve::name`] never
/// disagree.
macro_rules! preserve_flags {
    ($($flag:ident = $name:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Preserve {
            $(#[serde(rename = $name)] $flag,)*
        }

        impl Preserve {
            /// Every flag, in the order messages list them.
            pub const ALL: &'static [Preserve] = &[$(Preserve::$flag,)*];

            /// The flag as the manifest and the plan spell it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Preserve::$flag => $name,)*
                }
            }
        }
    };
}

preserve_flags! {
    Times = "times",
    Permission = "permission",
    Owner = "owner",
    Group = "group",
    Replication = "replication",
    Blocksize = "blocksize",
    Acl = "acl",
    Xattr = "xattr",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_is_spelt_by_its_name_in_a_plan() {
        for &flag in Preserve::ALL {
            let json = serde_json::to_string(&flag).unwrap();
            assert_eq!(json, format!("\"{}\"", flag.name()));
            assert_eq!(serde_json::from_str::<Preserve>(&json).unwrap(), flag);
        }
    }
}
