"""Another process holds the database's write lock for 10 s while members keep clicking.

Discord drops an interaction that is not answered within 3 s, so nothing that runs before the
answer may wait for a write: every interaction is acknowledged in time, and the writes it
causes land once the lock is free.
"""

from __future__ import annotations

import subprocess
import sys
import time

from tests.admin_helpers import MOD, answer, is_ephemeral, number, text_of
from tests.harness import payloads
from tests.world import world

HOLD_SECONDS = 10.0
ACK_LIMIT = 3.0

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
print("LOCKED", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


async def test_every_ack_lands_while_another_process_holds_the_write_lock(tmp_path):
    async with world(tmp_path) as w:
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(w.database), str(HOLD_SECONDS)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "LOCKED"
            locked_at = time.monotonic()
            sent: dict[int, float] = {}
            kinds: dict[int, str] = {}
            for i in range(50):
                user = payloads.user(username=f"member{i}")
                at = time.monotonic()
                if i % 10 < 7:
                    iid = await w.h.slash("dream", {"prompt": f"clip {i}: a lighthouse in fog"}, user=user)
                    kinds[iid] = "dream"
                elif i % 10 < 9:
                    iid = await w.h.slash("status", {}, user=user)
                    kinds[iid] = "status"
                else:
                    iid = await w.h.slash("dreamadmin", {"amount": number(5.5 + i)}, subcommand="cap set", user=user,
                                          member_permissions=MOD)
                    kinds[iid] = "cap"
                sent[iid] = at
            # Every acknowledgement arrives while the lock is still held, each within 3 s.
            acks = {iid: await w.fake.wait_callback(iid, timeout=ACK_LIMIT + 1) for iid in sent}
            late = {iid: round(r.at - sent[iid], 2) for iid, r in acks.items() if r.at - sent[iid] > ACK_LIMIT}
            assert not late, f"acknowledged after more than {ACK_LIMIT} s: {late}"
            assert all(r.ok for r in acks.values())
            assert max(r.at for r in acks.values()) - locked_at < HOLD_SECONDS - 2  # the lock was still held
            assert holder.poll() is None
        finally:
            holder.wait(timeout=HOLD_SECONDS + 10)

        # Once the lock is free, every request is carried out: 35 clips accepted, 5 caps saved.
        said = {iid: await answer(w, iid) for iid in sent}
        assert all(is_ephemeral(r) for r in said.values())
        dreams = [text_of(said[i]) for i, kind in kinds.items() if kind == "dream"]
        assert all("is on its way" in text for text in dreams), dreams
        assert len(await w.store.jobs_to_poll()) + len(await w.store.jobs_to_post()) == 35
        caps = [text_of(said[i]) for i, kind in kinds.items() if kind == "cap"]
        assert all("cap" in text.lower() for text in caps), caps
        assert (await w.store.guild_settings(w.h.guild_id)).cap_tokens is not None
        audit = await w.store.audit_log(w.h.guild_id)
        assert sum(1 for entry in audit if entry.action == "set_guild_cap") == 5
