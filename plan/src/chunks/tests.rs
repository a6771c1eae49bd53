use super::{Chunk, ChunkList, Chunking};
use crate::{
    Action, CopyAction, DeleteAction, JobEnd, JobHeader, ManifestRef, MkdirAction, Outline,
    PlanFile, PlanReader, PlanSink, PlanWriter, Reason, Seen, SourceRef,
};
use hsync_fs_model::EntryKind;
use proptest::prelude::*;

const HEADER: &str = r#"{ "name": "j", "source_fs": { "kind": "local" }, "source_roots": ["/src"],
  "target_fs": { "kind": "local" }, "target_root": "/dst",
  "options": { "mode": "update", "layout": "contents", "compare": ["size"], "delete": true,
               "preserve": [], "commit": "file", "parallel": 4 } }"#;

fn copy(path: &str, size: u64) -> Action {
    Action::Copy(CopyAction {
        path: path.into(),
        reason: Reason::Missing,
        source: SourceRef {
            root: 0,
            path: path.into(),
        },
        size,
        mtime_ms: 0,
        replaces: None,
        attributes: Default::default(),
        block_size: None,
    })
}

fn mkdir(path: &str) -> Action {
    Action::Mkdir(MkdirAction {
        path: path.into(),
        attributes: Default::default(),
    })
}

fn delete(path: &str) -> Action {
    Action::Delete(DeleteAction {
        path: path.into(),
        entry: EntryKind::File,
        seen: Seen {
            size: 1,
            mtime_ms: 0,
        },
        leftover: false,
        recursive: false,
    })
}

/// Copies of these sizes, named `f00000`, `f00001`, … in plan order.
fn copies(sizes: &[u64]) -> Vec<Action> {
    let name = |i: usize| format!("f{i:05}");
    sizes
        .iter()
        .enumerate()
        .map(|(i, size)| copy(&name(i), *size))
        .collect()
}

/// A sealed plan of one job per list of actions.
fn plan(jobs: &[Vec<Action>]) -> String {
    let manifest = ManifestRef {
        path: "hsync.toml".into(),
        digest: "00".into(),
    };
    let mut writer = PlanWriter::new(Vec::new(), &manifest).expect("writes");
    for (i, actions) in jobs.iter().enumerate() {
        let mut header: JobHeader = serde_json::from_str(HEADER).expect("the header parses");
        header.name = format!("j{i}");
        writer.job(&header).expect("writes");
        for action in actions {
            writer.action(action).expect("writes");
        }
        writer.end_job(&JobEnd::default()).expect("writes");
    }
    String::from_utf8(writer.finish().expect("writes").1).expect("JSON is UTF-8")
}

fn outline(text: &str) -> Outline {
    Outline::from_reader(PlanReader::new(text.as_bytes(), "p").expect("a header")).expect("reads")
}

/// The chunks of a plan asked for `chunks` of them.
fn cut(text: &str, chunks: u32) -> Vec<Chunk> {
    let records = PlanReader::new(text.as_bytes(), "p").expect("a header");
    Chunking { chunks }
        .cut_records(&outline(text), records)
        .expect("cuts")
}

/// Each chunk's files and first and last paths, as a test reads them.
fn shapes(chunks: &[Chunk]) -> Vec<(usize, u64, String, String)> {
    chunks
        .iter()
        .map(|c| (c.job, c.files, c.first_path.clone(), c.last_path.clone()))
        .collect()
}

fn shape(job: usize, files: u64, first: &str, last: &str) -> (usize, u64, String, String) {
    (job, files, first.into(), last.into())
}

/// Checks that every copy of `jobs` is in exactly one chunk, and each
/// chunk's counts are those of its copies.
fn assert_covers(jobs: &[Vec<Action>], chunks: &[Chunk]) {
    let mut next = chunks.iter().peekable();
    for (job, actions) in jobs.iter().enumerate() {
        for (ordinal, action) in actions.iter().enumerate() {
            let Action::Copy(copy) = action else { continue };
            let ordinal = ordinal as u64;
            let chunk = *next.peek().expect("a chunk for every copy");
            assert_eq!(chunk.job, job, "{chunk:?} holds a copy of job {job}");
            assert!((chunk.first..=chunk.last).contains(&ordinal), "{chunk:?}");
            if ordinal == chunk.first {
                assert_eq!(chunk.first_path, copy.path);
            }
            if ordinal == chunk.last {
                assert_eq!(chunk.last_path, copy.path);
                next.next();
            }
        }
    }
    assert!(next.next().is_none(), "a chunk past the last copy");
    for (i, chunk) in chunks.iter().enumerate() {
        let range = chunk.first as usize..=chunk.last as usize;
        let copies: Vec<u64> = jobs[chunk.job][range]
            .iter()
            .filter_map(|a| match a {
                Action::Copy(copy) => Some(copy.size),
                _ => None,
            })
            .collect();
        assert_eq!(chunk.index as usize, i);
        assert_eq!(chunk.files, copies.len() as u64, "{chunk:?}");
        assert_eq!(chunk.bytes, copies.iter().sum::<u64>(), "{chunk:?}");
    }
}

/// Sizes from empty to huge: mostly small, now and then a giant.
fn size() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..5_000, 1 => 1_000_000u64..10_000_000]
}

/// Jobs of copies, with folders and deletes among them.
fn jobs() -> impl Strategy<Value = Vec<Vec<Action>>> {
    let job = prop::collection::vec((size(), any::<bool>()), 0..40).prop_map(|files| {
        let mut actions = Vec::new();
        for (i, (size, in_folder)) in files.into_iter().enumerate() {
            let name = format!("f{i:05}");
            if in_folder {
                actions.push(mkdir(&name));
                actions.push(copy(&format!("{name}/x"), size));
            } else {
                actions.push(copy(&name, size));
            }
        }
        actions.push(delete("zz-old"));
        actions
    });
    prop::collection::vec(job, 0..4)
}

proptest! {
    #[test]
    fn every_copy_belongs_to_exactly_one_chunk(jobs in jobs(), chunks in 1u32..40) {
        let got = cut(&plan(&jobs), chunks);
        assert_covers(&jobs, &got);
        let copies = jobs.iter().flatten().filter(|a| matches!(a, Action::Copy(_))).count();
        // About as many as asked: full of files, full of bytes, before a
        // huge copy or at a job's end; never more than the copies.
        prop_assert!(got.len() <= copies);
        prop_assert!(got.len() <= 3 * chunks as usize + jobs.len());
    }
}

#[test]
fn a_chunk_never_spans_two_jobs() {
    let jobs = [copies(&[10, 10, 10]), copies(&[10, 10, 10])];
    let chunks = cut(&plan(&jobs), 1);
    assert_eq!(
        shapes(&chunks),
        [
            shape(0, 3, "f00000", "f00002"),
            shape(1, 3, "f00000", "f00002")
        ]
    );
    assert_covers(&jobs, &chunks);
}

#[test]
fn a_file_bigger_than_a_chunks_share_is_a_chunk_of_its_own() {
    // 1,100 bytes in 4 chunks: a share is 275 bytes or 2.5 files.
    let jobs = [copies(&[10, 10, 1000, 10, 10, 10, 10, 10, 10, 10])];
    let chunks = cut(&plan(&jobs), 4);
    assert_eq!(
        shapes(&chunks),
        [
            shape(0, 2, "f00000", "f00001"),
            shape(0, 1, "f00002", "f00002"),
            shape(0, 3, "f00003", "f00005"),
            shape(0, 3, "f00006", "f00008"),
            shape(0, 1, "f00009", "f00009"),
        ]
    );
    assert_eq!(chunks[1].bytes, 1000);
    assert_covers(&jobs, &chunks);
}

#[test]
fn small_files_are_grouped_by_their_share_of_the_files() {
    let jobs = [copies(&[1; 100])];
    let chunks = cut(&plan(&jobs), 4);
    assert_eq!(chunks.iter().map(|c| c.files).collect::<Vec<_>>(), [25; 4]);
}

#[test]
fn files_are_grouped_by_their_share_of_the_bytes() {
    // 400 bytes in 2 chunks: a share is 200 bytes or 5 files.
    let jobs = [copies(&[100, 100, 50, 50, 50, 50, 0, 0, 0, 0])];
    let chunks = cut(&plan(&jobs), 2);
    assert_eq!(
        shapes(&chunks),
        [
            shape(0, 2, "f00000", "f00001"),
            shape(0, 4, "f00002", "f00005"),
            shape(0, 4, "f00006", "f00009"),
        ]
    );
}

#[test]
fn a_plan_of_empty_files_is_cut_by_files_alone() {
    let jobs = [copies(&[0; 8])];
    let chunks = cut(&plan(&jobs), 4);
    assert_eq!(chunks.iter().map(|c| c.files).collect::<Vec<_>>(), [2; 4]);
}

#[test]
fn there_are_never_more_chunks_than_copies() {
    let jobs = [copies(&[5, 5, 5])];
    assert_eq!(cut(&plan(&jobs), 10).len(), 3);
    assert_eq!(cut(&plan(&jobs), 0).len(), 1, "0 is taken as 1");
}

#[test]
fn a_plan_without_copies_has_no_chunks() {
    let jobs = [vec![mkdir("d"), delete("old")], vec![]];
    assert_eq!(cut(&plan(&jobs), 8), []);
    assert_eq!(cut(&plan(&[]), 8), []);
}

#[test]
fn a_chunk_names_its_copies_by_their_ordinals_among_all_the_jobs_actions() {
    let jobs = [vec![
        mkdir("a"),
        copy("a/1", 10),
        mkdir("b"),
        copy("b/1", 10),
        delete("old"),
    ]];
    let chunks = cut(&plan(&jobs), 1);
    assert_eq!(shapes(&chunks), [shape(0, 2, "a/1", "b/1")]);
    assert_eq!((chunks[0].first, chunks[0].last), (1, 3));
}

#[test]
fn chunking_the_same_plan_twice_gives_the_same_chunks() {
    let sizes: Vec<u64> = (0..500u64).map(|i| (i * 7919) % 10_007).collect();
    let jobs = [copies(&sizes), copies(&sizes[..40])];
    let text = plan(&jobs);
    let first = cut(&text, 12);
    assert_eq!(first, cut(&text, 12));
    assert_eq!(first, cut(&plan(&jobs), 12));
    assert_covers(&jobs, &first);
}

#[test]
fn four_chunks_are_cut_for_each_worker() {
    assert_eq!(Chunking::for_workers(3), Chunking { chunks: 12 });
    assert_eq!(Chunking::for_workers(u32::MAX).chunks, u32::MAX);
}

#[test]
fn a_chunk_list_is_refused_for_another_plan() {
    let dir = std::env::temp_dir().join(format!("hsync-chunks-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (path, other) = (dir.join("plan.json"), dir.join("other.json"));
    std::fs::write(&path, plan(&[copies(&[1, 2, 3])])).unwrap();
    std::fs::write(&other, plan(&[copies(&[3, 2, 1])])).unwrap();
    let (path, other) = (
        PlanFile::open(&path).expect("opens"),
        PlanFile::open(&other).expect("opens"),
    );

    let list = ChunkList::of(&path, Chunking { chunks: 2 }).expect("cuts");
    assert_eq!(
        list.chunks,
        Chunking { chunks: 2 }.cut(&path).expect("cuts")
    );
    assert_eq!(list.totals(), (3, 6));
    assert!(list.check(&path.outline).is_ok());
    let refused = list.check(&other.outline).unwrap_err().to_string();
    assert!(refused.contains("not from this plan"), "{refused}");
    // As a run folder keeps it.
    let json = serde_json::to_string(&list).expect("serializes");
    assert_eq!(
        serde_json::from_str::<ChunkList>(&json).expect("reads"),
        list
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
