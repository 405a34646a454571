//! The console's page shell: navigation, the notice a form left, and the headers every page
//! carries. maud escapes every value it is given; nothing here builds HTML from strings.

use super::auth::Signed;
use crate::http::session::Notice;
use crate::render::page;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use maud::{html, Markup, DOCTYPE};
use uuid::Uuid;

/// Scripts, styles and images from the console's own assets only; no inline script or style
/// (so no injected markup can run), no framing, forms post to the console only.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Which organization a page is about, for the second row of navigation.
pub struct OrgNav<'a> {
    pub id: Uuid,
    pub name: &'a str,
    /// Which of the organization's pages this is: `overview`, `requests` or `webhooks`.
    pub current: &'static str,
}

/// A signed-in page: the shell around `body`, with the notice the last form left.
pub fn page(signed: &Signed, title: &str, org: Option<OrgNav<'_>>, body: Markup) -> Response {
    let notice = signed.take_notice();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    nav aria-label="Console" {
                        a.brand href="/console" { "Cardinal" span.badge { "sandbox" } }
                        a href="/console" { "Organizations" }
                        a href="/console/oauth" { "OAuth clients" }
                        a href="/console/reference" { "API reference" }
                        form.inline method="post" action="/console/sign-out" {
                            (csrf_field(signed))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                    @if let Some(org) = &org { (org_nav(org)) }
                }
                main #main {
                    @if let Some(notice) = &notice { (notice_box(notice)) }
                    (body)
                }
            }
        }
    };
    html_page(StatusCode::OK, markup.into_string())
}

/// A page for someone not signed in (the sign-in form, its refusals).
pub fn public_page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main #main.narrow { (body) } }
        }
    };
    html_page(status, markup.into_string())
}

/// A console page under the console's policy. Its forms must carry their origin (a browser
/// sends `Origin: null` under `no-referrer`), so the referrer policy is `same-origin`: the
/// console's addresses never leave it.
pub fn html_page(status: StatusCode, page: String) -> Response {
    let mut response = page::html(status, page, POLICY);
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Cardinal console" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

fn org_nav(org: &OrgNav<'_>) -> Markup {
    let base = format!("/console/organizations/{}", org.id);
    let links = [
        ("overview", "Overview", base.clone()),
        ("requests", "Requests", format!("{base}/requests")),
        ("webhooks", "Webhooks", format!("{base}/webhooks")),
    ];
    html! {
        nav.sub aria-label="Organization" {
            strong { (org.name) }
            @for (key, label, href) in &links {
                @if *key == org.current {
                    a href=(href) aria-current="page" { (label) }
                } @else {
                    a href=(href) { (label) }
                }
            }
        }
    }
}

fn notice_box(notice: &Notice) -> Markup {
    html! {
        @if notice.ok {
            div.notice.ok role="status" {
                @for line in &notice.lines { p { (line) } }
                @for (label, secret) in &notice.secrets { (copyable(label, secret)) }
            }
        } @else {
            div.notice.refused role="alert" {
                @for line in &notice.lines { p { (line) } }
            }
        }
    }
}

/// A read-only field with a copy button (the button works with scripts on; the field can be
/// selected and copied without them).
pub fn copyable(label: &str, value: &str) -> Markup {
    let id = format!("copy-{:08x}", rand::random::<u32>());
    html! {
        div.copy {
            label for=(id) { (label) }
            input #(id) type="text" readonly value=(value);
            button type="button" data-copy=(id) { "Copy" }
        }
    }
}

/// The hidden field every form carries.
pub fn csrf_field(signed: &Signed) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(signed.csrf); }
}

/// A one-button form posting to `action` (a card action, a decision, a retry).
pub fn button_form(signed: &Signed, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(signed))
            button class=(class) type="submit" { (label) }
        }
    }
}

/// An amount of euros, as the console shows it.
pub fn euros(amount: &str) -> Markup {
    html! { (amount) "\u{a0}€" }
}

/// A timestamp as `2026-12-06 14:03:11 UTC`.
pub fn time(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}
