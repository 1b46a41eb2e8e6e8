//! Static files, compiled into the binary so it runs from any folder and needs no CDN.

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::{AppState, Error};

/// The files under `static/`, by name, with their content type.
const FILES: [(&str, &str, &str); 3] = [
    (
        "rolegate.css",
        "text/css; charset=utf-8",
        include_str!("../../static/rolegate.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/console.js"),
    ),
    (
        "portal.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/portal.js"),
    ),
];

/// The static-file routes.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/static/{file}", get(file))
}

async fn file(Path(name): Path<String>) -> Result<impl IntoResponse, Error> {
    let (_, content_type, body) = FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .ok_or(Error::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        *body,
    ))
}
