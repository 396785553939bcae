"""Everything the page says, in zh-CN and en. Stages, deadlines and materials are put in
plain words here: the page never shows an internal code (a stage name, a rule, a level)."""

from __future__ import annotations

from models.catalog import INCIDENT_TYPES, LINES, MATERIAL_KINDS

LANGUAGES = ("zh-CN", "en")

# stage -> ((zh where, zh next), (en where, en next))
_STAGES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "REPORTED": (
        ("我们已收到您的报案，正在登记。", "我们将核对保单并告诉您是否受理。"),
        (
            "We have your claim and are registering it.",
            "We check the policy and tell you whether we accept the claim.",
        ),
    ),
    "ACCEPTED": (
        ("您的理赔已受理。", "我们正在核对您提交的材料。"),
        ("Your claim has been accepted.", "We are checking the documents you sent."),
    ),
    "NOT_ACCEPTED": (
        ("您的报案未能受理，原因见我们寄出的通知书。", "如有疑问，请致电客服或在本页投诉。"),
        (
            "We could not accept this claim; the letter we sent explains why.",
            "If you disagree, call us or file a complaint on this page.",
        ),
    ),
    "AWAITING_MATERIALS": (
        ("我们还需要您补充一些材料。", "请上传下列材料；收齐后我们继续审核。"),
        (
            "We need some more documents from you.",
            "Please upload the documents listed below; we carry on once we have them.",
        ),
    ),
    "SUSPENDED": (
        ("因材料长期未补齐，理赔已暂停。", "上传所缺材料后，理赔将继续办理。"),
        (
            "Your claim is on hold because documents are still missing.",
            "Upload the missing documents and we will carry on.",
        ),
    ),
    "UNDER_REVIEW": (
        ("材料已齐，我们正在审核您的理赔。", "审核完成后我们将通知您结果。"),
        (
            "We have everything and are reviewing your claim.",
            "We will tell you the outcome when the review is done.",
        ),
    ),
    "INVESTIGATING": (
        ("我们正在对事故情况进行核实调查。", "调查完成后继续审核，期间可能与您联系。"),
        (
            "We are checking the facts of the incident.",
            "We may contact you; the review continues when the checks are done.",
        ),
    ),
    "ASSESSING": (
        ("我们的定损人员正在评估损失。", "评估完成后计算赔款金额。"),
        (
            "Our assessor is assessing the loss.",
            "We work out the amount once the assessment is done.",
        ),
    ),
    "ADJUSTING": (
        ("我们正在计算应赔金额。", "计算完成后进入审批。"),
        ("We are working out the amount payable.", "The amount then goes for approval."),
    ),
    "PENDING_APPROVAL": (
        ("赔款金额已算出，正在内部审批。", "审批通过后安排付款。"),
        (
            "The amount has been worked out and is being approved.",
            "Once approved, we arrange the payment.",
        ),
    ),
    "RETURNED": (
        ("您的理赔正在重新核算。", "重新核算后再次审批。"),
        ("We are checking the amount again.", "It then goes for approval again."),
    ),
    "APPROVED": (
        ("您的理赔已获批准。", "我们正在安排付款。"),
        ("Your claim has been approved.", "We are arranging the payment."),
    ),
    "PAYING": (
        ("赔款正在支付中。", "款项到账后我们会通知您。"),
        ("The payment is on its way.", "We will tell you when it has been paid."),
    ),
    "PAID": (
        ("赔款已支付。", "理赔即将结案。"),
        ("The claim has been paid.", "The claim will now be closed."),
    ),
    "DENIED": (
        ("很遗憾，经审核本次理赔不予赔付。", "我们将寄出拒赔通知书，说明理由和依据的条款。"),
        (
            "We are sorry: after review, this claim is not payable.",
            "We will send you a letter with the reasons and the policy terms.",
        ),
    ),
    "DENIAL_NOTIFIED": (
        (
            "很遗憾，本次理赔不予赔付，理由见拒赔通知书。",
            "如不同意，可在收到通知后30日内在本页申请复议。",
        ),
        (
            "We are sorry: this claim is not payable; the letter explains why.",
            "If you disagree, you can appeal on this page within 30 days of the letter.",
        ),
    ),
    "APPEALED": (
        ("我们已收到您的复议申请。", "由未参与原决定的人员组成合议小组重新审查。"),
        (
            "We have your appeal.",
            "A panel of people not involved in the first decision reviews it.",
        ),
    ),
    "REOPENED": (
        ("您的理赔已重新开启审核。", "审核完成后我们将通知您结果。"),
        ("Your claim has been reopened.", "We will tell you the outcome when the review is done."),
    ),
    "WITHDRAWN": (
        ("您已撤回本次理赔。", "无需其他操作。"),
        ("You withdrew this claim.", "Nothing more is needed."),
    ),
    "LAPSED": (
        ("因材料长期未补齐，理赔已终止。", "如有疑问，请致电客服。"),
        (
            "The claim has ended because documents were not sent in time.",
            "If you have questions, call us.",
        ),
    ),
    "CLOSED": (
        ("本次理赔已结案。", "无需其他操作。"),
        ("This claim is closed.", "Nothing more is needed."),
    ),
}

_DEADLINES = {
    "determination": ("核定是否赔付", "deciding your claim"),
    "payment": ("支付赔款", "paying you"),
    "denial_notice": ("寄出拒赔通知", "sending the letter about the decision"),
}

_DEADLINE_STATUS = {
    "running": ("计时中", "running"),
    "paused": ("暂停", "paused"),
    "met": ("已按时完成", "met"),
    "breached": ("已超期完成", "done late"),
    "overdue": ("已超期", "overdue"),
}

_LINES = {
    "medical": ("医疗保险", "Medical"),
    "auto": ("机动车保险", "Motor"),
    "property": ("财产保险", "Property"),
    "accident": ("意外伤害保险", "Accident"),
}

_INCIDENTS = {
    "outpatient": ("门诊", "outpatient treatment"),
    "inpatient": ("住院", "hospital stay"),
    "collision": ("碰撞事故", "collision"),
    "theft": ("盗抢", "theft"),
    "fire": ("火灾", "fire"),
    "water": ("水浸", "water damage"),
    "injury": ("意外受伤", "injury"),
    "disability": ("意外伤残", "disability"),
    "death": ("意外身故", "death"),
}
assert set(_INCIDENTS) == {i for line in LINES for i in INCIDENT_TYPES[line]}

_LETTERS = {
    "acknowledgement": ("受理通知书", "acknowledgement"),
    "additional_materials": ("补充材料通知书", "request for further documents"),
    "advance_payment": ("预付赔款通知书", "advance payment notice"),
    "appeal_decision": ("复议决定书", "decision on your appeal"),
    "appeal_received": ("复议受理通知书", "appeal received"),
    "decision": ("理赔决定通知书", "decision"),
    "delay": ("延期说明", "notice of delay"),
    "denial": ("拒赔通知书", "letter of denial"),
    "investigation": ("调查通知", "notice of investigation"),
    "lapse": ("理赔终止通知书", "claim ended"),
    "materials_reminder": ("补充材料提醒", "reminder about documents"),
    "missing_materials": ("补充材料通知书", "request for documents"),
    "not_accepted": ("不予受理通知书", "claim not accepted"),
    "payment": ("赔款支付通知书", "payment notice"),
    "suspension": ("理赔中止通知书", "claim on hold"),
    "withdrawal": ("撤回确认书", "withdrawal confirmed"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh-CN" else pair[1]


def stage(code: str, lang: str) -> tuple[str, str]:
    """Where the claim is and what happens next, in plain words."""
    zh, en = _STAGES.get(code, _STAGES["UNDER_REVIEW"])
    return zh if lang == "zh-CN" else en


def deadline(name: str, lang: str) -> str:
    return _pick(_DEADLINES.get(name, ("处理您的理赔", "handling your claim")), lang)


def deadline_status(status: str, lang: str) -> str:
    return _pick(_DEADLINE_STATUS.get(status, ("计时中", "running")), lang)


def pause_reason(reason: str, lang: str) -> str:
    """Why a deadline is paused: the one pause a claim knows is waiting for documents."""
    if "material" in reason:
        return _pick(("等待您补充材料，补齐后恢复计时", "waiting for your documents"), lang)
    return _pick(("暂停计时", "paused"), lang)


def material(kind: str, lang: str) -> str:
    return _pick(MATERIAL_KINDS.get(kind, ("其他材料", "other document")), lang)


def line(code: str, lang: str) -> str:
    return _pick(_LINES.get(code, ("保险", "Insurance")), lang)


def incident(code: str, lang: str) -> str:
    return _pick(_INCIDENTS.get(code, ("事故", "incident")), lang)


def letter(kind: str, lang: str) -> str:
    return _pick(_LETTERS.get(kind, ("通知", "letter")), lang)


_ITEM_CATEGORIES = {
    "treatment": ("诊疗费", "treatment"),
    "drugs": ("药品费", "medicines"),
    "examination": ("检查费", "tests and scans"),
    "surgery": ("手术费", "surgery"),
    "bed": ("床位费", "hospital bed"),
    "nursing": ("护理费", "nursing"),
    "self_paid": ("自费项目", "paid by yourself (not covered)"),
    "cosmetic": ("美容项目", "cosmetic (not covered)"),
    "parts": ("配件", "parts"),
    "labour": ("工时费", "labour"),
    "towing": ("拖车费", "towing"),
    "other": ("其他", "other"),
    "building": ("房屋", "building"),
    "equipment": ("设备", "equipment"),
    "stock": ("存货", "stock"),
    "jewellery": ("首饰", "jewellery"),
    "art": ("艺术品", "works of art"),
    "contents": ("室内财产", "household contents"),
}


def item_category(code: str, lang: str) -> str:
    return _pick(_ITEM_CATEGORIES.get(code, ("其他", "other")), lang)


_COMPLAINT_STAGES = {
    "RECEIVED": ("已收到", "received"),
    "REGISTERED": ("已登记，正在处理", "registered and being handled"),
    "DECLINED": ("不予受理，理由见我们的答复", "not taken up; our reply explains why"),
    "NOT_ACCEPTED": ("无法受理，请致电客服", "could not be taken up; please call us"),
    "TRIAGED": ("正在处理", "being handled"),
    "INVESTIGATING": ("正在调查核实", "being looked into"),
    "RESOLUTION_PROPOSED": ("正在拟定处理方案", "a resolution is being prepared"),
    "DECIDED": ("已作出处理决定", "decided"),
    "EXECUTING": ("正在落实处理决定", "the decision is being carried out"),
    "AWAITING_CLAIM_REVIEW": ("理赔正在重新审核", "the claim is being reviewed again"),
    "CALLBACK": ("我们将回访您", "we will call you back"),
    "REVIEW_OFFERED": ("如不满意可申请复核", "you can ask for a review if not satisfied"),
    "UNDER_REVIEW": ("正在复核", "under review"),
    "CLOSED": ("已办结", "closed"),
}


def complaint_stage(code: str, lang: str) -> str:
    return _pick(_COMPLAINT_STAGES.get(code, ("正在处理", "being handled")), lang)
