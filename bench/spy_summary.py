"""Where the bot process's time goes in a py-spy profile of `bench_interactions`.

    py-spy record -o /tmp/x.raw -f raw -r 200 -- python -m bench.bench_interactions --sizes 1000
    python -m bench.spy_summary /tmp/x.raw [--rate 200]

py-spy follows only the process it starts, so with the stand-ins in their child process (the
default) the profile is the bot's alone. Each sample is put in one bucket, by the outermost
activity on its stack (a part of `/dream`, the poller, aiohttp's protocol callbacks...), and the
burst's main-thread samples are also split by the package of the innermost Python frame (its
"self" time: a C call such as `socket.send` or a sqlite3 step counts for the Python frame that
made it). The aiosqlite worker thread is split into SQL work and waiting for work (py-spy does not
always see `SimpleQueue.get` as idle). Figures are samples / rate, in seconds.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable

Frame = tuple[str, str, int]  # function, file, line

# The parts of DreamCog.request, first match wins (searched anywhere under the command's task).
DREAM_PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("defer (the ack)", ("InteractionResponse.defer",)),
    ("followup.send", ("Webhook.send",)),
    ("post_status: channel.send", ("Messageable.send",)),
    ("post_status: Store.set_status_message", ("Store.set_status_message",)),
    ("start: VideoAPI.create", ("VideoAPI.create",)),
    ("start: Store.reserve", ("Store.reserve",)),
    ("start: Store.mark_submitted", ("Store.mark_submitted",)),
    ("start: Store.get", ("Store.get",)),
    ("check_options (Quoter.price)", ("DreamService.check_options",)),
    ("_requester (moderator check)", ("DreamCog._requester",)),
    ("texts (accepted_text, status_message)", ("accepted_text", "status_message")),
]
PACKAGES = ("discord/app_commands", "discord/webhook", "discord/", "aiohttp/", "aiohappyeyeballs/", "yarl/",
            "multidict/", "aiosqlite/", "asyncio/", "json/", "storage/", "cogs/", "bot/api/", "bot/services/",
            "bot/prices/", "bot/", "bench/", "tests/", "logging/", "pydantic", "<string>")
NOT_THE_BURST = ("idle", "imports", "bot start-up", "bot close", "bench:", "thread:")


def load(path: str) -> list[tuple[list[Frame], int]]:
    samples = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            frames: list[Frame] = []
            for text in stack.split(";"):
                name, _, location = text.partition(" (")
                file, _, number = location.rstrip(")").rpartition(":")
                frames.append((name, file, int(number) if number.isdigit() else 0))
            samples.append((frames, int(count)))
    return samples


def package(file: str) -> str:
    for prefix in PACKAGES:
        if file.startswith(prefix) or f"/{prefix}" in file:
            return prefix.rstrip("/")
    return file or "(no Python frame)"


def activity(frames: list[Frame]) -> str:
    names = {f[0] for f in frames}

    def has(*wanted: str) -> bool:
        return any(w in names for w in wanted)

    if frames[0][0].startswith("Thread._bootstrap"):
        if has("ThreadedChildWatcher._do_waitpid"):
            return "thread: asyncio's child watcher (waitpid, idle)"
        leaf = frames[-1]
        if leaf[0] == "_connection_worker_thread" and leaf[2] == 59:  # future, function = tx.get()
            return "thread: aiosqlite worker, waiting for work"
        if has("BaseEventLoop.call_soon_threadsafe"):
            return "thread: aiosqlite worker, handing results to the loop"
        return "thread: aiosqlite worker, running SQL"
    if has("_find_and_load"):
        return "imports"
    if frames[-1][0] == "EpollSelector.select":
        return "idle (epoll)"
    if has("Client.login", "DreamBot.setup_hook"):
        return "bot start-up (login, setup_hook)"
    if has("DreamBot._close_once", "Client.close", "Client.close.<locals>._close", "HTTPClient.close"):
        return "bot close"
    if has("CommandTree._from_interaction.<locals>.wrapper"):
        for label, functions in DREAM_PARTS:
            if has(*functions):
                return "/dream: " + label
        return "/dream: the rest (app_commands call and transformers, DreamCog.request itself)"
    if has("ConnectionState.parse_interaction_create"):
        return "discord.py: parse INTERACTION_CREATE (the bench's dispatch loop)"
    if has("Poller.run_once", "Poller._fetch.<locals>.one", "Poller._run", "Poller._watch"):
        return "poller: " + ("Store.jobs_to_poll" if has("Store.jobs_to_poll") else "fetches and the rest")
    if has("burst_out_of_process", "burst_in_process"):
        return "bench: set-up, the child's protocol, the pending count"
    if has("ClientRequest.write_bytes"):
        return "aiohttp client: write_bytes tasks (request bodies)"
    if has("_SelectorSocketTransport._read_ready", "_SelectorSocketTransport._read_ready__data_received"):
        return "aiohttp client: reading responses (protocol callbacks)"
    if has("BaseSelectorEventLoop._read_from_self"):
        return "event loop: self-pipe wake-ups (aiosqlite's call_soon_threadsafe)"
    if any("aiosqlite/" in f[1] for f in frames):
        return "aiosqlite: results resumed on the loop"
    if any("/fake_discord.py" in f[1] or "/simulator/" in f[1] for f in frames):
        return "stand-ins (in-process mode only)"
    return "event loop and asyncio, the rest"


def summarise(samples: Iterable[tuple[list[Frame], int]], rate: float) -> str:
    samples = list(samples)
    by_activity: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    for frames, count in samples:
        what = activity(frames)
        by_activity[what] += count
        if not what.startswith(NOT_THE_BURST):
            by_package[package(frames[-1][1])] += count
    total = sum(by_activity.values())
    lines = [f"{total:,} samples ({total / rate:.2f} s at {rate:.0f} Hz), by activity:"]
    for what, count in sorted(by_activity.items(), key=lambda item: (item[0].split(":")[0], -item[1])):
        lines.append(f"  {count:6,} {count / rate:6.2f} s  {what}")
    burst = sum(by_package.values())
    lines.append(f"\nthe burst's main-thread work, {burst:,} samples ({burst / rate:.2f} s), by the innermost frame's package:")
    for name, count in by_package.most_common(20):
        lines.append(f"  {count:6,} {100 * count / burst:5.1f} %  {name}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw", help="py-spy's -f raw output")
    parser.add_argument("--rate", type=float, default=200.0, help="py-spy's -r (samples per second)")
    args = parser.parse_args()
    print(summarise(load(args.raw), args.rate))


if __name__ == "__main__":
    main()
