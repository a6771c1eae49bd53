//! The words a reviewer reads for what the plan records as codes.

use hsync_plan::{Fallback, FallbackReason, Reason, SkipReason};

/// Why a copy exists.
pub fn reason(reason: Reason) -> &'static str {
    match reason {
        Reason::Missing => "missing",
        Reason::SizeDiffers => "size differs",
        Reason::MtimeDiffers => "mtime differs",
        Reason::BlocksizeDiffers => "block size differs",
        Reason::ChecksumDiffers => "checksum differs",
        Reason::Overwrite => "overwrite",
        Reason::Created => "created since the last snapshot",
        Reason::Modified => "modified since the last snapshot",
    }
}

/// Why an entry is left alone.
pub fn skip_reason(reason: SkipReason) -> &'static str {
    match reason {
        SkipReason::SpecialFile => "never opened",
        SkipReason::Symlink => "skipped (symlinks = \"skip\")",
        SkipReason::SymlinkOutsideRoot => "leads outside the source root",
        SkipReason::SymlinkDangles => "points at nothing",
        SkipReason::SymlinkLoop => "loops",
        SkipReason::NameNotUtf8 => "name is not UTF-8",
    }
}

/// Why same-size files were read rather than compared by checksums.
pub fn fallback(fallback: &Fallback) -> String {
    let algorithm = |a: &Option<String>| a.as_deref().unwrap_or_default().to_string();
    match fallback.reason {
        FallbackReason::NoSourceChecksum => "the source gives no checksum of them".to_string(),
        FallbackReason::NoTargetChecksum => "the target gives no checksum of them".to_string(),
        FallbackReason::AlgorithmsDiffer => format!(
            "the checksums are of different algorithms, {} at the source and {} at the target \
             (another block size or CRC type)",
            algorithm(&fallback.source_algorithm),
            algorithm(&fallback.target_algorithm)
        ),
    }
}
