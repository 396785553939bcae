"""The demo data: four policies (one per line of business), their products' clauses, the
demo staff and the watch list. `demo` (demo/__init__.py) loads them."""

from __future__ import annotations

from typing import Any, TypedDict


class DemoPolicy(TypedDict):
    policy_no: str
    line: str
    product_code: str
    insured: tuple[str, str]  # name, id number
    terms: dict[str, Any]


ZHANG = ("张三", "110101198001011234")
LI = ("李四", "110101195001011234")

POLICIES: list[DemoPolicy] = [
    DemoPolicy(
        policy_no="P-MED-0001",
        line="medical",
        product_code="MED-STD",
        insured=ZHANG,
        terms={
            "sum_insured": "200000",
            "annual_limit": "200000",
            "deductible": "500",
            "ratio": "0.8",
            "waiting_period_days": 30,
        },
    ),
    DemoPolicy(
        policy_no="P-AUTO-0001",
        line="auto",
        product_code="AUTO-OD",
        insured=ZHANG,
        terms={"sum_insured": "150000", "vehicle_value": "150000", "deductible": "1000"},
    ),
    DemoPolicy(
        policy_no="P-PROP-0001",
        line="property",
        product_code="PROP-STD",
        insured=ZHANG,
        terms={"sum_insured": "500000", "value_at_risk": "500000", "deductible": "1000"},
    ),
    DemoPolicy(
        policy_no="P-ACC-0001",
        line="accident",
        product_code="ACC-STD",
        insured=LI,
        terms={"sum_insured": "500000"},
    ),
]

# (product, id, kind, title zh, title en, text zh, text en)
CLAUSES: list[tuple[str, str, str, str, str, str, str]] = [
    (
        "MED-STD",
        "MED-1.1",
        "coverage",
        "保险责任",
        "Cover",
        "在保险期间内，被保险人因意外伤害或在等待期满后因疾病在医院接受治疗的，对其发生的必需且合理的"
        "医疗费用，本公司在扣除年免赔额后按约定的给付比例给付医疗保险金，累计以年度保险金额为限。",
        "During the policy period the Company reimburses necessary and reasonable medical expenses of the "
        "insured for accidental injury, or for illness after the waiting period, less the annual "
        "deductible and at the agreed ratio, up to the annual limit.",
    ),
    (
        "MED-STD",
        "MED-2.1",
        "exclusion",
        "责任免除：非必需费用",
        "Exclusion: non-necessary expenses",
        "美容、整形及非医学必需的费用，以及医保目录外自费药品费用，本公司不承担给付责任。",
        "Cosmetic and non-medically-necessary treatment and self-paid drugs outside the medical "
        "insurance catalogue are not covered.",
    ),
    (
        "MED-STD",
        "MED-2.2",
        "exclusion",
        "责任免除：既往症",
        "Exclusion: pre-existing conditions",
        "被保险人在投保前已患有且未如实告知的疾病及其并发症，本公司不承担给付责任。",
        "Illness existing before the policy and not disclosed, and its complications, are not covered.",
    ),
    (
        "MED-STD",
        "MED-3.1",
        "waiting_period",
        "等待期",
        "Waiting period",
        "自本合同生效之日起 30 日为等待期。被保险人在等待期内因疾病发生的医疗费用，本公司不承担给付责任；"
        "因意外伤害发生的医疗费用不受等待期限制。",
        "The 30 days from the start of the policy are a waiting period. Medical expenses for illness "
        "arising in the waiting period are not covered; accidental injury is not subject to it.",
    ),
    (
        "AUTO-OD",
        "AUTO-1.1",
        "coverage",
        "保险责任",
        "Cover",
        "保险期间内，被保险人或其允许的驾驶人在使用被保险机动车过程中，因碰撞、倾覆、火灾等原因造成被保险"
        "机动车的直接损失，以及被保险机动车被盗窃、抢劫、抢夺，本公司依照本合同约定负责赔偿。",
        "The Company indemnifies direct loss of or damage to the insured vehicle by collision, "
        "overturning or fire while in use by the insured or an authorised driver, and its theft, "
        "robbery or seizure.",
    ),
    (
        "AUTO-OD",
        "AUTO-2.1",
        "exclusion",
        "责任免除：驾驶资格",
        "Exclusion: driver not qualified",
        "事故发生时驾驶人无驾驶证、驾驶证失效或被依法扣留、饮酒或醉酒驾驶的，本公司不负责赔偿。",
        "Loss while the driver holds no valid licence or drives under the influence of alcohol is "
        "not covered.",
    ),
    (
        "AUTO-OD",
        "AUTO-2.2",
        "exclusion",
        "责任免除：故意行为",
        "Exclusion: intentional acts",
        "被保险人或驾驶人的故意行为造成的损失，本公司不负责赔偿。",
        "Loss caused intentionally by the insured or the driver is not covered.",
    ),
    (
        "PROP-STD",
        "PROP-1.1",
        "coverage",
        "保险责任",
        "Cover",
        "在保险期间内，由于火灾、爆炸、雷击、暴雨、水管爆裂或盗窃造成保险标的的直接物质损坏或灭失，"
        "本公司按照本合同约定负责赔偿。",
        "The Company indemnifies direct physical loss of or damage to the insured property by fire, "
        "explosion, lightning, storm, burst pipes or theft.",
    ),
    (
        "PROP-STD",
        "PROP-2.1",
        "exclusion",
        "责任免除：自然磨损",
        "Exclusion: wear and tear",
        "保险标的的自然磨损、锈蚀、霉变及本身缺陷造成的损失，本公司不负责赔偿。",
        "Wear and tear, rust, mould and inherent defects are not covered.",
    ),
    (
        "PROP-STD",
        "PROP-2.2",
        "exclusion",
        "责任免除：故意行为",
        "Exclusion: intentional acts",
        "投保人、被保险人的故意或重大过失行为造成的损失，本公司不负责赔偿。",
        "Loss caused intentionally or by gross negligence of the policyholder or insured is not "
        "covered.",
    ),
    (
        "ACC-STD",
        "ACC-1.1",
        "coverage",
        "保险责任",
        "Cover",
        "被保险人遭受意外伤害，自事故发生之日起 180 日内因该事故身故、伤残或发生医疗费用的，本公司按照"
        "本合同约定给付身故保险金、伤残保险金或意外医疗保险金。",
        "If the insured dies, is disabled or incurs medical expenses within 180 days of an accident, "
        "the Company pays the death, disability or accidental medical benefit as agreed.",
    ),
    (
        "ACC-STD",
        "ACC-2.1",
        "exclusion",
        "责任免除：故意及违法行为",
        "Exclusion: intentional and unlawful acts",
        "被保险人故意自伤、自杀（但被保险人自杀时为无民事行为能力人的除外）、故意犯罪或拒捕、"
        "醉酒或毒驾导致的身故或伤残，本公司不承担给付责任。",
        "Death or disability from intentional self-injury, suicide (unless the insured lacked "
        "capacity), a crime, resisting arrest, or driving drunk or drugged is not covered.",
    ),
    (
        "ACC-STD",
        "ACC-2.2",
        "exclusion",
        "责任免除：疾病",
        "Exclusion: illness",
        "被保险人因疾病（包括猝死）导致的身故或伤残不属于意外伤害，本公司不承担给付责任。",
        "Death or disability caused by illness, including sudden death, is not an accident and is "
        "not covered.",
    ),
]

# Exclusion clauses added with DOMAIN §6a: every product states the general exclusions, and
# each line its own.
CLAUSES += [
    (
        "MED-STD",
        "MED-2.3",
        "exclusion",
        "责任免除：故意行为、自伤及酒后吸毒",
        "Exclusion: intentional acts, self-injury, drink and drugs",
        "投保人、被保险人的故意行为，被保险人自杀、故意自伤，或因饮酒、吸毒、服用管制药品导致的医疗费用，"
        "本公司不承担给付责任。",
        "Medical expenses caused by an intentional act of the policyholder or the insured, suicide or "
        "self-injury, or drink, drugs or controlled medicines are not covered.",
    ),
    (
        "MED-STD",
        "MED-2.4",
        "exclusion",
        "责任免除：战争及核风险",
        "Exclusion: war and nuclear risks",
        "战争、军事冲突、暴乱、恐怖活动，核爆炸、核辐射或核污染导致的医疗费用，本公司不承担给付责任。",
        "Medical expenses caused by war, military conflict, riot, terrorism, nuclear explosion, "
        "radiation or contamination are not covered.",
    ),
    (
        "AUTO-OD",
        "AUTO-2.3",
        "exclusion",
        "责任免除：未年检、竞赛及肇事逃逸",
        "Exclusion: uninspected vehicle, racing, leaving the scene",
        "被保险机动车未按规定检验或检验不合格，在营业性场所维修保养期间或用于竞赛、测试，以及事故发生后"
        "驾驶人在未依法采取措施的情况下驾驶被保险机动车或者遗弃被保险机动车逃离事故现场的，本公司不负责赔偿。",
        "Loss while the vehicle was not inspected as required or failed inspection, was used for "
        "racing or testing, or after the driver left the scene of the accident is not covered.",
    ),
    (
        "AUTO-OD",
        "AUTO-2.4",
        "exclusion",
        "责任免除：战争及核风险",
        "Exclusion: war and nuclear risks",
        "战争、军事冲突、恐怖活动、暴乱，核爆炸、核裂变、核聚变，放射性污染造成的损失，本公司不负责赔偿。",
        "Loss caused by war, military conflict, terrorism, riot, nuclear reaction or radioactive "
        "contamination is not covered.",
    ),
    (
        "PROP-STD",
        "PROP-2.3",
        "exclusion",
        "责任免除：渐变损失及无明显痕迹的盗窃",
        "Exclusion: gradual loss, theft without forced entry",
        "保险标的因渐变、渗漏、锈蚀等逐渐发生的损失，以及无明显撬窃痕迹的盗窃损失，本公司不负责赔偿。",
        "Gradual loss such as seepage or corrosion, and theft without visible signs of forced entry, "
        "are not covered.",
    ),
    (
        "PROP-STD",
        "PROP-2.4",
        "exclusion",
        "责任免除：战争及核风险",
        "Exclusion: war and nuclear risks",
        "战争、军事冲突、恐怖活动、暴乱，核辐射、核污染造成的损失，本公司不负责赔偿。",
        "Loss caused by war, military conflict, terrorism, riot or nuclear radiation or "
        "contamination is not covered.",
    ),
    (
        "ACC-STD",
        "ACC-2.3",
        "exclusion",
        "责任免除：高风险运动",
        "Exclusion: dangerous sports",
        "被保险人从事潜水、跳伞、攀岩、探险、武术比赛、摔跤比赛、特技表演、赛马、赛车等高风险运动期间"
        "遭受的意外伤害，本公司不承担给付责任，但本合同另有约定的除外。",
        "Injury while diving, parachuting, climbing, exploring, in martial arts or wrestling "
        "contests, stunts, horse or motor racing is not covered unless agreed in the policy.",
    ),
    (
        "ACC-STD",
        "ACC-2.4",
        "exclusion",
        "责任免除：战争及核风险",
        "Exclusion: war and nuclear risks",
        "战争、军事冲突、暴乱、恐怖活动，核爆炸、核辐射或核污染导致被保险人身故或伤残的，本公司不承担给付责任。",
        "Death or disability caused by war, military conflict, riot, terrorism, nuclear explosion, "
        "radiation or contamination is not covered.",
    ),
]

# Which exclusion codes (DOMAIN §6a) each clause states.
CLAUSE_CAUSES: dict[str, list[str]] = {
    "MED-2.1": ["cosmetic"],
    "MED-2.2": ["pre_existing"],
    "MED-2.3": ["intentional", "self_inflicted", "drunk_or_drugged"],
    "MED-2.4": ["war", "nuclear"],
    "AUTO-2.1": ["unlicensed", "drunk_or_drugged"],
    "AUTO-2.2": ["intentional"],
    "AUTO-2.3": ["uninspected", "racing", "fled_scene"],
    "AUTO-2.4": ["war", "nuclear"],
    "PROP-2.1": ["wear_and_tear"],
    "PROP-2.2": ["intentional"],
    "PROP-2.3": ["gradual", "unattended_theft"],
    "PROP-2.4": ["war", "nuclear"],
    "ACC-2.1": ["intentional", "self_inflicted", "criminal_act", "drunk_or_drugged"],
    "ACC-2.3": ["dangerous_sport"],
    "ACC-2.4": ["war", "nuclear"],
}

# (staff id, name, approval level, roles)
STAFF: list[tuple[str, str, int, list[str]]] = [
    ("adj1", "王理赔", 1, ["adjuster"]),
    ("adj2", "赵理赔", 1, ["adjuster"]),
    ("sup1", "陈主管", 2, ["supervisor"]),
    ("sup2", "刘主管", 2, ["supervisor"]),
    ("sup3", "周主管", 2, ["supervisor"]),
    ("mgr1", "孙经理", 3, ["manager"]),
    ("inv1", "吴调查", 0, ["investigator"]),
    ("cc1", "郑协调", 2, ["complaint_coordinator"]),
    ("h1", "冯专员", 1, ["complaint_handler"]),
    ("clerk1", "何受理", 0, ["intake"]),
    ("h2", "褚专员", 1, ["complaint_handler"]),
    ("adv1", "卫顾问", 1, ["special_care_advisor"]),
    ("ast1", "蒋定损", 0, ["assessor"]),
    ("ast2", "沈定损", 0, ["assessor"]),
]

# (id number or bank account, reason)
WATCH_LIST: list[tuple[str, str]] = [
    ("110101197001019999", "demo entry: suspected staged losses"),
    ("6222029999990001", "demo entry: account that received staged-loss payments"),
]
