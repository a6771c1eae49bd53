//! The vendored HDFS client is its release plus the patch series of
//! `vendor/hdfs-native-patches`, byte for byte (`scripts/vendor-hdfs-native
//! check`; the release comes from cargo's download cache once fetched).

use std::path::Path;
use std::process::Command;

#[test]
fn the_vendored_client_is_its_release_plus_the_patch_series() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/vendor-hdfs-native");
    let out = Command::new(&script)
        .arg("check")
        .output()
        .expect("scripts/vendor-hdfs-native runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
