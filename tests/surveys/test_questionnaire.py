"""The questionnaire engine: expressions, visibility, validation, cleaning and scoring."""

from __future__ import annotations

import pytest

from participation.surveys.questionnaire import (
    ExpressionError,
    QuestionnaireError,
    QuestionnaireForm,
    compile_expression,
    tokenize,
)
from participation.surveys.standard import standard_definition


def ev(source: str, answers: dict | None = None, current: object = None) -> object:
    return compile_expression(source).evaluate(answers or {}, current)


def test_tokenizer_kinds() -> None:
    kinds = [t.kind for t in tokenize("${a} >= 3 and selected(${b}, 'x')")]
    assert kinds == [
        "ref",
        "op",
        "number",
        "word",
        "word",
        "op",
        "ref",
        "op",
        "string",
        "op",
        "end",
    ]


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ("${q0} = '1'", {"q0": "1"}, True),
        ("${q0} = '1'", {"q0": "2"}, False),
        ("${q0} != '1'", {"q0": "2"}, True),
        ("${q0} = ''", {}, True),
        ("${age} >= 18 and ${age} <= 120", {"age": 40}, True),
        ("${age} >= 18 and ${age} <= 120", {"age": "12"}, False),
        ("${age} > 18 or ${x} = 'y'", {"age": 3, "x": "y"}, True),
        ("not(${x} = 'y')", {"x": "y"}, False),
        ("selected(${m}, 'b')", {"m": ["a", "b"]}, True),
        ("selected(${m}, 'c')", {"m": "a b"}, False),
        ("count-selected(${m}) >= 2", {"m": ["a", "b"]}, True),
        ("(1 + 2) * 3 = 9", {}, True),
        ("7 div 2 = 3.5", {}, True),
        ("7 mod 4 = 3", {}, True),
        ("-2 + 5 = 3", {}, True),
        ("1 + 2 * 3 = 7", {}, True),
        ("${n} < 5", {}, False),
        ("string-length(${t}) <= 3", {"t": "abc"}, True),
        ("true() and not(false())", {}, True),
    ],
)
def test_expressions(source: str, answers: dict, expected: bool) -> None:
    assert compile_expression(source).test(answers) is expected


def test_current_value_in_constraints() -> None:
    expr = compile_expression(". >= 18 and . <= 120")
    assert expr.uses_current
    assert expr.test({}, 30)
    assert not expr.test({}, 150)
    assert ev(". * 2", current="21") == 42.0


def test_references_are_collected() -> None:
    assert compile_expression("${a} = 1 or selected(${b}, 'x')").references == {"a", "b"}


@pytest.mark.parametrize(
    "source",
    [
        "${a} = ",
        "(${a} = 1",
        "foo(${a})",
        "${a} == 1",
        "${a} = 1 1",
        "__import__('os')",
        "${a} ; 1",
    ],
)
def test_malformed_expressions_are_refused(source: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(source)


def small_form(**extra: object) -> QuestionnaireForm:
    definition = {
        "languages": ["zh_CN", "en"],
        "scales": {
            "sat": {
                "choices": [
                    {"value": "1", "label": {"zh_CN": "满意"}, "score": 100, "satisfied": True},
                    {"value": "2", "label": {"zh_CN": "基本满意"}, "score": 80, "satisfied": True},
                    {"value": "3", "label": {"zh_CN": "一般"}, "score": 60, "satisfied": False},
                    {"value": "4", "label": {"zh_CN": "不满意"}, "score": 0, "satisfied": False},
                    {"value": "9", "label": {"zh_CN": "不了解"}, "score": None},
                ]
            }
        },
        "dimensions": {
            "a": {"label": {"zh_CN": "甲"}, "weight": 0.75},
            "b": {"label": {"zh_CN": "乙"}, "weight": 0.25},
        },
        "items": [
            {
                "name": "live",
                "type": "select_one",
                "screening": True,
                "required": True,
                "choices": [
                    {"value": "1", "label": {"zh_CN": "是"}},
                    {"value": "2", "label": {"zh_CN": "否"}},
                ],
            },
            {
                "name": "used",
                "type": "select_one",
                "required": True,
                "choices": [
                    {"value": "1", "label": {"zh_CN": "是"}},
                    {"value": "2", "label": {"zh_CN": "否"}},
                ],
            },
            {
                "name": "q1",
                "type": "select_one",
                "scale": "sat",
                "dimension": "a",
                "required": True,
                "relevant": "${used} = '1'",
            },
            {"name": "q2", "type": "select_one", "scale": "sat", "dimension": "a", "weight": 3},
            {"name": "q3", "type": "select_one", "scale": "sat", "dimension": "b"},
            {
                "name": "age",
                "type": "integer",
                "constraint": ". >= 18 and . <= 120",
                "constraint_message": {"zh_CN": "年龄应在18到120之间", "en": "Age 18 to 120"},
            },
            {
                "name": "m",
                "type": "select_multiple",
                "choices": [
                    {"value": "x", "label": {"zh_CN": "X"}},
                    {"value": "y", "label": {"zh_CN": "Y"}},
                ],
            },
            {"name": "d", "type": "decimal"},
            {"name": "t", "type": "text"},
        ],
        "settings": {"satisfied_threshold": 80},
    }
    definition.update(extra)
    return QuestionnaireForm(definition)


def test_visible_items_follow_skip_logic() -> None:
    form = small_form()
    names = [i.name for i in form.visible_items({"live": "1", "used": "2"})]
    assert "q1" not in names and "q2" in names
    names = [i.name for i in form.visible_items({"live": "1", "used": "1"})]
    assert "q1" in names


def test_screening_out_hides_the_rest() -> None:
    form = small_form()
    assert form.is_screened_out({"live": "2"})
    assert not form.is_screened_out({"live": "1"})
    assert [i.name for i in form.visible_items({"live": "2"})] == ["live"]
    assert form.validate({"live": "2"}, "zh_CN") == {}


def test_validate_messages_in_both_languages() -> None:
    form = small_form()
    errors = form.validate(
        {"live": "1", "used": "1", "q2": "7", "age": "12", "m": ["x", "z"], "d": "abc"}, "en"
    )
    assert set(errors) == {"q1", "q2", "age", "m", "d"}
    assert errors["age"] == "Age 18 to 120"
    assert errors["q1"] == "Please answer this question."
    zh = form.validate({"live": "1", "used": "1", "age": "x"}, "zh_CN")
    assert zh["q1"] == "请回答此问题。"
    assert zh["age"] == "请输入整数。"
    assert form.validate({"live": "1", "used": "1"}, "zh_CN", partial=True) == {}


def test_clean_drops_hidden_answers_and_types_values() -> None:
    form = small_form()
    cleaned = form.clean(
        {"live": "1", "used": "2", "q1": "1", "q2": "2", "age": "40", "m": "x y", "d": "2.5"}
    )
    assert cleaned == {"live": "1", "used": "2", "q2": "2", "age": 40, "m": ["x", "y"], "d": 2.5}


def test_score_by_hand() -> None:
    form = small_form()
    # dim a: q1=100 (w1), q2=60 (w3) -> (100 + 180)/4 = 70; dim b: q3=0 -> 0
    # overall = 0.75*70 + 0.25*0 = 52.5
    result = form.score({"live": "1", "used": "1", "q1": "1", "q2": "3", "q3": "4"})
    assert result.dimensions == {"a": 70.0, "b": 0.0}
    assert result.score == pytest.approx(52.5)
    assert result.satisfied is False
    assert result.satisfied_share == pytest.approx(1 / 3)
    # don't know is not scored: dim b missing -> overall from dim a only
    result = form.score({"live": "1", "used": "1", "q1": "1", "q2": "2", "q3": "9"})
    assert result.dimensions == {"a": 85.0}
    assert result.score == pytest.approx(85.0)
    assert result.satisfied is True
    # hidden answers do not count
    result = form.score({"live": "1", "used": "2", "q1": "4", "q2": "1"})
    assert result.score == 100.0


def test_score_without_dimension_weights_is_mean_of_items() -> None:
    form = small_form(dimensions={"a": {"label": {"zh_CN": "甲"}}, "b": {"label": {"zh_CN": "乙"}}})
    result = form.score({"live": "1", "used": "1", "q1": "1", "q2": "3", "q3": "4"})
    assert result.score == pytest.approx((100 + 3 * 60 + 0) / 5)
    assert form.score({"live": "1"}).score is None


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"relevant": "${nope} = '1'"}, "nope"),
        ({"type": "rating"}, "type"),
        ({"scale": "missing"}, "missing"),
        ({"dimension": "zzz"}, "zzz"),
        ({"relevant": "${used} =="}, "relevant"),
    ],
)
def test_bad_definitions_are_refused(change: dict, word: str) -> None:
    definition = small_form().to_definition()
    definition["items"][2].update(change)
    with pytest.raises(QuestionnaireError) as info:
        QuestionnaireForm(definition)
    assert word in str(info.value)


def test_repeated_names_refused() -> None:
    definition = small_form().to_definition()
    definition["items"].append(dict(definition["items"][0]))
    with pytest.raises(QuestionnaireError, match="repeated"):
        QuestionnaireForm(definition)


def test_to_definition_round_trips() -> None:
    form = small_form()
    again = QuestionnaireForm(form.to_definition())
    assert again.to_definition() == form.to_definition()


def test_standard_questionnaire() -> None:
    form = QuestionnaireForm(standard_definition())
    rated = [i for i in form.items if i.dimension]
    assert 12 <= len(rated) <= 16
    assert {i.dimension for i in rated} == set(form.dimensions)
    assert sum(d["weight"] for d in form.dimensions.values()) == pytest.approx(1.0)
    assert any(i.screening for i in form.items)
    assert "toilet_cleanliness" not in [
        i.name for i in form.visible_items({"resident": "1", "toilet_used": "2"})
    ]
    assert form.is_screened_out({"resident": "2"})
    answers = {i.name: "1" for i in rated}
    answers.update({"resident": "1", "toilet_used": "1", "hotline_used": "1"})
    assert form.score(answers).score == pytest.approx(100.0)
