//! Writing and loading plan files: the fingerprint seals the content, the
//! format version guards the schema.

use hsync_fs_model::is_plan_tag;
use std::path::Path;

use crate::Plan;

/// The plan format this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// Why a plan file was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the plan {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the plan {path} is not valid JSON: {source}")]
    Syntax {
        path: String,
        source: serde_json::Error,
    },
    #[error(
        "the plan {path} has format version {found}, this hsync reads version {FORMAT_VERSION}"
    )]
    Version { path: String, found: String },
    #[error("the plan {path} does not match the plan schema: {source}")]
    Schema {
        path: String,
        source: serde_json::Error,
    },
    #[error(
        "the plan {path} was changed after it was written (fingerprint {recorded}, content {actual})"
    )]
    Tampered {
        path: String,
        recorded: String,
        actual: String,
    },
    #[error("the plan {path} reaches outside its roots: {reason}")]
    Escapes { path: String, reason: String },
}

impl Plan {
    /// Seals the plan: computes and stores its fingerprint.
    pub fn seal(mut self) -> Plan {
        self.fingerprint = self.content_fingerprint();
        self
    }

    /// The blake3 of the plan serialised with an empty fingerprint field,
    /// streamed into the hasher: a plan of a million actions is neither
    /// copied nor held as text.
    pub fn content_fingerprint(&self) -> String {
        /// The same fields in the same order as [`Plan`], so the same bytes.
        #[derive(serde::Serialize)]
        struct Unsealed<'a> {
            format_version: u32,
            manifest: &'a crate::ManifestRef,
            jobs: &'a [crate::JobPlan],
            fingerprint: &'static str,
        }
        let unsealed = Unsealed {
            format_version: self.format_version,
            manifest: &self.manifest,
            jobs: &self.jobs,
            fingerprint: "",
        };
        let mut hasher = blake3::Hasher::new();
        serde_json::to_writer(&mut hasher, &unsealed).expect("a plan always serialises");
        hasher.finalize().to_hex().to_string()
    }

    /// Writes the plan file: pretty JSON ending in a newline, streamed.
    pub fn write_json(&self, mut out: impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut out, self)?;
        out.write_all(b"\n")?;
        out.flush()
    }

    /// Parses and verifies a plan file's text.
    pub fn from_json(text: &str, path: &str) -> Result<Plan, LoadError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|source| LoadError::Syntax {
                path: path.to_string(),
                source,
            })?;
        // The version is checked before the schema, so a plan from another
        // release gets that reason rather than a field-level complaint.
        let version = value.get("format_version");
        if version.and_then(|v| v.as_u64()) != Some(u64::from(FORMAT_VERSION)) {
            let found = version.map_or_else(|| "none".to_string(), |v| v.to_string());
            return Err(LoadError::Version {
                path: path.to_string(),
                found,
            });
        }
        let plan: Plan = serde_json::from_value(value).map_err(|source| LoadError::Schema {
            path: path.to_string(),
            source,
        })?;
        let actual = plan.content_fingerprint();
        if actual != plan.fingerprint {
            return Err(LoadError::Tampered {
                path: path.to_string(),
                recorded: plan.fingerprint.clone(),
                actual,
            });
        }
        plan.check_containment()
            .map_err(|reason| LoadError::Escapes {
                path: path.to_string(),
                reason,
            })?;
        Ok(plan)
    }

    /// Every path an action touches must stay under its job's roots: roots
    /// are absolute and normal, action paths relative and normal (no `..`,
    /// no `.`, no empty segment), source references name an existing root.
    fn check_containment(&self) -> Result<(), String> {
        for job in &self.jobs {
            for root in job.source_roots.iter().chain([&job.target_root]) {
                if !root.starts_with('/') || (root != "/" && !is_normal_relative(&root[1..])) {
                    return Err(format!(
                        "job `{}`: root `{root}` is not an absolute, normal path",
                        job.name
                    ));
                }
            }
            // The one path outside the root a plan may name: an atomic
            // target's own staging sibling, by tag.
            let tags_ok = job.leftover_staging.iter().all(|tag| is_plan_tag(tag));
            let atomic = job.options.commit == crate::Commit::Atomic;
            if !tags_ok || (!atomic && !job.leftover_staging.is_empty()) {
                return Err(format!(
                    "job `{}`: leftover_staging holds something other than tags of an atomic target's staging folders",
                    job.name
                ));
            }
            if let Some(cycle) = &job.snapshot {
                // Names are single path segments; the plan reads only the
                // snapshot it names.
                let names = std::iter::once(&cycle.name).chain(&cycle.base);
                let simple = names
                    .into_iter()
                    .all(|n| is_normal_relative(n) && !n.contains('/'));
                let source = format!(
                    "{}/.snapshot/{}",
                    cycle.source_dir.trim_end_matches('/'),
                    cycle.name
                );
                if !simple || job.source_roots != [source] {
                    return Err(format!(
                        "job `{}`: its snapshot cycle does not match its source",
                        job.name
                    ));
                }
            }
            for action in &job.actions {
                let renamed_from = match action {
                    crate::Action::Rename(rename) => Some(rename.from.as_str()),
                    _ => None,
                };
                for path in std::iter::once(action.path()).chain(renamed_from) {
                    if !is_normal_relative(path) {
                        return Err(format!(
                            "job `{}`: action path `{}` is not a normal relative path",
                            job.name,
                            hsync_fs_model::display(path),
                        ));
                    }
                }
                if let crate::Action::Copy(copy) = action {
                    let known_root = copy.source.root < job.source_roots.len();
                    let normal =
                        copy.source.path.is_empty() || is_normal_relative(&copy.source.path);
                    if !known_root || !normal {
                        return Err(format!(
                            "job `{}`: copy source `{}` of root {} is outside the job's sources",
                            job.name,
                            hsync_fs_model::display(&copy.source.path),
                            copy.source.root
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Plan, LoadError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: shown.clone(),
            source,
        })?;
        Plan::from_json(&text, &shown)
    }
}

/// `a/b/c`: no leading or trailing `/`, no empty, `.` or `..` segment.
fn is_normal_relative(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."))
}

#[cfg(test)]
mod tests {
    use super::is_normal_relative;
    use crate::Plan;
    use proptest::prelude::*;

    /// A small sealed plan in the shape `hsync plan` writes.
    const VALID: &str = r#"{
  "format_version": 2,
  "manifest": { "path": "hsync.toml", "digest": "00" },
  "jobs": [
    {
      "name": "j",
      "source_fs": { "kind": "local" },
      "source_roots": ["/src"],
      "target_fs": { "kind": "hdfs", "url": "hdfs://nn:8020" },
      "target_root": "/dst",
      "options": { "mode": "update", "layout": "contents", "compare": ["size"], "delete": true,
                   "preserve": ["times"], "commit": "file", "parallel": 4 },
      "actions": [
        { "op": "mkdir", "path": "d", "attributes": { "mtime_ms": 1 } },
        { "op": "copy", "path": "d/f", "reason": "missing", "source": { "root": 0, "path": "d/f" },
          "size": 3, "mtime_ms": 2 },
        { "op": "delete", "path": "old", "entry": "file", "seen": { "size": 1, "mtime_ms": 1 } }
      ],
      "unchanged": { "files": 0, "bytes": 0 },
      "listed": { "directories": 2, "entries": 3 }
    }
  ],
  "fingerprint": ""
}"#;

    fn sealed() -> String {
        let plan: Plan = serde_json::from_str(VALID).expect("the sample plan parses");
        let mut text = Vec::new();
        plan.seal()
            .write_json(&mut text)
            .expect("a plan serialises");
        String::from_utf8(text).expect("JSON is UTF-8")
    }

    #[test]
    fn the_fingerprint_hashes_the_plan_as_written_with_an_empty_fingerprint() {
        let plan: Plan = serde_json::from_str(VALID).expect("the sample plan parses");
        let bytes = serde_json::to_vec(&plan).expect("serialises");
        assert_eq!(
            plan.content_fingerprint(),
            blake3::hash(&bytes).to_hex().to_string()
        );
    }

    #[test]
    fn a_sealed_plan_loads_and_any_change_to_it_is_refused() {
        let text = sealed();
        assert!(Plan::from_json(&text, "p").is_ok());
        let tampered = text.replace("\"size\": 3", "\"size\": 4");
        let err = Plan::from_json(&tampered, "p").unwrap_err().to_string();
        assert!(err.contains("was changed after it was written"), "{err}");
    }

    proptest! {
        /// Whatever bytes a plan file holds, loading it returns, never panics.
        #[test]
        fn loading_arbitrary_text_never_panics(text in ".{0,400}") {
            let _ = Plan::from_json(&text, "p");
        }

        /// Edits of a real plan (a byte replaced, a span cut out or doubled)
        /// are refused with a reason or, if they change nothing, accepted.
        #[test]
        fn loading_an_edited_plan_never_panics(at in 0usize..2000, len in 0usize..40, byte in any::<u8>(), kind in 0u8..3) {
            let mut bytes = sealed().into_bytes();
            let at = at % bytes.len();
            let end = (at + len).min(bytes.len());
            match kind {
                0 => bytes[at] = byte,
                1 => { bytes.drain(at..end); }
                _ => { let span: Vec<u8> = bytes[at..end].to_vec(); bytes.splice(at..at, span); }
            }
            let text = String::from_utf8_lossy(&bytes);
            let _ = Plan::from_json(&text, "p");
        }
    }

    #[test]
    fn only_normal_relative_paths_stay_inside_a_root() {
        assert!(is_normal_relative("a/b.txt"));
        assert!(is_normal_relative("..hidden"));
        for escaping in ["", "/etc/passwd", "a/../../b", "..", "a//b", "./a", "a/"] {
            assert!(!is_normal_relative(escaping), "{escaping}");
        }
    }
}
