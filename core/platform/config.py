"""Process settings, read from the environment once.

JIFEN_DATA_DIR      folder for the SQLite file, uploaded photos and the generated secret (default ./data)
JIFEN_DATABASE_URL  SQLAlchemy URL; default SQLite in the data dir; postgresql+psycopg://... for PostgreSQL
JIFEN_SECRET_KEY    signs session cookies; generated into the data dir on first start when unset
JIFEN_PUBLIC_URL    base of the links printed on cards (default http://localhost:8501)
JIFEN_NO_DEMO       set to 1 to start on an empty database instead of creating the demo village
JIFEN_TRUSTED_PROXIES  addresses or networks of reverse proxies whose X-Forwarded-For / -Proto
                    count (comma separated; default 127.0.0.1,::1, a proxy on the same PC; empty: none)
JIFEN_SECURE_COOKIES   1: login cookies always carry Secure; 0: never; unset: when the browser
                    used https (directly or, by a trusted proxy's word, through it)
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str
    public_url: str
    create_demo: bool
    trusted_proxies: str = "127.0.0.1,::1"
    secure_cookies: str = ""  # "1" always, "0" never, "" when the request was https

    @property
    def proxies(self):
        from core.platform.clients import parse_trusted

        return parse_trusted(self.trusted_proxies)

    @property
    def photo_dir(self) -> Path:
        return self.data_dir / "photos"

    def secret_key(self) -> bytes:
        """The cookie-signing key: from the environment, else a file created once."""
        env = os.environ.get("JIFEN_SECRET_KEY")
        if env:
            return env.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_hex(32))
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)  # atomic: two first starts agree on one key
            except FileExistsError:
                pass
            tmp.unlink(missing_ok=True)
        return path.read_text().strip().encode()


def load() -> Config:
    data_dir = Path(os.environ.get("JIFEN_DATA_DIR", "data")).resolve()
    url = os.environ.get("JIFEN_DATABASE_URL") or f"sqlite:///{data_dir / 'jifen.db'}"
    return Config(
        data_dir=data_dir,
        database_url=url,
        public_url=os.environ.get("JIFEN_PUBLIC_URL", "http://localhost:8501").rstrip("/"),
        create_demo=os.environ.get("JIFEN_NO_DEMO", "") not in ("1", "true", "yes"),
        trusted_proxies=os.environ.get("JIFEN_TRUSTED_PROXIES", "127.0.0.1,::1"),
        secure_cookies=os.environ.get("JIFEN_SECURE_COOKIES", "").strip().lower(),
    )
