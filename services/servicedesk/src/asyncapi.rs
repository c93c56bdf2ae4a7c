//! `servicedesk asyncapi`: the AsyncAPI 3.0 document of what suppliers
//! exchange with the desk over RabbitMQ, generated from the `contracts`
//! types (their JSON Schema comes from the types themselves, so it cannot
//! drift from the wire). `docs/asyncapi.json` is this document; a test
//! fails when they differ (regenerate with `UPDATE_GOLDEN=1`).

use contracts::Message;
use contracts::supplier::*;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// A message: the envelope, with its `payload` the schema of `T`.
fn message<T: Message + JsonSchema>(
    generator: &mut schemars::SchemaGenerator,
    messages: &mut Map<String, Value>,
    summary: &str,
) {
    let payload = generator.subschema_for::<T>();
    messages.insert(
        T::TYPE.to_owned(),
        json!({
            "name": T::TYPE,
            "title": T::TYPE,
            "summary": summary,
            "contentType": "application/json",
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/Envelope"},
                    {
                        "type": "object",
                        "properties": {
                            "message_type": {"const": T::TYPE},
                            "type_version": {"const": T::VERSION},
                            "payload": payload,
                        },
                    },
                ],
            },
        }),
    );
}

pub fn document() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    // Registers the envelope among the schemas the messages refer to.
    generator.subschema_for::<contracts::Envelope>();
    let mut messages = Map::new();
    message::<SupplierAssignmentV1>(
        &mut generator,
        &mut messages,
        "An incident handed to the supplier, with the incident as it is now.",
    );
    message::<SupplierUnassignedV1>(
        &mut generator,
        &mut messages,
        "The incident was taken back from the supplier (or handed to another); updates on it are refused from now on.",
    );
    message::<SupplierMessageRejectedV1>(
        &mut generator,
        &mut messages,
        "One of the supplier's messages was not taken, and why. The message itself is dead-lettered.",
    );
    message::<SupplierUpdateV1>(
        &mut generator,
        &mut messages,
        "A note, a status (in_progress or pending) or a resolution on an incident assigned to the supplier.",
    );
    let schemas = generator.take_definitions(true);
    let reference = |name: &str| json!({"$ref": format!("#/components/messages/{name}")});
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Servicedesk supplier integration",
            "version": "1",
            "description": "How a supplier works the incidents a desk hands it, over RabbitMQ.\n\n\
                The desk registers the supplier (`POST /api/v1/suppliers`) and hands it its id, its \
                token (once) and its queue. Every message is an envelope (JSON) whose `payload` is \
                the message; `message_type` and `type_version` name it, `tenant_id` is the desk's \
                tenant, `message_id` is a fresh UUID per message (the desk's idempotency key: a \
                message sent twice is done once).\n\n\
                A supplier's update is taken only if its `supplier_id` and `token` match, in the \
                envelope's tenant, and the incident is assigned to that supplier. What is not taken \
                is dead-lettered with its reason, and the supplier is told why on its own queue \
                (`SupplierMessageRejectedV1`) once it has proved who it is.\n\n\
                Every name below is under the deployment's prefix (`--bus-prefix`, `servicedesk` by default).",
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The desk's RabbitMQ.",
            },
        },
        "channels": {
            "supplierQueue": {
                "address": "{prefix}.supplier.{supplierId}",
                "title": "The supplier's own queue",
                "description": "A durable quorum queue, declared when the supplier is registered and bound to `supplier.{supplierId}.#` on `{prefix}.events`: assignments (`supplier.{supplierId}.assignment`), incidents taken back (`supplier.{supplierId}.unassigned`) and rejections (`supplier.{supplierId}.rejected`) wait here until the supplier consumes and acks them.",
                "parameters": {
                    "prefix": {"description": "The deployment's bus prefix."},
                    "supplierId": {"description": "The supplier's id, from its registration."},
                },
                "messages": {
                    "SupplierAssignmentV1": reference("SupplierAssignmentV1"),
                    "SupplierUnassignedV1": reference("SupplierUnassignedV1"),
                    "SupplierMessageRejectedV1": reference("SupplierMessageRejectedV1"),
                },
                "bindings": {"amqp": {"is": "queue", "queue": {"name": "{prefix}.supplier.{supplierId}", "durable": true, "exclusive": false, "autoDelete": false}}},
            },
            "supplierUpdates": {
                "address": "{prefix}.suppliers",
                "title": "Where suppliers send updates",
                "description": "A durable topic exchange; publish with routing key `updates`, persistent, ideally with publisher confirms.",
                "parameters": {"prefix": {"description": "The deployment's bus prefix."}},
                "messages": {"SupplierUpdateV1": reference("SupplierUpdateV1")},
                "bindings": {"amqp": {"is": "routingKey", "exchange": {"name": "{prefix}.suppliers", "type": "topic", "durable": true, "autoDelete": false}}},
            },
        },
        "operations": {
            "receiveFromDesk": {
                "action": "receive",
                "channel": {"$ref": "#/channels/supplierQueue"},
                "summary": "Assignments, incidents taken back, and why a message was rejected.",
                "messages": [
                    {"$ref": "#/channels/supplierQueue/messages/SupplierAssignmentV1"},
                    {"$ref": "#/channels/supplierQueue/messages/SupplierUnassignedV1"},
                    {"$ref": "#/channels/supplierQueue/messages/SupplierMessageRejectedV1"},
                ],
            },
            "sendUpdate": {
                "action": "send",
                "channel": {"$ref": "#/channels/supplierUpdates"},
                "summary": "Report a note, a status or the resolution.",
                "messages": [{"$ref": "#/channels/supplierUpdates/messages/SupplierUpdateV1"}],
                "bindings": {"amqp": {"cc": [UPDATE_KEY], "deliveryMode": 2}},
            },
        },
        "components": {
            "messages": messages,
            "schemas": schemas,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => found.push(r),
                        _ => refs(v, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn the_checked_in_document_is_the_generated_one() {
        let generated = serde_json::to_string_pretty(&document()).expect("serializes") + "\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/asyncapi.json");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(path, &generated).expect("write docs/asyncapi.json");
        }
        let stored = std::fs::read_to_string(path).expect("docs/asyncapi.json");
        assert_eq!(stored, generated, "regenerate with UPDATE_GOLDEN=1");
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    #[test]
    fn the_update_schema_is_the_types() {
        let doc = document();
        let update = &doc["components"]["schemas"]["SupplierUpdate"];
        let text = update.to_string();
        for variant in ["note", "status", "resolution"] {
            assert!(text.contains(variant), "{variant} in {text}");
        }
        let envelope = &doc["components"]["schemas"]["Envelope"]["properties"];
        assert!(
            envelope["message_id"].is_object() && !envelope["payload"].is_null(),
            "{envelope}"
        );
        let required = &doc["components"]["schemas"]["SupplierUpdateV1"]["required"];
        assert_eq!(
            required,
            &json!(["supplier_id", "token", "incident", "update"])
        );
    }
}
