"""aiosmtpd handlers for the tests (`python -m aiosmtpd -c refusing_smtp.…`).

Recorder keeps each message exactly as it came in DATA (line breaks and
all), one file each in FOLDER/new, where the tests read mail; each is
written in FOLDER/tmp first, so a reader never sees one half-written.
RefuseExampleOrg also answers 550 to every recipient at example.org,
echoing the address as real servers do.
Gated holds each message, received whole, before keeping it and answering
while the file FOLDER/closed exists: a client's delivery is then under way,
as long as the test likes."""

import asyncio

import itertools
import os


class Recorder:
    def __init__(self, folder):
        self.root = folder
        self.folder = os.path.join(folder, "new")
        self.unfinished = os.path.join(folder, "tmp")
        os.makedirs(self.folder, exist_ok=True)
        os.makedirs(self.unfinished, exist_ok=True)
        self.count = itertools.count()

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        name = f"{next(self.count):06}.eml"
        unfinished = os.path.join(self.unfinished, name)
        with open(unfinished, "wb") as file:
            file.write(envelope.original_content)
        os.rename(unfinished, os.path.join(self.folder, name))
        return "250 OK"


class RefuseExampleOrg(Recorder):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.rsplit("@", 1)[-1].lower() == "example.org":
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class Gated(Recorder):
    async def handle_DATA(self, server, session, envelope):
        while os.path.exists(os.path.join(self.root, "closed")):
            await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)
