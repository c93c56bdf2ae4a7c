//! `/api/v1/suppliers`: the suppliers incidents can be handed to (see
//! [`contracts::supplier`] for how they work over the queue). Registering
//! one answers its token once; ticketing keeps only its hash. A lost or
//! leaked token is replaced with `POST /suppliers/{id}/token`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts::supplier::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Admin, Staff};
use crate::error::ApiResult;
use crate::extract::{Body, Path};
use crate::incidents::call;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/suppliers", get(list).post(register))
        .route("/suppliers/{id}/token", post(rotate))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSupplier {
    name: String,
}

async fn register(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(body): Body<NewSupplier>,
) -> ApiResult<(StatusCode, Json<SupplierRegisteredV1>)> {
    let command = RegisterSupplierV1 {
        actor: who.actor.clone(),
        name: body.name,
    };
    Ok((
        StatusCode::CREATED,
        Json(call(&state, &who, &headers, &command).await?),
    ))
}

async fn list(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<SupplierV1>>> {
    let command = ListSuppliersV1 {
        viewer: who.actor.clone(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

/// A new token for the supplier; the old one stops working at once.
async fn rotate(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<SupplierRegisteredV1>> {
    let supplier =
        uuid::Uuid::parse_str(&id).map_err(|_| crate::error::ApiError::not_found("supplier"))?;
    let command = RotateSupplierTokenV1 {
        actor: who.actor.clone(),
        supplier,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}
