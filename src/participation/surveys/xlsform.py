"""XLSForm import and export, so a questionnaire drafted in ODK or KoboToolbox works here and back.

Sheets:

* ``survey``: ``type`` (``select_one <list>``, ``select_multiple <list>``, ``integer``,
  ``decimal``, ``text``, ``note``; ``begin_group``/``end_group`` and metadata such as ``start``
  are ignored), ``name``, ``label::<lang>``, ``hint::<lang>``, ``required``, ``relevant``,
  ``constraint``, ``constraint_message::<lang>``, and our extra columns ``dimension``,
  ``weight`` and ``screening``;
* ``choices``: ``list_name``, ``name``, ``label::<lang>``, and our extra ``score``,
  ``satisfied`` and ``eligible``;
* ``settings``: ``form_title`` (and ``form_title::<lang>``), ``form_id``, ``version``,
  ``default_language``, ``satisfied_threshold``;
* ``dimensions`` (ours, optional): ``name``, ``label::<lang>``, ``weight``.

Language columns may be written ``label::zh_CN`` or ``label::English (en)``; a plain ``label``
is the default language. Every choice list becomes a named scale of the definition.

Errors name the sheet, the row and the column; nothing is imported from a bad file.
"""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from participation.core.errors import ServiceError
from participation.core.i18n import N_
from participation.surveys.questionnaire import (
    SELECT_TYPES,
    QuestionnaireError,
    QuestionnaireForm,
)

LANGUAGE_NAMES = {
    "zh_CN": "Chinese (zh_CN)",
    "en": "English (en)",
}
_NAME_TO_CODE = {
    "chinese": "zh_CN",
    "zh": "zh_CN",
    "zh_cn": "zh_CN",
    "zh-cn": "zh_CN",
    "中文": "zh_CN",
    "english": "en",
    "en": "en",
}
IGNORED_TYPES = {
    "begin_group",
    "end_group",
    "begin group",
    "end group",
    "start",
    "end",
    "today",
    "deviceid",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
    "audit",
    "calculate",
}
SIMPLE_TYPES = ("integer", "decimal", "text", "note", "int")


def language_code(spec: str) -> str:
    """The locale code of an XLSForm language spec: ``English (en)`` → ``en``."""
    spec = spec.strip()
    match = re.search(r"\(([^)]+)\)\s*$", spec)
    code = match.group(1).strip() if match else spec
    return _NAME_TO_CODE.get(code.lower(), code)


def language_header(code: str) -> str:
    """The XLSForm language spec of a locale code: ``en`` → ``English (en)``."""
    return LANGUAGE_NAMES.get(code, code)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(ws: Any) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header (lower-cased, stripped) and the non-empty data rows with their line numbers."""
    rows = list(ws.iter_rows(values_only=True))
    if not rows:
        return [], []
    header = [_cell(h) for h in rows[0]]
    out: list[tuple[int, dict[str, str]]] = []
    for index, row in enumerate(rows[1:], start=2):
        values = {header[i]: _cell(v) for i, v in enumerate(row) if i < len(header) and header[i]}
        if any(values.values()):
            out.append((index, values))
    return header, out


def _lang_columns(header: list[str], base: str, default_language: str) -> dict[str, str]:
    """Column → locale code for columns ``base`` and ``base::<lang>``."""
    columns: dict[str, str] = {}
    for col in header:
        key = col.strip()
        lowered = key.lower()
        if lowered == base:
            columns[col] = default_language
        elif lowered.startswith(base + "::"):
            columns[col] = language_code(key.split("::", 1)[1])
    return columns


def _texts(row: dict[str, str], columns: dict[str, str]) -> dict[str, str]:
    return {lang: row[col] for col, lang in columns.items() if row.get(col)}


def _lower_keys(row: dict[str, str]) -> dict[str, str]:
    return {k.strip().lower(): v for k, v in row.items()}


def _bool_cell(value: str, sheet: str, line: int, column: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered == "":
        return None
    if lowered in ("yes", "true", "true()", "1", "y", "是"):
        return True
    if lowered in ("no", "false", "false()", "0", "n", "否"):
        return False
    raise ServiceError(
        N_("Sheet %(sheet)s: %(value)s is not yes or no."),
        line=line,
        field=column,
        sheet=sheet,
        value=value,
    )


def _number_cell(value: str, sheet: str, line: int, column: str) -> float | None:
    if value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise ServiceError(
            N_("Sheet %(sheet)s: %(value)s is not a number."),
            line=line,
            field=column,
            sheet=sheet,
            value=value,
        ) from exc


def read_xlsform(data: bytes) -> dict[str, Any]:
    """The questionnaire definition of an XLSForm workbook (validated by the engine).

    Raises :class:`ServiceError` naming sheet, line and column for a bad file.
    """
    try:
        wb = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ServiceError(N_("The file is not an Excel workbook (.xlsx)."), field="file") from exc
    sheets = {name.strip().lower(): wb[name] for name in wb.sheetnames}
    if "survey" not in sheets:
        raise ServiceError(N_("The workbook has no survey sheet."), field="survey")

    settings: dict[str, Any] = {}
    title: dict[str, str] = {}
    default_language = "zh_CN"
    if "settings" in sheets:
        header, rows = _rows(sheets["settings"])
        if rows:
            line, row = rows[0]
            low = _lower_keys(row)
            if low.get("default_language"):
                default_language = language_code(low["default_language"])
            for key in ("form_id", "version"):
                if low.get(key):
                    settings[key] = low[key]
            if low.get("satisfied_threshold"):
                settings["satisfied_threshold"] = _number_cell(
                    low["satisfied_threshold"], "settings", line, "satisfied_threshold"
                )
            title = _texts(row, _lang_columns(header, "form_title", default_language))
    settings["default_language"] = default_language
    if title:
        settings["title"] = title

    languages: list[str] = [default_language]

    def note_languages(columns: dict[str, str]) -> None:
        for lang in columns.values():
            if lang not in languages:
                languages.append(lang)

    scales: dict[str, dict[str, Any]] = {}
    if "choices" in sheets:
        header, rows = _rows(sheets["choices"])
        label_cols = _lang_columns(header, "label", default_language)
        note_languages(label_cols)
        for line, row in rows:
            low = _lower_keys(row)
            list_name = low.get("list_name") or low.get("list name") or ""
            value = low.get("name") or low.get("value") or ""
            if not list_name:
                raise ServiceError(
                    N_("Sheet %(sheet)s: the list name is missing."),
                    line=line,
                    field="list_name",
                    sheet="choices",
                )
            if not value:
                raise ServiceError(
                    N_("Sheet %(sheet)s: the choice name is missing."),
                    line=line,
                    field="name",
                    sheet="choices",
                )
            choice: dict[str, Any] = {"value": value, "label": _texts(row, label_cols)}
            score = _number_cell(low.get("score", ""), "choices", line, "score")
            satisfied = _bool_cell(low.get("satisfied", ""), "choices", line, "satisfied")
            eligible = _bool_cell(low.get("eligible", ""), "choices", line, "eligible")
            if score is not None or satisfied is not None:
                choice["score"] = score
            if satisfied is not None:
                choice["satisfied"] = satisfied
            if eligible is not None:
                choice["eligible"] = eligible
            scales.setdefault(list_name, {"choices": []})["choices"].append(choice)

    dimensions: dict[str, dict[str, Any]] = {}
    if "dimensions" in sheets:
        header, rows = _rows(sheets["dimensions"])
        label_cols = _lang_columns(header, "label", default_language)
        for line, row in rows:
            low = _lower_keys(row)
            name = low.get("name", "")
            if not name:
                raise ServiceError(
                    N_("Sheet %(sheet)s: the name is missing."),
                    line=line,
                    field="name",
                    sheet="dimensions",
                )
            dim: dict[str, Any] = {"label": _texts(row, label_cols)}
            weight = _number_cell(low.get("weight", ""), "dimensions", line, "weight")
            if weight is not None:
                dim["weight"] = weight
            dimensions[name] = dim

    header, rows = _rows(sheets["survey"])
    lowered_header = [h.lower() for h in header]
    for needed in ("type", "name"):
        if needed not in lowered_header:
            raise ServiceError(
                N_("Sheet %(sheet)s has no %(column)s column."),
                field=needed,
                sheet="survey",
                column=needed,
            )
    label_cols = _lang_columns(header, "label", default_language)
    hint_cols = _lang_columns(header, "hint", default_language)
    message_cols = _lang_columns(header, "constraint_message", default_language)
    note_languages(label_cols)
    items: list[dict[str, Any]] = []
    lines: dict[str, int] = {}
    for line, row in rows:
        low = _lower_keys(row)
        raw_type = re.sub(r"\s+", " ", low.get("type", "")).strip()
        name = low.get("name", "")
        if raw_type.lower() in IGNORED_TYPES or raw_type.lower() == "":
            continue
        parts = raw_type.split(" ")
        kind = parts[0].lower()
        item: dict[str, Any] = {"name": name}
        if kind in SELECT_TYPES:
            if len(parts) != 2:
                raise ServiceError(
                    N_("Sheet %(sheet)s: type %(type)s is not supported."),
                    line=line,
                    field="type",
                    sheet="survey",
                    type=raw_type,
                )
            if parts[1] not in scales:
                raise ServiceError(
                    N_("Sheet %(sheet)s: choice list %(list)s is not in the choices sheet."),
                    line=line,
                    field="type",
                    sheet="survey",
                    list=parts[1],
                )
            item["type"] = kind
            item["scale"] = parts[1]
        elif kind in SIMPLE_TYPES and len(parts) == 1:
            item["type"] = "integer" if kind == "int" else kind
        else:
            raise ServiceError(
                N_("Sheet %(sheet)s: type %(type)s is not supported."),
                line=line,
                field="type",
                sheet="survey",
                type=raw_type,
            )
        item["label"] = _texts(row, label_cols)
        hint = _texts(row, hint_cols)
        if hint:
            item["hint"] = hint
        required = _bool_cell(low.get("required", ""), "survey", line, "required")
        if required:
            item["required"] = True
        for key in ("relevant", "constraint"):
            if low.get(key):
                item[key] = low[key]
        message = _texts(row, message_cols)
        if message:
            item["constraint_message"] = message
        if low.get("dimension"):
            item["dimension"] = low["dimension"]
        weight = _number_cell(low.get("weight", ""), "survey", line, "weight")
        if weight is not None and weight != 1.0:
            item["weight"] = weight
        if _bool_cell(low.get("screening", ""), "survey", line, "screening"):
            item["screening"] = True
        items.append(item)
        lines[name] = line
    definition = {
        "languages": languages,
        "scales": scales,
        "dimensions": dimensions,
        "items": items,
        "settings": settings,
    }
    try:
        QuestionnaireForm(definition)  # full check (types, expressions, references)
    except QuestionnaireError as exc:
        culprit = exc.params.get("item") or exc.params.get("name")
        if culprit in lines:
            exc.line = lines[culprit]
        raise
    return definition


def write_xlsform(definition: dict[str, Any]) -> bytes:
    """An XLSForm workbook (bytes) of ``definition``; :func:`read_xlsform` reads it back."""
    form = QuestionnaireForm(definition)
    languages = form.languages
    wb = Workbook()
    survey = wb.active
    assert survey is not None
    survey.title = "survey"
    survey_header = (
        ["type", "name"]
        + [f"label::{language_header(lang)}" for lang in languages]
        + [f"hint::{language_header(lang)}" for lang in languages]
        + ["required", "relevant", "constraint"]
        + [f"constraint_message::{language_header(lang)}" for lang in languages]
        + ["dimension", "weight", "screening"]
    )
    survey.append(survey_header)
    lists: dict[str, list[Any]] = {name: choices for name, choices in form.scales.items()}
    item_lists: dict[str, str] = {}
    for item in form.items:
        if item.type in SELECT_TYPES and not item.scale:
            list_name = item.name
            while list_name in lists:
                list_name += "_choices"
            lists[list_name] = item.choices
            item_lists[item.name] = list_name
    for item in form.items:
        type_text = item.type
        if item.type in SELECT_TYPES:
            type_text = f"{item.type} {item.scale or item_lists[item.name]}"
        survey.append(
            [type_text, item.name]
            + [item.label.get(lang, "") for lang in languages]
            + [item.hint.get(lang, "") for lang in languages]
            + [
                "yes" if item.required else "",
                item.relevant.source if item.relevant else "",
                item.constraint.source if item.constraint else "",
            ]
            + [item.constraint_message.get(lang, "") for lang in languages]
            + [
                item.dimension or "",
                item.weight if item.weight != 1.0 else "",
                "yes" if item.screening else "",
            ]
        )
    choices_ws = wb.create_sheet("choices")
    choices_ws.append(
        ["list_name", "name"]
        + [f"label::{language_header(lang)}" for lang in languages]
        + ["score", "satisfied", "eligible"]
    )
    for list_name, choices in lists.items():
        for choice in choices:
            choices_ws.append(
                [list_name, choice.value]
                + [choice.label.get(lang, "") for lang in languages]
                + [
                    "" if choice.score is None else choice.score,
                    "" if choice.satisfied is None else ("yes" if choice.satisfied else "no"),
                    "" if choice.eligible is None else ("yes" if choice.eligible else "no"),
                ]
            )
    settings_ws = wb.create_sheet("settings")
    title = form.settings.get("title") or {}
    if isinstance(title, str):
        title = {form.default_language: title}
    other_langs = [lang for lang in languages if lang != form.default_language]
    settings_ws.append(
        ["form_title"]
        + [f"form_title::{language_header(lang)}" for lang in other_langs]
        + ["form_id", "version", "default_language", "satisfied_threshold"]
    )
    settings_ws.append(
        [title.get(form.default_language, "")]
        + [title.get(lang, "") for lang in other_langs]
        + [
            str(form.settings.get("form_id") or ""),
            str(form.settings.get("version") or ""),
            language_header(form.default_language),
            form.threshold,
        ]
    )
    dims_ws = wb.create_sheet("dimensions")
    dims_ws.append(
        ["name"] + [f"label::{language_header(lang)}" for lang in languages] + ["weight"]
    )
    for name, dim in form.dimensions.items():
        dims_ws.append(
            [name]
            + [dim["label"].get(lang, "") for lang in languages]
            + ["" if dim["weight"] is None else dim["weight"]]
        )
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
