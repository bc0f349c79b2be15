"""XLSForm import and export: a round trip keeps every item, choice, label, relevance and
constraint; ODK/Kobo style sheets import; bad workbooks are refused naming line and column."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from participation.core.errors import ServiceError
from participation.surveys.questionnaire import QuestionnaireForm
from participation.surveys.standard import standard_definition
from participation.surveys.xlsform import language_code, read_xlsform, write_xlsform


def semantic(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything that matters about each item, choices resolved."""
    form = QuestionnaireForm(definition)
    out = []
    for item in form.items:
        out.append(
            {
                "name": item.name,
                "type": item.type,
                "label": item.label,
                "hint": item.hint,
                "required": item.required,
                "relevant": item.relevant.source if item.relevant else None,
                "constraint": item.constraint.source if item.constraint else None,
                "constraint_message": item.constraint_message,
                "dimension": item.dimension,
                "weight": item.weight,
                "screening": item.screening,
                "choices": [
                    (c.value, c.label, c.score, c.satisfied, c.eligible) for c in item.choices
                ],
            }
        )
    return out


def test_round_trip_keeps_everything() -> None:
    original = standard_definition()
    first = read_xlsform(write_xlsform(original))
    second = read_xlsform(write_xlsform(first))
    assert second == first
    assert semantic(first) == semantic(original)
    form = QuestionnaireForm(first)
    assert form.dimensions == QuestionnaireForm(original).dimensions
    assert form.threshold == 80
    assert form.title("en") == "Linyi city-management satisfaction survey"
    assert form.languages == ["zh_CN", "en"]
    assert len(form.items) == len(original["items"])


def test_exported_sheets_use_xlsform_columns() -> None:
    wb = load_workbook(BytesIO(write_xlsform(standard_definition())))
    assert wb.sheetnames == ["survey", "choices", "settings", "dimensions"]
    header = [c.value for c in wb["survey"][1]]
    assert header[:4] == ["type", "name", "label::Chinese (zh_CN)", "label::English (en)"]
    types = [r[0] for r in wb["survey"].iter_rows(min_row=2, values_only=True)]
    assert "select_one satisfaction" in types
    assert "select_multiple hotline_issues" in types
    settings = dict(
        zip([c.value for c in wb["settings"][1]], [c.value for c in wb["settings"][2]], strict=True)
    )
    assert settings["form_id"] == "city-satisfaction"


def workbook(
    survey: list[list[Any]], choices: list[list[Any]], settings: list[list[Any]] | None = None
) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    for row in survey:
        ws.append(row)
    ch = wb.create_sheet("choices")
    for row in choices:
        ch.append(row)
    if settings:
        st = wb.create_sheet("settings")
        for row in settings:
            st.append(row)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


KOBO_SURVEY = [
    [
        "type",
        "name",
        "label::English (en)",
        "label::Chinese (zh_CN)",
        "required",
        "relevant",
        "constraint",
        "constraint_message::English (en)",
    ],
    ["start", "start", None, None, None, None, None, None],
    ["begin_group", "g1", "Group", "组", None, None, None, None],
    ["select_one yn", "used", "Used a toilet?", "用过公厕吗？", "yes", None, None, None],
    [
        "select_one sat",
        "toilet",
        "Toilet cleanliness",
        "公厕卫生",
        "TRUE()",
        "${used} = 'yes'",
        None,
        None,
    ],
    ["integer", "age", "Age", "年龄", None, None, ". >= 18 and . <= 120", "18 to 120"],
    ["end_group", None, None, None, None, None, None, None],
]
KOBO_CHOICES = [
    ["list_name", "name", "label::English (en)", "label::Chinese (zh_CN)", "score", "satisfied"],
    ["yn", "yes", "Yes", "是", None, None],
    ["yn", "no", "No", "否", None, None],
    ["sat", "1", "Satisfied", "满意", 100, "yes"],
    ["sat", "2", "Dissatisfied", "不满意", 0, "no"],
]


def test_kobo_style_workbook_imports() -> None:
    definition = read_xlsform(
        workbook(
            KOBO_SURVEY,
            KOBO_CHOICES,
            [
                ["form_title", "form_id", "version", "default_language"],
                ["公厕", "toilets", "2", "Chinese (zh_CN)"],
            ],
        )
    )
    form = QuestionnaireForm(definition)
    assert form.names == ["used", "toilet", "age"]
    assert form.item("toilet").label == {"en": "Toilet cleanliness", "zh_CN": "公厕卫生"}
    assert form.item("toilet").required
    assert form.item("age").constraint_message == {"en": "18 to 120"}
    assert form.settings["form_id"] == "toilets"
    assert form.default_language == "zh_CN"
    assert [i.name for i in form.visible_items({"used": "no"})] == ["used", "age"]
    assert form.score({"used": "yes", "toilet": "1"}).score == 100


def test_plain_label_column_is_the_default_language() -> None:
    definition = read_xlsform(
        workbook(
            [["type", "name", "label"], ["text", "c", "意见"]], [["list_name", "name", "label"]]
        )
    )
    assert definition["items"][0]["label"] == {"zh_CN": "意见"}


@pytest.mark.parametrize(
    ("survey_row", "line", "field", "word"),
    [
        (["select_one nolist", "q", "Q", "Q", None, None, None, None], 8, "type", "nolist"),
        (["integer", "q", "Q", "Q", "maybe", None, None, None], 8, "required", "maybe"),
        (["integer", "q", "Q", "Q", None, "${ghost} = 1", None, None], 8, "relevant", "ghost"),
        (["geopoint", "q", "Q", "Q", None, None, None, None], 8, "type", "geopoint"),
        (["integer", "q", "Q", "Q", None, None, ". >>= 1", None], 8, "constraint", "constraint"),
    ],
)
def test_bad_rows_are_refused_with_line_and_column(
    survey_row: list[Any], line: int, field: str, word: str
) -> None:
    with pytest.raises(ServiceError) as info:
        read_xlsform(workbook([*KOBO_SURVEY, survey_row], KOBO_CHOICES))
    assert info.value.line == line
    assert info.value.field == field
    assert word in str(info.value)


def test_not_a_workbook() -> None:
    with pytest.raises(ServiceError, match="Excel"):
        read_xlsform(b"type,name\ntext,a\n")


def test_language_codes() -> None:
    assert language_code("English (en)") == "en"
    assert language_code("zh_CN") == "zh_CN"
    assert language_code("Chinese") == "zh_CN"
