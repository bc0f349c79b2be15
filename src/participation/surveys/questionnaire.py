"""The questionnaire engine (pure: no database, no HTTP).

A questionnaire version is a JSON *definition* (stored in ``Questionnaire.definition``)::

    {
      "languages": ["zh_CN", "en"],
      "scales": {"satisfaction": {"choices": [
          {"value": "1", "label": {"zh_CN": "满意", "en": "Satisfied"}, "score": 100,
           "satisfied": true}, ...
          {"value": "9", "label": {"zh_CN": "不了解", "en": "Don't know"}, "score": null}]}},
      "dimensions": {"sanitation": {"label": {...}, "weight": 0.25}, ...},
      "items": [{"name": "q1", "type": "select_one", "scale": "satisfaction",
                 "label": {...}, "hint": {...}, "dimension": "sanitation", "weight": 1.0,
                 "required": true, "relevant": "${q0} = '1'", "constraint": ". >= 18",
                 "constraint_message": {...}, "screening": true}, ...],
      "settings": {"form_id": "...", "version": "...", "satisfied_threshold": 80,
                   "title": {"zh_CN": "...", "en": "..."}, "default_language": "zh_CN"}
    }

Item types: ``select_one``, ``select_multiple``, ``integer``, ``decimal``, ``text``, ``note``.
Choices come from a named ``scale`` or inline ``choices``. A *screening* item (``select_one``)
confirms the respondent lives in the sampled street: a choice marked ``"eligible": false``
(or, when none is marked, a choice valued ``2``/``0``/``no``) ends the interview as not
eligible.

``relevant`` and ``constraint`` use the XLSForm expression subset evaluated by
:func:`compile_expression` — a tokenizer and a recursive-descent parser, never Python ``eval``:
``${name}``, ``.``, string and number literals, ``= != < <= > >=``, ``and``, ``or``,
``not(...)``, ``selected(${x}, 'v')``, ``count-selected(${x})``, ``string-length(...)``,
``true()``, ``false()``, parentheses and ``+ - * div mod``.

Scoring: an item answered on a scored choice scores 0–100 (a choice whose score is null, such
as 不了解 "don't know", is not scored). A dimension's index is the weighted mean (item
``weight``) of its scored items; the overall score is the dimension-weighted mean of the
available dimension indices when the dimensions carry weights, else the weighted mean of all
scored items. A respondent is *satisfied* when the overall score reaches
``settings.satisfied_threshold`` (default 80, i.e. 基本满意 or better on the standard scale).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from participation.core.errors import ServiceError
from participation.core.i18n import N_, gettext

ITEM_TYPES = ("select_one", "select_multiple", "integer", "decimal", "text", "note")
SELECT_TYPES = ("select_one", "select_multiple")
DEFAULT_THRESHOLD = 80.0
NOT_ELIGIBLE_VALUES = ("2", "0", "no", "n", "false")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class QuestionnaireError(ServiceError):
    """A questionnaire definition (or an expression in it) is invalid."""


class ExpressionError(QuestionnaireError):
    """An XLSForm expression cannot be parsed."""


# --------------------------------------------------------------------------- expressions

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ref>\$\{[^}]*\})
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
  | (?P<dot>\.)
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*)
    """,
    re.VERBOSE,
)

KEYWORDS = ("and", "or", "div", "mod")
FUNCTIONS = ("not", "selected", "count-selected", "string-length", "true", "false")


@dataclass(frozen=True, slots=True)
class Token:
    """A lexical token of an expression."""

    kind: str  # ref, number, string, op, dot, word, end
    text: str
    pos: int


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``; raises :class:`ExpressionError` on an unknown character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN_RE.match(source, pos)
        if match is None:
            raise ExpressionError(
                N_("Cannot read the expression %(expr)s at position %(pos)s."),
                field="expression",
                expr=source,
                pos=pos + 1,
            )
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "word" and text.endswith("-"):
            # "x -1" style: give the minus back
            text = text.rstrip("-")
            match_end = pos + len(text)
        else:
            match_end = match.end()
        if kind != "ws":
            tokens.append(Token(kind, text, pos))
        pos = match_end
    tokens.append(Token("end", "", len(source)))
    return tokens


@dataclass(frozen=True, slots=True)
class Node:
    """A node of a parsed expression."""

    kind: str  # literal, ref, current, binary, func, neg
    value: Any = None
    args: tuple[Node, ...] = ()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, token: Token) -> ExpressionError:
        return ExpressionError(
            N_("Unexpected %(token)s in the expression %(expr)s."),
            field="expression",
            token=token.text or "end",
            expr=self.source,
        )

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise self.error(token)

    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek().kind != "end":
            raise self.error(self.peek())
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.peek().kind == "word" and self.peek().text == "or":
            self.take()
            node = Node("binary", "or", (node, self.parse_and()))
        return node

    def parse_and(self) -> Node:
        node = self.parse_compare()
        while self.peek().kind == "word" and self.peek().text == "and":
            self.take()
            node = Node("binary", "and", (node, self.parse_compare()))
        return node

    def parse_compare(self) -> Node:
        node = self.parse_additive()
        while self.peek().kind == "op" and self.peek().text in ("=", "!=", "<", "<=", ">", ">="):
            op = self.take().text
            node = Node("binary", op, (node, self.parse_additive()))
        return node

    def parse_additive(self) -> Node:
        node = self.parse_multiplicative()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            op = self.take().text
            node = Node("binary", op, (node, self.parse_multiplicative()))
        return node

    def parse_multiplicative(self) -> Node:
        node = self.parse_unary()
        while (self.peek().kind == "op" and self.peek().text == "*") or (
            self.peek().kind == "word" and self.peek().text in ("div", "mod")
        ):
            op = self.take().text
            node = Node("binary", op, (node, self.parse_unary()))
        return node

    def parse_unary(self) -> Node:
        if self.peek().kind == "op" and self.peek().text == "-":
            self.take()
            return Node("neg", None, (self.parse_unary(),))
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Node("literal", float(token.text))
        if token.kind == "string":
            return Node("literal", token.text[1:-1])
        if token.kind == "ref":
            name = token.text[2:-1].strip()
            if not NAME_RE.match(name):
                raise self.error(token)
            return Node("ref", name)
        if token.kind == "dot":
            return Node("current")
        if token.kind == "op" and token.text == "(":
            node = self.parse_or()
            self.expect(")")
            return node
        if token.kind == "word" and token.text not in KEYWORDS:
            if token.text not in FUNCTIONS:
                raise ExpressionError(
                    N_("Unknown function %(name)s in the expression %(expr)s."),
                    field="expression",
                    name=token.text,
                    expr=self.source,
                )
            self.expect("(")
            args: list[Node] = []
            if not (self.peek().kind == "op" and self.peek().text == ")"):
                args.append(self.parse_or())
                while self.peek().kind == "op" and self.peek().text == ",":
                    self.take()
                    args.append(self.parse_or())
            self.expect(")")
            arity = {
                "not": 1,
                "selected": 2,
                "count-selected": 1,
                "string-length": 1,
                "true": 0,
                "false": 0,
            }
            if len(args) != arity[token.text]:
                raise ExpressionError(
                    N_("%(name)s() takes %(count)s argument(s) in the expression %(expr)s."),
                    field="expression",
                    name=token.text,
                    count=arity[token.text],
                    expr=self.source,
                )
            return Node("func", token.text, tuple(args))
        raise self.error(token)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _to_number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if _is_empty(value):
        return math.nan
    if isinstance(value, list):
        return math.nan
    try:
        return float(str(value).strip())
    except ValueError:
        return math.nan


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not math.isnan(value) and value != 0
    if isinstance(value, int):
        return value != 0
    return not _is_empty(value)


def _to_text(value: Any) -> str:
    if _is_empty(value):
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _as_list(value: Any) -> list[str]:
    if _is_empty(value):
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value).split()


def _compare(op: str, left: Any, right: Any) -> bool:
    numeric = isinstance(left, int | float) or isinstance(right, int | float)
    if numeric:
        a, b = _to_number(left), _to_number(right)
        if math.isnan(a) or math.isnan(b):
            # an unanswered item equals nothing numeric; = '' handles "unanswered"
            return op == "!="
    else:
        a, b = _to_text(left), _to_text(right)  # type: ignore[assignment]
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _evaluate(node: Node, lookup: Callable[[str], Any], current: Any) -> Any:
    kind = node.kind
    if kind == "literal":
        return node.value
    if kind == "ref":
        return lookup(node.value)
    if kind == "current":
        return current
    if kind == "neg":
        return -_to_number(_evaluate(node.args[0], lookup, current))
    if kind == "func":
        name = node.value
        if name == "true":
            return True
        if name == "false":
            return False
        if name == "not":
            return not _to_bool(_evaluate(node.args[0], lookup, current))
        if name == "selected":
            values = _as_list(_evaluate(node.args[0], lookup, current))
            return _to_text(_evaluate(node.args[1], lookup, current)) in values
        if name == "count-selected":
            return float(len(_as_list(_evaluate(node.args[0], lookup, current))))
        return float(len(_to_text(_evaluate(node.args[0], lookup, current))))
    op = node.value
    if op == "and":
        return _to_bool(_evaluate(node.args[0], lookup, current)) and _to_bool(
            _evaluate(node.args[1], lookup, current)
        )
    if op == "or":
        return _to_bool(_evaluate(node.args[0], lookup, current)) or _to_bool(
            _evaluate(node.args[1], lookup, current)
        )
    left = _evaluate(node.args[0], lookup, current)
    right = _evaluate(node.args[1], lookup, current)
    if op in ("=", "!=", "<", "<=", ">", ">="):
        return _compare(op, left, right)
    a, b = _to_number(left), _to_number(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "div":
        return math.nan if b == 0 else a / b
    return math.nan if b == 0 else math.fmod(a, b)


@dataclass(frozen=True)
class Expression:
    """A compiled XLSForm expression."""

    source: str
    root: Node
    references: frozenset[str]
    uses_current: bool

    def evaluate(self, answers: Mapping[str, Any], current: Any = None) -> Any:
        """The value of the expression over ``answers`` (``.`` is ``current``)."""
        return _evaluate(self.root, lambda name: answers.get(name), current)

    def test(self, answers: Mapping[str, Any], current: Any = None) -> bool:
        """The expression as a boolean."""
        return _to_bool(self.evaluate(answers, current))


def _collect(node: Node, refs: set[str]) -> bool:
    uses_current = node.kind == "current"
    if node.kind == "ref":
        refs.add(node.value)
    for arg in node.args:
        uses_current = _collect(arg, refs) or uses_current
    return uses_current


def compile_expression(source: str) -> Expression:
    """Parse an XLSForm expression; raises :class:`ExpressionError` when it is malformed."""
    root = _Parser(source).parse()
    refs: set[str] = set()
    uses_current = _collect(root, refs)
    return Expression(source, root, frozenset(refs), uses_current)


# --------------------------------------------------------------------------- the form


@dataclass(frozen=True)
class Choice:
    """One answer choice."""

    value: str
    label: dict[str, str]
    score: float | None = None
    satisfied: bool | None = None
    eligible: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The definition form of the choice."""
        out: dict[str, Any] = {"value": self.value, "label": dict(self.label)}
        if self.score is not None or self.satisfied is not None:
            out["score"] = self.score
        if self.satisfied is not None:
            out["satisfied"] = self.satisfied
        if self.eligible is not None:
            out["eligible"] = self.eligible
        return out


@dataclass
class Item:
    """One question (or note) of a questionnaire."""

    name: str
    type: str
    label: dict[str, str]
    hint: dict[str, str] = field(default_factory=dict)
    scale: str | None = None
    choices: list[Choice] = field(default_factory=list)
    dimension: str | None = None
    weight: float = 1.0
    required: bool = False
    relevant: Expression | None = None
    constraint: Expression | None = None
    constraint_message: dict[str, str] = field(default_factory=dict)
    screening: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def choice_values(self) -> list[str]:
        """Values of the choices, in order."""
        return [c.value for c in self.choices]

    def choice(self, value: Any) -> Choice | None:
        """The choice valued ``value``, or None."""
        text = _to_text(value)
        for c in self.choices:
            if c.value == text:
                return c
        return None

    @property
    def scored(self) -> bool:
        """True when some choice of the item carries a score."""
        return self.type == "select_one" and any(c.score is not None for c in self.choices)

    def text(self, attr: str, locale: str, default_language: str = "zh_CN") -> str:
        """A translated text (``label``, ``hint`` or ``constraint_message``) for ``locale``."""
        texts: dict[str, str] = getattr(self, attr)
        return pick(texts, locale, default_language)

    def not_eligible_values(self) -> set[str]:
        """Choices that screen the respondent out (screening items only)."""
        if not self.screening:
            return set()
        marked = {c.value for c in self.choices if c.eligible is False}
        if marked:
            return marked
        return {c.value for c in self.choices if c.value.lower() in NOT_ELIGIBLE_VALUES}


def pick(texts: Mapping[str, str], locale: str, default_language: str = "zh_CN") -> str:
    """The text for ``locale`` (falling back to its language, the default, then any)."""
    if not texts:
        return ""
    if texts.get(locale):
        return texts[locale]
    language = locale.split("_")[0]
    for key, value in texts.items():
        if key.split("_")[0] == language and value:
            return value
    if texts.get(default_language):
        return texts[default_language]
    return next((v for v in texts.values() if v), "")


@dataclass(frozen=True)
class ScoreResult:
    """A respondent's scores.

    ``score``: overall 0–100 (None when nothing was scored); ``satisfied``: score ≥ threshold;
    ``dimensions``: dimension → index; ``satisfied_share``: share of scored items answered on a
    "satisfied" choice (满意/基本满意); ``n_scored``: number of scored items.
    """

    score: float | None
    satisfied: bool | None
    dimensions: dict[str, float]
    satisfied_share: float | None = None
    n_scored: int = 0


def _texts(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"zh_CN": value}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    raise QuestionnaireError(N_("%(where)s must be a text or a mapping of languages."), where=where)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ("true", "yes", "1", "true()", "y")


def _opt_float(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise QuestionnaireError(
            N_("%(where)s: %(value)s is not a number."), where=where, value=value
        ) from exc


def _opt_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    return _bool(value)


def _choices(raw: Any, where: str) -> list[Choice]:
    if not isinstance(raw, list) or not raw:
        raise QuestionnaireError(N_("%(where)s has no choices."), field="choices", where=where)
    out: list[Choice] = []
    seen: set[str] = set()
    for entry in raw:
        if not isinstance(entry, Mapping) or entry.get("value") in (None, ""):
            raise QuestionnaireError(
                N_("%(where)s: every choice needs a value."), field="choices", where=where
            )
        value = _to_text(entry["value"])
        if " " in value:
            raise QuestionnaireError(
                N_("%(where)s: choice value %(value)s contains a space."),
                field="choices",
                where=where,
                value=value,
            )
        if value in seen:
            raise QuestionnaireError(
                N_("%(where)s: choice value %(value)s is repeated."),
                field="choices",
                where=where,
                value=value,
            )
        seen.add(value)
        out.append(
            Choice(
                value=value,
                label=_texts(entry.get("label"), where),
                score=_opt_float(entry.get("score"), where),
                satisfied=_opt_bool(entry.get("satisfied")),
                eligible=_opt_bool(entry.get("eligible")),
            )
        )
    return out


class QuestionnaireForm:
    """A questionnaire definition, checked and ready to show, validate, clean and score answers.

    Raises :class:`QuestionnaireError` when the definition is invalid (unknown item types or
    names in expressions, missing scales, repeated names ...).
    """

    def __init__(self, definition: Mapping[str, Any]) -> None:
        if not isinstance(definition, Mapping):
            raise QuestionnaireError(N_("The questionnaire definition must be an object."))
        self.definition: dict[str, Any] = dict(definition)
        self.settings: dict[str, Any] = dict(definition.get("settings") or {})
        self.languages: list[str] = list(definition.get("languages") or ["zh_CN"])
        self.default_language: str = str(self.settings.get("default_language") or self.languages[0])
        threshold = _opt_float(self.settings.get("satisfied_threshold"), "satisfied_threshold")
        self.threshold: float = DEFAULT_THRESHOLD if threshold is None else threshold
        self.scales: dict[str, list[Choice]] = {
            name: _choices((scale or {}).get("choices"), f"scale {name}")
            for name, scale in (definition.get("scales") or {}).items()
        }
        self.dimensions: dict[str, dict[str, Any]] = {}
        for name, dim in (definition.get("dimensions") or {}).items():
            dim = dim or {}
            self.dimensions[name] = {
                "label": _texts(dim.get("label"), f"dimension {name}"),
                "weight": _opt_float(dim.get("weight"), f"dimension {name}"),
            }
        self.items: list[Item] = []
        self._by_name: dict[str, Item] = {}
        raw_items = definition.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise QuestionnaireError(N_("The questionnaire has no items."), field="items")
        for raw in raw_items:
            item = self._item(raw)
            if item.name in self._by_name:
                raise QuestionnaireError(
                    N_("Item name %(name)s is repeated."), field="name", name=item.name
                )
            self._by_name[item.name] = item
            self.items.append(item)
        for item in self.items:
            for attr in ("relevant", "constraint"):
                expr: Expression | None = getattr(item, attr)
                if expr is None:
                    continue
                for ref in expr.references:
                    if ref not in self._by_name:
                        raise QuestionnaireError(
                            N_("Item %(item)s: %(attr)s refers to unknown item ${%(name)s}."),
                            field=attr,
                            item=item.name,
                            attr=attr,
                            name=ref,
                        )

    def _item(self, raw: Any) -> Item:
        if not isinstance(raw, Mapping):
            raise QuestionnaireError(N_("Every item must be an object."), field="items")
        name = str(raw.get("name") or "").strip()
        if not NAME_RE.match(name):
            raise QuestionnaireError(
                N_("%(name)s is not a valid item name."), field="name", name=name or "''"
            )
        kind = str(raw.get("type") or "").strip()
        if kind not in ITEM_TYPES:
            raise QuestionnaireError(
                N_("Item %(item)s has an unknown type %(type)s."),
                field="type",
                item=name,
                type=kind or "''",
            )
        scale = raw.get("scale")
        choices: list[Choice] = []
        if kind in SELECT_TYPES:
            if scale:
                if scale not in self.scales:
                    raise QuestionnaireError(
                        N_("Item %(item)s uses unknown choice list %(scale)s."),
                        field="scale",
                        item=name,
                        scale=scale,
                    )
                choices = self.scales[scale]
            else:
                choices = _choices(raw.get("choices"), f"item {name}")
        dimension = raw.get("dimension") or None
        if dimension is not None and dimension not in self.dimensions:
            raise QuestionnaireError(
                N_("Item %(item)s uses unknown dimension %(dimension)s."),
                field="dimension",
                item=name,
                dimension=dimension,
            )
        weight = _opt_float(raw.get("weight"), f"item {name}")

        def expression(attr: str) -> Expression | None:
            source = raw.get(attr)
            if source is None or str(source).strip() == "":
                return None
            try:
                return compile_expression(str(source))
            except ExpressionError as exc:
                raise QuestionnaireError(
                    N_("Item %(item)s, %(attr)s: %(problem)s"),
                    field=attr,
                    item=name,
                    attr=attr,
                    problem=str(exc),
                ) from exc

        screening = _bool(raw.get("screening"))
        if screening and kind != "select_one":
            raise QuestionnaireError(
                N_("Screening item %(item)s must be a single choice."), field="screening", item=name
            )
        known = {
            "name",
            "type",
            "label",
            "hint",
            "scale",
            "choices",
            "dimension",
            "weight",
            "required",
            "relevant",
            "constraint",
            "constraint_message",
            "screening",
        }
        return Item(
            name=name,
            type=kind,
            label=_texts(raw.get("label"), f"item {name}"),
            hint=_texts(raw.get("hint"), f"item {name}"),
            scale=scale or None,
            choices=choices,
            dimension=dimension,
            weight=1.0 if weight is None else weight,
            required=_bool(raw.get("required")) and kind != "note",
            relevant=expression("relevant"),
            constraint=expression("constraint"),
            constraint_message=_texts(raw.get("constraint_message"), f"item {name}"),
            screening=screening,
            extra={k: v for k, v in raw.items() if k not in known},
        )

    # ------------------------------------------------------------------ look-ups

    def item(self, name: str) -> Item:
        """The item named ``name`` (KeyError when unknown)."""
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> list[str]:
        """Item names in order (notes included)."""
        return [i.name for i in self.items]

    @property
    def question_names(self) -> list[str]:
        """Names of items that take an answer (notes excluded)."""
        return [i.name for i in self.items if i.type != "note"]

    def title(self, locale: str) -> str:
        """The questionnaire title in ``locale``."""
        return pick(_texts(self.settings.get("title"), "title"), locale, self.default_language)

    def dimension_label(self, name: str, locale: str) -> str:
        """A dimension's label in ``locale``."""
        dim = self.dimensions.get(name)
        return pick(dim["label"], locale, self.default_language) if dim else name

    # ------------------------------------------------------------------ answers

    def normalise(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Answers as the engine stores them: select_multiple as lists, empty answers dropped,
        numbers parsed when they parse (left as text otherwise, for :meth:`validate`)."""
        out: dict[str, Any] = {}
        for item in self.items:
            if item.type == "note" or item.name not in answers:
                continue
            value = answers[item.name]
            if item.type == "select_multiple":
                values = _as_list(value)
                if values:
                    out[item.name] = values
                continue
            if isinstance(value, list):
                value = value[0] if len(value) == 1 else " ".join(str(v) for v in value)
            if _is_empty(value):
                continue
            if item.type == "integer":
                out[item.name] = _parse_int(value)
            elif item.type == "decimal":
                out[item.name] = _parse_float(value)
            else:
                out[item.name] = str(value).strip() if isinstance(value, str) else _to_text(value)
        return out

    def _visible(self, answers: Mapping[str, Any]) -> Iterable[tuple[Item, bool]]:
        """Each item with its visibility, relevance evaluated in order over earlier answers;
        items after a screening-out answer are hidden."""
        seen: dict[str, Any] = {}
        stopped = False
        for item in self.items:
            visible = not stopped and (item.relevant is None or item.relevant.test(seen))
            if visible:
                seen[item.name] = answers.get(item.name)
                if item.screening and _to_text(answers.get(item.name)) in (
                    item.not_eligible_values()
                ):
                    stopped = True
            yield item, visible

    def visible_items(self, answers: Mapping[str, Any]) -> list[Item]:
        """Items shown for ``answers`` (relevance evaluated in order over earlier answers)."""
        normal = self.normalise(answers)
        return [item for item, visible in self._visible(normal) if visible]

    def is_screened_out(self, answers: Mapping[str, Any]) -> bool:
        """True when a visible screening item was answered with a not-eligible choice."""
        normal = self.normalise(answers)
        return self._screened_out(normal, self._visible(normal))

    def _screened_out(self, normal: Mapping[str, Any], shown: Iterable[tuple[Item, bool]]) -> bool:
        for item, visible in shown:
            if (
                visible
                and item.screening
                and _to_text(normal.get(item.name)) in (item.not_eligible_values())
            ):
                return True
        return False

    def clean(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Normalised answers of visible items only (answers of hidden items dropped)."""
        normal = self.normalise(answers)
        return self._clean(normal, self._visible(normal))

    @staticmethod
    def _clean(normal: Mapping[str, Any], shown: Iterable[tuple[Item, bool]]) -> dict[str, Any]:
        return {
            item.name: normal[item.name]
            for item, visible in shown
            if visible and item.name in normal
        }

    def validate(
        self, answers: Mapping[str, Any], locale: str = "zh_CN", *, partial: bool = False
    ) -> dict[str, str]:
        """Errors of ``answers``: item name → message translated into ``locale``.

        Checks visible items: required answers (skipped when ``partial``), choice membership,
        number parsing and constraints.
        """
        normal = self.normalise(answers)
        return self._validate(normal, self._visible(normal), locale, partial)

    def _validate(
        self,
        normal: Mapping[str, Any],
        shown: Iterable[tuple[Item, bool]],
        locale: str,
        partial: bool,
    ) -> dict[str, str]:
        errors: dict[str, str] = {}
        for item, visible in shown:
            if not visible or item.type == "note":
                continue
            value = normal.get(item.name)
            if _is_empty(value):
                if item.required and not partial:
                    errors[item.name] = gettext(N_("Please answer this question."), locale)
                continue
            message = self._check_value(item, value, locale)
            if (
                message is None
                and item.constraint is not None
                and not item.constraint.test(normal, value)
            ):
                message = item.text("constraint_message", locale, self.default_language) or gettext(
                    N_("This answer is not allowed."), locale
                )
            if message:
                errors[item.name] = message
        return errors

    def _check_value(self, item: Item, value: Any, locale: str) -> str | None:
        if item.type == "select_one" and item.choice(value) is None:
            return gettext(N_("Please choose one of the options."), locale)
        if item.type == "select_multiple":
            bad = [v for v in _as_list(value) if item.choice(v) is None]
            if bad:
                return gettext(N_("Please choose among the options."), locale)
        if item.type == "integer" and not isinstance(value, int):
            return gettext(N_("Please enter a whole number."), locale)
        if item.type == "decimal" and not isinstance(value, int | float):
            return gettext(N_("Please enter a number."), locale)
        return None

    # ------------------------------------------------------------------ scores

    def score(self, answers: Mapping[str, Any]) -> ScoreResult:
        """The respondent's overall score, dimension indices and satisfaction."""
        normal = self.normalise(answers)
        return self._score(normal, self._visible(normal))

    def assess(
        self, answers: Mapping[str, Any], locale: str = "zh_CN"
    ) -> tuple[bool, dict[str, str], dict[str, Any], ScoreResult]:
        """:meth:`is_screened_out`, :meth:`validate`, :meth:`clean` and the :meth:`score` of the
        cleaned answers, with the answers normalised and the skip logic evaluated once."""
        normal = self.normalise(answers)
        shown = list(self._visible(normal))
        return (
            self._screened_out(normal, shown),
            self._validate(normal, shown, locale, False),
            self._clean(normal, shown),
            self._score(normal, shown),  # hidden items are never scored: as of the cleaned
        )

    def _score(self, normal: Mapping[str, Any], shown: Iterable[tuple[Item, bool]]) -> ScoreResult:
        per_dim: dict[str, list[tuple[float, float]]] = {}
        all_scores: list[tuple[float, float]] = []
        satisfied_flags: list[bool] = []
        for item, visible in shown:
            if not visible or not item.scored:
                continue
            choice = item.choice(normal.get(item.name))
            if choice is None or choice.score is None:
                continue
            if choice.satisfied is not None:
                satisfied_flags.append(choice.satisfied)
            if item.weight <= 0:
                continue
            all_scores.append((choice.score, item.weight))
            if item.dimension:
                per_dim.setdefault(item.dimension, []).append((choice.score, item.weight))
        dimensions = {name: _wmean(values) for name, values in per_dim.items()}
        weighted = {
            name: self.dimensions[name]["weight"]
            for name in dimensions
            if self.dimensions[name]["weight"] is not None
        }
        overall: float | None
        if any(d["weight"] is not None for d in self.dimensions.values()):
            overall = (
                _wmean([(dimensions[name], w) for name, w in weighted.items()])
                if weighted
                else None
            )
        else:
            overall = _wmean(all_scores) if all_scores else None
        satisfied = None if overall is None else overall >= self.threshold - 1e-9
        share = sum(satisfied_flags) / len(satisfied_flags) if satisfied_flags else None
        return ScoreResult(
            score=overall,
            satisfied=satisfied,
            dimensions=dimensions,
            satisfied_share=share,
            n_scored=len(all_scores),
        )

    # ------------------------------------------------------------------ output

    def to_definition(self) -> dict[str, Any]:
        """The (canonical) definition JSON of the form."""
        items: list[dict[str, Any]] = []
        for item in self.items:
            out: dict[str, Any] = {"name": item.name, "type": item.type, "label": item.label}
            if item.hint:
                out["hint"] = item.hint
            if item.type in SELECT_TYPES:
                if item.scale:
                    out["scale"] = item.scale
                else:
                    out["choices"] = [c.to_json() for c in item.choices]
            if item.dimension:
                out["dimension"] = item.dimension
            if item.weight != 1.0:
                out["weight"] = item.weight
            if item.required:
                out["required"] = True
            if item.relevant:
                out["relevant"] = item.relevant.source
            if item.constraint:
                out["constraint"] = item.constraint.source
            if item.constraint_message:
                out["constraint_message"] = item.constraint_message
            if item.screening:
                out["screening"] = True
            out.update(item.extra)
            items.append(out)
        return {
            "languages": list(self.languages),
            "scales": {
                name: {"choices": [c.to_json() for c in choices]}
                for name, choices in self.scales.items()
            },
            "dimensions": {
                name: {
                    "label": dim["label"],
                    **({"weight": dim["weight"]} if dim["weight"] is not None else {}),
                }
                for name, dim in self.dimensions.items()
            },
            "items": items,
            "settings": dict(self.settings),
        }


def _wmean(values: list[tuple[float, float]]) -> float:
    total = sum(w for _, w in values)
    if total <= 0:
        return sum(v for v, _ in values) / len(values)
    return sum(v * w for v, w in values) / total


def _parse_int(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return text


def _parse_float(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text
