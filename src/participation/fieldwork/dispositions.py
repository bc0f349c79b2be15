"""AAPOR final disposition codes for telephone surveys (Standard Definitions, 10th ed., 2023).

Each code carries its bilingual label, its category for the outcome rates (I, P, R, NC, O, UH,
UO, NE) and what happens to the case after an attempt ends with it:

* ``final``: the case is closed (complete, hard refusal, not eligible ...);
* ``retry``: the number is tried again later (no answer, busy ...), at least
  ``retry_hours`` later and in another time band of the day, until the maximum number of
  attempts is reached;
* ``resume``: contact was made and the interview can continue (partial, break-off, appointment).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from participation.core.i18n import N_


class Category(StrEnum):
    """Outcome category of a disposition, as used by the AAPOR rate formulas."""

    I = "I"  # noqa: E741  (AAPOR's own letter)
    P = "P"
    R = "R"
    NC = "NC"
    O = "O"  # noqa: E741
    UH = "UH"
    UO = "UO"
    NE = "NE"


@dataclass(frozen=True, slots=True)
class Disposition:
    """One disposition code."""

    code: str
    category: Category
    label_zh: str
    label_en: str
    effect: str  # final, retry, resume
    status: str  # SampleCase.status after this outcome
    selectable: bool = True  # offered to interviewers (some are set by the system)

    def label(self, locale: str) -> str:
        """The label in ``locale``."""
        return self.label_zh if locale.startswith("zh") else self.label_en


COMPLETE = "1.1"
PARTIAL = "1.2"
REFUSAL = "2.11"
BREAK_OFF = "2.12"
NOT_ATTEMPTED = "3.11"
NOT_ELIGIBLE_RESIDENT = "4.7"
QUOTA_FILLED = "4.8"

_ROWS: tuple[Disposition, ...] = (
    Disposition("1.1", Category.I, "完成访问", "Complete", "final", "complete", False),
    Disposition("1.2", Category.P, "部分完成", "Partial interview", "resume", "partial"),
    Disposition(
        "2.11", Category.R, "拒访（不再拨打）", "Refusal (never call again)", "final", "refused"
    ),
    Disposition("2.12", Category.R, "中途拒访", "Break-off", "resume", "callback"),
    Disposition(
        "2.21", Category.NC, "受访者始终不在", "Respondent never available", "retry", "new"
    ),
    Disposition(
        "2.22",
        Category.NC,
        "电话答录机/语音信箱（住户）",
        "Answering machine / voicemail",
        "retry",
        "new",
    ),
    Disposition("2.31", Category.O, "受访者已故", "Respondent deceased", "final", "exhausted"),
    Disposition(
        "2.32",
        Category.O,
        "身体或精神原因无法受访",
        "Physically or mentally unable",
        "final",
        "exhausted",
    ),
    Disposition("2.33", Category.O, "语言障碍", "Language problem", "final", "exhausted"),
    Disposition("2.35", Category.O, "其他原因未访", "Other non-interview", "final", "exhausted"),
    Disposition("3.11", Category.UH, "未拨打", "Not attempted", "retry", "new", False),
    Disposition("3.12", Category.UH, "始终占线", "Always busy", "retry", "new"),
    Disposition("3.13", Category.UH, "无人接听", "No answer", "retry", "new"),
    Disposition("3.14", Category.UH, "来电拦截", "Call blocking", "retry", "new"),
    Disposition("3.16", Category.UH, "线路技术问题", "Technical phone problems", "retry", "new"),
    Disposition("3.21", Category.UO, "未完成甄别", "No screener completed", "retry", "new"),
    Disposition("3.90", Category.UO, "其他资格未知", "Other, eligibility unknown", "retry", "new"),
    Disposition("4.20", Category.NE, "传真/数据线路", "Fax / data line", "final", "ineligible"),
    Disposition("4.31", Category.NE, "空号", "Non-working number", "final", "ineligible"),
    Disposition("4.32", Category.NE, "停机", "Disconnected number", "final", "ineligible"),
    Disposition(
        "4.51", Category.NE, "单位/政府电话", "Business / government number", "final", "ineligible"
    ),
    Disposition(
        "4.7",
        Category.NE,
        "非本街道常住居民（甄别未通过）",
        "Not a resident of the street (screened out)",
        "final",
        "screened_out",
    ),
    Disposition("4.8", Category.NE, "配额已满", "Quota filled", "final", "screened_out"),
)

DISPOSITIONS: dict[str, Disposition] = {d.code: d for d in _ROWS}

CATEGORY_LABELS: dict[str, str] = {
    "I": N_("Complete interviews (I)"),
    "P": N_("Partial interviews (P)"),
    "R": N_("Refusals and break-offs (R)"),
    "NC": N_("Non-contacts (NC)"),
    "O": N_("Other eligible non-interviews (O)"),
    "UH": N_("Unknown if household (UH)"),
    "UO": N_("Unknown, other (UO)"),
    "NE": N_("Not eligible (NE)"),
}


def get(code: str) -> Disposition:
    """The disposition of ``code``; KeyError when unknown."""
    return DISPOSITIONS[code]


def selectable() -> list[Disposition]:
    """Codes an interviewer may pick after a call, in code order."""
    return [d for d in _ROWS if d.selectable]


def category_of(code: str | None) -> Category | None:
    """The category of a code (None for unknown or empty codes)."""
    if not code:
        return None
    try:
        return get(code).category
    except KeyError:
        return None
