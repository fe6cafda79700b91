"""The fallback peer of bench.checkout_peer: a plain Starlette form doing a quickbuy's one write.

Where stregsystemet cannot be set up, the till is compared with this instead: a page with one text box
(autofocused, like stregsystemet's quickbuy), "<username> <product id>" + Enter POSTs it, and the sale is
one SQLite transaction — the member's balance UPDATE and a sale INSERT — then a confirmation page with the
box focused again. Run it as ``JIFEN_PEER_DB=FILE python -m uvicorn bench.peer_form:app``; the database
is created and seeded (one member with money, one product) on first use.
"""

from __future__ import annotations

import html
import os
import sqlite3
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

CONFIRMED = "已售出"  # what the confirmation page shows (the harness waits for it)
MEMBER, PRODUCT_ID = "tester", 1

_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>quickbuy</title></head><body>
{message}
<form method="post" action="/sale" autocomplete="off">
<label for="quickbuy">快速购买</label> <input id="quickbuy" name="quickbuy" autofocus>
<button type="submit">购买</button></form></body></html>"""


def init_db(path: Path) -> None:
    con = sqlite3.connect(path)
    with con:
        con.executescript(
            "create table if not exists member (id integer primary key, username text unique not null,"
            " balance integer not null);"
            "create table if not exists product (id integer primary key, name text not null, price integer not null);"
            "create table if not exists sale (id integer primary key, member_id integer not null,"
            " product_id integer not null, price integer not null, at text not null default current_timestamp);")
        con.execute("insert or ignore into member (id, username, balance) values (1, ?, 100000000)", (MEMBER,))
        con.execute("insert or ignore into product (id, name, price) values (?, '矿泉水', 100)", (PRODUCT_ID,))
    con.close()


def make_app(path: Path) -> Starlette:
    init_db(path)

    def connect() -> sqlite3.Connection:
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("pragma journal_mode = wal")
        con.execute("pragma synchronous = normal")
        return con

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(_PAGE.format(message=""))

    def sell(text: str) -> str:
        parts = text.split()
        if len(parts) != 2 or not parts[1].isdigit():
            return "<p>输入格式：用户名 商品编号</p>"
        con = connect()
        try:
            con.execute("begin immediate")
            member = con.execute("select id, balance from member where username = ?", (parts[0],)).fetchone()
            product = con.execute("select name, price from product where id = ?", (int(parts[1]),)).fetchone()
            if member is None or product is None:
                con.execute("rollback")
                return "<p>没有这个用户或商品</p>"
            con.execute("update member set balance = balance - ? where id = ?", (product[1], member[0]))
            con.execute("insert into sale (member_id, product_id, price) values (?, ?, ?)",
                        (member[0], int(parts[1]), product[1]))
            con.execute("commit")
        finally:
            con.close()
        return (f"<p><b>{CONFIRMED}：{html.escape(parts[0])} 买了 {html.escape(product[0])}，"
                f"{product[1] / 100:.2f} 元；余额 {(member[1] - product[1]) / 100:.2f} 元</b></p>")

    async def sale(request: Request) -> HTMLResponse:
        form = await request.form()
        return HTMLResponse(_PAGE.format(message=sell(str(form.get("quickbuy", "")).strip())))

    return Starlette(routes=[Route("/", index), Route("/sale", sale, methods=["POST"])])


def _app_from_env() -> Starlette | None:
    db = os.environ.get("JIFEN_PEER_DB")
    return make_app(Path(db)) if db else None


app = _app_from_env()
