"""Starting the demo CRM inside an already running event loop (simulate, serve --demo-crm, tests)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from voicebot.dialog.demo_crm import CRM_DATA, create_crm_app


@dataclass
class RunningCrm:
    runner: web.AppRunner
    url: str

    def reset(self) -> None:
        self.runner.app[CRM_DATA].reset()

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_demo_crm(host: str = "127.0.0.1", port: int = 0, delay_s: float = 0.0,
                         fail_status: int | None = None) -> RunningCrm:
    """Serve the demo CRM on host:port (0 = a free port); returns its base URL."""
    runner = web.AppRunner(create_crm_app(delay_s=delay_s, fail_status=fail_status), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return RunningCrm(runner, f"http://{host}:{bound}")

