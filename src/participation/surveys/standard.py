"""The standard city-management satisfaction questionnaire (城市管理满意度调查问卷).

Five dimensions (环境卫生, 市容秩序, 市政设施, 园林绿化, 执法服务), 15 rated items on the
standard five-point satisfaction scale (满意 100, 基本满意 80, 一般 60, 不满意 0, 不了解 not
scored), a screening item, skip logic (public toilets and the 12319 hotline are rated only by
those who used them), an overall item, sex and age group, the dual-frame question and an open
comment.
"""

from __future__ import annotations

from typing import Any

STANDARD_CODE = "city-satisfaction"


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh_CN": zh, "en": en}


SATISFACTION_SCALE: list[dict[str, Any]] = [
    {"value": "1", "label": _t("满意", "Satisfied"), "score": 100, "satisfied": True},
    {"value": "2", "label": _t("基本满意", "Fairly satisfied"), "score": 80, "satisfied": True},
    {"value": "3", "label": _t("一般", "Neutral"), "score": 60, "satisfied": False},
    {"value": "4", "label": _t("不满意", "Dissatisfied"), "score": 0, "satisfied": False},
    {"value": "9", "label": _t("不了解", "Don't know"), "score": None},
]

YES_NO: list[dict[str, Any]] = [
    {"value": "1", "label": _t("是", "Yes")},
    {"value": "2", "label": _t("否", "No")},
]

DIMENSIONS: dict[str, dict[str, Any]] = {
    "sanitation": {"label": _t("环境卫生", "Sanitation"), "weight": 0.25},
    "order": {"label": _t("市容秩序", "City appearance and order"), "weight": 0.25},
    "facilities": {"label": _t("市政设施", "Municipal facilities"), "weight": 0.2},
    "greening": {"label": _t("园林绿化", "Parks and greening"), "weight": 0.15},
    "enforcement": {"label": _t("执法服务", "Enforcement and service"), "weight": 0.15},
}


def _rated(name: str, dimension: str, zh: str, en: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "select_one",
        "scale": "satisfaction",
        "label": _t(zh, en),
        "dimension": dimension,
        "required": True,
        **extra,
    }


def standard_definition() -> dict[str, Any]:
    """A fresh copy of the standard questionnaire definition."""
    items: list[dict[str, Any]] = [
        {
            "name": "intro",
            "type": "note",
            "label": _t(
                "您好！这是临沂市城市管理局开展的城市管理满意度调查，约需5分钟，"
                "您的回答仅用于统计，我们将严格保密。",
                "Hello! This is the Linyi city-management satisfaction survey. It takes about "
                "5 minutes; your answers are used for statistics only and kept confidential.",
            ),
        },
        {
            "name": "resident",
            "type": "select_one",
            "choices": [
                {"value": "1", "label": _t("是", "Yes"), "eligible": True},
                {"value": "2", "label": _t("否", "No"), "eligible": False},
            ],
            "label": _t(
                "请问您目前是否居住在本街道（乡镇）？",
                "Do you currently live in this street (township)?",
            ),
            "required": True,
            "screening": True,
        },
        {
            "name": "years_lived",
            "type": "integer",
            "label": _t("您在本街道居住了多少年？", "How many years have you lived here?"),
            "hint": _t("不满一年请填0", "Enter 0 if less than a year"),
            "constraint": ". >= 0 and . <= 100",
            "constraint_message": _t("请填写0到100之间的整数", "Enter a number from 0 to 100"),
        },
        _rated(
            "street_cleaning",
            "sanitation",
            "您对道路清扫保洁情况是否满意？",
            "How satisfied are you with street cleaning?",
        ),
        _rated(
            "waste_collection",
            "sanitation",
            "您对生活垃圾收集清运和分类情况是否满意？",
            "How satisfied are you with household waste collection and sorting?",
        ),
        {
            "name": "toilet_used",
            "type": "select_one",
            "choices": YES_NO,
            "label": _t(
                "最近一个月您是否使用过公共厕所？",
                "Have you used a public toilet in the last month?",
            ),
            "required": True,
        },
        _rated(
            "toilet_cleanliness",
            "sanitation",
            "您对公共厕所的卫生状况是否满意？",
            "How satisfied are you with the cleanliness of public toilets?",
            relevant="${toilet_used} = '1'",
        ),
        _rated(
            "street_vending",
            "order",
            "您对占道经营、流动摊贩管理情况是否满意？",
            "How satisfied are you with the management of street vending?",
        ),
        _rated(
            "signs_ads",
            "order",
            "您对户外广告和门店招牌管理是否满意？",
            "How satisfied are you with outdoor advertising and shop signs?",
        ),
        _rated(
            "parking_order",
            "order",
            "您对非机动车和车辆停放秩序是否满意？",
            "How satisfied are you with parking order?",
        ),
        _rated(
            "road_condition",
            "facilities",
            "您对道路、人行道平整完好情况是否满意？",
            "How satisfied are you with the condition of roads and pavements?",
        ),
        _rated(
            "street_lighting",
            "facilities",
            "您对路灯照明情况是否满意？",
            "How satisfied are you with street lighting?",
        ),
        _rated(
            "drainage",
            "facilities",
            "您对城市排水、防汛情况是否满意？",
            "How satisfied are you with drainage and flood prevention?",
        ),
        _rated(
            "parks",
            "greening",
            "您对公园、广场和街头绿地是否满意？",
            "How satisfied are you with parks, squares and green spaces?",
        ),
        _rated(
            "street_trees",
            "greening",
            "您对行道树和绿化养护是否满意？",
            "How satisfied are you with street trees and green maintenance?",
        ),
        _rated(
            "enforcement_conduct",
            "enforcement",
            "您对城管执法人员文明规范执法是否满意？",
            "How satisfied are you with the conduct of city-management officers?",
        ),
        {
            "name": "hotline_used",
            "type": "select_one",
            "choices": YES_NO,
            "label": _t(
                "近半年您是否通过12319城管热线反映过问题？",
                "In the last six months, have you reported a problem to the 12319 hotline?",
            ),
            "required": True,
        },
        _rated(
            "hotline_handling",
            "enforcement",
            "您对热线问题的处理结果是否满意？",
            "How satisfied are you with how your report was handled?",
            relevant="${hotline_used} = '1'",
        ),
        {
            "name": "hotline_issues",
            "type": "select_multiple",
            "choices": [
                {"value": "sanitation", "label": _t("环境卫生", "Sanitation")},
                {"value": "vending", "label": _t("占道经营", "Street vending")},
                {"value": "facilities", "label": _t("市政设施", "Facilities")},
                {"value": "noise", "label": _t("噪声扰民", "Noise")},
                {"value": "other", "label": _t("其他", "Other")},
            ],
            "label": _t("您反映的是哪类问题？（可多选）", "What did you report? (any that apply)"),
            "relevant": "${hotline_used} = '1'",
        },
        {
            "name": "overall",
            "type": "select_one",
            "scale": "satisfaction",
            "label": _t(
                "总体而言，您对本街道的城市管理工作是否满意？",
                "Overall, how satisfied are you with city management in your street?",
            ),
            "required": True,
            "weight": 0,
        },
        {
            "name": "sex",
            "type": "select_one",
            "choices": [
                {"value": "male", "label": _t("男", "Male")},
                {"value": "female", "label": _t("女", "Female")},
            ],
            "label": _t("您的性别", "Your sex"),
            "required": True,
        },
        {
            "name": "age_group",
            "type": "select_one",
            "choices": [
                {"value": "18-29", "label": _t("18–29岁", "18–29")},
                {"value": "30-44", "label": _t("30–44岁", "30–44")},
                {"value": "45-59", "label": _t("45–59岁", "45–59")},
                {"value": "60+", "label": _t("60岁及以上", "60 or older")},
            ],
            "label": _t("您的年龄段", "Your age group"),
            "required": True,
        },
        {
            "name": "other_phone",
            "type": "select_one",
            "choices": YES_NO,
            "label": _t(
                "除本次联系您的电话外，您家是否还有另一类电话（手机或固定电话）？",
                "Besides the phone we reached you on, does your household have the other type "
                "of phone (mobile or landline)?",
            ),
        },
        {
            "name": "comment",
            "type": "text",
            "label": _t(
                "您对城市管理工作还有什么意见和建议？",
                "Any other comments or suggestions on city management?",
            ),
        },
    ]
    return {
        "languages": ["zh_CN", "en"],
        "scales": {"satisfaction": {"choices": [dict(c) for c in SATISFACTION_SCALE]}},
        "dimensions": {k: dict(v) for k, v in DIMENSIONS.items()},
        "items": items,
        "settings": {
            "form_id": STANDARD_CODE,
            "version": "1",
            "title": _t("临沂市城市管理满意度调查", "Linyi city-management satisfaction survey"),
            "default_language": "zh_CN",
            "satisfied_threshold": 80,
        },
    }


def example_answers(**overrides: Any) -> dict[str, Any]:
    """A complete, valid set of answers to the standard questionnaire (tests, benchmarks, demos);
    ``overrides`` replace single answers."""
    answers: dict[str, Any] = {
        "resident": "1",
        "years_lived": "12",
        "street_cleaning": "1",
        "waste_collection": "2",
        "toilet_used": "2",
        "street_vending": "3",
        "signs_ads": "2",
        "parking_order": "4",
        "road_condition": "2",
        "street_lighting": "1",
        "drainage": "9",
        "parks": "1",
        "street_trees": "2",
        "enforcement_conduct": "2",
        "hotline_used": "2",
        "overall": "2",
        "sex": "female",
        "age_group": "30-44",
        "other_phone": "1",
        "comment": "",
    }
    answers.update(overrides)
    return answers
