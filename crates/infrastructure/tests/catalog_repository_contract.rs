//! The `CategoryRepository` and `ProductRepository` contract, run against every adapter:
//! in-memory, SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use gatehouse_application::pagination::{Direction, PageRequest};
use gatehouse_application::ports::{
    CatalogWriteError, ProductFilter, ProductPosition, ProductRepository,
};
use gatehouse_domain::{
    Category, CategoryId, CategoryName, Description, Price, Product, ProductId, ProductName,
    ProductOrder, UserId,
};
use time::OffsetDateTime;

use support::Backend;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

fn category(name: &str) -> Category {
    Category {
        id: CategoryId::generate(),
        name: CategoryName::parse(name).unwrap(),
        description: Description::parse("shelf").unwrap(),
        created_at: at(0),
        updated_at: at(0),
    }
}

fn product(name: &str, price: &str, category: CategoryId, owner: UserId, seconds: i64) -> Product {
    Product {
        id: ProductId::generate(),
        name: ProductName::parse(name).unwrap(),
        description: Description::parse(&format!("about {name}")).unwrap(),
        price: Price::parse("price", price).unwrap(),
        category,
        created_by: owner,
        created_at: at(seconds),
        updated_at: at(seconds),
    }
}

async fn category_names_are_unique_ignoring_case(db: Backend) {
    let repo = db.categories();
    let books = category("Books");
    repo.insert(&books).await.unwrap();
    let shouting = repo.insert(&category("BOOKS")).await;
    assert!(
        matches!(shouting, Err(CatalogWriteError::NameTaken)),
        "{shouting:?}"
    );
    let films = category("Films");
    repo.insert(&films).await.unwrap();
    let renamed = Category {
        name: CategoryName::parse("books").unwrap(),
        ..films.clone()
    };
    assert!(matches!(
        repo.update(&renamed).await,
        Err(CatalogWriteError::NameTaken)
    ));
    assert_eq!(repo.find(films.id).await.unwrap(), Some(films));
    assert_eq!(repo.find(books.id).await.unwrap(), Some(books));
}

async fn a_category_with_products_cannot_be_deleted(db: Backend) {
    let categories = db.categories();
    let products = db.products();
    let owner = db.user("ada").await;
    let books = category("Books");
    categories.insert(&books).await.unwrap();
    let dune = product("Dune", "9.99", books.id, owner, 0);
    products.insert(&dune).await.unwrap();

    let refused = categories.delete(books.id).await;
    assert!(
        matches!(refused, Err(CatalogWriteError::CategoryInUse)),
        "{refused:?}"
    );
    assert!(products.delete(dune.id).await.unwrap());
    assert!(!products.delete(dune.id).await.unwrap());
    assert!(categories.delete(books.id).await.unwrap());
    assert!(!categories.delete(books.id).await.unwrap());
    assert_eq!(categories.find(books.id).await.unwrap(), None);
}

async fn products_need_a_real_category_and_update_in_place(db: Backend) {
    let categories = db.categories();
    let products = db.products();
    let owner = db.user("ada").await;
    let stray = product("Stray", "1", CategoryId::generate(), owner, 0);
    let refused = products.insert(&stray).await;
    assert!(
        matches!(refused, Err(CatalogWriteError::UnknownCategory)),
        "{refused:?}"
    );

    let books = category("Books");
    categories.insert(&books).await.unwrap();
    let dune = product("Dune", "999999999999.99", books.id, owner, 0);
    products.insert(&dune).await.unwrap();
    assert_eq!(products.find(dune.id).await.unwrap(), Some(dune.clone()));
    let cheaper = Product {
        price: Price::parse("price", "0.10").unwrap(),
        updated_at: at(5),
        ..dune.clone()
    };
    assert!(products.update(&cheaper).await.unwrap());
    assert_eq!(products.find(dune.id).await.unwrap(), Some(cheaper.clone()));
    let moved = Product {
        category: CategoryId::generate(),
        ..cheaper
    };
    assert!(matches!(
        products.update(&moved).await,
        Err(CatalogWriteError::UnknownCategory)
    ));
    let ghost = product("Ghost", "1", books.id, owner, 0);
    assert!(!products.update(&ghost).await.unwrap());
}

/// Five products over two categories, for the list cases.
async fn shelf(db: &Backend) -> (Vec<Product>, CategoryId, CategoryId) {
    let categories = db.categories();
    let products = db.products();
    let owner = db.user("ada").await;
    let (books, films) = (category("Books"), category("Films"));
    categories.insert(&books).await.unwrap();
    categories.insert(&films).await.unwrap();
    let items = vec![
        product("Dune", "9.99", books.id, owner, 0),
        product("Emma", "4.50", books.id, owner, 1),
        product("Alien", "9.99", films.id, owner, 1),
        product("100% Cotton_Tee", "20", films.id, owner, 2),
        product("Brazil", "0", films.id, owner, 3),
    ];
    for item in &items {
        products.insert(item).await.unwrap();
    }
    (items, books.id, films.id)
}

/// Every product matching `filter`, walked down `order` two at a time, checking on the way
/// that walking back up from each page gives the page before it.
async fn walk(
    repo: &dyn ProductRepository,
    filter: &ProductFilter,
    order: ProductOrder,
) -> Vec<String> {
    let mut names = Vec::new();
    let mut request = PageRequest::<ProductPosition> {
        from: None,
        limit: 2,
    };
    let mut pages: Vec<Vec<Product>> = Vec::new();
    loop {
        let mut rows = repo.page(filter, order, &request).await.unwrap();
        let more = rows.len() > 2;
        rows.truncate(2);
        if let (Some(first), Some(previous)) = (rows.first(), pages.last()) {
            let up = PageRequest {
                from: Some((Direction::Newer, ProductPosition::of(first, order))),
                limit: 2,
            };
            let mut back = repo.page(filter, order, &up).await.unwrap();
            back.truncate(2);
            back.reverse();
            assert_eq!(
                &back, previous,
                "walking up from a page gives the one before"
            );
        }
        names.extend(rows.iter().map(|p| p.name.as_str().to_owned()));
        let Some(last) = rows.last().filter(|_| more) else {
            break;
        };
        request.from = Some((Direction::Older, ProductPosition::of(last, order)));
        pages.push(rows);
    }
    names
}

async fn every_ordering_walks_every_row_once_in_order(db: Backend) {
    let repo = db.products();
    let (items, _, _) = shelf(&db).await;
    let all = ProductFilter::default();
    // Ties (equal times, equal prices) are broken by id, in the list's direction.
    let by_id = |a: &Product, b: &Product| a.id.cmp(&b.id);
    let expected = |mut sorted: Vec<Product>,
                    cmp: &dyn Fn(&Product, &Product) -> std::cmp::Ordering| {
        sorted.sort_by(|a, b| cmp(a, b).then_with(|| by_id(a, b)));
        sorted
            .iter()
            .map(|p| p.name.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let oldest = expected(items.clone(), &|a, b| a.created_at.cmp(&b.created_at));
    let cheapest = expected(items.clone(), &|a, b| a.price.cmp(&b.price));
    let by_name = expected(items.clone(), &|a, b| a.name.as_str().cmp(b.name.as_str()));
    let reversed = |v: &Vec<String>| v.iter().rev().cloned().collect::<Vec<_>>();

    assert_eq!(
        walk(repo.as_ref(), &all, ProductOrder::OldestFirst).await,
        oldest
    );
    assert_eq!(
        walk(repo.as_ref(), &all, ProductOrder::NewestFirst).await,
        reversed(&oldest)
    );
    assert_eq!(
        walk(repo.as_ref(), &all, ProductOrder::PriceAscending).await,
        cheapest
    );
    assert_eq!(
        walk(repo.as_ref(), &all, ProductOrder::PriceDescending).await,
        reversed(&cheapest)
    );
    assert_eq!(
        walk(repo.as_ref(), &all, ProductOrder::NameAscending).await,
        by_name
    );
    assert_eq!(
        walk(repo.as_ref(), &all, ProductOrder::NameDescending).await,
        reversed(&by_name)
    );
    assert_eq!(cheapest.first().map(String::as_str), Some("Brazil"));
}

async fn filters_narrow_the_list(db: Backend) {
    let repo = db.products();
    let (_, books, films) = shelf(&db).await;
    let names = |filter: ProductFilter| {
        let repo = repo.clone();
        async move {
            let mut names = walk(repo.as_ref(), &filter, ProductOrder::NameAscending).await;
            names.sort();
            names
        }
    };
    let price = |raw: &str| Some(Price::parse("price", raw).unwrap());
    let search = |text: &str| ProductFilter {
        search: Some(text.into()),
        ..ProductFilter::default()
    };
    assert_eq!(
        names(ProductFilter {
            category: Some(books),
            ..ProductFilter::default()
        })
        .await,
        ["Dune", "Emma"]
    );
    assert_eq!(names(search("DUNE")).await, ["Dune"]);
    assert_eq!(
        names(search("about e")).await,
        ["Emma"],
        "descriptions are searched too"
    );
    assert_eq!(names(search("100%")).await, ["100% Cotton_Tee"]);
    assert!(
        names(search("1_0")).await.is_empty(),
        "_ is literal, not a wildcard"
    );
    assert!(
        names(search("%")).await.len() == 1,
        "% is literal, not a wildcard"
    );
    assert_eq!(
        names(ProductFilter {
            min_price: price("4.50"),
            max_price: price("9.99"),
            ..ProductFilter::default()
        })
        .await,
        ["Alien", "Dune", "Emma"]
    );
    assert_eq!(
        names(ProductFilter {
            category: Some(films),
            max_price: price("9.99"),
            ..ProductFilter::default()
        })
        .await,
        ["Alien", "Brazil"]
    );
    assert!(
        names(ProductFilter {
            min_price: price("20.01"),
            ..ProductFilter::default()
        })
        .await
        .is_empty()
    );
}

database_contract!(
    category_names_are_unique_ignoring_case,
    a_category_with_products_cannot_be_deleted,
    products_need_a_real_category_and_update_in_place,
    every_ordering_walks_every_row_once_in_order,
    filters_narrow_the_list,
);
