//! The document's suppliers tag. Their operations are declared with their
//! routes, in [`crate::suppliers`]. What a supplier does over the queue is
//! `docs/asyncapi.json`'s, not this document's; assigning an incident to a
//! supplier is the incident's assignment (`Assignment`).

use serde_json::Value;

use super::tag;

pub(crate) const SUPPLIERS: &str = "Suppliers";

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
