//! The console's pages: one askama template each (`templates/console/`), every value
//! HTML-escaped by the template engine, and the rows they list, prepared for people.

use askama::Template;
use gatehouse_application::ports::AuditEvent;
use gatehouse_application::{SignInCounts, UserCounts};
use gatehouse_domain::{Category, Product, Task, User};

use super::view::{Chrome, Pager, when, when_maybe};

/// `/admin/login`.
#[derive(Template)]
#[template(path = "console/login.html")]
pub(super) struct LoginPage<'a> {
    /// What was typed as the email or username, shown back.
    pub login: &'a str,
    pub error: Option<&'a str>,
}

impl LoginPage<'static> {
    pub(super) fn blank() -> Self {
        Self {
            login: "",
            error: None,
        }
    }
}

/// The second step of a sign-in.
#[derive(Template)]
#[template(path = "console/mfa.html")]
pub(super) struct MfaPage<'a> {
    pub mfa_token: &'a str,
    pub error: Option<&'a str>,
}

/// A signed-in user who is not an admin.
#[derive(Template)]
#[template(path = "console/forbidden.html")]
pub(super) struct Forbidden<'a> {
    pub username: &'a str,
    pub csrf_token: &'a str,
}

/// An action that was refused, and why.
#[derive(Template)]
#[template(path = "console/notice.html")]
pub(super) struct NoticePage {
    pub title: &'static str,
    pub lines: Vec<String>,
}

/// `/admin/`.
#[derive(Template)]
#[template(path = "console/dashboard.html")]
pub(super) struct Dashboard {
    pub chrome: Chrome,
    pub users: UserCounts,
    pub sign_ins: SignInCounts,
    pub jobs: Vec<(&'static str, u64)>,
    pub checks: Vec<(&'static str, bool)>,
}

/// `/admin/users`.
#[derive(Template)]
#[template(path = "console/users.html")]
pub(super) struct UsersPage<'a> {
    pub chrome: Chrome,
    pub rows: Vec<UserRow>,
    pub search: &'a str,
    pub role: &'a str,
    pub active: &'a str,
    pub verified: &'a str,
    pub pager: Pager,
}

/// One line of the user list.
pub(super) struct UserRow {
    pub id: String,
    pub email: String,
    pub username: String,
    pub role: &'static str,
    pub active: bool,
    pub verified: bool,
    pub created: String,
}

impl UserRow {
    pub fn of(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            username: user.username.as_str().to_owned(),
            role: user.role.as_str(),
            active: user.is_active,
            verified: user.is_verified,
            created: when(user.created_at),
        }
    }
}

/// `/admin/users/new`.
#[derive(Template)]
#[template(path = "console/user_new.html")]
pub(super) struct NewUserPage {
    pub chrome: Chrome,
}

/// `/admin/users/{id}`.
#[derive(Template)]
#[template(path = "console/user.html")]
pub(super) struct UserPage {
    pub chrome: Chrome,
    pub user: UserDetail,
    /// Every permission, and whether the user holds it.
    pub permissions: Vec<(&'static str, bool)>,
    pub trail: Vec<AuditRow>,
}

/// Everything about one user, written for people.
pub(super) struct UserDetail {
    pub id: String,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub role: &'static str,
    pub active: bool,
    pub verified: bool,
    pub credits: i64,
    pub created: String,
    pub updated: String,
}

impl UserDetail {
    pub fn of(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            username: user.username.as_str().to_owned(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            role: user.role.as_str(),
            active: user.is_active,
            verified: user.is_verified,
            credits: user.credits,
            created: when(user.created_at),
            updated: when(user.updated_at),
        }
    }
}

/// One audit event.
pub(super) struct AuditRow {
    pub at: String,
    pub kind: &'static str,
    pub user: Option<String>,
    pub actor: Option<String>,
    pub ip: String,
    /// `key=value` pairs.
    pub data: String,
}

impl AuditRow {
    pub fn of(event: &AuditEvent) -> Self {
        Self {
            at: when(event.created_at),
            kind: event.kind.as_str(),
            user: event.user.map(|u| u.to_string()),
            actor: event.actor.map(|u| u.to_string()),
            ip: event.ip.clone().unwrap_or_default(),
            data: event
                .data
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// `/admin/audit`.
#[derive(Template)]
#[template(path = "console/audit.html")]
pub(super) struct AuditPage<'a> {
    pub chrome: Chrome,
    /// Every event type, and whether it is the one filtered on.
    pub types: Vec<(&'static str, bool)>,
    pub any_type: bool,
    pub user: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub trail: Vec<AuditRow>,
    pub pager: Pager,
}

/// `/admin/pre-registrations`.
#[derive(Template)]
#[template(path = "console/pre_registrations.html")]
pub(super) struct PreRegistrationsPage {
    pub chrome: Chrome,
    /// Address and when it was added.
    pub rows: Vec<(String, String)>,
    pub next: Option<String>,
}

/// `/admin/catalog`.
#[derive(Template)]
#[template(path = "console/catalog.html")]
pub(super) struct CatalogPage {
    pub chrome: Chrome,
    pub categories: Vec<CategoryRow>,
    pub products: Vec<ProductRow>,
    pub categories_pager: Pager,
    pub products_pager: Pager,
}

/// One category.
pub(super) struct CategoryRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created: String,
}

impl CategoryRow {
    pub fn of(category: &Category) -> Self {
        Self {
            id: category.id.to_string(),
            name: category.name.as_str().to_owned(),
            description: category.description.as_str().to_owned(),
            created: when(category.created_at),
        }
    }
}

/// One product.
pub(super) struct ProductRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub price: String,
    pub category: String,
    pub owner: String,
    pub created: String,
}

impl ProductRow {
    pub fn of(product: &Product) -> Self {
        Self {
            id: product.id.to_string(),
            name: product.name.as_str().to_owned(),
            description: product.description.as_str().to_owned(),
            price: product.price.to_string(),
            category: product.category.to_string(),
            owner: product.created_by.to_string(),
            created: when(product.created_at),
        }
    }
}

/// `/admin/catalog/categories/{id}`.
#[derive(Template)]
#[template(path = "console/category.html")]
pub(super) struct CategoryPage {
    pub chrome: Chrome,
    pub category: CategoryRow,
}

/// `/admin/catalog/products/{id}`.
#[derive(Template)]
#[template(path = "console/product.html")]
pub(super) struct ProductPage {
    pub chrome: Chrome,
    pub product: ProductRow,
    /// Where it may move.
    pub categories: Vec<CategoryRow>,
}

/// `/admin/jobs`.
#[derive(Template)]
#[template(path = "console/jobs.html")]
pub(super) struct JobsPage {
    pub chrome: Chrome,
    pub counts: Vec<(&'static str, u64)>,
    /// Every state and kind, and whether it is the one filtered on.
    pub statuses: Vec<(&'static str, bool)>,
    pub kinds: Vec<(&'static str, bool)>,
    /// Whether a state or a kind is filtered on.
    pub status_chosen: bool,
    pub kind_chosen: bool,
    pub rows: Vec<JobRow>,
    pub pager: Pager,
}

/// One line of the job list.
pub(super) struct JobRow {
    pub id: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub attempts: u32,
    pub owner: String,
    pub created: String,
    pub finished: String,
}

impl JobRow {
    pub fn of(task: &Task) -> Self {
        Self {
            id: task.id.to_string(),
            kind: task.kind.as_str(),
            status: task.status.as_str(),
            attempts: task.attempts,
            owner: owner(task),
            created: when(task.created_at),
            finished: when_maybe(task.finished_at),
        }
    }
}

fn owner(task: &Task) -> String {
    task.owner
        .map_or_else(|| "the service".to_owned(), |u| u.to_string())
}

/// `/admin/jobs/{id}`.
#[derive(Template)]
#[template(path = "console/job.html")]
pub(super) struct JobPage {
    pub chrome: Chrome,
    pub job: JobDetail,
}

/// Everything about one job.
pub(super) struct JobDetail {
    pub id: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub owner: String,
    pub owner_id: Option<String>,
    pub arguments: String,
    pub result: Option<String>,
    pub error: Option<String>,
    pub attempts: u32,
    pub created: String,
    pub started: String,
    pub finished: String,
    pub can_retry: bool,
    pub can_revoke: bool,
}

impl JobDetail {
    pub fn of(task: &Task) -> Self {
        let pretty =
            |value: &serde_json::Value| serde_json::to_string_pretty(value).unwrap_or_default();
        Self {
            id: task.id.to_string(),
            kind: task.kind.as_str(),
            status: task.status.as_str(),
            owner: owner(task),
            owner_id: task.owner.map(|u| u.to_string()),
            arguments: pretty(&task.arguments),
            result: task.result.as_ref().map(pretty),
            error: task.error.clone(),
            attempts: task.attempts,
            created: when(task.created_at),
            started: when_maybe(task.started_at),
            finished: when_maybe(task.finished_at),
            can_retry: task.status == gatehouse_domain::TaskStatus::Failure,
            can_revoke: !task.status.is_final(),
        }
    }
}
