//! The `FileStorage` contract, run against every adapter: a local directory and memory.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;

use gatehouse_application::ports::FileStorage;
use gatehouse_infrastructure::files::LocalFileStorage;
use gatehouse_memory::InMemoryFileStorage;

type Storage = Arc<dyn FileStorage>;

const BASE: &str = "http://127.0.0.1:8000/media";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really a picture";

async fn a_stored_file_reads_back_at_its_url(storage: Storage) {
    let url = storage
        .put("avatars/ab12-cd34.png", PNG, "image/png")
        .await
        .unwrap();
    assert_eq!(url, format!("{BASE}/avatars/ab12-cd34.png"));
    let file = storage.get("avatars/ab12-cd34.png").await.unwrap().unwrap();
    assert_eq!(file.bytes, PNG);
    assert_eq!(file.content_type, "image/png");
}

async fn a_second_put_replaces_the_file(storage: Storage) {
    storage
        .put("avatars/a.png", b"first", "image/png")
        .await
        .unwrap();
    storage
        .put("avatars/a.png", b"second", "image/png")
        .await
        .unwrap();
    let file = storage.get("avatars/a.png").await.unwrap().unwrap();
    assert_eq!(file.bytes, b"second");
}

async fn missing_and_deleted_files_are_none(storage: Storage) {
    assert_eq!(storage.get("avatars/none.png").await.unwrap(), None);
    storage
        .put("avatars/gone.png", PNG, "image/png")
        .await
        .unwrap();
    storage.delete("avatars/gone.png").await.unwrap();
    assert_eq!(storage.get("avatars/gone.png").await.unwrap(), None);
    // Deleting what is not there is not an error.
    storage.delete("avatars/gone.png").await.unwrap();
}

async fn unsafe_names_are_refused(storage: Storage) {
    for name in [
        "",
        "../escape.png",
        "avatars/../../x.png",
        ".hidden",
        "Upper.png",
        "a//b.png",
    ] {
        assert!(
            storage.put(name, PNG, "image/png").await.is_err(),
            "{name:?}"
        );
        assert!(storage.get(name).await.is_err(), "{name:?}");
        assert!(storage.delete(name).await.is_err(), "{name:?}");
    }
}

fn local() -> (Storage, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("gatehouse-files-{}", uuid::Uuid::new_v4()));
    (Arc::new(LocalFileStorage::new(&dir, BASE)), dir)
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_a_directory {
            $(#[tokio::test]
            async fn $case() {
                let (storage, dir) = super::local();
                super::$case(storage).await;
                let _ = std::fs::remove_dir_all(dir);
            })*
        }
        mod in_memory {
            $(#[tokio::test]
            async fn $case() {
                super::$case(std::sync::Arc::new(super::InMemoryFileStorage::new(super::BASE)))
                    .await;
            })*
        }
    };
}

contract!(
    a_stored_file_reads_back_at_its_url,
    a_second_put_replaces_the_file,
    missing_and_deleted_files_are_none,
    unsafe_names_are_refused,
);
