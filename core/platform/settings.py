"""Village settings: each with a default, a type and a plain-Chinese explanation.

Stored as JSON per (village, key); a missing row means the default. Reads are cheap
(one row by primary key) and never cached across requests, so a change takes effect at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import InvalidInput
from db.models import Setting


@dataclass(frozen=True)
class Spec:
    key: str
    label: str
    help: str
    default: Any
    kind: str  # bool / int / str / choice / list_int / dict
    choices: tuple = ()
    min: int | None = None
    max: int | None = None


SPECS: dict[str, Spec] = {
    s.key: s
    for s in [
        Spec("review_cadence", "评议周期", "多久召开一次积分评议会：每天（如文祖北村每天早上8:30）、每周或每月。",
             "daily", "choice", ("daily", "weekly", "monthly")),
        Spec("quorum", "法定人数", "评议会至少需要多少名评议小组成员出席；0 表示过半数。", 0, "int", min=0, max=50),
        Spec("vote_recording", "表决记录方式",
             "逐人表决：评议会的每项决定（通过、不通过、暂缓、批量通过、处理异议）都要记下每位有表决权的出席人员"
             "同意、反对还是弃权，有人未表决就不能作出决定，纪要列出票数。只记集体决定：评议小组当场合议，系统只记"
             "决定结果，纪要注明“未逐人表决”；逐人记了票的决定照样保存、计票。凡记了票的决定，同意票都须多于反对票。",
             "each", "choice", ("each", "collective")),
        Spec("guests_vote", "列席人员参加表决",
             "开启后，登记出席的村民代表、党员代表、村民等列席人员也有表决权，与评议小组成员一起表决、计票"
             "（法定人数仍只算评议小组成员）；关闭时他们只列席，写入纪要但不表决。每人有无表决权，以登记出席时的设置为准。",
             False, "bool"),
        Spec("grid_scope_own", "网格员只为本网格申报",
             "开启后，网格员（不兼任评议小组或管理员）只能为自己负责的网格里的户申报加分、扣分；"
             "哪个网格由谁负责，在网格设置中指定（没有指定负责人的网格，任何网格员都可以申报）。关闭时网格员可以为全村各户申报。"
             "默认开启。",
             True, "bool"),
        Spec("publicity_days", "公示天数", "评议通过的事项公示多少天后记入积分账户；0 表示不公示、立即记账。",
             3, "int", min=0, max=30),
        Spec("rankings_enabled", "显示排名", "关闭后，系统任何地方（包括村民查询页）都不显示排名，落实减轻基层负担要求。",
             True, "bool"),
        Spec("large_text", "大字模式（本村默认）", "工作人员页面默认使用大号字（正文至少 20 像素，余额等关键数字至少 40 像素）；"
             "每人可在“我的账号”或侧边栏里自己改。", False, "bool"),
        Spec("board_enabled", "公示栏大屏", "村委会电视上的公示栏页面是否开放（无需登录，只显示公开信息）。", True, "bool"),
        Spec("min_balance_to_redeem", "兑换最低积分", "可用积分低于此数的户暂不能兑换。", 0, "int", min=0, max=100000),
        Spec("checkout_enter_confirms", "收银台空回车确认兑换",
             "开启后，购物车里有商品时，在收银台扫码框里直接按回车（扫码枪扫空码）即确认兑换，和扫描打印的“结算码”"
             "一样；关闭时只能扫结算码或点“确认兑换”。", False, "bool"),
        Spec("redemption_open", "积分超市开放兑换", "关闭后收银台不能兑换（例如只在季度兑换日开放）。", True, "bool"),
        Spec("late_returns_by", "当天之后的退货和撤销",
             "兑换当天，收银员和村管理员都可以退货或撤销；之后由谁办理：仅村管理员（默认，货物通常已经领走），"
             "或收银员也可以。", "admin", "choice", ("admin", "cashier")),
        Spec("fund_allow_negative", "村集体资金允许透支",
             "关闭时（默认），会使村集体资金余额低于零的支出或冲正不能登记；只有村里确实允许先垫付、后入账时才开启。",
             False, "bool"),
        Spec("volunteer_points_per_hour", "志愿服务每小时积分", "新建志愿活动时默认的每小时积分。", 2, "int", min=0, max=100),
        Spec("volunteer_direct_post", "志愿积分直接入账", "开启后，确认的志愿时长直接记入积分；关闭时先进入评议会审核。",
             False, "bool"),
        Spec("volunteer_self_signup", "村民网上报名志愿活动",
             "开启后，村民扫自家积分卡即可在手机上为本户成员报名或取消报名志愿活动；关闭后只能由志愿活动负责人代为报名。",
             True, "bool"),
        Spec("star_thresholds_hours", "志愿星级时长（小时）", "一至五星志愿者的累计服务时长门槛（民政部《志愿服务记录办法》）。",
             [100, 300, 600, 1000, 1500], "list_int"),
        Spec("star_households_enabled", "评定星级文明户",
             "开启后按年度积分评定一至五星级文明户，在排行页、村民积分卡页和年度表彰中显示；与“显示排名”互不影响："
             "关闭排名后星级文明户照样评定和显示。", True, "bool"),
        Spec("star_household_thresholds", "星级文明户积分", "一至五星级文明户的年度累计积分门槛。",
             [50, 100, 150, 200, 300], "list_int"),
        Spec("beneficiary_weights", "受助对象权重", "义田按类别加权分配时每类的权重。",
             {"elderly": 1.0, "dibao": 1.5, "wubao": 2.0, "disabled": 1.5, "hardship": 1.0}, "dict"),
        Spec("base_score", "底分", "每个周期开始时给每户的底分；0 表示不设底分。", 0, "int", min=0, max=1000),
        Spec("base_score_spendable", "底分可兑换", "关闭时底分只计入累计积分、不能在超市使用。", False, "bool"),
        Spec("year_end_policy", "年终处理", "年终时可用积分清零或结转到下一年。", "carry_over", "choice",
             ("carry_over", "clear")),
        Spec("public_url", "积分卡链接地址", "印在积分卡二维码里的网址前缀，例如 http://192.168.1.10:8501 。", "", "str"),
    ]
}


def _decode(spec: Spec, raw: str | None) -> Any:
    return spec.default if raw is None else json.loads(raw)


def get(s: Session, village_id: int, key: str) -> Any:
    spec = SPECS[key]
    raw = s.execute(select(Setting.value).where(Setting.village_id == village_id, Setting.key == key)).scalar()
    return _decode(spec, raw)


def get_many(s: Session, village_id: int, *keys: str) -> tuple[Any, ...]:
    """Several settings of a village in one query, in the order asked."""
    rows = dict(s.execute(_SOME, {"vid": village_id, "keys": list(keys)}).all())
    return tuple(_decode(SPECS[k], rows.get(k)) for k in keys)


# built once (every card page and counter run asks for a few settings)
_SOME = select(Setting.key, Setting.value).where(Setting.village_id == bindparam("vid"),
                                                 Setting.key.in_(bindparam("keys", expanding=True)))


def all_for(s: Session, village_id: int) -> dict[str, Any]:
    rows = dict(s.execute(select(Setting.key, Setting.value).where(Setting.village_id == village_id)).all())
    return {k: _decode(spec, rows.get(k)) for k, spec in SPECS.items()}


def current_values(db, village_id: int) -> dict[str, Any]:
    """Every setting of the village as it stands (the default where none is stored): the settings page's
    forms start from these, read in a transaction of their own."""
    with db.read() as s:
        return all_for(s, village_id)


def validate(key: str, value: Any) -> Any:
    """Return the cleaned value or raise InvalidInput with a Chinese message."""
    if key not in SPECS:
        raise InvalidInput(f"未知的设置项：{key}")
    spec = SPECS[key]
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise InvalidInput(f"“{spec.label}”只能是开或关。")
    elif spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"“{spec.label}”必须是整数。")
        if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
            raise InvalidInput(f"“{spec.label}”必须在 {spec.min} 到 {spec.max} 之间。")
    elif spec.kind == "choice":
        if value not in spec.choices:
            raise InvalidInput(f"“{spec.label}”的取值无效。")
    elif spec.kind == "list_int":
        if (not isinstance(value, list) or len(value) != 5 or not all(isinstance(v, int) and v > 0 for v in value)
                or value != sorted(value) or len(set(value)) != 5):
            raise InvalidInput(f"“{spec.label}”必须是 5 个从小到大的正整数。")
    elif spec.kind == "dict":
        if not isinstance(value, dict) or set(value) != set(spec.default):
            raise InvalidInput(f"“{spec.label}”必须给出每一类的权重。")
        for v in value.values():
            if not isinstance(v, int | float) or isinstance(v, bool) or not (0 < v <= 10):
                raise InvalidInput(f"“{spec.label}”每项权重必须在 0 到 10 之间。")
    elif spec.kind == "str":
        if not isinstance(value, str) or len(value) > 200:
            raise InvalidInput(f"“{spec.label}”不能超过 200 个字符。")
        value = value.strip()
        if key == "public_url" and value and not value.startswith(("http://", "https://")):
            raise InvalidInput("积分卡链接地址必须以 http:// 或 https:// 开头。")
    return value


def change(db, actor: Actor, village_id: int, key: str, value: Any) -> None:
    """Change one setting; audited with old → new."""
    value = validate(key, value)
    require(actor, "admin", village_id)
    with db.write() as s:
        old = get(s, village_id, key)
        if old == value:
            return
        row = s.get(Setting, (village_id, key))
        encoded = json.dumps(value, ensure_ascii=False)
        if row is None:
            s.add(Setting(village_id=village_id, key=key, value=encoded))
        else:
            row.value = encoded
        record(s, actor, "setting.change", "setting", key, {"old": old, "new": value}, village_id=village_id)
