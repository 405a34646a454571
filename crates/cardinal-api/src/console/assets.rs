//! The console's own files, built into the binary: its stylesheet and script, and the
//! vendored Swagger UI (`assets/console/swagger-ui`, kept gzip-compressed and sent so).
//! Nothing is fetched from elsewhere, so the console works offline.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    gzipped: bool,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/console/console.css"),
        gzipped: false,
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/console/console.js"),
        gzipped: false,
    },
    Asset {
        name: "reference.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/console/reference.js"),
        gzipped: false,
    },
    // swagger-ui-dist 5.36.0 (Apache-2.0).
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/console/swagger-ui/swagger-ui-bundle.js.gz"),
        gzipped: true,
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/console/swagger-ui/swagger-ui.css.gz"),
        gzipped: true,
    },
];

/// `GET /console/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == file) else {
        return crate::http::error::ApiError::not_found("console asset").into_response();
    };
    let mut response = (StatusCode::OK, asset.bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Not versioned by name: a browser checks again after an hour.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    if asset.gzipped {
        // Every browser the console supports takes gzip; the file is stored compressed.
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    response
}
