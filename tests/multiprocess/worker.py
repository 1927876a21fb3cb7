"""One bot process of the shared-database flood: ``python tests/multiprocess/worker.py URL MESSAGES OUT``.

Opens the real app on the shared database, prints ``ready``, then feeds every message of the flood to its
engine from a few concurrent tasks (as discord.py runs each event in its own task) and appends one JSON line
per message to OUT (flushed, so a kill -9 loses at most the line being written).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from bot.app import open_app
from bot.config import Config
from bot.messages import Message, Nothing, React, Reply

CONCURRENCY = 4


async def main(url: str, messages_path: str, out_path: str) -> None:
    messages = [Message(**m) for m in json.loads(open(messages_path, encoding="utf-8").read())]
    async with open_app(Config(database=url)) as app:
        print("ready", flush=True)
        queue: asyncio.Queue[Message] = asyncio.Queue()
        for msg in messages:
            queue.put_nowait(msg)
        with open(out_path, "a", encoding="utf-8") as out:

            async def consume() -> None:
                while not queue.empty():
                    msg = queue.get_nowait()
                    started = time.perf_counter()
                    [action] = await app.engine.handle_message(msg)
                    kind = "reply" if isinstance(action, Reply) else "react" if isinstance(action, React) else "nothing"
                    reason = action.reason if isinstance(action, Nothing) else ""
                    out.write(json.dumps({"id": msg.message_id, "action": kind, "reason": reason,
                                          "ms": round((time.perf_counter() - started) * 1000, 3)}) + "\n")
                    out.flush()

            await asyncio.gather(*(consume() for _ in range(CONCURRENCY)))
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
