use std::collections::BTreeMap;

use super::*;

fn tree(url: &str) -> SyntheticStorage {
    SyntheticStorage::connect(url).unwrap()
}

/// Every file of a (small) tree by path, with the widest listing seen.
async fn walk(storage: &SyntheticStorage) -> (BTreeMap<String, Entry>, usize) {
    let (mut files, mut widest) = (BTreeMap::new(), 0);
    let mut pending = vec!["/".to_string()];
    while let Some(dir) = pending.pop() {
        let listed = storage.list_dir(&dir).await.unwrap();
        widest = widest.max(listed.len());
        for entry in listed {
            let path = crate::join(&dir, &entry.name);
            match entry.kind {
                EntryKind::Dir => pending.push(path),
                _ => {
                    files.insert(path, entry);
                }
            }
        }
    }
    (files, widest)
}

async fn read_all(storage: &SyntheticStorage, path: &str) -> Vec<u8> {
    let mut reader = storage.open(path).await.unwrap();
    let mut bytes = Vec::new();
    loop {
        let chunk = reader.read(1000).await.unwrap();
        if chunk.is_empty() {
            return bytes;
        }
        bytes.extend_from_slice(&chunk);
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_tree_and_another_seed_another() {
    let url = "synthetic://t?files=1234&fanout=10&sizes=0-1k&seed=7";
    let (first, widest) = walk(&tree(url)).await;
    let (again, _) = walk(&tree(url)).await;
    assert_eq!(first, again);
    assert_eq!(first.len(), 1234);
    assert!(widest <= 10, "a folder of {widest} entries");
    assert!(first.values().all(|e| e.size <= 1024));
    let (other, _) = walk(&tree(
        "synthetic://t?files=1234&fanout=10&sizes=0-1k&seed=8",
    ))
    .await;
    assert_eq!(
        other.keys().collect::<Vec<_>>(),
        first.keys().collect::<Vec<_>>()
    );
    assert_ne!(other, first);
}

#[tokio::test]
async fn a_stat_and_a_read_agree_with_the_listing() {
    let storage = tree("synthetic://t?files=300&fanout=7&sizes=0-3000&seed=1&differ=0.2");
    let (files, _) = walk(&storage).await;
    for (path, entry) in files.iter().take(60) {
        assert_eq!(storage.stat(path).await.unwrap().as_ref(), Some(entry));
        let bytes = read_all(&storage, path).await;
        assert_eq!(bytes.len() as u64, entry.size, "{path}");
        assert_eq!(bytes, read_all(&storage, path).await);
    }
    for absent in ["/d9", "/d0/d0/f0000300", "/d0/f000", "/x", "/d0/d0/d0/d0"] {
        assert_eq!(storage.stat(absent).await.unwrap(), None, "{absent}");
    }
}

#[tokio::test]
async fn about_the_differ_fraction_of_files_differ_in_each_way() {
    let shape = "synthetic://t?files=100000&seed=3";
    let (source, _) = walk(&tree(shape)).await;
    let (target, _) = walk(&tree(&format!("{shape}&differ=0.01"))).await;
    let changed = source
        .iter()
        .filter(|(path, e)| target.get(*path).is_some_and(|t| t != *e))
        .count();
    let missing = source.keys().filter(|p| !target.contains_key(*p)).count();
    let extra = target.keys().filter(|p| !source.contains_key(*p)).count();
    for (what, count) in [("changed", changed), ("missing", missing), ("extra", extra)] {
        assert!(count > 0, "no file {what}");
    }
    let differ = changed + missing + extra;
    assert!((800..1200).contains(&differ), "{differ} of 100000 differ");
}

#[tokio::test]
async fn a_folder_of_a_huge_tree_is_listed_without_the_tree() {
    // 10^12 files: anything that materialised the tree would never finish.
    let storage = tree("synthetic://t?files=1000000000000&fanout=1000");
    let root = storage.list_dir("/").await.unwrap();
    assert_eq!(root.len(), 1000);
    let leaf = "/d999/d999/d999";
    let files = storage.list_dir(leaf).await.unwrap();
    assert_eq!(files.len(), 1000);
    assert_eq!(files[999].name, "f999999999999");
    let last = storage
        .stat(&format!("{leaf}/f999999999999"))
        .await
        .unwrap();
    assert!(last.is_some_and(|e| e.kind == EntryKind::File));
}

#[tokio::test]
async fn a_depth_puts_the_files_in_wider_folders() {
    let storage = tree("synthetic://t?files=1000&fanout=10&depth=1");
    assert_eq!(storage.list_dir("/").await.unwrap().len(), 10);
    assert_eq!(storage.list_dir("/d3").await.unwrap().len(), 100);
}

#[tokio::test]
async fn a_read_only_tree_refuses_writes_and_a_sink_discards_them() {
    let read_only = tree("synthetic://t?files=10");
    let refused = read_only.create("/new", &CreateOptions::default()).await;
    let error = refused.err().expect("a read-only tree takes no file");
    assert_eq!(error.kind, ErrorKind::Unsupported);
    assert!(error.message.contains("sink=true"), "{error}");

    let sink = tree("synthetic://t?files=10&sink=true");
    let mut writer = sink
        .create("/new", &CreateOptions::default())
        .await
        .unwrap();
    writer.write(Bytes::from_static(b"data")).await.unwrap();
    writer.close().await.unwrap();
    sink.rename("/new", "/f0").await.unwrap();
    sink.remove_tree("/f1").await.unwrap();
    sink.create_dir("/a/b").await.unwrap();
    // Nothing is kept: the tree reads as generated.
    assert_eq!(sink.stat("/new").await.unwrap(), None);
    assert_eq!(sink.stat("/a").await.unwrap(), None);
    assert!(sink.stat("/f1").await.unwrap().is_some());
    let taken = sink.rename_new("/lock.tmp", "/f2").await.unwrap_err();
    assert_eq!(taken.kind, ErrorKind::AlreadyExists);
    sink.rename_new("/lock.tmp", "/.hsync-tmp.lock")
        .await
        .unwrap();
}
