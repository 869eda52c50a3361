"""The console's words in English and Simplified Chinese, and how a request picks its language.

Support staff read the console in Chinese, the acquirer's engineers often in English, so every
label on every page comes from :data:`STRINGS`; cause texts come from the doctor's catalog and
response-code meanings from :mod:`possettle.iso8583.codes`, never from here. A page picks its
language from ``?lang=`` (remembered in a cookie), then the cookie, then ``Accept-Language``.

>>> pick_language(None, None, "zh-CN,zh;q=0.9,en;q=0.8")
'zh'
>>> t("zh", "fleet")
'终端总览'
"""

from __future__ import annotations

from typing import Final

LANGS: Final = ("en", "zh")
DEFAULT_LANG: Final = "en"
LANG_COOKIE: Final = "possettle_lang"

# key: (English, Chinese); one entry a line so a missing translation shows in review.
STRINGS: Final[dict[str, tuple[str, str]]] = {
    "title": ("possettle console", "possettle 运维控制台"),
    "fleet": ("Fleet", "终端总览"),
    "settlements": ("Settlements", "结算"),
    "transactions": ("Transactions", "交易"),
    "alerts": ("Alerts", "告警"),
    "users": ("Users", "用户"),
    "terminal": ("Terminal", "终端"),
    "login": ("Log in", "登录"),
    "logout": ("Log out", "退出"),
    "username": ("Username", "用户名"),
    "password": ("Password", "密码"),
    "role": ("Role", "角色"),
    "bad_login": ("Wrong username or password.", "用户名或密码错误。"),
    "locked": (
        "Too many failed attempts: try again after {until}.",
        "失败次数过多，请在 {until} 之后再试。",
    ),
    "merchant": ("Merchant", "商户"),
    "region": ("Region", "地区"),
    "model": ("Model", "型号"),
    "status": ("Status", "状态"),
    "online": ("online", "在线"),
    "offline": ("offline", "离线"),
    "closed": ("closed for the day", "已收工"),
    "not_reporting": ("not reporting", "未上报"),
    "disabled": ("disabled", "已停用"),
    "software": ("Software", "软件版本"),
    "last_signon": ("Last sign-on", "最近签到"),
    "last_seen": ("Last seen", "最近通讯"),
    "open_batch": ("Open batch", "当前批次"),
    "age": ("age", "时长"),
    "entries": ("entries", "笔"),
    "report": ("Last report", "最近上报"),
    "pending_reversals": ("Pending reversals", "待冲正"),
    "offline_items": ("Offline items", "离线待上送"),
    "last_settlement": ("Last settlement", "最近结算"),
    "search": ("Search", "搜索"),
    "filter": ("Filter", "筛选"),
    "all": ("all", "全部"),
    "day": ("Day", "日期"),
    "batch": ("Batch", "批次"),
    "result": ("Result", "结果"),
    "step": ("Step", "步骤"),
    "cause": ("Cause", "原因"),
    "group": ("Group", "分类"),
    "balanced": ("balanced", "平账"),
    "balanced_after_upload": ("balanced after upload", "上送后平账"),
    "failed": ("failed", "失败"),
    "recovered": ("failed, then recovered", "失败后已恢复"),
    "recovered_after": ("balanced after {n} attempts", "第 {n} 次尝试后平账"),
    "settling": ("settling", "结算中"),
    "open": ("open", "未结"),
    "success_rate": ("Settlement success rate", "结算成功率"),
    "failures_by_cause": ("Failures by cause", "按原因统计失败"),
    "failures_by_group": ("Failures by group", "按分类统计失败"),
    "timeline": ("Timeline", "时间线"),
    "diagnosis": ("Diagnosis", "诊断"),
    "terminal_report": ("The terminal's last report", "终端最近上报的诊断"),
    "host_diagnosis": ("The host's diagnosis", "主机侧诊断"),
    "evidence": ("Evidence", "证据"),
    "remedy": ("Remedy", "处理办法"),
    "score": ("Score", "可信度"),
    "no_diagnosis": (
        "Nothing found to explain why batch {batch} failed.",
        "未发现批次 {batch} 结算失败的原因。",
    ),
    "healthy_settled": (
        "Healthy: its last settlement (batch {batch}, {at}) balanced.",
        "终端正常：最近一次结算（批次 {batch}，{at}）已平账。",
    ),
    "healthy_recovered": (
        "Healthy now: its last settlement (batch {batch}, {at}) failed, then balanced after "
        "{n} attempts.",
        "终端现已正常：最近一次结算（批次 {batch}，{at}）曾失败，第 {n} 次尝试后已平账。",
    ),
    "healthy_unsettled": (
        "Healthy: nothing has failed (no settlement yet).",
        "终端正常：未发现故障（尚未结算）。",
    ),
    "no_failures": ("No failures.", "无失败。"),
    "cause_unknown": ("cause not known", "原因不明"),
    "cause_repeated": (
        "the first try got no answer (lost on the line, or the terminal restarted)",
        "首次尝试未收到应答（线路丢失或终端重启）",
    ),
    "no_settlements": ("No settlements yet.", "尚无结算。"),
    "daily_figures": ("Settlements per day", "每日结算"),
    "tried": ("Tried", "结算次数"),
    "ok_first": ("Balanced at once", "一次平账"),
    "rate": ("Success rate", "成功率"),
    "time_zone": ("Times in {zone}", "时间均为 {zone}"),
    "minutes": ("{n} min", "{n} 分钟"),
    "report_ok": ("ok", "正常"),
    "report_bad": ("problem", "有问题"),
    "check_ok": ("ok", "正常"),
    "check_warn": ("warning", "警告"),
    "check_fail": ("failed", "失败"),
    "check_unknown": ("unknown", "未知"),
    "src_journal": ("journal", "终端流水"),
    "src_host": ("host", "主机"),
    "src_probe": ("probe", "探测"),
    "src_fleet": ("fleet", "机群"),
    "voided": ("voided", "已撤销"),
    "reversed": ("reversed", "已冲正"),
    "refunded": ("refunded {amount}", "已退货 {amount}"),
    "auth_code": ("auth code", "授权码"),
    "domestic": ("domestic", "内卡"),
    "foreign": ("foreign", "外卡"),
    "result_1": ("balanced", "平账"),
    "result_2": ("out of balance", "不平"),
    "result_3": ("error", "出错"),
    "role_viewer": ("viewer", "查看员"),
    "role_operator": ("operator", "操作员"),
    "role_admin": ("admin", "管理员"),
    "sev_critical": ("critical", "严重"),
    "sev_warning": ("warning", "警告"),
    "sev_info": ("info", "提示"),
    "alert_open": ("open", "未处理"),
    "alert_acknowledged": ("acknowledged", "已确认"),
    "alert_resolved": ("resolved", "已解决"),
    "exc_open": ("open", "未处理"),
    "exc_resolved": ("resolved", "已处理"),
    "actions": ("Actions", "操作"),
    "act_doctor": ("Run the doctor now", "立即诊断"),
    "act_signon": ("Ask to sign on again", "要求重新签到"),
    "act_disable": ("Disable terminal", "停用终端"),
    "act_enable": ("Enable terminal", "启用终端"),
    "done": ("Done.", "已完成。"),
    "tid": ("TID", "终端号"),
    "stan": ("STAN", "流水号"),
    "rrn": ("RRN", "参考号"),
    "date": ("Date", "日期"),
    "amount": ("Amount", "金额"),
    "pan_last4": ("Card last 4", "卡号后四位"),
    "card": ("Card", "卡号"),
    "kind": ("Kind", "类型"),
    "time": ("Time", "时间"),
    "detail": ("Detail", "详情"),
    "history": ("History", "交易历史"),
    "severity": ("Severity", "级别"),
    "affected": ("Affected terminals", "受影响终端"),
    "first_at": ("First", "首次"),
    "last_at": ("Last", "最近"),
    "ack": ("Acknowledge", "确认"),
    "ack_by": ("Acknowledged by", "确认人"),
    "note": ("Note", "备注"),
    "resolve": ("Resolve", "解决"),
    "open_alerts": ("Open alerts", "未处理告警"),
    "past_alerts": ("Past alerts", "历史告警"),
    "none": ("None.", "无。"),
    "forbidden": ("Your role may not do this.", "您的角色无权执行此操作。"),
    "not_found": ("Not found.", "未找到。"),
    "bad_csrf": (
        "The form expired; reload the page and try again.",
        "表单已失效，请刷新页面后重试。",
    ),
    "add_user": ("Add user", "添加用户"),
    "invalid_request": ("Invalid request: {where}.", "请求无效：{where}。"),
    "bad_number": (
        "{what} must be a whole number of at most 12 digits.",
        "{what}必须是不超过 12 位的整数。",
    ),
    "bad_date": ("The date must be YYYY-MM-DD.", "日期格式须为 YYYY-MM-DD。"),
    "no_action": ("There is no such action.", "没有这个操作。"),
    "amount_fen": ("Amount (in fen)", "金额（分）"),
    "failed_attempts": ("Failed attempts", "失败次数"),
    "locked_until": ("Locked until", "锁定至"),
    "language": ("中文", "English"),
    "signed_in_as": ("Signed in as", "当前用户"),
    "reconciliation": ("Reconciliation exceptions", "对账差错"),
    "upload": ("Batch upload", "批上送"),
    "needs_signon": ("sign-on requested", "已要求签到"),
    "active": ("active", "启用"),
    # timeline entry types and kinds (k_ + the ledger's or the event's own word)
    "step_sign_on": ("sign-on", "签到"),
    "step_reversal": ("reversal", "冲正"),
    "step_offline_upload": ("offline upload", "离线上送"),
    "step_settle": ("settle", "结算"),
    "step_batch_upload": ("batch upload", "批上送"),
    "step_upload_end": ("upload end", "批上送结束"),
    "step_print": ("print", "打印"),
    "step_clear": ("clear", "清批"),
    "k_transaction": ("transaction", "交易"),
    "k_reversal": ("reversal", "冲正"),
    "k_settlement": ("settlement", "结算"),
    "k_fault": ("fault", "故障"),
    "k_action": ("console action", "控制台操作"),
    "k_exception": ("reconciliation", "对账差错"),
    "k_signon": ("sign-on", "签到"),
    "k_signoff": ("sign-off", "签退"),
    "k_sale": ("sale", "消费"),
    "k_offline": ("offline sale", "离线消费"),
    "k_void": ("void", "撤销"),
    "k_refund": ("refund", "退货"),
    "k_settle_requested": ("settlement requested", "发起结算"),
    "k_closed": ("batch closed", "批次关闭"),
    "k_approval": ("approval", "授权"),
    "k_upload": ("batch upload", "批上送"),
    "k_mac_error": ("MAC error", "MAC 校验错"),
    "k_format_error": ("format error", "报文格式错误"),
    "k_refused": ("refused", "拒绝"),
    "k_version": ("software version refused", "软件版本被拒"),
    "k_report_refused": ("status report refused", "状态报告被拒"),
    "k_settle_repeated": ("settlement sent again", "结算请求重发"),
    "k_offline_refused_by_issuer": ("offline sale refused", "离线消费被拒"),
    "k_upstream_late_reply": ("late issuer reply", "发卡行迟到应答"),
    "k_missing_at_host": ("missing at the host", "主机缺失"),
    "k_missing_at_terminal": ("missing at the terminal", "终端缺失"),
    "k_amount_mismatch": ("amount mismatch", "金额不符"),
    "k_matched": ("matched", "已匹配"),
    "k_terminal.doctor": ("doctor", "诊断"),
    "k_terminal.signon": ("sign-on requested", "要求签到"),
    "k_terminal.disable": ("disabled", "停用"),
    "k_terminal.enable": ("enabled", "启用"),
    # the Support desk (pages/support.py)
    "support": ("Support desk", "客服诊断台"),
    "new_case": ("Start a case", "新建工单"),
    "screen_text": ("What the screen says", "屏幕上的文字"),
    "response_code": ("Response code", "返回码"),
    "acquirer": ("Acquirer", "收单机构"),
    "photo": ("Photo of the screen", "屏幕照片"),
    "upload_photo": ("Read the photo", "识别照片"),
    "start": ("Start", "开始"),
    "tickets": ("Tickets", "工单"),
    "ticket": ("Ticket", "工单"),
    "ticket_open": ("open", "处理中"),
    "ticket_closed": ("closed", "已关闭"),
    "close_ticket": ("Close the ticket", "关闭工单"),
    "handled_by": ("Handled by", "处理人"),
    "created": ("Created", "创建时间"),
    "updated": ("Updated", "更新时间"),
    "likely_causes": ("Likely causes", "可能的原因"),
    "what_to_do": ("What to do", "处理办法"),
    "what_not_to_do": ("What NOT to do", "切勿这样做"),
    "next_question": ("Ask next", "下一个问题"),
    "dont_know": ("Don't know", "不知道"),
    "what_was_read": ("What was read", "识别到的内容"),
    "src_screen": ("screen", "屏幕文字"),
    "src_code": ("code", "返回码"),
    "src_photo": ("photo", "照片"),
    "src_screen_photo": ("screen and photo", "屏幕文字和照片"),
    "matched": ("recognised", "识别为"),
    "nothing_matched": ("nothing recognised", "未识别出已知信息"),
    "answers_so_far": ("Answers so far", "已回答"),
    "by_data": ("from our data", "来自本系统数据"),
    "by_you": ("said", "客户回答"),
    "escalation": ("What to give the acquirer", "提交收单机构的资料"),
    "ranking_history": ("Ranking at each step", "每一步的排序"),
    "ev_create": ("case started", "开始"),
    "ev_answer": ("answer", "回答"),
    "ev_photo": ("photo", "照片"),
    "stop_confident": (
        "The top cause is likely enough (80 % or more).",
        "首要原因的可信度已达 80% 以上。",
    ),
    "stop_no_question_helps": (
        "No further question would tell more; escalate with the package below.",
        "再问也无法进一步判断，请按下方资料提交收单机构。",
    ),
    "stop_asking": ("Ask the question below.", "请询问下面的问题。"),
    "our_terminal": (
        "one of ours: our data answers what it can",
        "本系统终端：能由数据回答的问题不再询问",
    ),
    "not_ours": ("not in this ledger", "不在本系统中"),
    "final_cause": ("Final cause", "最终原因"),
    "no_tickets": ("No tickets yet.", "尚无工单。"),
    "choose": ("(choose)", "（请选择）"),
    "unknown_cause": ("unknown: here is what to collect", "原因不明：请收集以下资料"),
    "photo_read": ("Read from the photo", "照片识别文字"),
    "bad_input": ("Cannot use this: {what}.", "无法使用：{what}。"),
    "ticket_is_closed": ("This ticket is closed.", "该工单已关闭。"),
    "ticket_changed": (
        "Someone else answered on this ticket meanwhile; reload it and answer again.",
        "其他人刚刚更新了此工单，请刷新后重新回答。",
    ),
    "photo_unreadable": ("The photo cannot be read: {why}", "照片无法识别：{why}"),
    "esc_tid": ("Terminal ID (TID)", "终端号"),
    "esc_mid": ("Merchant ID (MID)", "商户号"),
    "esc_merchant": ("Merchant", "商户"),
    "esc_serial": ("Serial number", "机身序列号"),
    "esc_batch": ("Batch", "批次号"),
    "esc_stan": ("Trace number", "凭证号/流水号"),
    "esc_rrn": ("Reference number", "参考号"),
    "esc_time": ("Time", "时间"),
    "esc_photo": ("Photo", "照片"),
    "esc_code": ("Response code", "返回码"),
    "esc_screen": ("Screen text", "屏幕文字"),
    "esc_acquirer": ("Acquirer", "收单机构"),
    "esc_model": ("Model", "型号"),
    "esc_cause": ("Likely cause", "可能原因"),
    "esc_collect": ("Collect", "需要收集"),
    "k_support.create": ("support ticket opened", "开立客服工单"),
    "k_support.answer": ("support answer", "客服问答"),
    "k_support.photo": ("support photo", "客服照片"),
    "k_support.close": ("support ticket closed", "关闭客服工单"),
}


def t(lang: str, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang``; an unknown key shows itself, so it is easy to spot."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "zh" else pair[0]
    return text.format(**values) if values else text


def kind(lang: str, word: str) -> str:
    """A timeline or history word in ``lang``; words without a translation show as they are."""
    return t(lang, f"k_{word}") if f"k_{word}" in STRINGS else word


def step(lang: str, name: str | None) -> str:
    """A settlement step id (``settle``, ``batch_upload``) in ``lang``; unknown ids as they are."""
    if not name:
        return ""
    return t(lang, f"step_{name}") if f"step_{name}" in STRINGS else name


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """``?lang=`` first, then the cookie, then the browser's first supported language."""
    for choice in (query, cookie):
        if choice in LANGS:
            return str(choice)
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANG
