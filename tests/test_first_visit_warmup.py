"""The first visit of 村情总览 or any page with a segmented control paid ~2 s in the script run:
altair's import and Streamlit's emoji regular expression. The frame does both once per process
in the background after its first run (while the first user logs in)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=120)
before = {{m for m in ("altair", "streamlit.emojis") if m in sys.modules}}
at.run()
assert not at.exception, at.exception
deadline = time.time() + 60
while time.time() < deadline and not ("altair" in sys.modules and "streamlit.emojis" in sys.modules):
    time.sleep(0.2)
print(sorted(before), sorted(m for m in ("altair", "streamlit.emojis") if m in sys.modules))
"""


def test_the_first_run_warms_altair_and_the_emoji_table_in_the_background(tmp_path):
    env = {**os.environ, "JIFEN_DATA_DIR": str(tmp_path / "data"), "JIFEN_NO_DEMO": "1"}
    env.pop("JIFEN_DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(app=str(ROOT / "app.py"))], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[] ['altair', 'streamlit.emojis']"
