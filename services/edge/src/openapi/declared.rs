//! Operations documented where their routes are declared, through aide:
//! a route's handler is its documentation's source. Its roles come from
//! its extractors ([`Principal`]: any role, [`Staff`], [`Admin`]) as the
//! operation's `x-roles`, so the roles that are enforced are the ones
//! documented; its body's schema from [`Body`]'s type (schemars, with the
//! validation's own limits); its answers from the types it answers with.
//! What the types cannot say (the operation's id, summary and prose, the
//! errors it answers with and when, its headers) is said beside the route
//! with [`Declare`].
//!
//! [`generated`] is every operation and the schemas they use;
//! [`super::document`] puts them in the document's frame. Answers are
//! described as serde writes them and bodies as serde reads them (a field
//! with a default is always in an answer, and may be left out of a body):
//! two generators, one per contract (`TAKEN`). A request body's objects
//! are closed (`additionalProperties: false`), as the edge refuses a field
//! its type does not know; not inside a `oneOf` (an internally tagged
//! enum), where serde cannot tell.

use std::cell::RefCell;

use aide::OperationInput;
use aide::axum::ApiRouter;
use aide::generate::GenContext;
use aide::openapi::{OpenApi, Operation, Parameter, ReferenceOr, Response, StatusCode};
use aide::transform::TransformOperation;
use contracts::Role;
use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::{Admin, Principal, STAFF, Staff};
use crate::error::ApiError;
use crate::extract::{Body, Filters, Params, Path};

/// Every role a token may have.
pub const ANY_ROLE: &[Role] = &[Role::Admin, Role::Agent, Role::Customer, Role::Integration];

/// The operation's `x-roles`: the roles that may call it.
pub(crate) fn roles(operation: &mut Operation, roles: &[Role]) {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    operation.extensions.insert("x-roles".into(), json!(names));
}

/// Each extractor documents the errors it answers with itself (the token's
/// 401 and a role's 403, a body's 413 and 415), so an operation's own
/// [`Declare::fails`] says only what its handler adds; one that says a
/// status again (a 403 with more to it) replaces the extractor's.
impl OperationInput for Principal {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        roles(operation, ANY_ROLE);
        failures(
            operation,
            vec![super::unauthorized(), super::rate_limited()],
        );
    }
}

impl OperationInput for Staff {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        roles(operation, STAFF);
        failures(
            operation,
            vec![
                super::unauthorized(),
                super::rate_limited(),
                super::staff_only(),
            ],
        );
    }
}

impl OperationInput for Admin {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        roles(operation, &[Role::Admin]);
        failures(
            operation,
            vec![
                super::unauthorized(),
                super::rate_limited(),
                super::admin_only(),
            ],
        );
    }
}

/// A JSON body of `T`'s schema, no larger than the desk takes.
impl<T: JsonSchema> OperationInput for Body<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        taken(ctx, |ctx| {
            <axum::Json<T> as OperationInput>::operation_input(ctx, operation);
        });
        failures(operation, vec![super::too_large(), super::not_json()]);
    }
}

/// Query parameters: each field of `T` one.
impl<T: JsonSchema> OperationInput for Params<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        query_parameters::<T>(ctx, operation);
    }
}

/// A list's query parameters: each field of `T` one; the `field.<key>`
/// filters, whose names are the tenant's, are said in the operation's
/// description.
impl<T: JsonSchema> OperationInput for Filters<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        query_parameters::<T>(ctx, operation);
    }
}

fn query_parameters<T: JsonSchema>(ctx: &mut GenContext, operation: &mut Operation) {
    taken(ctx, |ctx| {
        let schema = ctx.schema.subschema_for::<T>();
        let params = aide::operation::parameters_from_schema(
            ctx,
            schema,
            aide::operation::ParamLocation::Query,
        );
        aide::operation::add_parameters(ctx, operation, params);
    });
}

thread_local! {
    /// The generator of what the desk takes (bodies, query parameters),
    /// with serde's deserialize contract: a field with a default may be
    /// left out. aide's own (`GenContext::schema`) generates the answers,
    /// with the serialize contract: a field always sent is required.
    /// [`generated`] sets both up.
    static TAKEN: RefCell<SchemaGenerator> = RefCell::new(generator(Contract::Deserialize));
}

/// A generator of schemas for `#/components/schemas/`, as aide's.
fn generator(contract: Contract) -> SchemaGenerator {
    SchemaSettings::draft07()
        .with(|s| {
            s.inline_subschemas = false;
            s.definitions_path = "#/components/schemas/".into();
            s.contract = contract;
        })
        .into_generator()
}

/// Runs `f` with [`TAKEN`] as the context's generator. (A panic in `f`
/// leaves the two swapped; [`generated`] sets both up again each time.)
fn taken(ctx: &mut GenContext, f: impl FnOnce(&mut GenContext)) {
    TAKEN.with(|taken| {
        let mut taken = taken.borrow_mut();
        std::mem::swap(&mut ctx.schema, &mut taken);
        f(ctx);
        std::mem::swap(&mut ctx.schema, &mut taken);
    });
}

/// Path parameters are named and described with [`Declare::path_param`]:
/// a handler's `Path<String>` does not know its parameter's name.
impl<T> OperationInput for Path<T> {}

/// What an error answers is declared per operation ([`Declare::fails`]).
impl aide::OperationOutput for ApiError {
    type Inner = Self;
}

/// What an operation says of itself beside its route.
pub trait Declare: Sized {
    /// Its id, tag, summary and description.
    fn about(self, id: &str, tag: &str, summary: &str, description: &str) -> Self;
    /// The errors it answers with, as (status, when): each an `Error`.
    fn fails(self, failures: Vec<(u16, String)>) -> Self;
    /// A path parameter `name` that holds an id (a UUID).
    fn path_param(self, name: &str, description: &str) -> Self;
    /// A parameter made by the document's building blocks.
    fn param(self, parameter: Value) -> Self;
    /// Needs no token (`security: []`): what it takes is its credential.
    fn public(self) -> Self;
    /// An answer that is not JSON (`response` made by the building blocks).
    fn answers(self, status: u16, response: Value) -> Self;
    /// A body that is not JSON (`body` made by the building blocks).
    fn raw_body(self, body: Value) -> Self;
    /// The `traceparent` header it continues a trace from.
    fn traced(self) -> Self;
    /// The `Idempotency-Key` header a retry repeats.
    fn idempotent(self) -> Self;
    /// The `If-Match` header that guards an edit of a ticket against a
    /// lost update, and its 412.
    fn guarded(self) -> Self;
    /// The roles that may call it, where its extractor decides by the
    /// route's kind of ticket ([`crate::tickets`]' `MayLog`).
    fn roles(self, roles: &[Role]) -> Self;
    /// More of what the query parameter `name` must be than its type says
    /// (one parameter type serves every kind of ticket).
    fn param_schema(self, name: &str, rules: Value) -> Self;
    /// What this operation's body must hold besides its type's schema (one
    /// body type serves every kind of ticket; each kind's rules differ).
    fn body_rules(self, rules: Value) -> Self;
}

impl Declare for TransformOperation<'_> {
    fn about(self, id: &str, tag: &str, summary: &str, description: &str) -> Self {
        self.id(id)
            .tag(tag)
            .summary(summary)
            .description(description)
    }

    fn fails(mut self, failed: Vec<(u16, String)>) -> Self {
        failures(self.inner_mut(), failed);
        self
    }

    fn path_param(self, name: &str, description: &str) -> Self {
        let schema = json!({ "type": "string", "format": "uuid" });
        parameter(
            self,
            super::parameter(name, "path", true, schema, description),
        )
    }

    fn param(self, parameter: Value) -> Self {
        self::parameter(self, parameter)
    }

    fn public(mut self) -> Self {
        // aide leaves an empty `security` out; [`generated`] writes it.
        let extensions = &mut self.inner_mut().extensions;
        extensions.insert(PUBLIC.into(), Value::Bool(true));
        self
    }

    fn answers(mut self, status: u16, response: Value) -> Self {
        let response: Response = typed(response);
        let responses = self
            .inner_mut()
            .responses
            .get_or_insert_with(Default::default);
        responses
            .responses
            .insert(StatusCode::Code(status), ReferenceOr::Item(response));
        self
    }

    fn raw_body(mut self, body: Value) -> Self {
        self.inner_mut().request_body = Some(ReferenceOr::Item(typed(body)));
        self
    }

    fn traced(self) -> Self {
        parameter(self, super::traceparent())
    }

    fn idempotent(self) -> Self {
        parameter(self, super::idempotency_key()).fails(vec![(
            422,
            "`idempotency_key_reused`: the `Idempotency-Key` was sent before, by this caller within \
             24 hours, with another request (method, path or body)."
                .to_owned(),
        )])
    }

    fn guarded(self) -> Self {
        let schema = serde_json::json!({
            "type": "string",
            "pattern": "^(\\*|(W/)?\"[0-9]+\")(?![\\s\\S])",
        });
        let header = super::parameter(
            "If-Match",
            "header",
            false,
            schema,
            "The `ETag` it had when read (`\"7\"`, its `version`): the change is made only if \
             it is still at that version. Without it, or with `*`, whatever the version.",
        );
        parameter(self, header).fails(vec![(
            412,
            "`precondition_failed`: `If-Match` names a version it is no longer at (or no \
             version); `details.version` is the one it is at. Read it again, then decide."
                .to_owned(),
        )])
    }

    fn roles(mut self, allowed: &[Role]) -> Self {
        roles(self.inner_mut(), allowed);
        self
    }

    fn param_schema(mut self, name: &str, rules: Value) -> Self {
        let parameter = self
            .inner_mut()
            .parameters
            .iter_mut()
            .find_map(|p| match p {
                ReferenceOr::Item(p) if p.parameter_data_ref().name == name => Some(p),
                _ => None,
            });
        let Some(parameter) = parameter else {
            panic!("no parameter {name} to say more of")
        };
        let aide::openapi::ParameterSchemaOrContent::Schema(schema) =
            &mut parameter.parameter_data_mut().format
        else {
            panic!("parameter {name} has no schema")
        };
        if let (Some(schema), Value::Object(rules)) = (schema.json_schema.as_object_mut(), rules) {
            schema.extend(rules);
        }
        self
    }

    fn body_rules(mut self, rules: Value) -> Self {
        let Some(ReferenceOr::Item(body)) = self.inner_mut().request_body.as_mut() else {
            panic!("body rules for an operation without a body")
        };
        for media in body.content.values_mut() {
            if let Some(schema) = media.schema.as_mut() {
                let typed = schema.json_schema.clone();
                schema.json_schema = schemars::json_schema!({ "allOf": [typed, rules.clone()] });
            }
        }
        self
    }
}

/// Each of `failed` as an `Error` answer of `operation`, replacing one of
/// the same status.
pub(crate) fn failures(operation: &mut Operation, failed: Vec<(u16, String)>) {
    let responses = operation.responses.get_or_insert_with(Default::default);
    for (status, when) in failed {
        let response: Response = typed(super::failure(status, &when));
        responses
            .responses
            .insert(StatusCode::Code(status), ReferenceOr::Item(response));
    }
}

fn parameter(mut op: TransformOperation<'_>, parameter: Value) -> TransformOperation<'_> {
    let parameter: Parameter = typed(parameter);
    op.inner_mut().parameters.push(ReferenceOr::Item(parameter));
    op
}

/// A piece built by the document's building blocks, as aide's type. They
/// are OpenAPI by construction, so a piece that is not is a bug here.
fn typed<T: serde::de::DeserializeOwned>(piece: Value) -> T {
    serde_json::from_value(piece).expect("the building blocks build OpenAPI")
}

/// The operations declared beside their routes, under `/api/v1`.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .merge(crate::directory::routes())
        .merge(crate::incidents::routes())
        .merge(crate::knowledge::routes())
        .merge(crate::suppliers::routes())
        .merge(crate::tickets::routes())
        .merge(crate::attachments::routes())
        .merge(crate::reports::routes())
        .merge(crate::slas::routes())
        .merge(crate::notifications::routes())
        .api_route(
            "/openapi.json",
            aide::axum::routing::get_with(super::serve, super::serve_docs),
        )
}

/// Marks a public operation until [`generated`] gives it `security: []`.
const PUBLIC: &str = "x-public";

/// The declared operations and the schemas they use, as an OpenAPI 3.1
/// document's JSON.
pub fn generated() -> Value {
    aide::generate::infer_responses(false);
    aide::generate::extract_schemas(true);
    aide::generate::in_context(|ctx| ctx.schema = generator(Contract::Serialize));
    TAKEN.with(|taken| *taken.borrow_mut() = generator(Contract::Deserialize));
    let mut api = OpenApi::default();
    // Both are declared before either is finished: finishing resets aide's
    // context, generators included.
    let ops = crate::ops::routes();
    let _ = ApiRouter::<AppState>::new()
        .nest("/api/v1", routes())
        .finish_api(&mut api);
    let _ = ops.finish_api(&mut api);
    let mut doc = serde_json::to_value(api).expect("an OpenAPI document serialises");
    let taken = TAKEN.with(|taken| taken.borrow_mut().take_definitions(true));
    let renamed = add_taken(&mut doc["components"]["schemas"], taken);
    let mut bodies = Vec::new();
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        for operation in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in operation.values_mut().filter_map(Value::as_object_mut) {
                if operation.remove(PUBLIC).is_some() {
                    operation.insert("security".into(), json!([]));
                }
                for taken in ["requestBody", "parameters"] {
                    if let Some(part) = operation.get_mut(taken) {
                        rename_refs(part, &renamed);
                    }
                }
                let content = &mut operation
                    .get_mut("requestBody")
                    .and_then(|b| b.get_mut("content"));
                for media in content.iter_mut().filter_map(|c| c.as_object_mut()) {
                    for media in media.values_mut() {
                        if let Some(schema) = media.get_mut("schema") {
                            close(schema, &mut bodies);
                        }
                    }
                }
            }
        }
    }
    let mut closed = std::collections::BTreeSet::new();
    while let Some(name) = bodies.pop() {
        if closed.insert(name.clone())
            && let Some(schema) = doc["components"]["schemas"].get_mut(&name)
        {
            close(schema, &mut bodies);
        }
    }
    doc
}

/// Adds the schemas of what the desk takes to those of its answers. A type
/// whose schema differs between the two (a field with a default is
/// optional in a body and always in an answer) keeps its name for the
/// answer, and its body's schema is `<name>Input`; the names changed are
/// answered, for the operations' bodies and parameters to follow.
fn add_taken(schemas: &mut Value, taken: Map<String, Value>) -> Map<String, Value> {
    let answers = schemas.as_object().cloned().unwrap_or_default();
    let mut renamed: Map<String, Value> = Map::new();
    // Differing, or referring to one that is renamed, until none is added.
    loop {
        let more: Vec<String> = taken
            .iter()
            .filter(|(name, schema)| {
                !renamed.contains_key(*name)
                    && answers.get(*name).is_some_and(|answer| {
                        let mut schema = (*schema).clone();
                        rename_refs(&mut schema, &renamed);
                        *answer != schema
                    })
            })
            .map(|(name, _)| name.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        for name in more {
            let input = format!("{name}Input");
            renamed.insert(name, Value::String(input));
        }
    }
    for (name, mut schema) in taken {
        rename_refs(&mut schema, &renamed);
        let name = renamed
            .get(&name)
            .and_then(Value::as_str)
            .map_or(name.clone(), str::to_owned);
        let before = schemas[&name].clone();
        assert!(
            before.is_null() || before == schema,
            "two schemas are named {name}"
        );
        schemas[&name] = schema;
    }
    renamed
}

/// Each `$ref` under `value` to a schema `renamed` names, to its new name.
fn rename_refs(value: &mut Value, renamed: &Map<String, Value>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                match (key.as_str(), &*inner) {
                    ("$ref", Value::String(target)) => {
                        let name = target.trim_start_matches("#/components/schemas/");
                        if let Some(Value::String(new)) = renamed.get(name) {
                            *inner = Value::String(format!("#/components/schemas/{new}"));
                        }
                    }
                    _ => rename_refs(inner, renamed),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rename_refs(i, renamed)),
        _ => {}
    }
}

/// A body refuses a field its type does not know, at any depth
/// ([`crate::extract`]), so each object a body's schema describes is
/// closed (`additionalProperties: false`), those it refers to (added to
/// `refs`) included. Not the variants of a `oneOf`: those are internally
/// tagged enums, inside which serde cannot tell an unknown field apart.
fn close(schema: &mut Value, refs: &mut Vec<String>) {
    let Some(schema) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::String(name)) = schema.get("$ref") {
        refs.push(name.trim_start_matches("#/components/schemas/").to_owned());
    }
    if schema.get("type") == Some(&json!("object"))
        && schema.contains_key("properties")
        && !schema.contains_key("additionalProperties")
    {
        schema.insert("additionalProperties".into(), Value::Bool(false));
    }
    for key in ["allOf", "anyOf"] {
        if let Some(Value::Array(parts)) = schema.get_mut(key) {
            parts.iter_mut().for_each(|part| close(part, refs));
        }
    }
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        properties.values_mut().for_each(|p| close(p, refs));
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = schema.get_mut(key) {
            close(inner, refs);
        }
    }
}
