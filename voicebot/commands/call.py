"""`voicebot call turn1.wav turn2.wav --out bot.wav`: one call through the same pipeline phone calls use.

The WAV files are the caller's turns (each sent after the bot finished its previous reply); the bot's audio
is written to --out. Uses Redis like `serve` when one is reachable, else runs without a store.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import uuid
from typing import Any

from voicebot.config import Settings
from voicebot.dialog.types import CallInfo
from voicebot.models.catalog import ModelMissing
from voicebot.store.calls import CallStore
from voicebot.store.connection import RedisUnavailable, connect, ping, resolve_redis_url
from voicebot.store.keys import Keys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("call", help="place a call from WAV files (the caller's turns); write the bot's audio")
    p.add_argument("wavs", nargs="+", metavar="TURN.wav", help="the caller's turns, 16-bit PCM WAV, any rate")
    p.add_argument("--out", required=True, help="where to write the bot's audio (WAV)")
    p.add_argument("--lang", choices=("en", "pl"), help="call language (default: dialog.default_language)")
    p.add_argument("--flow", help="flow id (default: dialog.default_flow)")
    p.add_argument("--fast", action="store_true", help="send audio as fast as possible instead of in real time")
    p.add_argument("--rate", type=int, default=8000, help="line sample rate in Hz (default 8000, like a phone)")
    p.add_argument("--caller", default="", help="caller number to pretend")
    p.add_argument("--transfer-fails", default="", metavar="DETAIL",
                   help="rehearse a human line that does not answer: transfers fail with DETAIL")
    p.set_defaults(func=_call)


def _call(args: argparse.Namespace, settings: Settings) -> int:
    from voicebot.lines.wav import BadAudio, FileMedia

    if not 8000 <= args.rate <= 48000:
        print(f"voicebot call: --rate {args.rate}: a line rate must be between 8000 and 48000 Hz", file=sys.stderr)
        return 2
    try:
        media = FileMedia.from_wavs(args.wavs, args.rate, fast=args.fast, transfer_fails=args.transfer_fails)
    except BadAudio as exc:
        print(f"voicebot call: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, settings, media))
    except ModelMissing as exc:
        print(f"voicebot call: {exc}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, settings: Settings, media: Any) -> int:
    from voicebot.app import assemble_services, crm_settings
    from voicebot.lines.wav import write_wav
    from voicebot.pipeline.call import run_call
    from voicebot.pipeline.models import SharedModels

    models = await asyncio.to_thread(SharedModels.load, settings)
    store, closer = await _open_store(settings)
    # No dialog.crm_url configured: the flows' webhooks get the demo CRM, in this process.
    async with crm_settings(settings) as settings:
        services = assemble_services(settings, models, store)
        engine = services.dialog
        try:
            info = CallInfo(call_id=uuid.uuid4().hex[:12], caller_number=args.caller,
                            language=args.lang or settings.dialog.default_language,
                            flow_id=args.flow or settings.dialog.default_flow, channel="local")
            services = dataclasses.replace(services, dialog=_Printing(engine))
            print(f"call {info.call_id}: {len(args.wavs)} caller turn(s), {info.language}, flow {info.flow_id}, "
                  f"{'fast' if args.fast else 'real time'}", flush=True)
            session = await run_call(media, info, services, on_turn=_print_timings)
            write_wav(args.out, bytes(media.record.bot_audio), media.sample_rate)
            rec = media.record
            if session.transfer_failure:  # the line's answer to a failed transfer does not pass through the dialog
                print(f"bot:    {session.replies[-1].text}", flush=True)
                print(f"transfer failed ({session.transfer_failure}); "
                      f"callback request: {session.callback_id or 'none'}")
            ending = (f"transferred (handoff {rec.transfers[-1] or '-'})" if rec.transfers
                      else "bot hung up" if rec.hung_up else "caller hung up")
            print(f"outcome: {session.outcome}, {ending}; bot audio "
                  f"{len(rec.bot_audio) / 2 / media.sample_rate:.1f}s -> {args.out}", flush=True)
            if rec.latencies_ms:
                print(f"voice-to-voice as the caller heard it (ms): {rec.latencies_ms}")
            return 0
        finally:
            await engine.close()  # its CRM client: no "Unclosed client session" at exit
            models.close()
            await closer()


async def _open_store(settings: Settings) -> tuple[Any, Any]:
    """A CallStore if Redis answers (or an embedded one starts), else None; plus how to close it."""

    async def nothing() -> None:
        return None

    try:
        url, embedded = await asyncio.to_thread(resolve_redis_url, settings)
    except RedisUnavailable as exc:
        print(f"no Redis ({exc}): running without a store, nothing is recorded", file=sys.stderr)
        return None, nothing
    client = connect(url)
    if not await ping(client):
        print(f"Redis at {url} does not answer: running without a store, nothing is recorded", file=sys.stderr)
        await client.aclose()
        if embedded:
            embedded.stop()
        return None, nothing
    print(f"recording the call in Redis at {url} (prefix {settings.redis.prefix})", file=sys.stderr)
    store = CallStore(client, Keys(settings.redis.prefix))

    async def close() -> None:
        await store.buffer.flush()
        await client.aclose()
        if embedded:
            embedded.stop()

    return store, close


class _Printing:
    """Wraps the dialog engine to print each exchange as it happens (the CLI's transcript)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def new_session(self, call: Any) -> Any:
        return _PrintingSession(self.engine.new_session(call))


class _PrintingSession:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def start(self) -> Any:
        reply = await self.inner.start()
        print(f"bot:    {reply.text}", flush=True)
        return reply

    async def handle(self, event: Any) -> Any:
        conf = getattr(event, "asr_confidence", None)
        said = getattr(event, "text", None) or f"[DTMF {getattr(event, 'digits', '')}]"
        print(f"caller: {said}" + (f"  (asr {conf:.2f})" if conf is not None else "")
              + ("  [barge-in]" if getattr(event, "barge_in", False) else ""), flush=True)
        reply = await self.inner.handle(event)
        print(f"bot:    {reply.text}  [intent {reply.intent or '-'}, {reply.action}"
              + (f", {reply.reason}" if reply.reason else "") + "]", flush=True)
        return reply

    def snapshot(self) -> dict[str, Any]:
        return self.inner.snapshot()


def _print_timings(timings: dict[str, float]) -> None:
    keys = ("end_of_turn_ms", "asr_done_ms", "reply_ready_ms", "first_audio_ms")
    print("        timings after caller stopped (ms): "
          + ", ".join(f"{k.removesuffix('_ms')} {timings[k]:.0f}" for k in keys if k in timings), flush=True)

