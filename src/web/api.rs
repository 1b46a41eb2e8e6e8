//! The JSON API under `/api/v1`.

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;

use super::extract::Json;
use super::{AppState, Error};
use crate::policy::{SimulationInput, SimulationOutput, simulate};

/// Largest accepted API request body: ten maximum-size managed policies and then some.
const BODY_LIMIT: usize = 256 * 1024;

/// The API routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/policy/simulate", post(simulate_policy))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// `aws iam simulate-custom-policy` over HTTP: AWS's request shape in, AWS's result out.
/// Evaluation runs on the CPU pool, one page (`MaxItems`, `Marker`) at a time.
async fn simulate_policy(
    State(state): State<AppState>,
    Json(input): Json<SimulationInput>,
) -> Result<axum::Json<SimulationOutput>, Error> {
    let output = state
        .cpu
        .run(move || {
            input
                .policies()
                .and_then(|policies| simulate(&input, &policies))
        })
        .await?
        .map_err(|e| Error::InvalidInput {
            message: "The simulation input is not valid.",
            details: e.problems,
        })?;
    Ok(axum::Json(output))
}
