//! What Cardinal's server-rendered pages share (the card-details page, the OAuth consent
//! page): escaping, the page's language, and the headers that keep a page private and inert.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Text for HTML, in element content and in quoted attributes alike.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The page's language among `supported` (the first is the default): the last `param` of
/// the query (`lang`, or OpenID's `ui_locales`, whose first tag counts), else the first
/// supported language of `Accept-Language`.
pub fn language(query: Option<&str>, param: &str, headers: &HeaderMap, supported: &[&'static str]) -> &'static str {
    let from_query = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == param)
        .last()
        .and_then(|(_, v)| v.split(' ').next().and_then(|tag| supported_language(tag, supported)));
    from_query.or_else(|| accepted_language(headers, supported)).unwrap_or(supported[0])
}

/// The first supported language of an `Accept-Language` header.
pub fn accepted_language(headers: &HeaderMap, supported: &[&'static str]) -> Option<&'static str> {
    headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?.split(',').find_map(|tag| supported_language(tag, supported))
}

fn supported_language(tag: &str, supported: &[&'static str]) -> Option<&'static str> {
    let primary = tag.split(['-', '_', ';']).next().unwrap_or_default().trim().to_ascii_lowercase();
    supported.iter().find(|l| **l == primary).copied()
}

/// The value of cookie `name`, from every `Cookie` header of a request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Sets cookie `name` for the pages under `path`: `HttpOnly`, `SameSite=Strict`, `Secure`
/// when the server is reached over https, and `Max-Age` when given (0 removes it).
pub fn set_cookie(response: &mut Response, name: &str, value: &str, path: &str, https: bool, max_age: Option<u64>) {
    let secure = if https { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    let cookie = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict{secure}{age}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// An HTML page that is never cached, sniffed or referred from, under `csp`.
pub fn html(status: StatusCode, page: String, csp: &str) -> Response {
    let mut response = (status, page).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A policy that is not a valid header value would be dropped: none at all is refused.
    let csp = HeaderValue::from_str(csp).unwrap_or(HeaderValue::from_static("default-src 'none'"));
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUPPORTED: &[&str] = &["en", "fr", "it", "es", "de", "pt"];

    #[test]
    fn language_comes_from_the_query_then_the_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(language(None, "lang", &headers, SUPPORTED), "en");
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("nl-NL, de-DE;q=0.8, fr;q=0.5"));
        assert_eq!(language(None, "lang", &headers, SUPPORTED), "de");
        assert_eq!(language(Some("lang=pt"), "lang", &headers, SUPPORTED), "pt");
        assert_eq!(language(Some("lang=xx"), "lang", &headers, SUPPORTED), "de");
        assert_eq!(
            language(Some("lang=fr&lang=it"), "lang", &headers, SUPPORTED),
            "it",
            "a lang added later overrides"
        );
        assert_eq!(language(Some("ui_locales=fr-FR%20en"), "ui_locales", &headers, &["en", "fr"]), "fr");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<b>\"O'Neil\" & co</b>"), "&lt;b&gt;&quot;O&#39;Neil&quot; &amp; co&lt;/b&gt;");
    }
}
