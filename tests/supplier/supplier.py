"""Plays a supplier of the desk, over RabbitMQ with pika, as docs/asyncapi.json
describes it: waits for an incident assigned to it, works it through the
queue (a note, in progress, the resolution), and checks that what the desk
cannot take is refused with a reason on its own queue.

Environment: AMQP_URL, BUS_PREFIX, SUPPLIER_ID, SUPPLIER_TOKEN (this
supplier), OTHER_SUPPLIER_ID, OTHER_SUPPLIER_TOKEN (another supplier of the
same desk). Prints one JSON line of what it saw; exits non-zero on anything
unexpected.
"""

import datetime
import json
import os
import sys
import uuid

import pika

URL = os.environ["AMQP_URL"]
PREFIX = os.environ["BUS_PREFIX"]
ME = os.environ["SUPPLIER_ID"]
TOKEN = os.environ["SUPPLIER_TOKEN"]
OTHER = os.environ["OTHER_SUPPLIER_ID"]
OTHER_TOKEN = os.environ["OTHER_SUPPLIER_TOKEN"]
WAIT_SECONDS = 30


def fail(why):
    print(json.dumps({"error": why}))
    sys.exit(1)


def envelope(tenant_id, payload):
    return {
        "message_id": str(uuid.uuid4()),
        "message_type": "SupplierUpdateV1",
        "type_version": 1,
        "tenant_id": tenant_id,
        "occurred_at": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
        "correlation_id": str(uuid.uuid4()),
        "payload": payload,
    }


def send(channel, message):
    channel.basic_publish(
        exchange=f"{PREFIX}.suppliers",
        routing_key="updates",
        body=json.dumps(message).encode(),
        properties=pika.BasicProperties(content_type="application/json", delivery_mode=2),
        mandatory=True,
    )
    return message["message_id"]


def receive(channel, supplier, expected_type):
    """The next message on `supplier`'s queue, which must be `expected_type`."""
    queue = f"{PREFIX}.supplier.{supplier}"
    for method, _props, body in channel.consume(queue, inactivity_timeout=WAIT_SECONDS):
        if method is None:
            channel.cancel()
            fail(f"nothing on {queue} within {WAIT_SECONDS} s (waiting for {expected_type})")
        channel.basic_ack(method.delivery_tag)
        channel.cancel()
        message = json.loads(body)
        if message.get("message_type") != expected_type:
            fail(f"expected {expected_type} on {queue}, got {message}")
        return message
    fail("the consumer stopped")


def main():
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    channel = connection.channel()
    channel.confirm_delivery()

    assignment = receive(channel, ME, "SupplierAssignmentV1")
    tenant = assignment["tenant_id"]
    incident = assignment["payload"]["incident"]
    if assignment["payload"]["supplier_id"] != ME or incident.get("supplier_id") != ME:
        fail(f"an assignment for someone else: {assignment}")
    reference = incident["reference"]

    def update(update, supplier=ME, token=TOKEN, about=reference):
        return envelope(tenant, {"supplier_id": supplier, "token": token, "incident": about, "update": update})

    # Not the contract: refused, and this supplier is told why.
    bad = update({"type": "teleport", "where": "Mars"})
    bad_id = send(channel, bad)
    rejected = receive(channel, ME, "SupplierMessageRejectedV1")
    if rejected["payload"]["message_id"] != bad_id:
        fail(f"a rejection of another message: {rejected}")
    # Another supplier may not touch this incident; it hears why.
    foreign_id = send(channel, update({"type": "note", "text": "not mine"}, OTHER, OTHER_TOKEN))
    foreign = receive(channel, OTHER, "SupplierMessageRejectedV1")
    if foreign["payload"]["message_id"] != foreign_id:
        fail(f"a rejection of another message: {foreign}")
    # A forged token is refused without a word.
    send(channel, update({"type": "note", "text": "forged"}, ME, "sup_" + "0" * 64))

    # The work itself.
    send(channel, update({"type": "note", "text": "Replacement disk ordered"}))
    send(channel, update({"type": "status", "status": "in_progress"}))
    send(channel, update({"type": "resolution", "resolution": "Disk replaced under warranty"}))
    connection.close()
    print(json.dumps({
        "incident": reference,
        "rejected": rejected["payload"]["reason"],
        "foreign": foreign["payload"]["reason"],
    }))


if __name__ == "__main__":
    main()
