"""The codes of the domain (DOMAIN.md §4 and §6) and the default CN rule data.

Everything here is data: the activity that loads a case's rules copies what the case needs into
its snapshot, so a running case keeps the rules it started with.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal

LINES = ("medical", "auto", "property", "accident")

INCIDENT_TYPES: dict[str, tuple[str, ...]] = {
    "medical": ("outpatient", "inpatient"),
    "auto": ("collision", "theft"),
    "property": ("fire", "water", "theft"),
    "accident": ("injury", "disability", "death"),
}

CLAIM_CHANNELS = ("phone", "app", "web", "wechat", "branch", "agent", "api")

# code -> (zh-CN, en)
MATERIAL_KINDS: dict[str, tuple[str, str]] = {
    "claim_form": ("理赔申请书", "claim form"),
    "identity": ("身份证明", "proof of identity"),
    "bank_account": ("收款账户信息", "bank account details"),
    "diagnosis_certificate": ("诊断证明", "diagnosis certificate"),
    "invoices": ("医疗费用发票", "medical invoices"),
    "expense_list": ("费用清单", "itemised expense list"),
    "discharge_summary": ("出院小结", "discharge summary"),
    "driving_licence": ("驾驶证", "driving licence"),
    "vehicle_licence": ("行驶证", "vehicle licence"),
    "accident_report": ("事故认定书", "traffic accident report"),
    "repair_estimate": ("定损单/维修发票", "loss assessment or repair invoice"),
    "photos": ("现场照片", "photos of the scene and the damage"),
    "police_report": ("公安立案证明", "police report"),
    "keys_handover": ("车钥匙交接记录", "keys handover record"),
    "loss_list": ("损失清单", "list of lost or damaged property"),
    "ownership_proof": ("购置凭证", "proof of ownership or value"),
    "fire_report": ("消防证明", "fire brigade report"),
    "accident_proof": ("意外事故证明", "proof of the accident"),
    "disability_appraisal": ("伤残鉴定书", "disability appraisal report"),
    "death_certificate": ("死亡证明", "death certificate"),
    "household_cancellation": ("户籍注销证明", "household registration cancellation"),
    "relationship_proof": ("关系证明", "proof of relationship to the insured"),
}

COMMON_MATERIALS = ("claim_form", "identity", "bank_account")

_MEDICAL_OUTPATIENT = ("diagnosis_certificate", "invoices", "expense_list")
_PROPERTY = ("loss_list", "ownership_proof", "photos")

CHECKLISTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("medical", "outpatient"): _MEDICAL_OUTPATIENT,
    ("medical", "inpatient"): (*_MEDICAL_OUTPATIENT, "discharge_summary"),
    ("auto", "collision"): (
        "driving_licence",
        "vehicle_licence",
        "accident_report",
        "repair_estimate",
        "photos",
    ),
    ("auto", "theft"): ("vehicle_licence", "police_report", "keys_handover"),
    ("property", "fire"): (*_PROPERTY, "fire_report"),
    ("property", "water"): _PROPERTY,
    ("property", "theft"): (*_PROPERTY, "police_report"),
    ("accident", "injury"): ("accident_proof", "diagnosis_certificate", "invoices"),
    ("accident", "disability"): ("accident_proof", "disability_appraisal"),
    ("accident", "death"): (
        "accident_proof",
        "death_certificate",
        "household_cancellation",
        "relationship_proof",
    ),
}

# Documents that describe the incident itself: one dated before the incident trips R05.
INCIDENT_DOCUMENTS = frozenset(
    {
        "diagnosis_certificate",
        "invoices",
        "expense_list",
        "discharge_summary",
        "accident_report",
        "repair_estimate",
        "photos",
        "police_report",
        "fire_report",
        "accident_proof",
        "disability_appraisal",
        "death_certificate",
        "loss_list",
    }
)

# Item categories by line. Medical `self_paid` and `cosmetic` are not covered (DOMAIN §6);
# property categories choose the valuation method.
ITEM_CATEGORIES: dict[str, tuple[str, ...]] = {
    "medical": (
        "treatment",
        "drugs",
        "examination",
        "surgery",
        "bed",
        "nursing",
        "self_paid",
        "cosmetic",
    ),
    "auto": ("parts", "labour", "towing", "other"),
    "property": ("building", "equipment", "stock", "jewellery", "art", "contents"),
    "accident": ("treatment", "drugs", "examination", "surgery", "bed", "self_paid", "cosmetic"),
}
NON_COVERED_MEDICAL = frozenset({"self_paid", "cosmetic"})

# (zh-CN, en) names used in letters
LINE_NAMES = {
    "medical": ("医疗保险", "medical insurance"),
    "auto": ("机动车损失保险", "motor own-damage insurance"),
    "property": ("财产保险", "property insurance"),
    "accident": ("意外伤害保险", "personal accident insurance"),
}
INCIDENT_NAMES = {
    "outpatient": ("门诊", "outpatient treatment"),
    "inpatient": ("住院", "inpatient treatment"),
    "collision": ("碰撞", "collision"),
    "theft": ("盗抢", "theft"),
    "fire": ("火灾", "fire"),
    "water": ("水渍", "water damage"),
    "injury": ("意外伤害医疗", "accidental injury"),
    "disability": ("意外伤残", "accidental disability"),
    "death": ("意外身故", "accidental death"),
}

# DOMAIN §7: authority limits in CNY, by level.
AUTHORITY_LIMITS: dict[int, Decimal] = {
    1: Decimal("20000"),
    2: Decimal("200000"),
    3: Decimal("1000000"),
}

# DOMAIN §5
TRIAGE = {
    "new_policy_days": 90,
    "amount_share_of_sum_insured": Decimal("0.5"),
    "amount_absolute": Decimal("100000"),
    "claims_in_12_months": 3,
    "late_report_days": 30,
    "stp_max_amount": Decimal("5000"),
}

# DOMAIN §2.3 / §3, profile CN: days
CN_DEADLINES = {
    "determination_days": 30,
    "advance_payment_days": 60,
    "investigation_days": 10,
    "appeal_review_days": 30,
    "reopen_window_days": 90,
    "payment_days": 10,
    "denial_notice_days": 3,
    "appeal_days": 30,
    "materials_reminder_days": (15, 30),
    "materials_suspension_days": 60,
    "approval_task_days": 3,
    "adjust_task_days": 3,
}

# A signed decision is taken within this many minutes of its `signed_at`, either way: it bounds
# how long a captured message could be replayed (README "Signed decisions").
SIGNATURE_WINDOW_MINUTES = 10

REGULATOR_HOTLINE = "12378"
COMPANY_HOTLINE = "95500"

COMPANY_NAME = {"zh-CN": "华安示范保险股份有限公司", "en": "Hua'an Demo Insurance Co., Ltd."}

# Calendar days are counted in the insurer's time zone (China Standard Time).
BUSINESS_TZ = timezone(timedelta(hours=8))

# DOMAIN §8.4: where each complaint category goes.
COMPLAINT_DEPARTMENTS = {
    "claim_decision": "claims_review",  # 核赔审查
    "materials": "claims_documents",  # 资料审核
    "payment_timeliness": "claims_payment",  # 赔付时效
    "service_attitude": "customer_service",  # 服务态度
    "amount_dispute": "claims_adjustment",  # 理算
    "other": "customer_service",
}
