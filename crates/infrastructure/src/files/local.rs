use std::io::ErrorKind;
use std::path::PathBuf;

use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::{FileStorage, StoredFile, is_safe_file_name};

/// [`FileStorage`] in a local directory, served back by the app under `public_base`
/// (`{GATEHOUSE_PUBLIC_URL}/media`). Writes go to a temporary file renamed into place, so a
/// reader never sees half a picture.
pub struct LocalFileStorage {
    root: PathBuf,
    public_base: String,
}

impl LocalFileStorage {
    /// Storage under `root`, with URLs starting with `public_base`.
    pub fn new(root: impl Into<PathBuf>, public_base: impl Into<String>) -> Self {
        Self {
            root: root.into(),
            public_base: public_base.into().trim_end_matches('/').to_owned(),
        }
    }

    /// Names come from the services, but the check is cheap insurance against a path
    /// escaping the root.
    fn path(&self, name: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(is_safe_file_name(name), "refusing file name {name:?}");
        Ok(self.root.join(name))
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("png") => "image/png",
        Some("jpg") => "image/jpeg",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

#[async_trait]
impl FileStorage for LocalFileStorage {
    async fn put(&self, name: &str, bytes: &[u8], _content_type: &str) -> anyhow::Result<String> {
        let path = self.path(name)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let temporary = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
        tokio::fs::write(&temporary, bytes)
            .await
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        tokio::fs::rename(&temporary, &path)
            .await
            .with_context(|| format!("cannot move a file into {}", path.display()))?;
        Ok(format!("{}/{name}", self.public_base))
    }

    async fn get(&self, name: &str) -> anyhow::Result<Option<StoredFile>> {
        let path = self.path(name)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(StoredFile {
                bytes,
                content_type: content_type(name).to_owned(),
            })),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    async fn delete(&self, name: &str) -> anyhow::Result<()> {
        let path = self.path(name)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot delete {}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_and_names_cannot_escape_the_root() {
        let root = std::env::temp_dir().join(format!("gatehouse-files-{}", uuid::Uuid::new_v4()));
        let storage = LocalFileStorage::new(&root, "http://example.test/media/");
        let url = storage
            .put("avatars/abc.png", b"png bytes", "image/png")
            .await
            .unwrap();
        assert_eq!(url, "http://example.test/media/avatars/abc.png");
        let file = storage.get("avatars/abc.png").await.unwrap().unwrap();
        assert_eq!(file.bytes, b"png bytes");
        assert_eq!(file.content_type, "image/png");
        storage.delete("avatars/abc.png").await.unwrap();
        assert!(storage.get("avatars/abc.png").await.unwrap().is_none());
        storage.delete("avatars/abc.png").await.unwrap();
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "avatars/../../x",
            "a//b",
            "A.png",
            "",
        ] {
            assert!(storage.get(bad).await.is_err(), "{bad:?} accepted");
        }
        let _ = std::fs::remove_dir_all(root);
    }
}
