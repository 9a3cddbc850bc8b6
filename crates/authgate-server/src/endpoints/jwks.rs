//! The JSON Web Key Set (public keys only), pre-rendered and cacheable.

use crate::state::SharedState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

pub async fn jwks(State(state): State<SharedState>) -> impl IntoResponse {
    let body = state.keys.current().jwks_json.clone();
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            // Short enough that a rotation is seen soon; resource servers
            // also refetch on an unknown kid.
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
}
