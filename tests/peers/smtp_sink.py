"""A real SMTP server on loopback (aiosmtpd) that keeps every message it
accepts byte for byte, one file each, for the tests to parse.

    python3 smtp_sink.py --port 2525 --dir /tmp/mail

Prints "ready" once it listens. A recipient whose local part starts with
"reject" is refused with 550 (a permanent failure); one starting with
"busy" gets 451 (a temporary one). With --tls-cert and --tls-key it offers
STARTTLS and takes no mail without it.
"""

import argparse
import asyncio
import os
import ssl
import sys
import time
import uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 no such mailbox"
        if local.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4().hex}"
        tmp = os.path.join(self.directory, "." + name)
        with open(tmp, "wb") as f:
            f.write(("X-Envelope-From: %s\r\n" % envelope.mail_from).encode())
            f.write(("X-Envelope-To: %s\r\n" % ",".join(envelope.rcpt_tos)).encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.directory, name + ".eml"))
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    tls = {}
    if a.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(a.tls_cert, a.tls_key)
        tls = {"tls_context": context, "require_starttls": True}
    controller = Controller(
        Sink(a.dir), hostname="127.0.0.1", port=a.port, decode_data=False,
        data_size_limit=50 * 1024 * 1024, **tls,
    )
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
