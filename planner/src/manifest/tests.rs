//! Manifest validation: what a valid manifest resolves to, and how every
//! kind of mistake is reported (snapshots of the rendered miette report).

use std::path::Path;

use hsync_plan::{Commit, Compare, Layout, Mode, Preserve, Symlinks};
use hsync_storage::{FsSpec, HdfsSpec};
use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;
use proptest::sample::Index;

use super::suggest::closest;
use super::units::parse_bandwidth;
use super::{LoadError, Manifest, DEFAULT_PARALLEL};

fn parse(text: &str) -> Result<Manifest, LoadError> {
    Manifest::parse(text, Path::new("hsync.toml"), Path::new("/base"))
}

/// The report a user sees, without colours and at a fixed width.
fn render(error: &LoadError) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, error)
        .expect("rendering into a String");
    out
}

/// Parses a manifest that must be refused, and renders why.
fn report(text: &str) -> String {
    match parse(text) {
        Ok(manifest) => panic!("accepted: {manifest:#?}"),
        Err(error) => render(&error),
    }
}

#[test]
fn bandwidth_units() {
    assert_eq!(parse_bandwidth("200MiB/s"), Some(200 * 1024 * 1024));
    assert_eq!(parse_bandwidth("50MB/s"), Some(50_000_000));
    assert_eq!(parse_bandwidth("1048576"), Some(1_048_576));
    assert_eq!(parse_bandwidth("fast"), None);
    assert_eq!(parse_bandwidth("0"), None);
}

#[test]
fn unknown_key() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
mdoe = "update"
"#
    ));
}

#[test]
fn bad_mode_value() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
mode = "sync"
"#
    ));
}

#[test]
fn bad_include_regex() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "logs"
sources = ["data/logs"]
target = "mirror"
include = "server(1|2/today"
"#
    ));
}

#[test]
fn bad_exclude_regex() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "logs"
sources = ["data/logs"]
target = "mirror"
exclude = ['\.tmp$', '*.bak']
"#
    ));
}

#[test]
fn unknown_cluster_alias() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"

[[job]]
name = "reports"
sources = ["prdo:/data/reports"]
target = "mirror"
"#
    ));
}

#[test]
fn compare_mtime_without_preserve_times() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
mode = "update"
compare = ["size", "mtime"]
"#
    ));
}

#[test]
fn delete_in_skip_mode() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
delete = true
"#
    ));
}

#[test]
fn atomic_with_update() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
mode = "update"
commit = "atomic"
"#
    ));
}

#[test]
fn parallel_zero() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
parallel = 0
"#
    ));
}

#[test]
fn bad_bandwidth() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
bandwidth = "200 Mbps"
"#
    ));
}

#[test]
fn duplicate_job_names() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror/a"

[[job]]
name = "reports"
sources = ["data/second"]
target = "mirror/b"
"#
    ));
}

#[test]
fn sources_and_source_list_together() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
source_list = "sources.txt"
target = "mirror"
"#
    ));
}

#[test]
fn preserve_flag_unsupported_by_the_local_target() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"

[[job]]
name = "reports"
sources = ["prod:/data/reports"]
target = "mirror"
preserve = ["times", "replication"]
"#
    ));
}

#[test]
fn preserve_xattr_from_a_local_source() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"

[[job]]
name = "reports"
sources = ["data/reports"]
target = "prod:/data/reports"
preserve = ["times", "xattr"]
"#
    ));
}

#[test]
fn symlinks_value_misspelt() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/reports"]
target = "mirror"
symlinks = "folow"
"#
    ));
}

#[test]
fn symlinks_copy_to_hdfs() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"

[[job]]
name = "reports"
sources = ["data/reports"]
target = "prod:/data/reports"
symlinks = "copy"
"#
    ));
}

#[test]
fn symlinks_default_to_skip_and_take_follow_and_local_copy() {
    for (line, policy) in [
        ("", Symlinks::Skip),
        ("symlinks = \"follow\"", Symlinks::Follow),
        ("symlinks = \"copy\"", Symlinks::Copy),
    ] {
        let text = format!("[[job]]\nname = \"a\"\nsources = [\"s\"]\ntarget = \"t\"\n{line}\n");
        let manifest = parse(&text).unwrap_or_else(|e| panic!("{}", render(&e)));
        assert_eq!(manifest.jobs[0].options.symlinks, policy);
    }
}

#[test]
fn preserve_xattr_from_hdfs_to_hdfs_is_accepted() {
    let manifest = parse(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"

[clusters.dr]
url = "hdfs://nn2:8020"

[[job]]
name = "reports"
sources = ["prod:/data/reports"]
target = "dr:/data/reports"
preserve = ["xattr"]
"#,
    )
    .expect("an HDFS to HDFS job may preserve xattrs");
    assert_eq!(manifest.jobs[0].options.preserve, vec![Preserve::Xattr]);
}

#[test]
fn cluster_url_not_hdfs() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "http://nn1:9870"

[[job]]
name = "reports"
sources = ["prod:/data/reports"]
target = "mirror"
"#
    ));
}

#[test]
fn a_keytab_without_its_principal() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"
kerberos_keytab = "/etc/security/keytabs/etl.keytab"

[[job]]
name = "reports"
sources = ["prod:/data/reports"]
target = "mirror"
"#
    ));
}

#[test]
fn missing_target() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
"#
    ));
}

#[test]
fn no_job_at_all() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"
"#
    ));
}

#[test]
fn no_sources() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
target = "mirror"
"#
    ));
}

#[test]
fn sources_on_two_filesystems() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"

[[job]]
name = "reports"
sources = ["prod:/data/first", "data/second"]
target = "mirror"
"#
    ));
}

#[test]
fn hdfs_url_without_a_host() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["hdfs:///data/first"]
target = "mirror"
"#
    ));
}

#[test]
fn empty_compare() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
mode = "update"
compare = []
"#
    ));
}

#[test]
fn unreadable_source_list() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
source_list = "sources.txt"
target = "mirror"
"#
    ));
}

#[test]
fn every_mistake_is_reported_together() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
delete = true
parallel = 0

[[job]]
name = "logs"
sources = ["data/logs"]
target = "mirror/logs"
include = "server1|server2/(today"
"#
    ));
}

#[test]
fn preserve_value_misspelt() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
preserve = ["times", "replica"]
"#
    ));
}

#[test]
fn bad_include_regex_at_a_deeper_depth() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "logs"
sources = ["data/logs"]
target = "mirror"
include = "server1|server2/to(day|yesterday/[a-z"
"#
    ));
}

#[test]
fn include_with_an_empty_sub_expression() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "logs"
sources = ["data/logs"]
target = "mirror"
include = "server1|server2/"
"#
    ));
}

#[test]
fn delete_with_skip_mode_written() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data/first"]
target = "mirror"
mode = "skip"
delete = true
"#
    ));
}

#[test]
fn cluster_url_without_a_host() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "hdfs://"

[[job]]
name = "reports"
sources = ["prod:/data/reports"]
target = "mirror"
"#
    ));
}

#[test]
fn not_toml_at_all() {
    insta::assert_snapshot!(report(
        r#"
[[job]
name = "reports"
"#
    ));
}

#[test]
fn suggestions_take_the_closest_candidate_only_when_close() {
    let keys = ["mode", "sources", "source_list", "target", "parallel"];
    assert_eq!(closest("mdoe", &keys), Some("mode"));
    assert_eq!(closest("Sources", &keys), Some("sources"));
    assert_eq!(closest("paralel", &keys), Some("parallel"));
    assert_eq!(closest("source_lis", &keys), Some("source_list"));
    assert_eq!(closest("sync", &["skip", "update", "overwrite"]), None);
    assert_eq!(closest("x", &keys), None);
    assert_eq!(
        closest("replica", &["replication", "times"]),
        Some("replication")
    );
}

/// A manifest that uses every key, in both flavours of defaults.
const VALID: &str = r#"
[clusters.prod]
url = "hdfs://nn1:8020/"
user = "etl"

# DistCp's -update: contents merged, times preserved.
[[job]]
name = "reports"
sources = ["prod:/data/first", "prod:/data//second/"]
target = "mirror/reports"
mode = "update"
preserve = ["times", "permission", "times"]
delete = true
exclude = ['\.tmp$']
bandwidth = "200MiB/s"

# DistCp's default: skip, each source nested; an atomic publish.
[[job]]
name = "backup"
sources = ["data/logs", "./data/../data/more"]
target = "hdfs://nn2:8020/backup/"
include = "server1|server2/today|yesterday"
preserve = ["replication", "blocksize"]
parallel = 2
commit = "atomic"
"#;

#[test]
fn a_valid_manifest_resolves_every_default() {
    let manifest = parse(VALID).unwrap();
    assert_eq!(manifest.path, Path::new("hsync.toml"));
    assert_eq!(
        manifest.digest,
        blake3::hash(VALID.as_bytes()).to_hex().to_string()
    );
    let [reports, backup] = manifest.jobs.as_slice() else {
        panic!("two jobs: {:#?}", manifest.jobs)
    };

    assert_eq!(reports.name, "reports");
    assert_eq!(
        reports.source_fs,
        FsSpec::Hdfs(HdfsSpec {
            url: "hdfs://nn1:8020".into(),
            alias: Some("prod".into()),
            user: Some("etl".into()),
            ..HdfsSpec::default()
        })
    );
    assert_eq!(reports.sources, ["/data/first", "/data/second"]);
    assert_eq!(reports.target_fs, FsSpec::Local);
    assert_eq!(reports.target, "/base/mirror/reports");
    let o = &reports.options;
    assert_eq!(o.mode, Mode::Update);
    assert_eq!(o.layout, Layout::Contents, "update merges contents");
    assert_eq!(
        o.compare,
        [Compare::Size, Compare::Mtime],
        "mtime compared when times are preserved"
    );
    assert_eq!(o.preserve, [Preserve::Times, Preserve::Permission]);
    assert!(o.delete);
    assert_eq!(o.commit, Commit::File);
    assert_eq!(o.parallel, DEFAULT_PARALLEL);
    assert_eq!(o.bandwidth, Some(200 * 1024 * 1024));
    assert_eq!(o.exclude, [r"\.tmp$"]);
    assert!(!reports.filter.admits("a/b.tmp"));

    assert_eq!(backup.name, "backup");
    assert_eq!(backup.source_fs, FsSpec::Local);
    assert_eq!(backup.sources, ["/base/data/logs", "/base/data/more"]);
    assert!(matches!(
        &backup.target_fs,
        FsSpec::Hdfs(spec) if spec.url == "hdfs://nn2:8020" && spec.user.is_none()
    ));
    assert_eq!(backup.target, "/backup");
    let o = &backup.options;
    assert_eq!(o.mode, Mode::Skip, "skip is the default mode");
    assert_eq!(o.layout, Layout::Nested, "skip nests each source");
    assert_eq!(o.compare, [Compare::Size]);
    assert_eq!(o.preserve, [Preserve::Replication, Preserve::Blocksize]);
    assert!(!o.delete);
    assert_eq!(o.commit, Commit::Atomic);
    assert_eq!(o.parallel, 2);
    assert_eq!(o.bandwidth, None);
    assert_eq!(
        o.include.as_deref(),
        Some("server1|server2/today|yesterday")
    );
    assert!(backup.filter.admits("server2/today"));
    assert!(!backup.filter.admits("server3"));
}

#[test]
fn explicit_layout_and_compare_override_the_defaults() {
    let manifest = parse(
        r#"
[[job]]
name = "a"
sources = ["/src"]
target = "/dst"
mode = "overwrite"

[[job]]
name = "b"
sources = ["/src"]
target = "/dst"
mode = "update"
layout = "nested"
compare = ["checksum", "size", "size"]
"#,
    )
    .unwrap();
    let a = &manifest.jobs[0].options;
    assert_eq!((a.mode, a.layout), (Mode::Overwrite, Layout::Contents));
    assert_eq!(a.compare, [Compare::Size], "size alone without times");
    let b = &manifest.jobs[1].options;
    assert_eq!(b.layout, Layout::Nested);
    assert_eq!(b.compare, [Compare::Size, Compare::Checksum]);
}

/// Parsing, and rendering a refusal, must never panic.
fn parse_and_render(text: &str) {
    if let Err(error) = parse(text) {
        assert!(!render(&error).is_empty());
    }
}

/// One edit of a manifest's text.
#[derive(Debug, Clone)]
enum Edit {
    Delete(Index, usize),
    Insert(Index, String),
    Replace(Index, char),
    DuplicateLine(Index),
    SwapLines(Index, Index),
}

/// Bits of text likely to make a manifest wrong in an interesting way.
fn fragment() -> impl Strategy<Value = String> {
    let pieces = vec![
        "\"",
        "'",
        "'''",
        "[",
        "]",
        "[[job]]\n",
        "[clusters.x]\n",
        "=",
        "\n",
        "/",
        "//",
        "(",
        ")",
        "|",
        "\\",
        "0",
        "-1",
        "99999999999999999999999",
        "1e400",
        "hdfs://",
        "prod:",
        "nope:/x",
        "file://",
        "é",
        "💥",
        "true",
        "{}",
        "[]",
        "\"atomic\"",
        "\"update\"",
        "\"skip\"",
        "\"mtime\"",
        "mode = \"update\"\n",
        "delete = true\n",
        "compare = []\n",
        "include = \"a//b\"\n",
        "source_list = \"list.txt\"\n",
        "parallel = 0\n",
        "bandwidth = \"0.0000001KiB/s\"\n",
    ];
    prop_oneof![
        3 => proptest::sample::select(pieces).prop_map(String::from),
        1 => "\\PC{0,8}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), 1..12usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<Index>(), fragment()).prop_map(|(at, text)| Edit::Insert(at, text)),
        (any::<Index>(), any::<char>()).prop_map(|(at, c)| Edit::Replace(at, c)),
        any::<Index>().prop_map(Edit::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    match edit {
        Edit::Delete(at, n) if !chars.is_empty() => {
            let start = at.index(chars.len());
            chars.drain(start..(start + n).min(chars.len()));
        }
        Edit::Insert(at, piece) => {
            let at = at.index(chars.len() + 1);
            chars.splice(at..at, piece.chars());
        }
        Edit::Replace(at, c) if !chars.is_empty() => {
            let at = at.index(chars.len());
            chars[at] = *c;
        }
        Edit::DuplicateLine(at) if !lines.is_empty() => {
            let at = at.index(lines.len());
            lines.insert(at, lines[at]);
            return lines.concat();
        }
        Edit::SwapLines(a, b) if !lines.is_empty() => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
            return lines.concat();
        }
        _ => {}
    }
    chars.into_iter().collect()
}

/// Lines a manifest is made of, so the text gets past TOML more often.
fn toml_line() -> impl Strategy<Value = String> {
    let keys = proptest::sample::select(vec![
        "name",
        "sources",
        "source_list",
        "target",
        "mode",
        "layout",
        "compare",
        "delete",
        "include",
        "exclude",
        "preserve",
        "commit",
        "parallel",
        "bandwidth",
        "url",
        "bogus",
    ]);
    let values = prop_oneof![
        proptest::sample::select(vec![
            "\"x\"",
            "[\"a\", \"prod:/b\", \"hdfs:///c\"]",
            "[\"size\", \"mtime\"]",
            "[\"times\", \"replication\", \"acl\"]",
            "true",
            "0",
            "\"update\"",
            "\"atomic\"",
            "\"(/\"",
            "\"a//b\"",
        ])
        .prop_map(String::from),
        "\"\\PC{0,6}\"",
        "-?[0-9]{1,20}",
    ];
    prop_oneof![
        1 => Just("[[job]]".to_string()),
        1 => Just("[clusters.prod]".to_string()),
        6 => (keys, values).prop_map(|(k, v)| format!("{k} = {v}")),
    ]
}

proptest! {

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
        parse_and_render(&text);
    }

    #[test]
    fn parse_never_panics_on_toml_shaped_text(
        lines in proptest::collection::vec(toml_line(), 0..24)
    ) {
        parse_and_render(&lines.join("\n"));
    }

    #[test]
    fn parse_never_panics_on_a_mutated_valid_manifest(
        edits in proptest::collection::vec(edit(), 1..6)
    ) {
        let text = edits.iter().fold(VALID.to_string(), |text, e| apply(&text, e));
        parse_and_render(&text);
    }
}

#[test]
fn incremental_defaults_mirror_the_source() {
    let manifest = parse(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"

[clusters.dr]
url = "hdfs://nn2:8020"

[[job]]
name = "warehouse"
sources = ["prod:/warehouse"]
target = "dr:/warehouse"
incremental = "snapshot"
"#,
    )
    .expect("an incremental job between two clusters");
    let options = &manifest.jobs[0].options;
    assert_eq!(options.mode, Mode::Update);
    assert_eq!(options.layout, Layout::Contents);
    assert!(options.delete);
    let incremental = options.incremental.expect("incremental");
    assert_eq!(incremental.keep_snapshots, super::DEFAULT_KEEP_SNAPSHOTS);
}

#[test]
fn incremental_options_that_contradict_a_mirror() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"

[[job]]
name = "warehouse"
sources = ["prod:/warehouse", "prod:/staging"]
target = "backup"
incremental = "snapshot"
mode = "skip"
delete = false
layout = "nested"
include = "2026.*"
keep_snapshots = 0
"#
    ));
}

#[test]
fn keep_snapshots_without_incremental() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "reports"
sources = ["data"]
target = "mirror"
mode = "update"
keep_snapshots = 3
"#
    ));
}

#[test]
fn a_target_that_contains_its_source_is_refused() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "mirror"
sources = ["src"]
target = "."
mode = "update"
delete = true
"#
    ));
}

#[test]
fn a_target_equal_to_its_source_is_refused() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "mirror"
sources = ["data/first", "data/./second/"]
target = "data/second"
"#
    ));
}

#[test]
fn a_target_inside_its_source_is_refused() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "mirror"
sources = ["/data"]
target = "/data/backup"
"#
    ));
}

#[test]
fn a_target_beside_its_source_with_a_common_prefix_is_accepted() {
    let manifest = parse(
        r#"
[[job]]
name = "mirror"
sources = ["/data/a"]
target = "/data/ab"
mode = "update"
delete = true
"#,
    )
    .expect("/data/ab is not inside /data/a");
    assert_eq!(manifest.jobs.len(), 1);
}

#[test]
fn two_jobs_that_delete_into_one_target_are_refused() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "first"
sources = ["in/first"]
target = "out"
mode = "update"
delete = true

[[job]]
name = "second"
sources = ["in/second"]
target = "out/"
mode = "update"
"#
    ));
}

#[test]
fn two_jobs_with_nested_targets_are_refused_when_one_deletes() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "all"
sources = ["in/all"]
target = "out"
mode = "update"

[[job]]
name = "part"
sources = ["in/part"]
target = "out/part"
mode = "update"
delete = true
"#
    ));
}

#[test]
fn two_jobs_sharing_a_target_without_delete_are_accepted() {
    let manifest = parse(
        r#"
[[job]]
name = "first"
sources = ["in/first"]
target = "out"

[[job]]
name = "second"
sources = ["in/second"]
target = "out"
mode = "update"
"#,
    )
    .expect("targets may merge when nothing deletes");
    assert_eq!(manifest.jobs.len(), 2);
}

#[test]
fn a_job_writing_into_another_jobs_source_is_refused() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "a-to-b"
sources = ["a"]
target = "b"

[[job]]
name = "b-to-c"
sources = ["b/logs"]
target = "c"
"#
    ));
}

#[test]
fn hdfs_roots_overlap_on_the_same_cluster_only() {
    insta::assert_snapshot!(report(
        r#"
[clusters.prod]
url = "hdfs://nn1:8020"
user = "etl"

[clusters.dr]
url = "hdfs://nn2:8020"

[[job]]
name = "backup"
sources = ["prod:/warehouse"]
target = "hdfs://nn1:8020/warehouse/backup"

[[job]]
name = "dr"
sources = ["prod:/warehouse"]
target = "dr:/warehouse"
mode = "update"
delete = true
"#
    ));
}

#[test]
fn a_job_that_deletes_into_the_folder_of_its_manifest_is_refused() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "mirror"
sources = ["/data"]
target = "."
mode = "update"
delete = true
"#
    ));
}

#[test]
fn a_job_that_deletes_into_the_folder_of_a_source_list_is_refused() {
    let base = tempfile::tempdir().expect("a temp dir");
    std::fs::create_dir(base.path().join("lists")).expect("a folder");
    std::fs::write(base.path().join("lists/sources.txt"), "/data\n").expect("a list");
    let text = r#"
[[job]]
name = "lists"
sources = ["/in"]
target = "lists"
mode = "update"
delete = true

[[job]]
name = "mirror"
source_list = "lists/sources.txt"
target = "/mirror"
"#;
    let error = Manifest::parse(text, Path::new("hsync.toml"), base.path())
        .expect_err("the list lies in a target that deletes");
    insta::assert_snapshot!(render(&error));
}

#[test]
fn two_jobs_with_nested_targets_are_refused_when_one_commits_atomically() {
    insta::assert_snapshot!(report(
        r#"
[[job]]
name = "all"
sources = ["in/all"]
target = "out"
commit = "atomic"

[[job]]
name = "part"
sources = ["in/part"]
target = "out/part"
"#
    ));
}

#[test]
fn a_malformed_synthetic_url_is_pointed_at_its_parameter() {
    insta::assert_snapshot!(report(
        r#"
[clusters.bench]
url = "synthetic://tree?files=1000&fanout=1"

[[job]]
name = "bench"
sources = ["synthetic://tree?files=1000&sizes=64k-4k"]
target = "bench:/"
mode = "update"
"#
    ));
}

#[test]
fn a_synthetic_tree_declared_as_a_cluster_is_named_by_its_alias() {
    let manifest = parse(
        r#"
[clusters.src]
url = "synthetic://tree?seed=7&files=1000"

[[job]]
name = "bench"
sources = ["src:/d1"]
target = "synthetic://tree?files=1000&seed=7&differ=0.01&sink=true"
mode = "update"
"#,
    )
    .unwrap();
    let job = &manifest.jobs[0];
    assert!(matches!(&job.source_fs, FsSpec::Synthetic(s)
        if s.alias.as_deref() == Some("src")
            && s.url == "synthetic://tree?files=1000&fanout=100&seed=7&sizes=4096-65536"));
    assert_eq!(job.sources, ["/d1"]);
    assert!(
        matches!(&job.target_fs, FsSpec::Synthetic(s) if s.url.ends_with("&differ=0.01&sink=true"))
    );
}
