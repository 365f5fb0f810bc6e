"""`voicebot flows validate [FILE...]` and `voicebot flows test [--flow ID]`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from voicebot.config import Settings
from voicebot.dialog.validate import FlowInvalid, parse_flow


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("flows", help="validate flow files and run their test conversations")
    fsub = p.add_subparsers(dest="flows_command", required=True, metavar="ACTION")
    v = fsub.add_parser("validate", help="check flow files (default: every file in dialog.flows_dir)")
    v.add_argument("files", nargs="*", type=Path)
    v.set_defaults(func=_validate)
    t = fsub.add_parser("test", help="run the conversations in <flows_dir>/tests (exit 1 on a failure)")
    t.add_argument("--flow", help="only this flow id")
    t.add_argument("--tests", type=Path, help="test directory (default: <flows_dir>/tests)")
    t.add_argument("-v", "--verbose-failures", action="store_true", help="print every failed check")
    t.set_defaults(func=_test)


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    files = args.files or sorted(settings.path(settings.dialog.flows_dir).glob("*.yaml"))
    bad = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror}")
            bad += 1
            continue
        try:
            flow = parse_flow(text, str(path))
        except FlowInvalid as exc:
            bad += 1
            for err in exc.errors:
                print(f"{err}  [{err.rule}]")
            continue
        print(f"{path}: ok ({flow.id}.{flow.language}: {len(flow.nodes)} nodes, {len(flow.intents)} intents)")
    return 1 if bad else 0


def _test(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run_tests(args, settings))


async def _run_tests(args: argparse.Namespace, settings: Settings) -> int:
    from voicebot.dialog.flowtests import load_test_files, run_flow_tests
    from voicebot.dialog.registry import FlowRegistry

    flows_dir = settings.path(settings.dialog.flows_dir)
    registry = FlowRegistry(flows_dir, settings.business_hours)
    errors = registry.reload()
    for err in errors:
        print(f"{err}  [{err.rule}]")
    results = []
    for tf in load_test_files(args.tests or flows_dir / "tests", args.flow):
        loaded = registry.get(tf.flow, tf.language)
        if loaded is None:
            print(f"no valid flow {tf.flow}.{tf.language} for its tests")
            return 1
        results += await run_flow_tests(loaded, tf, settings=settings)
    width = max((len(r.name) for r in results), default=10)
    print(f"{'flow':<22} {'lang':<4} {'case':<{width}} result")
    for r in results:
        print(f"{r.flow:<22} {r.language:<4} {r.name:<{width}} {'PASS' if r.passed else 'FAIL'}")
        for f in r.failures if (args.verbose_failures or not r.passed) else []:
            print(f"    {f}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed}/{len(results)} passed")
    return 1 if failed or errors or not results else 0
