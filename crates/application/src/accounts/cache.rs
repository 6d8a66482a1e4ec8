//! Serving an authenticated request's account without a database read: an in-process copy of
//! each account, taken for current only while the account's shared version (see
//! [`AccountVersions`]) still says what it said when the copy was read; and the same for
//! pages of the user directory, under the directory's version.
//!
//! Every write of an account goes through [`VersionedUserRepository`], which moves the version
//! before the write and again after it commits; so a copy read before the write (or during it)
//! carries a version the account has left by the time the write answers, on every instance.
//! What a request sees is never older than the last write that answered before it began.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_domain::{Email, PasswordHash, SecurityStamp, User, UserId, Username};
use moka::sync::Cache;
use time::OffsetDateTime;

use crate::accounts::ports::{
    AccessFields, AccountVersions, ImportWrite, InsertUserError, ProfileChanges, UserFilter,
    UserRepository, VERSIONS_REMEMBERED_FOR,
};
use crate::shared::pagination::PageRequest;

/// How long a copy may be kept at most, whatever its version says: a bound on the damage of
/// a version move that was lost (the shared store failed between a write's commit and its
/// second move, while another request read the account). Far shorter than
/// [`VERSIONS_REMEMBERED_FOR`], as that requires.
pub const COPY_LIFETIME: Duration = Duration::from_secs(60);

const _: () = assert!(COPY_LIFETIME.as_secs() < VERSIONS_REMEMBERED_FOR.as_secs());

/// The accounts this instance read lately, each with the version it was read at.
pub struct AccountCache {
    users: Arc<dyn UserRepository>,
    versions: Arc<dyn AccountVersions>,
    copies: Cache<UserId, (u64, Arc<User>)>,
    pages: Cache<(UserFilter, PageRequest), VersionedPage>,
}

/// A kept directory page: the directory's version when it was read, and its rows.
type VersionedPage = (u64, Arc<Vec<User>>);

/// How many users the kept directory pages hold together, at most.
const PAGE_ROWS: u64 = 20_000;

impl AccountCache {
    /// Copies of at most `capacity` accounts read from `users`, checked against `versions`.
    pub fn new(
        users: Arc<dyn UserRepository>,
        versions: Arc<dyn AccountVersions>,
        capacity: u64,
    ) -> Self {
        Self {
            users,
            versions,
            copies: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(COPY_LIFETIME)
                .build(),
            pages: Cache::builder()
                .weigher(|_, (_, rows): &VersionedPage| {
                    u32::try_from(rows.len()).unwrap_or(u32::MAX).max(1)
                })
                .max_capacity(PAGE_ROWS)
                .time_to_live(COPY_LIFETIME)
                .build(),
        }
    }

    /// A page of the directory (see [`UserRepository::page`]): this instance's copy while
    /// the directory's version still says what it said when the copy was read, else the
    /// stored page, then kept.
    pub async fn page(
        &self,
        filter: &UserFilter,
        request: &PageRequest,
    ) -> anyhow::Result<Vec<User>> {
        let version = self.versions.directory().await?;
        let key = (filter.clone(), *request);
        if let Some((copied_at, rows)) = self.pages.get(&key)
            && copied_at == version
        {
            return Ok(rows.as_ref().clone());
        }
        let rows = self.users.page(filter, request).await?;
        self.pages.insert(key, (version, Arc::new(rows.clone())));
        Ok(rows)
    }

    /// The account as of `version` (read from the shared counter when the caller did not
    /// read it along with the credential): this instance's copy when it was read at that
    /// version, else the stored account, then kept as the copy.
    pub async fn current(
        &self,
        id: UserId,
        version: Option<u64>,
    ) -> anyhow::Result<Option<Arc<User>>> {
        let version = match version {
            Some(version) => version,
            None => self.versions.current(id).await?,
        };
        if let Some((copied_at, user)) = self.copies.get(&id)
            && copied_at == version
        {
            return Ok(Some(user));
        }
        // Read after the version: a write that lands in between moves the version again
        // once it commits, so this copy (perhaps of the older account) is never taken for
        // the newer version.
        let Some(user) = self.users.find_by_id(id).await? else {
            self.copies.invalidate(&id);
            return Ok(None);
        };
        let user = Arc::new(user);
        self.copies.insert(id, (version, user.clone()));
        Ok(Some(user))
    }

    /// Says that the account changed in a way its repository did not see (its credits).
    pub async fn changed(&self, id: UserId) -> anyhow::Result<()> {
        self.after_write(&[id]).await
    }

    /// Before a write of accounts `ids` (or of a new account): moves their versions and the
    /// directory's, so copies read so far are not current once the write is done, even if
    /// the moves after it fail.
    async fn before_write(&self, ids: &[UserId]) -> anyhow::Result<()> {
        self.versions.bump_directory().await?;
        for id in ids {
            self.versions.bump(*id).await?;
        }
        Ok(())
    }

    /// After a write of accounts `ids` (or of a new account): drops this instance's copies
    /// (the request that wrote may read the account again under the version its credential
    /// came with) and moves the versions, which every other instance reads before it
    /// serves a copy.
    async fn after_write(&self, ids: &[UserId]) -> anyhow::Result<()> {
        for id in ids {
            self.copies.invalidate(id);
            self.versions.bump(*id).await?;
        }
        self.pages.invalidate_all();
        self.versions.bump_directory().await
    }
}

/// A [`UserRepository`] whose writes move the account's version before and after they go
/// to the store, and drop this instance's copy (see the module docs). Reads pass through untouched: use cases that read to
/// decide a write want the stored account, not a copy.
pub struct VersionedUserRepository {
    inner: Arc<dyn UserRepository>,
    cache: Arc<AccountCache>,
}

impl VersionedUserRepository {
    /// `inner`, with every write moving the written account's version in `cache`'s
    /// versions (and dropping `cache`'s copy). `cache` must read `inner`.
    pub fn new(inner: Arc<dyn UserRepository>, cache: Arc<AccountCache>) -> Self {
        Self { inner, cache }
    }

    /// Runs `write` between two moves of the versions of `ids` and of the directory. A failed first move stops the write
    /// (it would go unseen); a failed second move fails the request after the write, and
    /// the copies read meanwhile live at most [`COPY_LIFETIME`].
    async fn around<T>(&self, ids: &[UserId], write: impl Future<Output = T>) -> anyhow::Result<T> {
        self.cache.before_write(ids).await?;
        let written = write.await;
        self.cache.after_write(ids).await?;
        Ok(written)
    }
}

#[async_trait]
impl UserRepository for VersionedUserRepository {
    async fn insert(&self, user: &User) -> Result<(), InsertUserError> {
        // A new id: nobody holds a copy of it, but directory pages change.
        self.around(&[], self.inner.insert(user))
            .await
            .map_err(InsertUserError::Unavailable)?
    }

    async fn find_by_id(&self, id: UserId) -> anyhow::Result<Option<User>> {
        self.inner.find_by_id(id).await
    }

    async fn find_by_email(&self, email: &Email) -> anyhow::Result<Option<User>> {
        self.inner.find_by_email(email).await
    }

    async fn find_by_username(&self, username: &Username) -> anyhow::Result<Option<User>> {
        self.inner.find_by_username(username).await
    }

    async fn insert_many(&self, users: &[User]) -> Result<(), InsertUserError> {
        self.around(&[], self.inner.insert_many(users))
            .await
            .map_err(InsertUserError::Unavailable)?
    }

    async fn update_profile(
        &self,
        id: UserId,
        changes: &ProfileChanges,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        self.around(&[id], self.inner.update_profile(id, changes, at))
            .await?
    }

    async fn set_avatar_url(
        &self,
        id: UserId,
        url: &str,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        self.around(&[id], self.inner.set_avatar_url(id, url, at))
            .await?
    }

    async fn mark_verified(&self, id: UserId, at: OffsetDateTime) -> anyhow::Result<bool> {
        self.around(&[id], self.inner.mark_verified(id, at)).await?
    }

    async fn set_password<'a>(
        &self,
        id: UserId,
        hash: &PasswordHash,
        expected: Option<&'a PasswordHash>,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>> {
        self.around(&[id], self.inner.set_password(id, hash, expected, at))
            .await?
    }

    async fn upgrade_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        expected: &PasswordHash,
    ) -> anyhow::Result<bool> {
        self.around(&[id], self.inner.upgrade_password_hash(id, hash, expected))
            .await?
    }

    async fn update_access(
        &self,
        id: UserId,
        access: &AccessFields,
        expected: SecurityStamp,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>> {
        self.around(&[id], self.inner.update_access(id, access, expected, at))
            .await?
    }

    async fn bump_security_stamp(
        &self,
        id: UserId,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>> {
        self.around(&[id], self.inner.bump_security_stamp(id, at))
            .await?
    }

    async fn set_verified(
        &self,
        id: UserId,
        verified: bool,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        self.around(&[id], self.inner.set_verified(id, verified, at))
            .await?
    }

    async fn imported(&self, source_ids: &[i64]) -> anyhow::Result<Vec<(i64, User)>> {
        self.inner.imported(source_ids).await
    }

    async fn import(
        &self,
        writes: &[ImportWrite],
        at: OffsetDateTime,
    ) -> Result<(), InsertUserError> {
        let updated: Vec<UserId> = writes
            .iter()
            .filter_map(|write| match write {
                ImportWrite::Update { user, .. } => Some(user.id),
                ImportWrite::Insert { .. } => None,
            })
            .collect();
        self.around(&updated, self.inner.import(writes, at))
            .await
            .map_err(InsertUserError::Unavailable)?
    }

    async fn page(&self, filter: &UserFilter, request: &PageRequest) -> anyhow::Result<Vec<User>> {
        self.inner.page(filter, request).await
    }

    async fn count(&self, created_since: Option<OffsetDateTime>) -> anyhow::Result<u64> {
        self.inner.count(created_since).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ports::{MockAccountVersions, MockUserRepository};
    use crate::test_support::{NOW, user};

    fn versions_at(version: u64) -> MockAccountVersions {
        let mut versions = MockAccountVersions::new();
        versions.expect_current().returning(move |_| Ok(version));
        versions
    }

    #[tokio::test]
    async fn a_copy_is_served_while_its_version_holds_and_read_again_once_it_moves() {
        let stored = user("copied@example.com", "copied");
        let id = stored.id;
        let mut users = MockUserRepository::new();
        let copy = stored.clone();
        users
            .expect_find_by_id()
            .times(2)
            .returning(move |_| Ok(Some(copy.clone())));
        let cache = AccountCache::new(Arc::new(users), Arc::new(versions_at(0)), 10);
        for _ in 0..3 {
            let served = cache.current(id, Some(4)).await.unwrap().unwrap();
            assert_eq!(served.id, id);
        }
        // The version moved: the copy is not the account any more; read once, then kept.
        cache.current(id, Some(5)).await.unwrap();
        cache.current(id, Some(5)).await.unwrap();
    }

    #[tokio::test]
    async fn without_a_version_from_the_credential_the_shared_counter_is_asked() {
        let stored = user("asked@example.com", "asked");
        let id = stored.id;
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .times(1)
            .returning(move |_| Ok(Some(stored.clone())));
        let mut versions = MockAccountVersions::new();
        versions.expect_current().times(2).returning(|_| Ok(9));
        let cache = AccountCache::new(Arc::new(users), Arc::new(versions), 10);
        cache.current(id, None).await.unwrap();
        cache.current(id, None).await.unwrap();
    }

    #[tokio::test]
    async fn the_request_that_wrote_reads_its_write_under_the_version_it_came_with() {
        let before = user("own@example.com", "own");
        let id = before.id;
        let mut after = before.clone();
        after.first_name = "Written".into();
        let mut inner = MockUserRepository::new();
        let mut reads = vec![after, before];
        inner
            .expect_find_by_id()
            .times(2)
            .returning(move |_| Ok(reads.pop()));
        inner.expect_mark_verified().returning(|_, _| Ok(true));
        let mut versions = versions_at(0);
        versions.expect_bump().returning(|_| Ok(()));
        versions.expect_bump_directory().returning(|| Ok(()));
        let inner: Arc<dyn UserRepository> = Arc::new(inner);
        let cache = Arc::new(AccountCache::new(inner.clone(), Arc::new(versions), 10));
        let users = VersionedUserRepository::new(inner, cache.clone());
        let read = cache.current(id, Some(4)).await.unwrap().unwrap();
        assert_eq!(read.first_name, "");
        users.mark_verified(id, NOW).await.unwrap();
        let reread = cache.current(id, Some(4)).await.unwrap().unwrap();
        assert_eq!(reread.first_name, "Written");
    }

    #[tokio::test]
    async fn a_directory_page_is_kept_while_the_directory_version_holds() {
        let mut users = MockUserRepository::new();
        users
            .expect_page()
            .times(2)
            .returning(|_, _| Ok(vec![user("paged@example.com", "paged")]));
        let mut versions = MockAccountVersions::new();
        let mut directory = vec![8, 7, 7, 7];
        versions
            .expect_directory()
            .returning(move || Ok(directory.pop().unwrap_or(8)));
        let cache = AccountCache::new(Arc::new(users), Arc::new(versions), 10);
        let request = PageRequest {
            from: None,
            limit: 10,
        };
        for _ in 0..4 {
            let page = cache.page(&UserFilter::default(), &request).await.unwrap();
            assert_eq!(page.len(), 1);
        }
    }

    #[tokio::test]
    async fn a_write_whose_version_cannot_move_is_not_made() {
        let mut inner = MockUserRepository::new();
        inner.expect_mark_verified().never();
        let mut versions = MockAccountVersions::new();
        versions
            .expect_bump()
            .returning(|_| Err(anyhow::anyhow!("the shared store is away")));
        versions
            .expect_bump_directory()
            .returning(|| Err(anyhow::anyhow!("the shared store is away")));
        let inner: Arc<dyn UserRepository> = Arc::new(inner);
        let cache = AccountCache::new(inner.clone(), Arc::new(versions), 10);
        let users = VersionedUserRepository::new(inner, Arc::new(cache));
        let id = user("unseen@example.com", "unseen").id;
        assert!(users.mark_verified(id, NOW).await.is_err());
    }

    #[tokio::test]
    async fn a_write_moves_the_version_before_and_after_it() {
        let id = user("moved@example.com", "moved").id;
        let mut sequence = mockall::Sequence::new();
        let mut versions = MockAccountVersions::new();
        let mut inner = MockUserRepository::new();
        versions
            .expect_bump_directory()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|| Ok(()));
        versions
            .expect_bump()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(()));
        inner
            .expect_mark_verified()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _| Ok(true));
        versions
            .expect_bump()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(()));
        versions
            .expect_bump_directory()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|| Ok(()));
        let inner: Arc<dyn UserRepository> = Arc::new(inner);
        let cache = AccountCache::new(inner.clone(), Arc::new(versions), 10);
        let users = VersionedUserRepository::new(inner, Arc::new(cache));
        assert!(users.mark_verified(id, NOW).await.unwrap());
    }
}
