//! Issue 4 end to end: the permission matrix, administration, profiles, passwords, avatars,
//! credits, pre-registration and the audit log.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, token};
use crate::on_every_backend;

fn user_id(login: &Value) -> String {
    login["user"]["id"].as_str().expect("user id").to_owned()
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request sent")
}

/// Who gets what, for every endpoint of this issue: anonymous 401, regular users 403 on
/// admin endpoints, `can_create_user` may create (plain) users only, admins everything.
async fn permission_matrix(app: TestApp) {
    let admin = token(&app.signed_in_admin("root").await, "access_token");
    let plain_login = app.signed_up_user("plain").await;
    let plain = token(&plain_login, "access_token");
    let plain_id = user_id(&plain_login);
    let creator_login = app.signed_up_user("creator").await;
    let creator_id = user_id(&creator_login);
    let grant = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{creator_id}"),
        Some(&admin),
        Some(json!({"permissions": ["can_create_user"]})),
    )
    .await;
    assert_eq!(grant.status(), StatusCode::OK);
    let creator = token(&creator_login, "access_token");

    let user_path = format!("/api/v1/users/{plain_id}");
    let credits_path = format!("/api/v1/users/{plain_id}/credits");
    let new_user = |name: &str| json!({"email": format!("{name}@example.com"), "username": name, "password": PASSWORD});
    // (method, path, body, anonymous, plain user, creator, admin)
    let cases: Vec<(Method, String, Option<Value>, [u16; 4])> = vec![
        (
            Method::GET,
            "/api/v1/users".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/users/lookup?email=PLAIN@example.com".into(),
            None,
            [401, 403, 403, 200],
        ),
        (Method::GET, user_path.clone(), None, [401, 200, 200, 200]),
        (
            Method::PATCH,
            user_path.clone(),
            Some(json!({"role": "user"})),
            [401, 403, 403, 200],
        ),
        (
            Method::POST,
            credits_path.clone(),
            Some(json!({"amount": 5, "reason": "gift"})),
            [401, 403, 403, 201],
        ),
        (
            Method::GET,
            "/api/v1/audit-events".into(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/v1/users/me/credits".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::PATCH,
            "/api/v1/users/me".into(),
            Some(json!({"first_name": "Pat"})),
            [401, 200, 200, 200],
        ),
    ];
    for (method, path, body, expected) in cases {
        for (who, bearer) in [None, Some(&plain), Some(&creator), Some(&admin)]
            .into_iter()
            .enumerate()
        {
            let status = send(
                &app,
                method.clone(),
                &path,
                bearer.map(String::as_str),
                body.clone(),
            )
            .await
            .status();
            assert_eq!(
                status.as_u16(),
                expected[who],
                "{method} {path} as caller #{who}"
            );
        }
    }
    // Creating users: each allowed caller gets its own fresh account.
    for (bearer, name, expected) in [
        (None, "anon_made", 401),
        (Some(&plain), "plain_made", 403),
        (Some(&creator), "creator_made", 201),
        (Some(&admin), "admin_made", 201),
    ] {
        let status = send(
            &app,
            Method::POST,
            "/api/v1/users",
            bearer.map(String::as_str),
            Some(new_user(name)),
        )
        .await
        .status();
        assert_eq!(status.as_u16(), expected, "POST /users by {name}");
    }
    // A creator cannot mint admins or grant permissions; an admin can.
    let mut escalation = new_user("minted_admin");
    escalation["role"] = json!("admin");
    let refused = send(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&creator),
        Some(escalation.clone()),
    )
    .await;
    assert_error(refused, StatusCode::FORBIDDEN, "permission_denied").await;
    let made = send(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&admin),
        Some(escalation),
    )
    .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    assert_eq!(made.json::<Value>().await.unwrap()["role"], "admin");
    // Deleting is admin-only; the plain user is deactivated last.
    let refused = send(&app, Method::DELETE, &user_path, Some(&creator), None).await;
    assert_error(refused, StatusCode::FORBIDDEN, "permission_denied").await;
    assert_eq!(
        send(&app, Method::DELETE, &user_path, None, None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&app, Method::DELETE, &user_path, Some(&admin), None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

/// Deactivation ends every credential at once and shows in the audit log.
async fn deactivation_revokes_everything(app: TestApp) {
    let admin = token(&app.signed_in_admin("root").await, "access_token");
    let victim = app.signed_up_user("victim").await;
    let victim_id = user_id(&victim);
    let browser = app.browser_for("victim").await;
    let deleted = send(
        &app,
        Method::DELETE,
        &format!("/api/v1/users/{victim_id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.me(&token(&victim, "access_token")).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    assert_eq!(
        app.refresh(&token(&victim, "refresh_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get_as(&browser, "/api/v1/users/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("victim@example.com", PASSWORD).await.status(),
        StatusCode::FORBIDDEN
    );
    let shown = send(
        &app,
        Method::GET,
        &format!("/api/v1/users/{victim_id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(shown.json::<Value>().await.unwrap()["is_active"], false);
    let events = send(
        &app,
        Method::GET,
        &format!("/api/v1/audit-events?type=user_deactivated&user_id={victim_id}"),
        Some(&admin),
        None,
    )
    .await;
    let events: Value = events.json().await.unwrap();
    assert_eq!(events["results"].as_array().unwrap().len(), 1, "{events}");
    // Ids: not a UUID is 400, unknown is 404.
    assert_error(
        send(&app, Method::GET, "/api/v1/users/42", Some(&admin), None).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    let unknown = format!("/api/v1/users/{}", uuid::Uuid::new_v4());
    assert_error(
        send(&app, Method::DELETE, &unknown, Some(&admin), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // An admin cannot lock themselves out.
    let me: Value = app.me(&admin).await.json().await.unwrap();
    let own = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    assert_error(
        send(&app, Method::DELETE, &own, Some(&admin), None).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

/// `PATCH /users/me` changes profile fields only.
async fn profile_updates_refuse_account_fields(app: TestApp) {
    let login = app.signed_up_user("jane").await;
    let jane = token(&login, "access_token");
    for (field, value) in [
        ("role", json!("admin")),
        ("permissions", json!(["can_create_user"])),
        ("is_verified", json!(true)),
        ("email", json!("x@example.com")),
        ("credits", json!(1000)),
        ("is_active", json!(true)),
        ("username", json!("queen")),
    ] {
        let response = send(
            &app,
            Method::PATCH,
            "/api/v1/users/me",
            Some(&jane),
            Some(json!({ field: value })),
        )
        .await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(body["details"][field].is_array(), "{field}: {body}");
    }
    let me: Value = app.me(&jane).await.json().await.unwrap();
    assert_eq!(
        (
            me["role"].as_str(),
            me["credits"].as_i64(),
            me["is_verified"].as_bool()
        ),
        (Some("user"), Some(0), Some(false))
    );

    let patch = json!({"first_name": " Jane ", "phone_number": "+44 20 7946 0958", "birth_date": "1990-05-17",
        "notification_preferences": {"product_emails": true}});
    let updated: Value = send(
        &app,
        Method::PATCH,
        "/api/v1/users/me",
        Some(&jane),
        Some(patch),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(updated["first_name"], "Jane");
    assert_eq!(updated["phone_number"], "+442079460958");
    assert_eq!(updated["birth_date"], "1990-05-17");
    assert_eq!(
        updated["notification_preferences"],
        json!({"security_emails": true, "product_emails": true})
    );
    for bad in [
        json!({"phone_number": "12345"}),
        json!({"birth_date": "2999-01-01"}),
        json!({"birth_date": "yesterday"}),
        json!({"first_name": "x".repeat(151)}),
    ] {
        let response = send(
            &app,
            Method::PATCH,
            "/api/v1/users/me",
            Some(&jane),
            Some(bad.clone()),
        )
        .await;
        assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    }
    let cleared: Value = send(
        &app,
        Method::PATCH,
        "/api/v1/users/me",
        Some(&jane),
        Some(json!({"phone_number": null})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(cleared["phone_number"], Value::Null);
    assert_eq!(
        cleared["birth_date"], "1990-05-17",
        "absent fields are left alone"
    );
}

/// A password change checks the current password and the policy, then ends the user's other
/// sessions and tokens; a session caller keeps its own session.
async fn password_change_revokes_other_credentials(app: TestApp) {
    let other_device = app.signed_up_user("sam").await;
    let browser = app.browser_for("sam").await;
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new, "new_password_confirm": new});
    let csrf_post = |body: Value| {
        app.client
            .post(app.url("/api/v1/users/me/password"))
            .header("Cookie", browser.cookie_header())
            .header("X-CSRF-Token", browser.csrf.clone())
            .json(&body)
    };
    let wrong = csrf_post(change("not-my-password", "amber-kettle-77"))
        .send()
        .await
        .unwrap();
    let body = assert_error(wrong, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["details"]["current_password"].is_array());
    let weak = csrf_post(change(PASSWORD, "12345678"))
        .send()
        .await
        .unwrap();
    let body = assert_error(weak, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(body["details"]["new_password"].is_array(), "{body}");

    let done = csrf_post(change(PASSWORD, "amber-kettle-77"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_as(&browser, "/api/v1/users/me").await.status(),
        StatusCode::OK,
        "the caller's session lives on"
    );
    assert_eq!(
        app.me(&token(&other_device, "access_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&token(&other_device, "refresh_token"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("sam@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("sam@example.com", "amber-kettle-77")
            .await
            .status(),
        StatusCode::OK
    );
}

/// Lists walk every row once, newest first, even while rows are inserted; cursors are opaque
/// and tamper-proof; limits are checked.
async fn user_pages_walk_every_row_once(app: TestApp) {
    let admin = token(&app.signed_in_admin("root").await, "access_token");
    for n in 0..23 {
        let body = json!({"email": format!("u{n}@example.com"), "username": format!("user{n}"), "password": PASSWORD});
        assert_eq!(
            send(
                &app,
                Method::POST,
                "/api/v1/users",
                Some(&admin),
                Some(body)
            )
            .await
            .status(),
            StatusCode::CREATED
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=7&cursor={c}"),
            None => "/api/v1/users?limit=7".to_owned(),
        };
        let page: Value = app.get_json(&path, &admin).await;
        // Someone signs up between every page: they are newer than the walk and never seen.
        app.register(&format!("late{pages}@example.com"), &format!("late{pages}"))
            .await;
        pages += 1;
        for user in page["results"].as_array().unwrap() {
            seen.push(user["email"].as_str().unwrap().to_owned());
        }
        if pages == 1 {
            assert!(page["previous_cursor"].is_null());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 24, "23 users and the admin: {seen:?}");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        24,
        "no row twice"
    );
    assert_eq!(seen[0], "u22@example.com", "newest first");
    assert!(seen.iter().all(|e| !e.starts_with("late")));
    assert_eq!(pages, 4);

    // Walking back from the second page leads to the first.
    let first: Value = app.get_json("/api/v1/users?limit=5", &admin).await;
    let second: Value = app
        .get_json(
            &format!(
                "/api/v1/users?limit=5&cursor={}",
                first["next_cursor"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    let back: Value = app
        .get_json(
            &format!(
                "/api/v1/users?limit=5&cursor={}",
                second["previous_cursor"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert_eq!(back["results"], first["results"]);

    let next = first["next_cursor"].as_str().unwrap();
    let mut tampered = next.to_owned();
    let flipped = if tampered.ends_with('A') { 'B' } else { 'A' };
    tampered.pop();
    tampered.push(flipped);
    for bad in [tampered.as_str(), "garbage", "AAAA", "%00"] {
        let response = send(
            &app,
            Method::GET,
            &format!("/api/v1/users?cursor={bad}"),
            Some(&admin),
            None,
        )
        .await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(
            body["details"]["cursor"].is_array() || body["details"]["query"].is_array(),
            "{body}"
        );
    }
    let audit_cursor = send(
        &app,
        Method::GET,
        &format!("/api/v1/audit-events?cursor={next}"),
        Some(&admin),
        None,
    )
    .await;
    assert_error(audit_cursor, StatusCode::BAD_REQUEST, "validation_error").await;
    for limit in ["0", "101", "abc", "-1", "99999999999999999999999"] {
        let response = send(
            &app,
            Method::GET,
            &format!("/api/v1/users?limit={limit}"),
            Some(&admin),
            None,
        )
        .await;
        assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    }
    let default: Value = app.get_json("/api/v1/users", &admin).await;
    assert_eq!(default["results"].as_array().unwrap().len(), 10);
    // Lookup ignores case; an unknown address is 404, a malformed one 400.
    let found: Value = app
        .get_json("/api/v1/users/lookup?email=U7@EXAMPLE.com", &admin)
        .await;
    assert_eq!(found["username"], "user7");
    assert_error(
        send(
            &app,
            Method::GET,
            "/api/v1/users/lookup?email=nobody@example.com",
            Some(&admin),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        send(
            &app,
            Method::GET,
            "/api/v1/users/lookup?email=nope",
            Some(&admin),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    assert_error(
        send(
            &app,
            Method::GET,
            "/api/v1/users/lookup",
            Some(&admin),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[
        8, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82,
    ]);
    bytes
}

async fn upload(
    app: &TestApp,
    bearer: &str,
    field: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .unwrap();
    let form = reqwest::multipart::Form::new().part(field.to_owned(), part);
    app.with_token(Method::PUT, "/api/v1/users/me/avatar", bearer)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Avatars are judged by their bytes, capped in size, and served back.
async fn avatars_are_checked_by_content(app: TestApp) {
    let ana = token(&app.signed_up_user("ana").await, "access_token");
    let image = png(64, 64);
    let response = upload(&app, &ana, "file", "me.png", "image/png", image.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    let url = user["avatar_url"].as_str().expect("avatar_url").to_owned();
    // The URL starts with GATEHOUSE_PUBLIC_URL; the test app listens elsewhere.
    let path = &url[url.find("/media/avatars/").expect("a media URL")..];
    let served = app.get(path).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().to_vec(), image);

    let gif = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;".to_vec();
    let lying = upload(&app, &ana, "file", "innocent.png", "image/png", gif).await;
    assert_error(
        lying,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let html = upload(
        &app,
        &ana,
        "file",
        "x.jpg",
        "image/jpeg",
        b"<html><script>alert(1)</script>".to_vec(),
    )
    .await;
    assert_error(
        html,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let mut huge = png(100, 100);
    huge.resize(3 * 1024 * 1024, 0);
    assert_error(
        upload(&app, &ana, "file", "big.png", "image/png", huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    assert_error(
        upload(&app, &ana, "avatar", "me.png", "image/png", png(8, 8)).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    assert_error(
        upload(&app, &ana, "file", "me.png", "image/png", png(50_000, 8)).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    let not_multipart = app
        .with_token(Method::PUT, "/api/v1/users/me/avatar", &ana)
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    assert_error(
        not_multipart,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert_error(
        app.get("/media/avatars/../../etc/passwd").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/media/avatars/nobody.png").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// Credits: a ledger whose balance never goes below zero, even under parallel spends.
async fn credits_never_go_negative(app: TestApp) {
    let admin = token(&app.signed_in_admin("root").await, "access_token");
    let login = app.signed_up_user("kim").await;
    let kim = token(&login, "access_token");
    let path = format!("/api/v1/users/{}/credits", user_id(&login));
    let adjust = |amount: i64| {
        send(
            &app,
            Method::POST,
            &path,
            Some(&admin),
            Some(json!({"amount": amount, "reason": "test"})),
        )
    };
    let granted: Value = adjust(100).await.json().await.unwrap();
    assert_eq!(granted["balance"], 100);
    assert_error(adjust(-101).await, StatusCode::CONFLICT, "conflict").await;
    for bad in [
        json!({"amount": 0, "reason": "x"}),
        json!({"amount": 1.5, "reason": "x"}),
        json!({"amount": 5, "reason": ""}),
        json!({"amount": "5", "reason": "x"}),
    ] {
        let response = send(&app, Method::POST, &path, Some(&admin), Some(bad.clone())).await;
        assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    }
    let huge = app
        .with_token(Method::POST, &path, &admin)
        .header("Content-Type", "application/json")
        .body(r#"{"amount": 99999999999999999999999, "reason": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_error(huge, StatusCode::BAD_REQUEST, "validation_error").await;
    let huge = app
        .with_token(Method::POST, &path, &admin)
        .header("Content-Type", "application/json")
        .body(r#"{"amount": 99999999999999999999999, "reason": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_error(huge, StatusCode::BAD_REQUEST, "validation_error").await;
    let spends = (0..20).map(|_| adjust(-10));
    let statuses: Vec<_> = futures_util::future::join_all(spends)
        .await
        .into_iter()
        .map(|r| r.status())
        .collect();
    let succeeded = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(succeeded, 10, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    let statement: Value = app.get_json("/api/v1/users/me/credits", &kim).await;
    assert_eq!(statement["balance"], 0);
    let entries = statement["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 11);
    assert_eq!(
        entries
            .iter()
            .map(|e| e["amount"].as_i64().unwrap())
            .sum::<i64>(),
        0
    );
    let unknown = format!("/api/v1/users/{}/credits", uuid::Uuid::new_v4());
    let response = send(
        &app,
        Method::POST,
        &unknown,
        Some(&admin),
        Some(json!({"amount": 1, "reason": "x"})),
    )
    .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

/// Pre-registration is idempotent.
async fn pre_registration_is_idempotent(app: TestApp) {
    for email in ["early@example.com", "EARLY@example.com"] {
        let response = app
            .post_json("/api/v1/pre-registrations", &json!({"email": email}))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let bad = app
        .post_json(
            "/api/v1/pre-registrations",
            &json!({"email": "not an email"}),
        )
        .await;
    assert_error(bad, StatusCode::BAD_REQUEST, "validation_error").await;
}

/// The audit log has the events API.md names, with who and from where, and no secret.
async fn audit_log_records_events_without_secrets(app: TestApp) {
    let admin_login = app.signed_in_admin("root").await;
    let admin = token(&admin_login, "access_token");
    let login = app.signed_up_user("lee").await;
    let lee_id = user_id(&login);
    let mut secrets = vec![
        PASSWORD.to_owned(),
        token(&login, "access_token"),
        token(&login, "refresh_token"),
    ];
    assert_eq!(
        app.login("lee@example.com", "wrong-password-1")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let refreshed: Value = app
        .refresh(&token(&login, "refresh_token"))
        .await
        .json()
        .await
        .unwrap();
    secrets.push(token(&refreshed, "refresh_token"));
    assert_eq!(
        app.refresh(&token(&login, "refresh_token")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let fresh = app
        .login("lee@example.com", PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let lee = token(&fresh, "access_token");
    let body = json!({"current_password": PASSWORD, "new_password": "amber-kettle-77", "new_password_confirm": "amber-kettle-77"});
    assert_eq!(
        send(
            &app,
            Method::POST,
            "/api/v1/users/me/password",
            Some(&lee),
            Some(body)
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    secrets.push("amber-kettle-77".into());
    let promote = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{lee_id}"),
        Some(&admin),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(promote.status(), StatusCode::OK);
    let relogin: Value = app
        .login("lee@example.com", "amber-kettle-77")
        .await
        .json()
        .await
        .unwrap();
    let devices: Value = send(
        &app,
        Method::GET,
        "/api/v1/users/me/devices",
        Some(&token(&relogin, "access_token")),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let device = devices["results"][0]["id"].as_str().unwrap().to_owned();
    let revoke = send(
        &app,
        Method::DELETE,
        &format!("/api/v1/users/me/devices/{device}"),
        Some(&token(&relogin, "access_token")),
        None,
    )
    .await;
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let logout = send(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let admin = token(
        &app.login("root@example.com", PASSWORD)
            .await
            .json::<Value>()
            .await
            .unwrap(),
        "access_token",
    );

    let mut kinds = HashSet::new();
    let mut raw = String::new();
    let mut cursor = String::new();
    loop {
        let page = send(
            &app,
            Method::GET,
            &format!("/api/v1/audit-events?limit=100{cursor}"),
            Some(&admin),
            None,
        )
        .await;
        let text = page.text().await.unwrap();
        let page: Value = serde_json::from_str(&text).unwrap();
        for event in page["results"].as_array().unwrap() {
            kinds.insert(event["type"].as_str().unwrap().to_owned());
        }
        raw.push_str(&text);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    for kind in [
        "user_registered",
        "login_succeeded",
        "login_failed",
        "token_refreshed",
        "refresh_reuse_detected",
        "password_changed",
        "role_changed",
        "device_revoked",
        "logout",
    ] {
        assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
    }
    for secret in &secrets {
        assert!(
            !raw.contains(secret.as_str()),
            "a secret leaked into the audit log"
        );
    }
    assert!(
        !raw.contains("$2b$"),
        "a password hash leaked into the audit log"
    );
    let filtered: Value = app
        .get_json(
            &format!("/api/v1/audit-events?type=login_failed&user_id={lee_id}"),
            &admin,
        )
        .await;
    let failures = filtered["results"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{filtered}");
    assert_eq!(failures[0]["data"]["reason"], "wrong_password");
    assert!(
        failures[0]["ip"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("127."))
    );
    for bad in ["type=sudo", "user_id=42"] {
        let response = send(
            &app,
            Method::GET,
            &format!("/api/v1/audit-events?{bad}"),
            Some(&admin),
            None,
        )
        .await;
        assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    }
}

on_every_backend!(
    permission_matrix,
    deactivation_revokes_everything,
    profile_updates_refuse_account_fields,
    password_change_revokes_other_credentials,
    user_pages_walk_every_row_once,
    avatars_are_checked_by_content,
    credits_never_go_negative,
    pre_registration_is_idempotent,
    audit_log_records_events_without_secrets,
);
