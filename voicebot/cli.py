"""`voicebot` command line: one module per sub-command under `voicebot/commands/`.

Each command module exposes `register(subparsers)`; heavy imports (models, pipecat) happen inside the
command's function, so `voicebot --help` and `voicebot simulate` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from loguru import logger

from voicebot import log_lines
from voicebot.config import ConfigError, load_settings
from voicebot.store.redact import redact

COMMAND_MODULES = (
    "voicebot.commands.serve",
    "voicebot.commands.call",
    "voicebot.commands.simulate",
    "voicebot.commands.models",
    "voicebot.commands.flows",
    "voicebot.commands.users",
    "voicebot.commands.privacy",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicebot", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="path to config.toml (default: ./config.toml or $VOICEBOT_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # command not built yet in this checkout
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_pipecat(args.verbose)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"voicebot: {exc}", file=sys.stderr)
        return 2
    log_lines.install(redact if settings.privacy.redact_pii else None)
    return int(args.func(args, settings) or 0)


def quiet_pipecat(verbose: bool) -> None:
    """pipecat logs every frame link and setup at DEBUG through loguru (a dozen lines per call): WARNING unless -v."""
    logger.remove()
    logger.add(sys.stderr, level="DEBUG" if verbose else "WARNING")


if __name__ == "__main__":
    sys.exit(main())
