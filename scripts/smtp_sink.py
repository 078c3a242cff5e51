"""A local SMTP sink for tests: aiosmtpd on 127.0.0.1:PORT, each received message saved to DIR
as N.eml with the envelope (X-Envelope-From / X-Envelope-To headers) prepended.

    python smtp_sink.py PORT DIR
"""
import os
import sys
import time

from aiosmtpd.controller import Controller


class Saver:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        head = "X-Envelope-From: %s\r\n" % envelope.mail_from
        head += "".join("X-Envelope-To: %s\r\n" % r for r in envelope.rcpt_tos)
        path = os.path.join(self.directory, "%d.eml" % self.count)
        # Written under a temporary name and renamed, so a reader never sees half a message.
        with open(path + ".tmp", "wb") as f:
            f.write(head.encode() + envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Saver(directory), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
