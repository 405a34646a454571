//! Card images the appearances catalog links to, drawn as SVG from each design's colours.

use crate::http::error::{ApiError, ApiResult};
use crate::wire::ASSET_NAMES;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cardinal_domain::catalog::{self, Theme};

/// `GET /assets/cards/{design}/{asset}.svg`: public, like Qonto's image CDN, and cacheable.
pub async fn card_image(Path((design, file)): Path<(String, String)>) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("image");
    let design = catalog::by_code(&design).ok_or_else(not_found)?;
    let asset = file.strip_suffix(".svg").filter(|a| ASSET_NAMES.contains(a)).ok_or_else(not_found)?;
    let (width, height) = match asset {
        "front_large" => (680, 428),
        "front_small" => (340, 214),
        _ => (160, 101),
    };
    let ink = if design.theme == Theme::Dark { "#FFFFFF" } else { "#1D1D1B" };
    let level = design.level.as_str().replace('_', " ").to_uppercase();
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 680 428" role="img" aria-label="{code}">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="{color}"/><stop offset="1" stop-color="{color}" stop-opacity="0.75"/></linearGradient></defs>
<rect width="680" height="428" rx="32" fill="url(#g)"/>
<rect x="56" y="150" width="86" height="64" rx="10" fill="{ink}" fill-opacity="0.35"/>
<text x="56" y="86" font-family="Helvetica, Arial, sans-serif" font-size="40" font-weight="700" fill="{ink}">Cardinal</text>
<text x="56" y="380" font-family="Helvetica, Arial, sans-serif" font-size="28" letter-spacing="4" fill="{ink}">{level}</text>
</svg>"##,
        code = design.code,
        color = design.gradient_hex_color,
    );
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], svg)
        .into_response())
}
