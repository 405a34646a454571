//! `GET /console/reference`: the API reference, rendered in the browser from this server's
//! own `/openapi.json` by the vendored Swagger UI (see `assets`).

use super::auth::Signed;
use super::layout;
use axum::response::Response;
use maud::html;

pub async fn page(signed: Signed) -> Response {
    let body = html! {
        h1 { "API reference" }
        p.hint { "Every route this server serves, from " a href="/openapi.json" { "/openapi.json" } "." }
        link rel="stylesheet" href="/console/assets/swagger-ui.css";
        div #swagger-ui { noscript { "The reference needs JavaScript; the document itself is at /openapi.json." } }
        script src="/console/assets/swagger-ui-bundle.js" {}
        script src="/console/assets/reference.js" {}
    };
    layout::page(&signed, "API reference", None, body)
}
