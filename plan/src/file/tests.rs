use super::{is_normal_relative, LoadError, PlanFile, PlanReader, Record};
use crate::{Action, JobEnd, JobHeader, ManifestRef, Outline, Plan, PlanSink, PlanWriter};
use proptest::prelude::*;

const HEADER: &str = r#"{ "name": "j", "source_fs": { "kind": "local" }, "source_roots": ["/src"],
  "target_fs": { "kind": "hdfs", "url": "hdfs://nn:8020" }, "target_root": "/dst",
  "options": { "mode": "update", "layout": "contents", "compare": ["size"], "delete": true,
               "preserve": ["times"], "commit": "file", "parallel": 4 } }"#;

const ACTIONS: [&str; 3] = [
    r#"{ "op": "mkdir", "path": "d", "attributes": { "mtime_ms": 1 } }"#,
    r#"{ "op": "copy", "path": "d/f", "reason": "missing", "source": { "root": 0, "path": "d/f" },
         "size": 3, "mtime_ms": 2 }"#,
    r#"{ "op": "delete", "path": "old", "entry": "file", "seen": { "size": 1, "mtime_ms": 1 } }"#,
];

/// A small plan file in the shape `hsync plan` writes.
fn sealed() -> String {
    let manifest = ManifestRef {
        path: "hsync.toml".into(),
        digest: "00".into(),
    };
    let mut writer = PlanWriter::new(Vec::new(), &manifest).expect("writes");
    let header: JobHeader = serde_json::from_str(HEADER).expect("the sample header parses");
    writer.job(&header).expect("writes");
    for action in ACTIONS {
        let action: Action = serde_json::from_str(action).expect("the sample action parses");
        writer.action(&action).expect("writes");
    }
    writer.end_job(&JobEnd::default()).expect("writes");
    String::from_utf8(writer.finish().expect("writes").1).expect("JSON is UTF-8")
}

fn load(text: &str) -> Result<Plan, LoadError> {
    Plan::from_reader(PlanReader::new(text.as_bytes(), "p")?)
}

#[test]
fn a_plan_is_one_record_per_line_between_a_header_and_a_trailer() {
    let text = sealed();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 1 + ACTIONS.len() + 1 + 1);
    assert!(lines[0].starts_with(r#"{"format_version":3,"manifest":"#));
    assert!(lines[1].starts_with(r#"{"job":{"name":"j""#));
    assert!(lines[2].starts_with(r#"{"op":"mkdir""#));
    assert!(lines[5].starts_with(r#"{"end":"#));
    assert!(lines[6].starts_with(r#"{"fingerprint":""#));
}

#[test]
fn the_fingerprint_is_the_blake3_of_every_line_before_the_trailer() {
    let text = sealed();
    let trailer = text[..text.len() - 1].rfind('\n').expect("lines") + 1;
    let expected = blake3::hash(&text.as_bytes()[..trailer])
        .to_hex()
        .to_string();
    assert_eq!(load(&text).expect("loads").fingerprint, expected);
    assert!(text[trailer..].contains(&expected));
}

#[test]
fn a_plan_read_and_written_record_by_record_is_the_same_file() {
    let text = sealed();
    let reader = PlanReader::new(text.as_bytes(), "plan.json").expect("a header");
    let mut writer = PlanWriter::new(Vec::new(), reader.manifest()).expect("writes");
    for record in reader {
        record.expect("reads").send(&mut writer).expect("writes");
    }
    let (fingerprint, again) = writer.finish().expect("writes");
    assert_eq!(String::from_utf8(again).expect("UTF-8"), text);
    assert_eq!(fingerprint, load(&text).expect("loads").fingerprint);
}

#[test]
fn a_sealed_plan_loads_and_any_change_to_it_is_refused() {
    let text = sealed();
    assert!(load(&text).is_ok());
    let tampered = text.replace("\"size\":3", "\"size\":4");
    assert_ne!(tampered, text);
    let err = load(&tampered).unwrap_err().to_string();
    assert!(err.contains("was changed after it was written"), "{err}");
}

#[test]
fn a_plan_cut_off_before_its_trailer_is_refused() {
    let text = sealed();
    let cut = &text[..text.rfind("{\"fingerprint\"").expect("a trailer")];
    let err = load(cut).unwrap_err().to_string();
    assert!(err.contains("ends before its fingerprint"), "{err}");
    let err = load(&text[..text.len() - 3]).unwrap_err().to_string();
    assert!(err.contains("cut off"), "{err}");
}

#[test]
fn a_plan_of_an_older_format_is_refused_with_its_version() {
    let older = "{\n  \"format_version\": 2,\n  \"manifest\": {}\n}\n";
    let err = load(older).unwrap_err().to_string();
    assert_eq!(
        err,
        "the plan p has format version 2, this hsync reads version 3"
    );
}

#[test]
fn a_record_outside_a_job_is_refused() {
    let text = sealed();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(1, 2);
    let err = load(&(lines.join("\n") + "\n")).unwrap_err().to_string();
    assert!(err.contains("line 2: a record outside of any job"), "{err}");
}

#[test]
fn the_outline_counts_a_jobs_actions_without_keeping_them() {
    let outline =
        Outline::from_reader(PlanReader::new(sealed().as_bytes(), "p").unwrap()).expect("reads");
    assert_eq!(outline.jobs.len(), 1);
    assert_eq!(outline.jobs[0].actions, ACTIONS.len() as u64);
    assert!(outline.has_changes());
}

#[test]
fn a_plan_rewritten_while_it_is_applied_ends_its_second_reading_with_an_error() {
    let dir = std::env::temp_dir().join(format!("hsync-plan-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.json");
    std::fs::write(&path, sealed()).unwrap();
    let file = PlanFile::open(&path).expect("opens");
    let other = sealed().replace("\"path\":\"old\"", "\"path\":\"new\"");
    let other = load_resealed(&other);
    std::fs::write(&path, other).unwrap();
    let last = file.records().expect("reopens").last().expect("records");
    assert!(matches!(last, Err(LoadError::Changed { .. })), "{last:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `text` with its trailer recomputed, as a forger would.
fn load_resealed(text: &str) -> String {
    let trailer = text[..text.len() - 1].rfind('\n').expect("lines") + 1;
    let fingerprint = blake3::hash(&text.as_bytes()[..trailer]).to_hex();
    format!(
        "{}{{\"fingerprint\":\"{fingerprint}\"}}\n",
        &text[..trailer]
    )
}

#[test]
fn every_record_kind_reads_back_as_written() {
    let records: Vec<Record> = PlanReader::new(sealed().as_bytes(), "p")
        .unwrap()
        .collect::<Result<_, _>>()
        .expect("reads");
    assert!(matches!(records[0], Record::Job(_)));
    assert!(matches!(records.last(), Some(Record::End(_))));
}

proptest! {
    /// Whatever bytes a plan file holds, loading it returns, never panics.
    #[test]
    fn loading_arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = load(&text);
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
        let _ = load(&text);
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
