//! The document's suppliers, from the handlers in [`crate::suppliers`] and
//! the wire types in [`contracts::supplier`]: registering a supplier (its
//! token answered once) and listing them. What a supplier does over the
//! queue is `docs/asyncapi.json`'s, not this document's; assigning an
//! incident to a supplier is the incident's assignment (`Assignment`).

use serde_json::{Value, json};

use super::{
    about, admin_only, answer, bad_body, closed, component, idempotency_key, internal, list_of,
    name_input, not_found, not_json, object, operation, parameter, responses, staff_only, tag,
    text, ticketing_down, timestamp, too_large, traceparent, unauthorized, uuid, with_body,
    with_parameters,
};

pub(super) const SUPPLIERS: &str = "Suppliers";

/// A supplier's token: `sup_` and 64 lowercase hex digits.
const TOKEN_PATTERN: &str = "^sup_[0-9a-f]{64}$";

/// A supplier's queue, before the deployment's prefix: `supplier.<id>`.
const QUEUE_PATTERN: &str =
    "^supplier\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        SUPPLIERS,
        "Suppliers: the companies an incident can be handed to, who work it over the message queue \
         (RabbitMQ) instead of this API. An admin registers a supplier (`POST /api/v1/suppliers`) and \
         passes it the answer: its id, its token (shown this once; the desk keeps only its SHA-256 \
         digest) and its queue, `<prefix>.supplier.<id>` under the deployment's bus prefix \
         (`--bus-prefix`, `servicedesk` by default), declared at registration. Assigning an incident \
         to the supplier (`supplier_id` in `POST /api/v1/incidents/{id}/assign`) puts a \
         `SupplierAssignmentV1` on that queue. The supplier sends its `SupplierUpdateV1`s (a note, \
         `in_progress` or `pending`, or the resolution) to the `<prefix>.suppliers` exchange, routing \
         key `updates`, with its id and token in each; the desk takes an update only if the token is \
         the supplier's and the incident is assigned to it, and does it as the supplier (an `Actor` \
         with role `integration`, the supplier's id and name). Anything else is dead-lettered with its \
         reason, and the supplier is told why on its queue (`SupplierMessageRejectedV1`). The queue \
         side is described by the AsyncAPI document `docs/asyncapi.json` in the desk's repository (it \
         is not served). The embedded desk has no broker a supplier can reach: run it with \
         `--amqp-url` for suppliers.",
    )]
}

// ---- schemas ----

pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let supplier = object(
        &["id", "name", "created_at"],
        vec![
            (
                "id",
                about(
                    uuid(),
                    "The supplier's id: `supplier_id` in an assignment and in its messages.",
                ),
            ),
            (
                "name",
                about(
                    text(),
                    "Unique in the tenant, in any case; what its notes and status changes are by.",
                ),
            ),
            ("created_at", timestamp()),
        ],
    );
    let new_supplier = object(
        &["name"],
        vec![(
            "name",
            about(
                name_input(),
                "Trimmed; 1 to 200 characters, no control characters; no other supplier of the tenant \
                 may have it, in any case.",
            ),
        )],
    );
    let registered = object(
        &["supplier", "token", "queue"],
        vec![
            ("supplier", component("SupplierV1")),
            (
                "token",
                about(
                    json!({ "type": "string", "pattern": TOKEN_PATTERN }),
                    "The supplier's credential on the queue: `token` in each of its `SupplierUpdateV1`s. \
                     Shown only now: the desk keeps only its SHA-256 digest, and no endpoint shows or \
                     replaces it later.",
                ),
            ),
            (
                "queue",
                about(
                    json!({ "type": "string", "pattern": QUEUE_PATTERN }),
                    "The queue the supplier consumes, `supplier.<id>`, before the deployment's prefix: on \
                     the broker it is `<prefix>.supplier.<id>`.",
                ),
            ),
        ],
    );
    vec![
        (
            "SupplierV1",
            about(supplier, "A supplier incidents can be handed to."),
        ),
        (
            "NewSupplier",
            about(closed(new_supplier), "A supplier to register."),
        ),
        (
            "SupplierRegisteredV1",
            about(
                registered,
                "A supplier just registered, with what it needs to connect: its token (shown this once) \
                 and its queue.",
            ),
        ),
    ]
}

// ---- paths ----

pub(super) fn paths() -> Vec<(String, Value)> {
    let list = operation(
        "listSuppliers",
        SUPPLIERS,
        "List suppliers",
        "The tenant's suppliers, by name in any case (not paged), without their tokens. Admin, agent and \
         integration tokens.",
        responses(
            vec![(200, answer("The suppliers.", list_of("SupplierV1")))],
            vec![unauthorized(), staff_only(), internal(), ticketing_down()],
        ),
    );
    let register = operation(
        "registerSupplier",
        SUPPLIERS,
        "Register a supplier",
        "Registers a supplier and declares its queue. The answer holds its token, which is shown this \
         once: pass it to the supplier with its id and queue. Send an `Idempotency-Key`: a retry with \
         the same key is answered with the same supplier and token, while a retry without one, after an \
         answer that was lost, finds the name taken (409) and the token cannot be shown again. Admin \
         tokens only.",
        responses(
            vec![(
                201,
                answer(
                    "Registered: the supplier, its token and its queue.",
                    component("SupplierRegisteredV1"),
                ),
            )],
            vec![
                bad_body(
                    "`name` must not be blank, at most 200 characters, with no control characters.",
                ),
                unauthorized(),
                admin_only(),
                (
                    409,
                    "`conflict`: the tenant has a supplier of that name, in any case.".to_owned(),
                ),
                too_large(),
                not_json(),
                internal(),
                ticketing_down(),
            ],
        ),
    );
    let rotate = operation(
        "rotateSupplierToken",
        SUPPLIERS,
        "Give a supplier a new token",
        "Issues the supplier a new token, shown this once, and the old one stops working at once: for a \
         token that was lost or leaked. Admin tokens only.",
        responses(
            vec![(
                200,
                answer(
                    "The supplier, its new token and its queue.",
                    component("SupplierRegisteredV1"),
                ),
            )],
            vec![
                unauthorized(),
                admin_only(),
                not_found("the tenant has no supplier with this id"),
                internal(),
                ticketing_down(),
            ],
        ),
    );
    let supplier_id = parameter(
        "id",
        "path",
        true,
        json!({"type": "string", "format": "uuid"}),
        "The supplier's id.",
    );
    vec![
        (
            "/api/v1/suppliers".to_owned(),
            json!({
                "get": with_parameters(list, vec![traceparent()]),
                "post": with_parameters(
                    with_body(register, "NewSupplier"),
                    vec![traceparent(), idempotency_key()],
                ),
            }),
        ),
        (
            "/api/v1/suppliers/{id}/token".to_owned(),
            json!({
                "post": with_parameters(rotate, vec![supplier_id, traceparent()]),
            }),
        ),
    ]
}
