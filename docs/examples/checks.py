from __future__ import annotations

import socket

from flask_perfkit import CheckResult
from flask_perfkit import PerfKit
from flask_perfkit import Status

perfkit = PerfKit()


@perfkit.health_check("search", critical=False, component_type="system")
def search_reachable() -> CheckResult:
    try:
        with socket.create_connection(("127.0.0.1", 9200), timeout=0.3):
            return CheckResult(Status.PASS)
    except OSError:
        return CheckResult(Status.FAIL, output="connection refused")
