use crate::support::*;
use axum::http::Method;
use cardinal_domain::Role::*;
use serde_json::{json, Value};

fn statuses(r: &Response) -> Vec<String> {
    r.body["cards"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn every_listed_card_is_complete_and_meta_follows_the_contract() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let r = app.get("/v2/cards?per_page=3&page=2", &org.token(Owner)).await;
    r.assert_status(200);
    for card in r.body["cards"].as_array().unwrap() {
        assert_full_card(card);
    }
    assert_eq!(
        r.body["meta"],
        json!({"current_page": 2, "next_page": 3, "prev_page": 1, "total_pages": 4, "total_count": 10, "per_page": 3})
    );
    let last = app.get("/v2/cards?per_page=3&page=4", &org.token(Owner)).await;
    assert_eq!(last.body["meta"]["next_page"], Value::Null);
    assert_eq!(last.body["cards"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn default_order_is_newest_first_with_ties_by_id() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let r = app.get("/v2/cards", &org.token(Owner)).await;
    let cards = r.body["cards"].as_array().unwrap();
    for pair in cards.windows(2) {
        let key = |c: &Value| (c["created_at"].as_str().unwrap().to_owned(), c["id"].as_str().unwrap().to_owned());
        assert!(key(&pair[0]) >= key(&pair[1]), "created_at:desc, then id");
    }
}

#[tokio::test]
async fn filters_accept_every_bracket_spelling() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let card = org.card(Employee, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &org.token(Owner)).await.assert_status(200);
    for query in ["statuses[]=paused", "statuses%5B%5D=paused", "statuses=paused"] {
        let r = app.get(&format!("/v2/cards?{query}"), &org.token(Owner)).await;
        r.assert_status(200);
        assert_eq!(statuses(&r), vec!["paused"], "{query}");
    }
    let both = app.get("/v2/cards?statuses[]=paused&statuses[]=live", &org.token(Owner)).await;
    assert_eq!(both.body["meta"]["total_count"], 10);
}

#[tokio::test]
async fn filters_by_level_holder_bank_account_ids_and_query() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(Owner);
    let count = |r: Response| r.body["meta"]["total_count"].as_u64().unwrap();

    assert_eq!(count(app.get("/v2/cards?card_levels[]=standard", &owner).await), 5);
    let holder = org.member_id(Manager);
    assert_eq!(count(app.get(&format!("/v2/cards?holder_ids[]={holder}"), &owner).await), 2);
    let account = org.body["bank_account"]["id"].as_str().unwrap().to_owned();
    assert_eq!(count(app.get(&format!("/v2/cards?bank_account_ids[]={account}"), &owner).await), 10);
    let (a, b) = (org.card(Owner, "virtual"), org.card(Admin, "standard"));
    assert_eq!(count(app.get(&format!("/v2/cards?ids[]={a}&ids[]={b}"), &owner).await), 2);
    assert_eq!(count(app.get("/v2/cards?query=bernard", &owner).await), 2, "holder last name, any case");
    assert_eq!(count(app.get("/v2/cards?query=Virtual%20card", &owner).await), 5, "nickname");
    let digits = org.body["cards"][0]["last_digits"].as_str().unwrap().to_owned();
    assert!(count(app.get(&format!("/v2/cards?query={digits}"), &owner).await) >= 1, "last digits");
    assert_eq!(count(app.get("/v2/cards?query=zzzz-nothing", &owner).await), 0);
}

#[tokio::test]
async fn sorting_by_nickname_and_status() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let owner = org.token(Owner);
    let card = org.card(Admin, "virtual");
    app.put(&format!("/v2/cards/{card}/lock"), &owner).await;
    let by_status = app.get("/v2/cards?sort_by=status:desc", &owner).await;
    assert_eq!(statuses(&by_status)[0], "paused");
    let by_status = app.get("/v2/cards?sort_by=status:asc", &owner).await;
    assert_eq!(statuses(&by_status).last().unwrap(), "paused");
    let by_name = app.get("/v2/cards?sort_by=nickname:asc", &owner).await;
    let names: Vec<&str> =
        by_name.body["cards"].as_array().unwrap().iter().map(|c| c["nickname"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[tokio::test]
async fn bad_list_parameters_are_422_with_the_parameter_named() {
    let app = TestApp::new().await;
    let org = app.org().await;
    for (query, code, parameter) in [
        ("per_page=101", "invalid", "per_page"),
        ("per_page=0", "invalid", "per_page"),
        ("page=0", "invalid", "page"),
        ("page=abc", "invalid", "page"),
        ("statuses[]=sleeping", "not_in_list", "statuses[]"),
        ("card_levels[]=gold", "not_in_list", "card_levels[]"),
        ("sort_by=colour:asc", "not_in_list", "sort_by"),
        ("sort_by=status:sideways", "not_in_list", "sort_by"),
        ("ids[]=not-a-uuid", "invalid", "ids[]"),
    ] {
        let r = app.get(&format!("/v2/cards?{query}"), &org.token(Owner)).await;
        r.assert_status(422);
        assert_eq!(r.error_code(), code, "{query}");
        assert_eq!(r.body["errors"][0]["source"]["parameter"], parameter, "{query}");
    }
}

#[tokio::test]
async fn appearances_list_every_level_with_served_images() {
    let app = TestApp::new().await;
    let org = app.org().await;
    let r = app.get("/v2/cards/appearances", &org.token(Employee)).await;
    r.assert_status(200);
    let levels = r.body["card_type_appearances"][0]["card_level_appearances"].as_array().unwrap();
    assert_eq!(levels.len(), 7);
    let virtual_level = levels.iter().find(|l| l["card_level"] == "virtual").unwrap();
    let first = &virtual_level["appearances"][0];
    assert_eq!(first["design"], "virtual.default.2017");
    assert_eq!(first["is_active"], true);
    let url = first["assets"]["front_large"].as_str().unwrap();
    let path = url.strip_prefix("http://cardinal.test").unwrap();
    let image = app.send(Method::GET, path, None, None).await;
    image.assert_status(200);
    assert_eq!(image.headers["content-type"], "image/svg+xml");
    assert!(image.text.starts_with("<svg"));
    app.send(Method::GET, "/assets/cards/nope/front_large.svg", None, None).await.assert_status(404);
}
