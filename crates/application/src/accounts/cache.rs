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
    /// Per account this instance is writing or wrote lately, the version its write started:
    /// a version below it was read before the write, and is not served from (nor kept).
    written: Cache<UserId, u64>,
}

/// A kept directory page: the directory's version when it was read, and its rows.
type VersionedPage = (u64, Arc<Vec<User>>);

/// How many users the kept directory pages hold together, at most.
const PAGE_ROWS: u64 = 20_000;

impl AccountCache {
    /// Copies of at most `capacity` accounts read from `users`, checked against `versions`,
    /// each kept at most `lifetime` (at most [`COPY_LIFETIME`]; shorter when writers
    /// elsewhere may not move `versions`, see the server's wiring).
    pub fn new(
        users: Arc<dyn UserRepository>,
        versions: Arc<dyn AccountVersions>,
        capacity: u64,
        lifetime: Duration,
    ) -> Self {
        let lifetime = lifetime.min(COPY_LIFETIME);
        Self {
            users,
            versions,
            copies: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(lifetime)
                .build(),
            written: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(COPY_LIFETIME)
                .build(),
            pages: Cache::builder()
                .weigher(|_, (_, rows): &VersionedPage| {
                    u32::try_from(rows.len()).unwrap_or(u32::MAX).max(1)
                })
                .max_capacity(PAGE_ROWS)
                .time_to_live(lifetime)
                .build(),
        }
    }

    /// Forgets every copy and page: for when the shared versions may have gone back (the
    /// connection to Redis was re-established: a restart or a failover may have lost the
    /// latest moves).
    pub fn forget_all(&self) {
        self.copies.invalidate_all();
        self.pages.invalidate_all();
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
        // A version from before this instance's own latest write of the account (the
        // writing request reading back, or a request that began before it): the store.
        let stale = self
            .written
            .get(&id)
            .is_some_and(|started| version < started);
        if !stale
            && let Some((copied_at, user)) = self.copies.get(&id)
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
        if !stale {
            self.copies.insert(id, (version, user.clone()));
        }
        Ok(Some(user))
    }

    /// Says that the account changed in a way its repository did not see (its credits),
    /// after the change was made: the move cannot fail the change (see
    /// [`AccountCache::after_write`]).
    pub async fn changed(self: &Arc<Self>, id: UserId) {
        Pending::new(self.clone(), vec![id]).finish().await;
    }

    /// Before a write of accounts `ids` (or of a new account): moves their versions and the
    /// directory's, so copies read so far are not current once the write is done, even if
    /// the moves after it fail; and makes this instance refuse versions from before.
    async fn before_write(&self, ids: &[UserId]) -> anyhow::Result<()> {
        self.versions.bump_directory().await?;
        for id in ids {
            let started = self.versions.bump(*id).await?;
            self.written.insert(*id, started);
            self.copies.invalidate(id);
        }
        Ok(())
    }

    /// After a write of accounts `ids` (or of a new account): drops this instance's copies
    /// and pages and moves the versions, which every other instance reads before it serves
    /// a copy.
    async fn after_write(&self, ids: &[UserId]) -> anyhow::Result<()> {
        for id in ids {
            self.copies.invalidate(id);
            self.versions.bump(*id).await?;
        }
        self.pages.invalidate_all();
        self.versions.bump_directory().await
    }
}

/// The moves owed after a write. Made by the write's request once the write returns; if
/// that fails (the shared store is away) they are retried in the background for a copy's
/// lifetime, and if the request is dropped mid-write (a client that went away) they are
/// made in the background too: a write that may have committed is never left unannounced,
/// and what the write did (revocations, audit) never depends on them.
struct Pending {
    cache: Arc<AccountCache>,
    ids: Vec<UserId>,
    done: bool,
}

impl Pending {
    fn new(cache: Arc<AccountCache>, ids: Vec<UserId>) -> Self {
        Self {
            cache,
            ids,
            done: false,
        }
    }

    async fn finish(mut self) {
        self.done = true;
        if let Err(error) = self.cache.after_write(&self.ids).await {
            tracing::warn!(error = %error, "account version move failed; retrying");
            retry_in_background(self.cache.clone(), std::mem::take(&mut self.ids));
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            retry_in_background(self.cache.clone(), std::mem::take(&mut self.ids));
        }
    }
}

/// Makes the moves after a write until they succeed or a copy's lifetime has passed (every
/// copy they were to retire is gone by then).
fn retry_in_background(cache: Arc<AccountCache>, ids: Vec<UserId>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let deadline = tokio::time::Instant::now() + COPY_LIFETIME;
        let mut pause = Duration::from_millis(50);
        while tokio::time::Instant::now() < deadline {
            if cache.after_write(&ids).await.is_ok() {
                return;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
        tracing::error!("account versions not moved after a write; copies expire on their own");
    });
}

/// A [`UserRepository`] whose writes move the account's version before and after they go
/// to the store, and drop this instance's copy (see the module docs). Reads pass through
/// untouched: use cases that read to decide a write want the stored account, not a copy.
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

    /// Runs `write` between two moves of the versions of `ids` and of the directory. A
    /// failed first move stops the write (it would go unseen); the second is owed whatever
    /// happens to the request (see [`Pending`]).
    async fn around<T>(&self, ids: &[UserId], write: impl Future<Output = T>) -> anyhow::Result<T> {
        self.cache.before_write(ids).await?;
        let pending = Pending::new(self.cache.clone(), ids.to_vec());
        let written = write.await;
        pending.finish().await;
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
        let cache = AccountCache::new(Arc::new(users), Arc::new(versions_at(0)), 10, COPY_LIFETIME);
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
        let cache = AccountCache::new(Arc::new(users), Arc::new(versions), 10, COPY_LIFETIME);
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
        versions.expect_bump().returning(|_| Ok(5));
        versions.expect_bump_directory().returning(|| Ok(()));
        let inner: Arc<dyn UserRepository> = Arc::new(inner);
        let cache = Arc::new(AccountCache::new(
            inner.clone(),
            Arc::new(versions),
            10,
            COPY_LIFETIME,
        ));
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
        let cache = AccountCache::new(Arc::new(users), Arc::new(versions), 10, COPY_LIFETIME);
        let request = PageRequest {
            from: None,
            limit: 10,
        };
        for _ in 0..4 {
            let page = cache.page(&UserFilter::default(), &request).await.unwrap();
            assert_eq!(page.len(), 1);
        }
    }

    /// Versions that count their moves, refusing the first `refusals` of them after the
    /// first (the store goes away between a write's two moves).
    #[derive(Default)]
    struct Flaky {
        moves: std::sync::Mutex<(u64, u32)>,
        refusals: u32,
    }

    #[async_trait]
    impl AccountVersions for Flaky {
        async fn current(&self, _: UserId) -> anyhow::Result<u64> {
            Ok(self.moves.lock().unwrap().0)
        }
        async fn bump(&self, _: UserId) -> anyhow::Result<u64> {
            let mut moves = self.moves.lock().unwrap();
            if moves.0 >= 1 && moves.1 < self.refusals {
                moves.1 += 1;
                anyhow::bail!("the shared store is away");
            }
            moves.0 += 1;
            Ok(moves.0)
        }
        async fn directory(&self) -> anyhow::Result<u64> {
            Ok(0)
        }
        async fn bump_directory(&self) -> anyhow::Result<()> {
            Ok(())
        }
    }

    async fn moves_after(versions: &Flaky, wait: Duration) -> u64 {
        tokio::time::sleep(wait).await;
        versions.moves.lock().unwrap().0
    }

    #[tokio::test]
    async fn a_move_refused_after_the_write_neither_fails_it_nor_is_lost() {
        let versions = Arc::new(Flaky {
            refusals: 3,
            ..Flaky::default()
        });
        let mut inner = MockUserRepository::new();
        inner.expect_mark_verified().returning(|_, _| Ok(true));
        let inner: Arc<dyn UserRepository> = Arc::new(inner);
        let cache = AccountCache::new(inner.clone(), versions.clone(), 10, COPY_LIFETIME);
        let users = VersionedUserRepository::new(inner, Arc::new(cache));
        let id = user("flaky@example.com", "flaky").id;
        assert!(
            users.mark_verified(id, NOW).await.unwrap(),
            "the write stands"
        );
        assert_eq!(
            moves_after(&versions, Duration::from_secs(2)).await,
            2,
            "retried"
        );
    }

    #[tokio::test]
    async fn moves_owed_by_a_write_whose_request_went_away_are_still_made() {
        let versions = Arc::new(Flaky::default());
        let users: Arc<dyn UserRepository> = Arc::new(MockUserRepository::new());
        let cache = Arc::new(AccountCache::new(
            users,
            versions.clone(),
            10,
            COPY_LIFETIME,
        ));
        let id = user("gone@example.com", "gone").id;
        // The request future is dropped between the write and its moves.
        drop(Pending::new(cache, vec![id]));
        assert_eq!(moves_after(&versions, Duration::from_millis(500)).await, 1);
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
        let cache = AccountCache::new(inner.clone(), Arc::new(versions), 10, COPY_LIFETIME);
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
            .returning(|_| Ok(5));
        inner
            .expect_mark_verified()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_, _| Ok(true));
        versions
            .expect_bump()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|_| Ok(5));
        versions
            .expect_bump_directory()
            .times(1)
            .in_sequence(&mut sequence)
            .returning(|| Ok(()));
        let inner: Arc<dyn UserRepository> = Arc::new(inner);
        let cache = AccountCache::new(inner.clone(), Arc::new(versions), 10, COPY_LIFETIME);
        let users = VersionedUserRepository::new(inner, Arc::new(cache));
        assert!(users.mark_verified(id, NOW).await.unwrap());
    }
}
