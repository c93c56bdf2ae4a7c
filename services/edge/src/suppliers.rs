//! `/api/v1/suppliers`: the suppliers incidents can be handed to (see
//! [`contracts::supplier`] for how they work over the queue). Registering
//! one answers its token once; ticketing keeps only its hash.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use contracts::supplier::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Admin, Staff};
use crate::error::ApiResult;
use crate::extract::Body;
use crate::incidents::call;

pub fn routes() -> Router<AppState> {
    Router::new().route("/suppliers", get(list).post(register))
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
