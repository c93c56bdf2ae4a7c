//! `/api/v1/suppliers`: the suppliers incidents can be handed to (see
//! [`contracts::supplier`] for how they work over the queue). Registering
//! one answers its token once; ticketing keeps only its hash. A lost or
//! leaked token is replaced with `POST /suppliers/{id}/token`. Each
//! operation's documentation is declared with its route.

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use contracts::limits::{MAX_SUMMARY, ONE_LINE_PATTERN};
use contracts::supplier::*;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Admin, Staff};
use crate::error::ApiResult;
use crate::extract::{Body, Path};
use crate::incidents::call;
use crate::openapi::declared::Declare;
use crate::openapi::{SUPPLIERS, bad_body, internal, not_found, ticketing_down};

pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/suppliers",
            get_with(list, list_docs).post_with(register, register_docs),
        )
        .api_route("/suppliers/{id}/token", post_with(rotate, rotate_docs))
}

/// A supplier to register.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewSupplier {
    /// Trimmed; no other supplier of the tenant may have it, in any case.
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
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

fn register_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "registerSupplier",
        SUPPLIERS,
        "Register a supplier",
        "Registers a supplier and declares its queue. The answer holds its token, which is shown this \
         once: pass it to the supplier with its id and queue. Send an `Idempotency-Key`: a retry with \
         the same key is answered with the same supplier and token, while a retry without one, after an \
         answer that was lost, finds the name taken (409) and the token cannot be shown again. Admin \
         tokens only.",
    )
    .traced()
    .idempotent()
    .response_with::<201, Json<SupplierRegisteredV1>, _>(|r| {
        r.description("Registered: the supplier, its token and its queue.")
    })
    .fails(vec![
        bad_body(&format!(
            "`name` must not be blank, at most {MAX_SUMMARY} characters, with no control characters."
        )),
        (
            409,
            "`conflict`: the tenant has a supplier of that name, in any case.".to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
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

fn list_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "listSuppliers",
        SUPPLIERS,
        "List suppliers",
        "The tenant's suppliers, by name in any case (not paged), without their tokens. Admin, agent and \
         integration tokens.",
    )
    .traced()
    .response_with::<200, Json<Vec<SupplierV1>>, _>(|r| r.description("The suppliers."))
    .fails(vec![
        internal(),
        ticketing_down(),
    ])
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

fn rotate_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "rotateSupplierToken",
        SUPPLIERS,
        "Give a supplier a new token",
        "Issues the supplier a new token, shown this once, and the old one stops working at once: for a \
         token that was lost or leaked. Admin tokens only.",
    )
    .path_param("id", "The supplier's id.")
    .traced()
    .response_with::<200, Json<SupplierRegisteredV1>, _>(|r| {
        r.description("The supplier, its new token and its queue.")
    })
    .fails(vec![
        not_found("the tenant has no supplier with this id"),
        internal(),
        ticketing_down(),
    ])
}
