//! The OpenAPI document served at `/api/v1/openapi.json`.

use axum::Json;

pub fn document() -> serde_json::Value {
    serde_json::json!({"openapi": "3.1.0", "info": {"title": "Servicedesk", "version": "1"}, "paths": {}})
}

pub async fn serve() -> Json<serde_json::Value> {
    Json(document())
}
