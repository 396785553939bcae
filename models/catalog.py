"""The codes of the domain (DOMAIN.md §4 and §6) and the default CN rule data.

Everything here is data: the activity that loads a case's rules copies what the case needs into
its snapshot, so a running case keeps the rules it started with.
"""

from __future__ import annotations

from decimal import Decimal

from models.zone import BUSINESS_TZ as BUSINESS_TZ

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

# DOMAIN §6a: causes a product excludes (责任免除), by line; "*" applies to every line. The
# clause that states each one is product data (a clause's `causes`).
EXCLUSION_CAUSES: dict[str, tuple[str, ...]] = {
    "*": ("intentional", "war", "nuclear"),
    "auto": ("drunk_or_drugged", "unlicensed", "uninspected", "racing", "fled_scene"),
    "medical": ("cosmetic", "pre_existing", "self_inflicted", "drunk_or_drugged"),
    "accident": ("self_inflicted", "criminal_act", "drunk_or_drugged", "dangerous_sport"),
    "property": ("wear_and_tear", "gradual", "unattended_theft"),
}
EXCLUSION_NAMES: dict[str, tuple[str, str]] = {
    "intentional": ("故意行为", "intentional act of the insured or beneficiary"),
    "war": ("战争、军事冲突、恐怖活动", "war, military conflict, terrorism"),
    "nuclear": ("核辐射、核污染", "nuclear radiation or contamination"),
    "drunk_or_drugged": ("饮酒、吸毒、服用管制药品后驾驶", "driving after drink or drugs"),
    "unlicensed": ("无驾驶证、驾驶证失效或准驾车型不符", "no valid driving licence"),
    "uninspected": ("未按规定检验", "vehicle not inspected as required"),
    "racing": ("竞赛、测试", "racing or testing"),
    "fled_scene": ("事故后逃离现场", "leaving the scene of the accident"),
    "cosmetic": ("美容、整形", "cosmetic treatment"),
    "pre_existing": ("既往症", "pre-existing condition"),
    "self_inflicted": ("自杀、故意自伤", "suicide or intentional self-injury"),
    "criminal_act": ("犯罪、拒捕", "crime or resisting arrest"),
    "dangerous_sport": ("潜水、跳伞、攀岩等高风险运动", "dangerous sport"),
    "wear_and_tear": ("自然磨损、锈蚀", "wear and tear, rust"),
    "gradual": ("渐变、渗漏", "gradual deterioration, seepage"),
    "unattended_theft": ("无明显撬窃痕迹的盗窃", "theft without signs of forced entry"),
}
# Causes a claim may declare that a product covers; a cause that is neither these nor an
# exclusion is unknown, and an unknown cause on these lines is never fast-tracked (§6a).
COVERED_CAUSES: dict[str, tuple[str, ...]] = {
    "auto": (
        "collision",
        "overturning",
        "fire",
        "explosion",
        "flood",
        "storm",
        "hail",
        "falling_object",
        "theft",
        "robbery",
    ),
    "property": ("fire", "explosion", "lightning", "storm", "flood", "burst_pipe", "theft"),
    "accident": ("traffic", "fall", "sport", "work", "animal", "drowning", "burn", "accident"),
    "medical": ("illness", "accident"),
}
CAUSE_REQUIRED_FOR_FAST_TRACK = frozenset({"auto", "accident", "property"})
# Other words for an excluded cause that reports use.
CAUSE_ALIASES: dict[str, str] = {
    "drunk_driving": "drunk_or_drugged",
    "drink_driving": "drunk_or_drugged",
    "drugged_driving": "drunk_or_drugged",
    "drug_driving": "drunk_or_drugged",
    "no_licence": "unlicensed",
    "no_license": "unlicensed",
    "suicide": "self_inflicted",
    "self_harm": "self_inflicted",
    "terrorism": "war",
    "hit_and_run": "fled_scene",
    "rust": "wear_and_tear",
    "seepage": "gradual",
    "leak": "gradual",
}

# DOMAIN §6a: the figures an assessor (定损员) records, and which claims they apply to.
ASSESSED_MONEY = ("repair_cost", "salvage_value", "value_at_risk", "actual_value", "loss_amount")
ASSESSED_FIGURES: dict[tuple[str, str], tuple[str, ...]] = {
    ("auto", "collision"): (
        "repair_cost",
        "total_loss",
        "salvage_value",
        "actual_value",
        "depreciation_rate",
    ),
    ("auto", "theft"): ("actual_value", "depreciation_rate"),
    ("property", "fire"): ("loss_amount", "salvage_value", "value_at_risk"),
    ("property", "water"): ("loss_amount", "salvage_value", "value_at_risk"),
    ("property", "theft"): ("loss_amount", "salvage_value", "value_at_risk"),
    ("accident", "disability"): ("disability_grade",),
}
MAX_DISABILITY_GRADE = 10
ALL_ASSESSED_FIGURES = (*ASSESSED_MONEY, "total_loss", "depreciation_rate", "disability_grade")
# A declared figure further than this from the assessed one is flagged to the approver
# (possible exaggeration, 夸大损失).
DECLARED_TOLERANCE = Decimal("0.2")
# Private cars: the vehicle's actual value is its value at inception less this much a month,
# to at most 80 % (the product's depreciation table).
VEHICLE_MONTHLY_DEPRECIATION = Decimal("0.006")
VEHICLE_MAX_DEPRECIATION = Decimal("0.8")
# Property categories whose value an invoice proves; the others need an appraisal.
INVOICED_PROPERTY = frozenset({"equipment", "stock", "contents"})

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
    "assessment_task_days": 5,
    "limitation_years": 2,
}

# A signed decision is taken within this many minutes of its `signed_at`, either way: it bounds
# how long a captured message could be replayed (README "Signed decisions").
SIGNATURE_WINDOW_MINUTES = 10

REGULATOR_HOTLINE = "12378"
COMPANY_HOTLINE = "95500"

COMPANY_NAME = {"zh-CN": "华安示范保险股份有限公司", "en": "Hua'an Demo Insurance Co., Ltd."}

# Calendar days are counted in the insurer's time zone (China Standard Time): BUSINESS_TZ, from
# models/zone.py.

# DOMAIN §8.4: where each complaint category goes.
COMPLAINT_DEPARTMENTS = {
    "claim_decision": "claims_review",  # 核赔审查
    "materials": "claims_documents",  # 资料审核
    "payment_timeliness": "claims_payment",  # 赔付时效
    "service_attitude": "customer_service",  # 服务态度
    "amount_dispute": "claims_adjustment",  # 理算
    "other": "customer_service",
}

# ================================================================== letters (DOMAIN §10, §11)

# The regulation complaint letters cite, by its correct title and order number.
COMPLAINT_REGULATION = {
    "zh-CN": "《银行业保险业消费投诉处理管理办法》（原中国银保监会令2020年第3号）",
    "en": "Measures for the Handling of Consumer Complaints in the Banking and Insurance Sectors "
    "(Order No. 3 of 2020 of the former China Banking and Insurance Regulatory Commission)",
}

# Formal notices go in writing (DOMAIN §11): never by SMS alone. To a claimant with no email
# they go by post (the letter file is the print copy) and an SMS only points to them.
FORMAL_NOTICES = frozenset(
    {
        "not_accepted",
        "missing_materials",
        "additional_materials",
        "decision",
        "denial",
        "appeal_decision",
        "lapse",
        "complaint_decision",
        "complaint_review_decision",
    }
)

# Letters show the insurer's local time (profile CN: Beijing time, no daylight saving).
LOCAL_TIME_NAME = {"zh-CN": "北京时间", "en": "Beijing time, UTC+8"}

# The approval authority (核赔权限) a person's level gives, as letters name it.
APPROVAL_LEVEL_NAMES: dict[int, tuple[str, str]] = {
    1: ("一级核赔", "first-level approver"),
    2: ("二级核赔", "second-level approver"),
    3: ("三级核赔", "third-level approver"),
}

# Why a medical item is not covered, in words (the clause that says so is product data: the
# exclusion that states NON_COVERED_MEDICAL_CAUSE, MED-2.1 "non-necessary expenses" in the
# demo products, which excludes cosmetic treatment and self-paid drugs alike).
NON_COVERED_MEDICAL_CAUSE = "cosmetic"
NON_COVERED_REASONS: dict[str, tuple[str, str]] = {
    "self_paid": (
        "医保目录外的自费药品费用",
        "self-paid drugs outside the medical insurance catalogue",
    ),
    "cosmetic": (
        "美容、整形等非医学必需的费用",
        "cosmetic or other non-medically-necessary treatment",
    ),
}
