"""村级积分制管理系统 — Streamlit entry point.

A frame only: page config, who is logged in, navigation by role, run the page
(see ui/frame.py). Start it with `streamlit run serve.py` (adds the login-cookie routes)
or `streamlit run app.py` (same app; a reload then asks to log in again).
"""

from ui.frame import run

run()
