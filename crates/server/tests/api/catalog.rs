//! The catalog end to end: who may do what, exact prices, filters, orderings and pages.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, token};

/// The four kinds of caller.
struct Cast {
    admin: String,
    owner: String,
    other: String,
}

async fn cast(app: &TestApp) -> Cast {
    Cast {
        admin: token(&app.signed_in_admin("root").await, "access_token"),
        owner: token(&app.signed_up_user("ada").await, "access_token"),
        other: token(&app.signed_up_user("bob").await, "access_token"),
    }
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    who: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(access) = who {
        request = request.bearer_auth(access);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn created(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn new_category(app: &TestApp, admin: &str, name: &str) -> String {
    let body = json!({"name": name, "description": "a shelf"});
    let category = created(
        send(
            app,
            Method::POST,
            "/api/v1/categories",
            Some(admin),
            Some(body),
        )
        .await,
    )
    .await;
    category["id"].as_str().unwrap().to_owned()
}

async fn new_product(app: &TestApp, who: &str, category: &str, name: &str, price: Value) -> Value {
    let body = json!({"name": name, "price": price, "category": category, "description": format!("about {name}")});
    created(send(app, Method::POST, "/api/v1/products", Some(who), Some(body)).await).await
}

async fn categories_are_read_by_anyone_and_written_by_admins(app: TestApp) {
    let cast = cast(&app).await;
    let body = json!({"name": "Books"});
    for who in [None, Some(cast.owner.as_str())] {
        let response = send(
            &app,
            Method::POST,
            "/api/v1/categories",
            who,
            Some(body.clone()),
        )
        .await;
        let (status, code) = match who {
            None => (StatusCode::UNAUTHORIZED, "not_authenticated"),
            Some(_) => (StatusCode::FORBIDDEN, "permission_denied"),
        };
        assert_error(response, status, code).await;
    }
    let id = new_category(&app, &cast.admin, "Books").await;
    let path = format!("/api/v1/categories/{id}");

    let shown: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(
        (shown["name"].clone(), shown["description"].clone()),
        (json!("Books"), json!("a shelf"))
    );
    let listed: Value = app.get("/api/v1/categories").await.json().await.unwrap();
    assert_eq!(listed["results"][0]["id"], json!(id));

    for (method, body) in [
        (Method::PUT, Some(json!({"name": "Novels"}))),
        (Method::PATCH, Some(json!({"description": "stories"}))),
        (Method::DELETE, None),
    ] {
        let anonymous = send(&app, method.clone(), &path, None, body.clone()).await;
        assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
        let user = send(&app, method, &path, Some(&cast.owner), body).await;
        assert_error(user, StatusCode::FORBIDDEN, "permission_denied").await;
    }

    let replaced = send(
        &app,
        Method::PUT,
        &path,
        Some(&cast.admin),
        Some(json!({"name": "Novels"})),
    )
    .await;
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(
        (replaced["name"].clone(), replaced["description"].clone()),
        (json!("Novels"), json!("")),
        "PUT replaces"
    );
    let patched = send(
        &app,
        Method::PATCH,
        &path,
        Some(&cast.admin),
        Some(json!({"description": "stories"})),
    )
    .await;
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(
        (patched["name"].clone(), patched["description"].clone()),
        (json!("Novels"), json!("stories")),
        "PATCH updates"
    );
    let nameless = send(
        &app,
        Method::PUT,
        &path,
        Some(&cast.admin),
        Some(json!({"description": "x"})),
    )
    .await;
    let error = assert_error(nameless, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(error["details"]["name"].is_array(), "{error}");

    let deleted = send(&app, Method::DELETE, &path, Some(&cast.admin), None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        app.get("/api/v1/categories/shelf-1").await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
}

async fn category_names_are_unique_and_full_categories_stay(app: TestApp) {
    let cast = cast(&app).await;
    let books = new_category(&app, &cast.admin, "Books").await;
    let again = send(
        &app,
        Method::POST,
        "/api/v1/categories",
        Some(&cast.admin),
        Some(json!({"name": "BOOKS"})),
    )
    .await;
    assert_error(again, StatusCode::CONFLICT, "conflict").await;

    new_product(&app, &cast.owner, &books, "Dune", json!("9.99")).await;
    let path = format!("/api/v1/categories/{books}");
    let refused = send(&app, Method::DELETE, &path, Some(&cast.admin), None).await;
    assert_error(refused, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.get(&path).await.status(), StatusCode::OK);
}

async fn products_are_changed_by_their_owner_or_an_admin(app: TestApp) {
    let cast = cast(&app).await;
    let books = new_category(&app, &cast.admin, "Books").await;
    let anonymous = send(
        &app,
        Method::POST,
        "/api/v1/products",
        None,
        Some(json!({"name": "X", "price": "1", "category": books})),
    )
    .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;

    let dune = new_product(&app, &cast.owner, &books, "Dune", json!("9.99")).await;
    let me: Value = app.me(&cast.owner).await.json().await.unwrap();
    assert_eq!(dune["created_by"], me["id"]);
    assert_eq!(
        (dune["price"].clone(), dune["category"].clone()),
        (json!("9.99"), json!(books))
    );
    let path = format!("/api/v1/products/{}", dune["id"].as_str().unwrap());
    let shown: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(shown["name"], json!("Dune"));

    for (method, body) in [
        (
            Method::PUT,
            Some(json!({"name": "Dune II", "price": "10", "category": books})),
        ),
        (Method::PATCH, Some(json!({"price": "1.00"}))),
        (Method::DELETE, None),
    ] {
        let anonymous = send(&app, method.clone(), &path, None, body.clone()).await;
        assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
        let stranger = send(&app, method, &path, Some(&cast.other), body).await;
        assert_error(stranger, StatusCode::FORBIDDEN, "permission_denied").await;
    }

    let patched = send(
        &app,
        Method::PATCH,
        &path,
        Some(&cast.owner),
        Some(json!({"price": "10.5"})),
    )
    .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(
        (patched["name"].clone(), patched["price"].clone()),
        (json!("Dune"), json!("10.50"))
    );
    let replaced = send(
        &app,
        Method::PUT,
        &path,
        Some(&cast.admin),
        Some(json!({"name": "Dune II", "price": 12, "category": books})),
    )
    .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(
        (
            replaced["name"].clone(),
            replaced["price"].clone(),
            replaced["description"].clone()
        ),
        (json!("Dune II"), json!("12.00"), json!(""))
    );
    assert_eq!(
        replaced["created_by"], me["id"],
        "an admin's edit keeps the owner"
    );
    // A JSON number is read as the text it prints: two places at most, negative zero is zero.
    for (price, expected) in [
        (json!(10.5), Some("10.50")),
        (json!(-0.0), Some("0.00")),
        (json!(0.001), None),
    ] {
        let patched = send(
            &app,
            Method::PATCH,
            &path,
            Some(&cast.admin),
            Some(json!({ "price": price })),
        )
        .await;
        match expected {
            Some(expected) => {
                assert_eq!(patched.status(), StatusCode::OK, "{price}");
                let patched: Value = patched.json().await.unwrap();
                assert_eq!(patched["price"], json!(expected), "{price}");
            }
            None => {
                assert_error(patched, StatusCode::BAD_REQUEST, "validation_error").await;
            }
        }
    }
    let incomplete = send(
        &app,
        Method::PUT,
        &path,
        Some(&cast.owner),
        Some(json!({"name": "Dune III"})),
    )
    .await;
    let error = assert_error(incomplete, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(
        error["details"]["price"].is_array() && error["details"]["category"].is_array(),
        "{error}"
    );

    for field in [
        json!({"created_by": me["id"]}),
        json!({"id": me["id"]}),
        json!({"created_at": "2020-01-01T00:00:00Z"}),
    ] {
        let response = send(
            &app,
            Method::PATCH,
            &path,
            Some(&cast.owner),
            Some(field.clone()),
        )
        .await;
        assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    }

    let deleted = send(&app, Method::DELETE, &path, Some(&cast.owner), None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;
    let again = send(&app, Method::DELETE, &path, Some(&cast.admin), None).await;
    assert_error(again, StatusCode::NOT_FOUND, "not_found").await;
    let unknown = format!("/api/v1/products/{}", uuid::Uuid::new_v4());
    assert_error(app.get(&unknown).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        app.get("/api/v1/products/42").await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
}

async fn prices_are_exact_decimals(app: TestApp) {
    let cast = cast(&app).await;
    let books = new_category(&app, &cast.admin, "Books").await;
    for (price, stored) in [
        (json!("0.00"), "0.00"),
        (json!("0.1"), "0.10"),
        (json!("999999999999.99"), "999999999999.99"),
        (json!(19.99), "19.99"),
        (json!(7), "7.00"),
    ] {
        let product = new_product(&app, &cast.owner, &books, "Thing", price).await;
        assert_eq!(product["price"], json!(stored));
        let path = format!("/api/v1/products/{}", product["id"].as_str().unwrap());
        let read: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(read["price"], json!(stored), "stored exactly");
    }
    for price in [
        json!("1e3"),
        json!("-1"),
        json!("abc"),
        json!("1000000000000.00"),
        json!("0.001"),
        json!(-5),
        json!(1e300),
        json!(null),
        json!(true),
        json!(""),
    ] {
        let body = json!({"name": "Thing", "price": price, "category": books});
        let response = send(
            &app,
            Method::POST,
            "/api/v1/products",
            Some(&cast.owner),
            Some(body),
        )
        .await;
        let error = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(error["details"]["price"].is_array(), "{price}: {error}");
    }
    let stray = json!({"name": "Thing", "price": "1", "category": uuid::Uuid::new_v4()});
    let response = send(
        &app,
        Method::POST,
        "/api/v1/products",
        Some(&cast.owner),
        Some(stray),
    )
    .await;
    let error = assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    assert!(error["details"]["category"].is_array(), "{error}");
}

/// Names of a whole listing, walking `next_cursor` with pages of two.
async fn walk(app: &TestApp, query: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut path = format!("/api/v1/products?limit=2&{query}");
    for _ in 0..50 {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let page: Value = response.json().await.unwrap();
        for product in page["results"].as_array().unwrap() {
            names.push(product["name"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/products?limit=2&{query}&cursor={cursor}"),
            None => return names,
        }
    }
    panic!("the walk did not end");
}

async fn products_filter_order_and_page(app: TestApp) {
    let cast = cast(&app).await;
    let books = new_category(&app, &cast.admin, "Books").await;
    let films = new_category(&app, &cast.admin, "Films").await;
    for (name, price, category) in [
        ("Dune", "9.99", &books),
        ("Emma", "4.50", &books),
        ("Alien", "12.00", &films),
        ("Brazil", "0.00", &films),
        ("Casablanca", "7.25", &films),
    ] {
        new_product(&app, &cast.owner, category, name, json!(price)).await;
    }
    assert_eq!(
        walk(&app, "").await,
        ["Casablanca", "Brazil", "Alien", "Emma", "Dune"],
        "newest first"
    );
    assert_eq!(
        walk(&app, "ordering=created_at").await,
        ["Dune", "Emma", "Alien", "Brazil", "Casablanca"]
    );
    assert_eq!(
        walk(&app, "ordering=price").await,
        ["Brazil", "Emma", "Casablanca", "Dune", "Alien"]
    );
    assert_eq!(
        walk(&app, "ordering=-price").await,
        ["Alien", "Dune", "Casablanca", "Emma", "Brazil"]
    );
    assert_eq!(
        walk(&app, "ordering=name").await,
        ["Alien", "Brazil", "Casablanca", "Dune", "Emma"]
    );
    assert_eq!(
        walk(&app, &format!("category={films}&ordering=name")).await,
        ["Alien", "Brazil", "Casablanca"]
    );
    assert_eq!(walk(&app, "search=DUN").await, ["Dune"]);
    assert_eq!(
        walk(&app, "search=about%20c").await,
        ["Casablanca"],
        "descriptions are searched"
    );
    assert_eq!(
        walk(&app, "min_price=4.50&max_price=9.99&ordering=price").await,
        ["Emma", "Casablanca", "Dune"]
    );

    // Walking back up from the last page gives the pages before it.
    let page: Value = app
        .get("/api/v1/products?limit=2&ordering=price")
        .await
        .json()
        .await
        .unwrap();
    let second: Value = app
        .get(&format!(
            "/api/v1/products?limit=2&ordering=price&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    let back: Value = app
        .get(&format!(
            "/api/v1/products?limit=2&ordering=price&cursor={}",
            second["previous_cursor"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["results"], page["results"]);
    assert_eq!(back["previous_cursor"], Value::Null);

    for query in [
        "ordering=popularity",
        "ordering=price,name",
        "min_price=abc",
        "max_price=-1",
        "min_price=1e3",
        "category=books",
        "limit=0",
        "limit=101",
        "limit=abc",
        "cursor=garbage",
    ] {
        let response = app.get(&format!("/api/v1/products?{query}")).await;
        assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    }
    // A cursor from one ordering is refused by another.
    let cursor = page["next_cursor"].as_str().unwrap();
    let foreign = app
        .get(&format!("/api/v1/products?ordering=name&cursor={cursor}"))
        .await;
    assert_error(foreign, StatusCode::BAD_REQUEST, "validation_error").await;
}

crate::on_every_backend!(
    categories_are_read_by_anyone_and_written_by_admins,
    category_names_are_unique_and_full_categories_stay,
    products_are_changed_by_their_owner_or_an_admin,
    prices_are_exact_decimals,
    products_filter_order_and_page,
);
