//! The file storage port: where uploaded files (avatars) are kept and read back.

use async_trait::async_trait;

/// A stored file read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The content.
    pub bytes: Vec<u8>,
    /// Its media type.
    pub content_type: String,
}

/// Whether `name` is one a [`FileStorage`] accepts: lower-case letters, digits, `-` and `.`,
/// in parts separated by `/`, none empty or starting with `.`. Names come from the services,
/// but every adapter refuses any other, so no name can escape the storage's root.
pub fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c))
        })
}

/// Where uploaded files (avatars) live. Names are chosen by the services, never by clients.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait FileStorage: Send + Sync {
    /// Stores `bytes` under `name` (replacing any file there) and returns the public URL it
    /// is served at.
    async fn put(&self, name: &str, bytes: &[u8], content_type: &str) -> anyhow::Result<String>;

    /// The file stored under `name`, if any.
    async fn get(&self, name: &str) -> anyhow::Result<Option<StoredFile>>;

    /// Removes the file under `name`; a missing file is not an error.
    async fn delete(&self, name: &str) -> anyhow::Result<()>;
}
