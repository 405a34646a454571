//! Signing in to the console with the admin (operator) token, and what every console request
//! proves: a live session (its cookie), and for a form, the session's CSRF token and a
//! same-origin sender. A stale cookie, a missing token or a cross-site post writes nothing.

use super::layout;
use crate::http::form::Form;
use crate::render::page;
use crate::secrets::{hash_secret, hashes_equal};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use subtle::ConstantTimeEq;

const SESSION_COOKIE: &str = "cardinal_console";
/// Before signing in there is no session: the sign-in form's CSRF token is a cookie's twin.
const SIGN_IN_COOKIE: &str = "cardinal_console_signin";

/// A signed-in person: their session's cookie token and CSRF token.
pub struct Signed {
    state: AppState,
    token: String,
    pub csrf: String,
}

impl Signed {
    /// Leaves the next page a notice (the outcome of a form).
    pub fn tell(&self, notice: crate::http::session::Notice) {
        self.state.console.tell(&self.token, notice);
    }

    pub fn take_notice(&self) -> Option<crate::http::session::Notice> {
        self.state.console.take_notice(&self.token)
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Signed, Response> {
        let token = cookie(&parts.headers, SESSION_COOKIE);
        match token.as_deref().and_then(|t| state.console.csrf_of(t).map(|csrf| (t.to_owned(), csrf))) {
            Some((token, csrf)) => Ok(Signed { state: state.clone(), token, csrf }),
            // A page asks to sign in; a form whose session is gone is refused, unwritten.
            None if parts.method == Method::GET => Err(Redirect::to("/console/sign-in").into_response()),
            None => Err(refused(StatusCode::FORBIDDEN, "Your session has ended: sign in again. Nothing was changed.")),
        }
    }
}

/// A form sent by a signed-in person from a console page: the session, the CSRF token that
/// matches it, and a same-origin sender. Its fields are read with [`Form`].
pub struct Posted {
    pub signed: Signed,
    pub form: Form,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Posted, Response> {
        let (mut parts, body) = request.into_parts();
        if let Some(why) = cross_site(&parts.headers) {
            return Err(refused(StatusCode::FORBIDDEN, why));
        }
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| refused(StatusCode::BAD_REQUEST, "The form could not be read."))?;
        let form = Form::parse(&bytes).map_err(|why| refused(StatusCode::BAD_REQUEST, &why))?;
        let presented = form.get("csrf_token").unwrap_or_default();
        if !bool::from(presented.as_bytes().ct_eq(signed.csrf.as_bytes())) {
            return Err(refused(StatusCode::FORBIDDEN, "This form has expired: reload the page. Nothing was changed."));
        }
        Ok(Posted { signed, form })
    }
}

/// Why a request comes from another site, if it does: the browser's own `Sec-Fetch-Site`
/// when it sends one, else an `Origin` that is not this host (`null` included).
fn cross_site(headers: &HeaderMap) -> Option<&'static str> {
    let why = "Forms are accepted from the console's own pages only. Nothing was changed.";
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("same-origin" | "none") => return None,
        Some(_) => return Some(why),
        None => {}
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())?;
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("null");
    (origin_host != host).then_some(why)
}

fn refused(status: StatusCode, why: &str) -> Response {
    layout::public_page(
        status,
        "Refused",
        html! {
            h1 { "Refused" }
            p role="alert" { (why) }
            p { a href="/console" { "Back to the console" } }
        },
    )
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    page::cookie(headers, name).map(str::to_owned)
}

fn set_cookie(response: &mut Response, state: &AppState, name: &str, value: &str, max_age: Option<u64>) {
    let https = state.config.public_url.starts_with("https://");
    page::set_cookie(response, name, value, "/console", https, max_age);
}

/// `GET /console/sign-in`.
pub async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let csrf = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_else(crate::secrets::new_token);
    sign_in_form(&state, StatusCode::OK, &csrf, None)
}

fn sign_in_form(state: &AppState, status: StatusCode, csrf: &str, problem: Option<&str>) -> Response {
    let body = html! {
        h1 { "Sign in to the Cardinal console" }
        p { "Use the admin token the server printed at its first start (it is also in the credentials file beside the database)." }
        @if let Some(problem) = problem { p.notice.refused role="alert" { (problem) } }
        form.stack method="post" action="/console/sign-in" {
            input type="hidden" name="csrf_token" value=(csrf);
            label for="token" { "Admin token" }
            input #token type="password" name="token" required autocomplete="current-password" autofocus;
            button.primary type="submit" { "Sign in" }
        }
    };
    let mut response = layout::public_page(status, "Sign in", body);
    set_cookie(&mut response, state, SIGN_IN_COOKIE, csrf, None);
    response
}

/// `POST /console/sign-in`: the admin token → a session cookie, and on to the console.
pub async fn sign_in(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(why) = cross_site(&headers) {
        return refused(StatusCode::FORBIDDEN, why);
    }
    let form = Form::parse(&body).unwrap_or_default();
    let expected_csrf = cookie(&headers, SIGN_IN_COOKIE);
    let presented_csrf = form.get("csrf_token");
    let csrf_ok =
        matches!((&expected_csrf, presented_csrf), (Some(e), Some(p)) if bool::from(e.as_bytes().ct_eq(p.as_bytes())));
    let fresh = crate::secrets::new_token();
    if !csrf_ok {
        return sign_in_form(&state, StatusCode::FORBIDDEN, &fresh, Some("This form has expired: sign in again."));
    }
    let token_ok = match (&state.config.operator_token_hash, form.get("token")) {
        (Some(expected), Some(presented)) => hashes_equal(&hash_secret(presented.trim()), expected),
        _ => false,
    };
    if !token_ok {
        let csrf = expected_csrf.unwrap_or(fresh);
        return sign_in_form(&state, StatusCode::UNAUTHORIZED, &csrf, Some("That is not the admin token."));
    }
    let (token, _) = state.console.open();
    let mut response = Redirect::to("/console").into_response();
    set_cookie(&mut response, &state, SESSION_COOKIE, &token, None);
    set_cookie(&mut response, &state, SIGN_IN_COOKIE, "", Some(0));
    response
}

/// `POST /console/sign-out`.
pub async fn sign_out(State(state): State<AppState>, posted: Posted) -> Response {
    state.console.close(&posted.signed.token);
    let mut response = Redirect::to("/console/sign-in").into_response();
    set_cookie(&mut response, &state, SESSION_COOKIE, "", Some(0));
    response
}
