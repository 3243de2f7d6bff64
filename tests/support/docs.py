"""Run the curl examples of a guide in docs/ against a live hub.

Convention for guides: examples are fenced ```bash blocks that call `curl` against
`http://127.0.0.1:5001` and take keys from environment variables (`$INGEST_KEY`, `$TOKEN`, ...).
The test swaps in the live server's address and sets those variables; each block must exit 0
(use `curl --fail-with-body -sS`), so an example that stops working fails the suite.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

DOC_BASE_URL = "http://127.0.0.1:5001"
_BLOCK = re.compile(r"```(?:bash|sh)\n(.*?)```", re.DOTALL)


def curl_examples(markdown: Path) -> list[str]:
    return [block for block in _BLOCK.findall(markdown.read_text()) if "curl " in block]


def run_example(block: str, base_url: str, env: dict[str, str], cwd: Path | None = None) -> str:
    """Run one example with bash (-e, -o pipefail); returns its output, raises with it on failure."""
    script = block.replace(DOC_BASE_URL, base_url)
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", script], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", **env}, cwd=cwd, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"example failed ({result.returncode}):\n{script}\n--- output ---\n"
                             f"{result.stdout}\n{result.stderr}")
    return result.stdout
