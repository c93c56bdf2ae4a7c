"""Schemathesis hooks for the desk (loaded with SCHEMATHESIS_HOOKS=mail).

`POST /api/v1/mail/inbound` takes one RFC 5322 message as it is
(`message/rfc822`), which Schemathesis cannot write by itself: this is how.
Each message is a new one (its own Message-ID), from an address the desk
does not know, with a subject and a body of plain words.
"""

from hypothesis import strategies as st

import schemathesis

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=60).filter(
    lambda s: s.strip()
)
LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=16)


def message(sender, subject, body, n):
    return (
        f"From: {sender}@example.com\r\n"
        "To: desk@example.com\r\n"
        f"Subject: {subject.strip()}\r\n"
        f"Message-ID: <{n}@schemathesis.example>\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


schemathesis.openapi.media_type(
    "message/rfc822", st.builds(message, LOCAL, WORDS, WORDS, st.uuids())
)
