//! `/admin/users`: find users (search, filters, pages), create one, and on a user's page edit
//! names, role, permissions and the verified flag, deactivate or activate, sign them out
//! everywhere, reset their second factors, adjust credits, and read their audit trail.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::ports::UserFilter;
use gatehouse_application::{
    AppError, AuditQuery, CreateUserInput, NewUserInput, UserPatch, UserView, ValidationErrors,
};
use gatehouse_domain::{Permission, Role, UserId};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::pages::{AuditRow, NewUserPage, UserDetail, UserPage, UserRow, UsersPage};
use super::view::Pager;
use super::{Confirmation, Reply, admin, admin_form, done, page, path_id, reply};
use crate::{ApiError, AppState};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/users")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/admin/users/new").route(web::get().to(new_form)))
    .service(
        web::resource("/admin/users/{id}")
            .route(web::get().to(show))
            .route(web::post().to(edit)),
    )
    .service(web::resource("/admin/users/{id}/{action}").route(web::post().to(act)));
}

/// The list's filters, as the filter form sends them.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    active: String,
    #[serde(default)]
    verified: String,
    cursor: Option<String>,
    done: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Result<UserFilter, AppError> {
        let role = match self.role.as_str() {
            "" => None,
            raw => Some(raw.parse::<Role>()?),
        };
        Ok(UserFilter {
            search: Some(self.search.clone()),
            role,
            is_active: yes_no(&self.active),
            is_verified: yes_no(&self.verified),
        })
    }
}

/// `yes` / `no` from a select; anything else is "either".
fn yes_no(raw: &str) -> Option<bool> {
    match raw {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    reply(users(&req, &state, query.into_inner()).await)
}

async fn users(req: &HttpRequest, state: &AppState, query: ListQuery) -> Reply {
    let admin = admin(req, state).await?;
    let found = state
        .admin
        .search(
            &admin.principal,
            query.filter()?,
            Some(25),
            query.cursor.as_deref(),
        )
        .await?;
    let filters = [
        ("search", query.search.as_str()),
        ("role", query.role.as_str()),
        ("active", query.active.as_str()),
        ("verified", query.verified.as_str()),
    ];
    let pager = Pager::new(
        "/admin/users",
        &filters,
        found.previous.as_deref(),
        found.next.as_deref(),
    );
    let listing = UsersPage {
        chrome: admin.chrome(query.done.as_deref()),
        rows: found.items.iter().map(UserRow::of).collect(),
        search: &query.search,
        role: &query.role,
        active: &query.active,
        verified: &query.verified,
        pager,
    };
    Ok(page(StatusCode::OK, &listing)?)
}

async fn new_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    reply(
        async {
            let admin = admin(&req, &state).await?;
            let form = NewUserPage {
                chrome: admin.chrome(None),
            };
            Ok(page(StatusCode::OK, &form)?)
        }
        .await,
    )
}

#[derive(Deserialize)]
struct NewUserForm {
    email: String,
    username: String,
    password: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    role: String,
}

async fn create(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    reply(
        async {
            let (admin, typed) = admin_form::<NewUserForm>(&req, &state, &body).await?;
            let names = |raw: String| Some(raw).filter(|raw| !raw.trim().is_empty());
            let input = CreateUserInput {
                account: NewUserInput {
                    email: typed.email,
                    username: typed.username,
                    password: typed.password.clone().into(),
                    password_confirm: typed.password.into(),
                    first_name: names(typed.first_name),
                    last_name: names(typed.last_name),
                },
                role: Some(typed.role).filter(|role| !role.is_empty()),
                permissions: None,
            };
            let user = state.admin.create(&admin.principal, input).await?;
            Ok(done(&format!("/admin/users/{}", user.id), "created"))
        }
        .await,
    )
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<Confirmation>,
) -> HttpResponse {
    reply(user_page(&req, &state, &path, query.done.as_deref()).await)
}

async fn user_page(req: &HttpRequest, state: &AppState, id: &str, notice: Option<&str>) -> Reply {
    let admin = admin(req, state).await?;
    let id = path_id(id, UserId::from_uuid)?;
    let UserView::Full(user) = state.admin.get(&admin.principal, id).await? else {
        return Err(AppError::PermissionDenied.into());
    };
    let trail = state
        .audit
        .list(
            &admin.principal,
            AuditQuery {
                user_id: Some(id.to_string()),
                limit: Some(20),
                ..AuditQuery::default()
            },
        )
        .await?;
    let detail = UserPage {
        chrome: admin.chrome(notice),
        permissions: Permission::ALL
            .iter()
            .map(|p| (p.as_str(), user.permissions.contains(p)))
            .collect(),
        user: UserDetail::of(&user),
        trail: trail.items.iter().map(AuditRow::of).collect(),
    };
    Ok(page(StatusCode::OK, &detail)?)
}

/// The edit form: names, role, one checkbox per permission, the verified checkbox. A box
/// left unticked is not sent, so the form is read as pairs. The form also carries what the
/// page showed (`was_*`), and only what the admin changed is written: another admin's
/// change to another field since the page was opened stands.
async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    reply(
        async {
            let (admin, pairs) = admin_form::<Vec<(String, String)>>(&req, &state, &body).await?;
            let id = path_id(&path, UserId::from_uuid)?;
            let patch = EditForm(pairs).changes();
            state.admin.update(&admin.principal, id, patch).await?;
            Ok(done(&format!("/admin/users/{id}"), "saved"))
        }
        .await,
    )
}

/// The edit form's fields, as sent.
struct EditForm(Vec<(String, String)>);

impl EditForm {
    fn value(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn values(&self, name: &str) -> BTreeSet<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// `now` unless the page showed the same (a form without `was` sets it).
    fn changed(now: Option<&str>, was: Option<&str>) -> Option<String> {
        now.filter(|now| Some(*now) != was).map(str::to_owned)
    }

    fn changes(&self) -> UserPatch {
        let permissions = self.values("permissions");
        let verified = self.value("is_verified").is_some();
        let was_verified = self.value("was_verified").map(|was| was == "on");
        UserPatch {
            first_name: Self::changed(self.value("first_name"), self.value("was_first_name")),
            last_name: Self::changed(self.value("last_name"), self.value("was_last_name")),
            role: Self::changed(self.value("role"), self.value("was_role")),
            permissions: (permissions != self.values("was_permissions"))
                .then(|| permissions.into_iter().map(str::to_owned).collect()),
            is_verified: (Some(verified) != was_verified).then_some(verified),
            is_active: None,
        }
    }
}

#[derive(Deserialize)]
struct CreditsForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

/// The buttons on a user's page.
async fn act(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    reply(
        async {
            let (admin, IgnoredAny) = admin_form::<IgnoredAny>(&req, &state, &body).await?;
            let (raw_id, action) = path.into_inner();
            let id = path_id(&raw_id, UserId::from_uuid)?;
            let back = format!("/admin/users/{id}");
            let principal = &admin.principal;
            let confirmation = match action.as_str() {
                "deactivate" => {
                    state.admin.deactivate(principal, id).await?;
                    "deactivated"
                }
                "activate" => {
                    let patch = UserPatch {
                        is_active: Some(true),
                        ..UserPatch::default()
                    };
                    state.admin.update(principal, id, patch).await?;
                    "activated"
                }
                "sign-out" => {
                    state.admin.sign_out_everywhere(principal, id).await?;
                    "signed-out"
                }
                "mfa-reset" => {
                    state.factors.reset(principal, id).await?;
                    "mfa-reset"
                }
                "credits" => {
                    let typed: CreditsForm = super::form(&body)?;
                    let Ok(amount) = typed.amount.trim().parse::<i64>() else {
                        let mut errors = ValidationErrors::new();
                        errors.add("amount", "must be a whole number, such as 50 or -20");
                        return Err(AppError::Validation(errors).into());
                    };
                    state
                        .credits
                        .adjust(principal, id, amount, &typed.reason)
                        .await?;
                    "credits"
                }
                _ => return Err(ApiError::not_found().into()),
            };
            Ok(done(&back, confirmation))
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> EditForm {
        EditForm(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn only_what_the_admin_changed_is_written() {
        let unchanged = form(&[
            ("first_name", "Ada"),
            ("was_first_name", "Ada"),
            ("last_name", ""),
            ("was_last_name", ""),
            ("role", "admin"),
            ("was_role", "admin"),
            ("permissions", "can_view_users"),
            ("was_permissions", "can_view_users"),
            ("was_verified", "off"),
        ])
        .changes();
        assert_eq!(
            (unchanged.first_name, unchanged.role, unchanged.permissions),
            (None, None, None)
        );
        assert_eq!(unchanged.is_verified, None);
        let changed = form(&[
            ("first_name", "Grace"),
            ("was_first_name", "Ada"),
            ("role", "user"),
            ("was_role", "admin"),
            ("was_permissions", "can_view_users"),
            ("is_verified", "on"),
            ("was_verified", "off"),
        ])
        .changes();
        assert_eq!(changed.first_name.as_deref(), Some("Grace"));
        assert_eq!(changed.role.as_deref(), Some("user"));
        assert_eq!(changed.permissions, Some(Vec::new()), "every box unticked");
        assert_eq!(changed.is_verified, Some(true));
        // A form that does not say what it showed sets what it sends.
        let bare = form(&[("role", "user")]).changes();
        assert_eq!(bare.role.as_deref(), Some("user"));
        assert_eq!(bare.is_verified, Some(false));
    }
}
