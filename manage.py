"""Command line for what admins and operators do without a browser.

    python manage.py init                 upgrade the schema; with --village, set up a real village and its first admin
    python manage.py create-user ...      add a staff account
    python manage.py verify               recompute every balance and stock from its entries (exit 1 on mismatch)
    python manage.py seed-demo ...        generate demo villages of any size (--bulk: county scale, minutes)
    python manage.py bench [--quick]      benchmark: seed, measure, print a table (see BENCHMARKS.md)
    python manage.py post-due             post approved items whose 公示 window has ended (daily scheduler)
    python manage.py backup               database and photos into data/backups/jifen-*.zip (SQLite online backup; pg_dump)
    python manage.py check-backup FILE    check a backup as a restore would (format, revision, verify), restore nothing
    python manage.py restore FILE         replace the database with a checked backup; the current one is kept first
    python manage.py export-archive       one village's complete archive (.xlsx: a sheet per table, a manifest)
    python manage.py check-archive FILE   check an archive as the import would (manifest, counts, checksums)
    python manage.py import-archive FILE  load a village archive into an empty install, all or nothing

Settings come from the environment (see core/platform/config.py): JIFEN_DATA_DIR, JIFEN_DATABASE_URL, ...
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from core.platform import config as config_mod
from core.platform.access import SYSTEM
from core.platform.errors import DomainError


def _db(create_demo: bool = False):
    from startup.prepare import prepare

    return prepare(config_mod.load(), create_demo=create_demo)


def cmd_init(args) -> int:
    db = _db(create_demo=False)
    print(f"数据库已升级到最新结构：{_safe_url(config_mod.load().database_url)}")
    if args.village:
        from core.village.setup import create_village

        password = args.password or getpass.getpass("首位管理员密码：")
        vid = create_village(db, SYSTEM, name=args.village, township=args.township or "", county=args.county or "",
                             grids=[g for g in (args.grids or "").split(",") if g.strip()],
                             admin_username=args.admin, admin_name=args.admin_name or args.admin,
                             admin_password=password, rules_template=True)
        print(f"已创建村：{args.village}（编号 {vid}），管理员 {args.admin}。首次登录需修改密码。")
    return 0


def cmd_create_user(args) -> int:
    from core.village.staff import create_user

    db = _db()
    password = args.password or getpass.getpass("密码：")
    uid = create_user(db, SYSTEM, username=args.username, display_name=args.name or args.username,
                      password=password, roles=args.roles.split(","), village_id=args.village_id,
                      township=args.township, county=args.county, must_change_password=not args.no_change)
    print(f"已创建用户 {args.username}（编号 {uid}）。")
    return 0


def cmd_verify(args) -> int:
    from core.maintenance.verify import verify

    db = _db()
    t = time.perf_counter()
    problems = verify(db)
    for p in problems:
        print(p)
    print(f"核对完成，用时 {time.perf_counter() - t:.1f} 秒：{f'发现 {len(problems)} 处不一致' if problems else '全部一致'}")
    return 1 if problems else 0


def cmd_seed_demo(args) -> int:
    from startup.demo import build_demo

    db = _db()
    t = time.perf_counter()
    if args.bulk:
        from startup.bulkseed import bulk_seed, raw_insert_rate

        if args.measure_raw:
            raw = raw_insert_rate(db)
            print(f"原始批量插入速率（同一数据库）：{raw:,.0f} 行/秒", file=sys.stderr)
        stats = bulk_seed(db, villages=args.villages, households=args.households, days=args.days,
                          entries=args.entries, seed=args.seed, workers=args.workers,
                          log=lambda msg: print(msg, file=sys.stderr))
        print(f"已批量生成 {args.villages} 个示范村、{stats.rows['ledger_entry']:,} 条积分流水，"
              f"用时 {time.perf_counter() - t:.1f} 秒。")
        return 0
    ids = build_demo(db, villages=args.villages, households=args.households, days=args.days, seed=args.seed,
                     progress=lambda msg: print(msg, file=sys.stderr))
    print(f"已生成 {len(ids)} 个示范村，用时 {time.perf_counter() - t:.1f} 秒。")
    return 0


def cmd_bench(args) -> int:
    from bench.run import run

    return run(args)


def cmd_backup(args) -> int:
    from pathlib import Path

    from core.maintenance.backup import backup

    cfg = config_mod.load()
    target = backup(cfg.database_url, Path(args.dir) if args.dir else cfg.data_dir / "backups", data_dir=cfg.data_dir)
    print(f"备份完成：{target}（{target.stat().st_size / 1024:.0f} KB，含数据库和照片）。"
          f"可用 python manage.py check-backup {target.name} 检查。")
    return 0


def _print_report(report) -> None:
    counts = report.counts
    print(f"备份检查通过：数据库版本 {report.revision}" + (f"，备份于 {report.made_at}" if report.made_at else "") + "；"
          f"{counts.get('household', 0)} 户、{counts.get('resident', 0)} 位村民、{counts.get('ledger_entry', 0)} 条积分流水、"
          f"{report.photos} 张照片；每户积分与流水、库存与出入库核对一致。")
    for w in report.warnings:
        print(f"注意：{w}")


def _backup_file(name: str, cfg):
    from pathlib import Path

    path = Path(name)
    if not path.exists() and (cfg.data_dir / "backups" / name).exists():
        path = cfg.data_dir / "backups" / name
    return path


def cmd_check_backup(args) -> int:
    from core.maintenance.backup import check

    cfg = config_mod.load()
    _print_report(check(cfg.database_url, _backup_file(args.file, cfg), cfg.data_dir / "backups"))
    return 0


def cmd_restore(args) -> int:
    from core.maintenance.backup import restore

    cfg = config_mod.load()
    file = _backup_file(args.file, cfg)
    if not args.yes:
        answer = input(f"将用 {file} 替换当前数据库 {_safe_url(cfg.database_url)} 的全部数据"
                       "（先检查备份，不合格不会改动任何数据）。请先停止网页服务。输入 yes 继续：")
        if answer.strip().lower() != "yes":
            print("已取消。")
            return 1
    result = restore(cfg.database_url, file, cfg.data_dir / "backups", data_dir=cfg.data_dir)
    _print_report(result.report)
    if result.safety:
        print(f"恢复前的数据库已另存为：{result.safety}（恢复错了可以用它再恢复回去）")
    print(f"恢复完成：补回照片 {result.photos_restored} 张。请重新启动网页服务。")
    return 0


def cmd_export_archive(args) -> int:
    from pathlib import Path

    from sqlalchemy import select

    from core.maintenance.archive import export_archive
    from db.models import Village

    db = _db()
    with db.read() as s:
        villages = list(s.execute(select(Village.id, Village.code, Village.name).order_by(Village.id)).all())
    chosen = [v for v in villages if args.village_id in (None, v.id)]
    if not chosen or (args.village_id is None and len(chosen) > 1):
        listing = "；".join(f"{v.id} {v.name}" for v in villages) or "（没有村）"
        print(f"请用 --village-id 指定要归档的村：{listing}", file=sys.stderr)
        return 2
    v = chosen[0]
    t = time.perf_counter()
    data = export_archive(db, v.id)
    out = Path(args.out or f"村级数据归档_{v.code}_{time.strftime('%Y%m%d')}.xlsx")
    out.write_bytes(data)
    print(f"已导出 {v.name} 的村级数据归档：{out}（{len(data) / 1024:.0f} KB，用时 {time.perf_counter() - t:.1f} 秒）。")
    return 0


def _print_counts(counts: dict[str, int]) -> None:
    print(f"{counts.get('household', 0)} 户、{counts.get('resident', 0)} 位村民、"
          f"{counts.get('ledger_entry', 0)} 条积分流水、{sum(counts.values())} 行数据，清单、行数和校验和一致。")


def cmd_check_archive(args) -> int:
    from pathlib import Path

    from core.maintenance.archive import check_archive

    _print_counts(check_archive(Path(args.file).read_bytes()))
    return 0


def cmd_import_archive(args) -> int:
    from pathlib import Path

    from core.maintenance.archive import import_archive

    data = Path(args.file).read_bytes()
    db = _db()
    if not args.yes:
        answer = input(f"将把 {args.file} 导入 {_safe_url(config_mod.load().database_url)}（只能导入空的系统；"
                       "任何检查不通过都不会写入数据）。输入 yes 继续：")
        if answer.strip().lower() != "yes":
            print("已取消。")
            return 1
    result = import_archive(db, data)
    print(f"已导入 {result.village_name}（编号 {result.village_id}）：", end="")
    _print_counts(result.rows)
    if args.admin:
        from sqlalchemy import select

        from core.village.staff import reset_password
        from db.models import StaffUser

        with db.read() as s:
            uid = s.execute(select(StaffUser.id).where(StaffUser.username == args.admin)).scalar()
        if uid is None:
            print(f"归档中没有用户 {args.admin}；请用 create-user 新建管理员。", file=sys.stderr)
            return 2
        reset_password(db, SYSTEM, uid, args.password or getpass.getpass(f"{args.admin} 的临时密码："))
        print(f"已为 {args.admin} 设置临时密码（首次登录需修改）；其他人的密码由管理员在“工作人员”页重设。")
    else:
        print("归档不含密码：请用 --admin 用户名 为一位管理员设置临时密码，再由他为其他人重设。")
    return 0


def cmd_post_due(args) -> int:
    from core.committee.publicity import post_due

    db = _db()
    n = post_due(db, SYSTEM, args.village_id)
    print(f"公示期满记账：{n} 项。")
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
                                                  "field_lead,township_viewer,township_admin,county_admin")
    s.add_argument("--village-id", type=int)
    s.add_argument("--township", help="镇街查看员、镇街管理员：所属镇（街道）")
    s.add_argument("--county", help="县级管理员：所属县（区）；镇街管理员可同时填写")
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
    s.add_argument("--bulk", action="store_true", help="县级规模：批量写入（不经过业务函数），带进度条")
    s.add_argument("--entries", type=int, help="--bulk：每户平均流水条数（默认按每年 100 条折算）")
    s.add_argument("--workers", type=int, default=2, help="--bulk：生成数据的进程数")
    s.add_argument("--measure-raw", action="store_true", help="--bulk：先测量同一数据库的原始批量插入速率")
    s.set_defaults(func=cmd_seed_demo)

    s = sub.add_parser("bench", help="性能基准测试：生成基准数据并测量（见 BENCHMARKS.md）")
    from bench.run import add_arguments as _bench_arguments

    _bench_arguments(s)
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("backup", help="备份数据库和照片到 data/backups/（SQLite 在线备份；PostgreSQL 用 pg_dump）")
    s.add_argument("--dir", help="备份目录（默认：数据目录下的 backups）")
    s.set_defaults(func=cmd_backup)

    s = sub.add_parser("check-backup", help="检查备份文件能否恢复（格式、版本、数据核对），不改动当前数据")
    s.add_argument("file")
    s.set_defaults(func=cmd_check_backup)

    s = sub.add_parser("restore", help="用备份文件恢复数据库（先检查备份，并先另存当前数据库）")
    s.add_argument("file")
    s.add_argument("--yes", action="store_true", help="不再询问确认")
    s.set_defaults(func=cmd_restore)

    s = sub.add_parser("export-archive", help="导出一个村的村级数据归档（Excel：每张表一页，另有清单和校验和）")
    s.add_argument("--village-id", type=int, help="要归档的村（系统只有一个村时可不填）")
    s.add_argument("--out", help="输出文件（默认：当前目录下的 村级数据归档_村代码_日期.xlsx）")
    s.set_defaults(func=cmd_export_archive)

    s = sub.add_parser("check-archive", help="检查村级数据归档（清单、行数、校验和），不写入数据")
    s.add_argument("file")
    s.set_defaults(func=cmd_check_archive)

    s = sub.add_parser("import-archive", help="把村级数据归档导入一套空的系统（全部成功才写入）")
    s.add_argument("file")
    s.add_argument("--admin", help="导入后为这位管理员设置临时密码（归档不含密码）")
    s.add_argument("--password", help="--admin 的临时密码（不填则提示输入）")
    s.add_argument("--yes", action="store_true", help="不再询问确认")
    s.set_defaults(func=cmd_import_archive)

    s = sub.add_parser("post-due", help="把公示期满且无异议的评议事项记入积分账户（可每天定时运行，重复运行无害）")
    s.add_argument("--village-id", type=int, help="只处理这个村（默认全部）")
    s.set_defaults(func=cmd_post_due)
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
