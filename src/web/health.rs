//! `/healthz` (the process is up) and `/readyz` (the store answers).

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::{AppState, Error};

/// The health routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
}

async fn ready(State(state): State<AppState>) -> Result<&'static str, Error> {
    state.stores.health.ping().await?;
    Ok("ready\n")
}
