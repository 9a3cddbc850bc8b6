"""A real SMTP server for authgate's tests (aiosmtpd).

Usage: smtp_sink.py PORT_FILE MAIL_DIR

Listens on 127.0.0.1 (on PORT when given, else a free port), writes the
port to PORT_FILE once it accepts connections, and writes every message it
receives to MAIL_DIR as <n>.eml (the raw message as received, headers and
body) and <n>.json: the SMTP envelope (MAIL FROM, RCPT TO) and the message
as Python's email package reads it (decoded subject, To, and the text/plain
and text/html parts), so tests read what a mail client would show.
Runs until killed.
"""

import email
import email.policy
import json
import os
import socket
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, mail_dir):
        self.mail_dir = mail_dir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.mail_dir, f"{self.count:04d}")
        # Written under a temporary name, then renamed: a reader never sees
        # half a message.
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {}
        for part in msg.walk():
            if part.get_content_type() in ("text/plain", "text/html") and not part.is_multipart():
                parts[part.get_content_type()] = part.get_content()
        with open(base + ".json.tmp", "w") as f:
            json.dump(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "subject": str(msg["subject"]),
                    "to": str(msg["to"]),
                    "from": str(msg["from"]),
                    "content_type": msg.get_content_type(),
                    "text": parts.get("text/plain", ""),
                    "html": parts.get("text/html", ""),
                },
                f,
            )
        with open(base + ".eml.tmp", "wb") as f:
            f.write(raw)
        os.rename(base + ".json.tmp", base + ".json")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port_file, mail_dir = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else free_port()
    os.makedirs(mail_dir, exist_ok=True)
    controller = Controller(Sink(mail_dir), hostname="127.0.0.1", port=port)
    controller.start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(port_file + ".tmp", port_file)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
