"""Command line for what admins and operators do without a browser.

    python manage.py init                 upgrade the schema; with --village, set up a real village and its first admin
    python manage.py create-user ...      add a staff account
    python manage.py verify               recompute every balance and stock from its entries (exit 1 on mismatch)
    python manage.py seed-demo ...        generate demo villages of any size

Settings come from the environment (see core/config.py): JIFEN_DATA_DIR, JIFEN_DATABASE_URL, ...
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from core import config as config_mod
from core.access import SYSTEM
from core.errors import DomainError


def _db(create_demo: bool = False):
    from db.bootstrap import prepare

    return prepare(config_mod.load(), create_demo=create_demo)


def cmd_init(args) -> int:
    db = _db(create_demo=False)
    print(f"数据库已升级到最新结构：{_safe_url(config_mod.load().database_url)}")
    if args.village:
        from core.setup import create_village

        password = args.password or getpass.getpass("首位管理员密码：")
        vid = create_village(db, SYSTEM, name=args.village, township=args.township or "", county=args.county or "",
                             grids=[g for g in (args.grids or "").split(",") if g.strip()],
                             admin_username=args.admin, admin_name=args.admin_name or args.admin,
                             admin_password=password, rules_template=True)
        print(f"已创建村：{args.village}（编号 {vid}），管理员 {args.admin}。首次登录需修改密码。")
    return 0


def cmd_create_user(args) -> int:
    from core.staff import create_user

    db = _db()
    password = args.password or getpass.getpass("密码：")
    uid = create_user(db, SYSTEM, username=args.username, display_name=args.name or args.username,
                      password=password, roles=args.roles.split(","), village_id=args.village_id,
                      township=args.township, must_change_password=not args.no_change)
    print(f"已创建用户 {args.username}（编号 {uid}）。")
    return 0


def cmd_verify(args) -> int:
    from core.verify import verify

    db = _db()
    t = time.perf_counter()
    problems = verify(db)
    for p in problems:
        print(p)
    print(f"核对完成，用时 {time.perf_counter() - t:.1f} 秒：{'发现 %d 处不一致' % len(problems) if problems else '全部一致'}")
    return 1 if problems else 0


def cmd_seed_demo(args) -> int:
    from db.demo import build_demo

    db = _db()
    t = time.perf_counter()
    ids = build_demo(db, villages=args.villages, households=args.households, days=args.days, seed=args.seed,
                     progress=lambda msg: print(msg, file=sys.stderr))
    print(f"已生成 {len(ids)} 个示范村，用时 {time.perf_counter() - t:.1f} 秒。")
    return 0


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="manage.py", description="村级积分制管理系统 命令行")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", help="升级数据库结构；可同时创建一个正式村和首位管理员")
    s.add_argument("--village", help="村名")
    s.add_argument("--township", help="镇（街道）")
    s.add_argument("--county", help="县（区）")
    s.add_argument("--grids", help="网格名称，用逗号分隔")
    s.add_argument("--admin", default="admin", help="首位管理员用户名")
    s.add_argument("--admin-name", help="首位管理员姓名")
    s.add_argument("--password", help="首位管理员密码（不填则提示输入）")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("create-user", help="创建工作人员账号")
    s.add_argument("username")
    s.add_argument("--name")
    s.add_argument("--roles", required=True, help="逗号分隔：admin,committee,grid_worker,cashier,volunteer_lead,"
                                                  "field_lead,township_viewer")
    s.add_argument("--village-id", type=int)
    s.add_argument("--township")
    s.add_argument("--password")
    s.add_argument("--no-change", action="store_true", help="首次登录不要求修改密码")
    s.set_defaults(func=cmd_create_user)

    s = sub.add_parser("verify", help="核对所有积分账户和库存与流水是否一致")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("seed-demo", help="生成任意规模的示范数据")
    s.add_argument("--villages", type=int, default=1)
    s.add_argument("--households", type=int, default=300)
    s.add_argument("--days", type=int, default=120)
    s.add_argument("--seed", type=int, default=42)
    s.set_defaults(func=cmd_seed_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DomainError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
