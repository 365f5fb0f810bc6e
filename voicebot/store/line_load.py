"""How many callers each human line holds right now, counted across every worker (`lineload:{skill}` zset).

A skill's line may take only `max_calls` callers at once (config `[escalation.lines.<skill>]`). After a REFER
the bot no longer sees the transferred call end, so a caller counts against the line for `call_secs` (the
line's usual handling time), or until the transfer failed and the bot took the caller back.
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from voicebot.store.keys import Keys

# Atomic, so two workers cannot both take the last free place: drop the expired, count, add if room.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class LineLoad:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._take = client.register_script(_TAKE)

    async def take(self, skill: str, caller: str, limit: int, hold_secs: int) -> bool:
        """Count `caller` on the line for `hold_secs` if it holds fewer than `limit`; False = the line is full."""
        now = time.time()
        taken = await self._take(keys=[self.keys.line_load(skill)],
                                 args=[now, now + hold_secs, limit, caller, hold_secs + 60])
        return bool(taken)

    async def release(self, skill: str, caller: str) -> None:
        """The line did not take `caller` after all (the transfer failed)."""
        await self.client.zrem(self.keys.line_load(skill), caller)
