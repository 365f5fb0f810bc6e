"""`voicebot serve --demo-crm` serves the demo CRM on dialog.crm_url's port next to the web app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

from tests.support.env import TEST_REDIS_URL
from tests.support.ports import free_port
from voicebot.config import PROJECT_ROOT


def test_serve_with_demo_crm_answers_order_lookups(redis_prefix: str) -> None:
    crm_port = free_port()
    env = {**os.environ, "REDIS_URL": TEST_REDIS_URL, "VOICEBOT_REDIS_PREFIX": redis_prefix,
           "VOICEBOT_HTTP_PORT": str(free_port()), "VOICEBOT_DIALOG_CRM_URL": f"http://127.0.0.1:{crm_port}",
           "VOICEBOT_SIP_ENABLED": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "voicebot", "serve", "--no-models", "--demo-crm"],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        order = None
        while time.monotonic() < deadline and order is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{crm_port}/orders/48152", timeout=2) as resp:
                    order = json.loads(resp.read())
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.3)
        assert order is not None and order["number"] == "48152" and order["status"] == "shipped"
    finally:
        proc.terminate()
        proc.wait(10)
