"""Hypothesis strategies for HTTP requests to the API, and the check every answer must pass.

The request bodies are built from the server's own ``/openapi.json``, so a field added to a
schema is fuzzed without a change here: each field is left out, valid, of a random JSON type,
or a hostile value (NaN and ∞ tokens, numbers of thousands of digits, deep nesting, long
arrays and strings, up to and past the body limit). Bodies are written out by hand, as
``json.dumps`` cannot write a 5,000-digit number or a 100,000-deep list.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
from hypothesis import strategies as st

from nudgenet.web.app import MAX_BODY_BYTES, MAX_HEAD_BYTES

REQUEST_TIMEOUT_S = 30.0
"""The longest any fuzzed request may take: past it the server is taken to hang."""


@dataclass(frozen=True)
class Raw:
    """JSON text to put into a body as it is (a huge number, a deep list, a NaN token...)."""

    text: str


def encode(value: Any) -> str:
    """``value`` as JSON text, with :class:`Raw` parts written verbatim."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return json.dumps(value, allow_nan=True)


# --------------------------------------------------------------------------- hostile values

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and ±∞ too, written as the tokens NaN, Infinity
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value, small."""

weird_scalars = st.sampled_from(
    [
        "NaN", "nan", "Infinity", "-Infinity", "inf", "1e309", "-0", "0x10", "1_000", " 1",
        "²", "١٢", "１２", "", "\x00", "\ud800", "null", "true", "[]", "{}", "0" * 50,
    ]
) | st.sampled_from(
    [Raw(t) for t in ("NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1E-400", "-0", "-0.0")]
) | st.sampled_from(
    [2**31, 2**63, -(2**63) - 1, 2**64, 10**18, 10**100, 1e308, -1e308, 5e-324, 1.0, 0.5, True]
)  # fmt: skip
"""Values that parsers and range checks get wrong: NaN strings and tokens, huge numbers."""

BIG_KINDS = ("digits", "negative", "exponent", "deep-list", "deep-object", "array", "floats",
             "strings", "string", "escapes", "object")  # fmt: skip


def big(kind: str, n: int) -> Raw:
    """A large JSON value of about ``n`` elements, digits or characters."""
    if kind == "digits":
        return Raw("9" * n)
    if kind == "negative":
        return Raw("-" + "1" * n + ".5")
    if kind == "exponent":
        return Raw("1e" + "9" * min(n, 10_000))
    if kind == "deep-list":
        return Raw("[" * n + "]" * n)
    if kind == "deep-object":
        return Raw('{"a":' * n + "0" + "}" * n)
    if kind == "array":
        return Raw("[" + ",".join(["7"] * n) + "]")
    if kind == "floats":
        return Raw("[" + ",".join(["1e308"] * n) + "]")
    if kind == "strings":
        return Raw("[" + ",".join(['"w"'] * n) + "]")
    if kind == "string":
        return Raw('"' + "w" * n + '"')
    if kind == "escapes":
        return Raw('"' + "\\ud800\\u0000" * (n // 12 + 1) + '"')
    if kind == "object":
        return Raw("{" + ",".join(f'"k{i:07}":0' for i in range(n // 12 + 1)) + "}")
    raise ValueError(kind)


big_values = st.builds(
    big, st.sampled_from(BIG_KINDS), st.integers(1, MAX_BODY_BYTES // 2) | st.integers(1, 5_000)
)
"""Large values, most of them within the body limit once in a body, some past it."""


# --------------------------------------------------------------------------- valid values


@st.composite
def drawings(draw: st.DrawFn) -> dict[str, Any]:
    """A valid drawing: random ink, from a drawn seed (lists of thousands of drawn ints
    would be slow for Hypothesis, and no more hostile)."""
    width, height = draw(st.integers(8, 64)), draw(st.integers(8, 64))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ink = rng.random((height, width)) < draw(st.sampled_from([0.0, 0.05, 0.3, 1.0]))
    pixels = np.where(ink, rng.integers(1, 256, (height, width)), 0)
    return {"width": width, "height": height, "pixels": pixels.ravel().tolist()}


FORMULA_TOKENS = ["w", "w", "w", "2", "3", "0.5", "1e3", "+", "-", "*", "/", "^", "**", "(", ")",
                  "sin(", "cos(", "exp(", "log(", "sqrt(", "abs(", "tanh(", " "]  # fmt: skip
formulas = st.lists(st.sampled_from(FORMULA_TOKENS), min_size=1, max_size=14).map("".join)
"""Cost formulas, most of them nonsense: what a learner might type into the Descend panel."""


def valid(schema: dict[str, Any], spec: dict[str, Any], name: str = "") -> st.SearchStrategy:
    """Values that ``schema`` (part of ``spec``, an OpenAPI document) accepts."""
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        if ref == "Drawing":  # width × height pixels: more than a JSON schema says
            return drawings()
        return objects(spec["components"]["schemas"][ref], spec, mutate=False)
    if "anyOf" in schema:
        return st.one_of([valid(s, spec, name) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", -(2**40) - 1) + 1)
        hi = schema.get("maximum", schema.get("exclusiveMaximum", 2**40 + 1) - 1)
        return st.integers(int(lo), int(hi))
    if kind == "number":
        return st.floats(
            schema.get("minimum", schema.get("exclusiveMinimum", -1e9)),
            schema.get("maximum", schema.get("exclusiveMaximum", 1e9)),
            exclude_min="exclusiveMinimum" in schema,
            exclude_max="exclusiveMaximum" in schema,
            allow_nan=False,
        )
    if kind == "string":
        text = formulas if name == "expression" else st.text()
        low, high = schema.get("minLength", 0), schema.get("maxLength", 100)
        return text.filter(lambda s: low <= len(s) <= high)
    if kind == "array":
        items = valid(schema.get("items", {}), spec, name)
        return st.lists(
            items, min_size=schema.get("minItems", 0), max_size=schema.get("maxItems", 5)
        )
    if kind == "boolean":
        return st.booleans()
    return json_values


def objects(schema: dict[str, Any], spec: dict[str, Any], *, mutate: bool) -> st.SearchStrategy:
    """Objects of ``schema``'s fields: each left out (unless required and not ``mutate``),
    valid, or, when ``mutate``, of a random type or hostile; ``mutate`` adds unknown fields."""
    required = set(schema.get("required", ()))

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for key, sub in schema.get("properties", {}).items():
            good = valid(sub, spec, key)
            if mutate and "$ref" in sub:
                target = spec["components"]["schemas"][sub["$ref"].rsplit("/", 1)[-1]]
                good = good | objects(target, spec, mutate=True)
            choices = [good]
            if mutate:
                choices += [json_values, weird_scalars, big_values]
            if key not in required or mutate:
                choices.append(st.just(ABSENT))
            value = draw(st.one_of(choices))
            if value is not ABSENT:
                body[key] = value
        if mutate and draw(st.booleans()):
            body.update(draw(st.dictionaries(st.text(max_size=12), json_values, max_size=3)))
        return body

    return build()


ABSENT = object()


@st.composite
def bodies(draw: st.DrawFn, schema: dict[str, Any] | None, spec: dict[str, Any]) -> bytes:
    """A request body for a route taking ``schema`` (None: a route that reads no body)."""
    shape = draw(st.sampled_from(["object"] * 6 + ["json", "big", "bytes", "truncated"]))
    if schema is None or shape == "json":
        value: Any = draw(
            st.dictionaries(st.text(max_size=8), json_values, max_size=3) | json_values
        )
    elif shape == "big":
        value = draw(big_values)
    elif shape == "bytes":
        return draw(st.binary(max_size=200))
    else:
        value = draw(objects(schema, spec, mutate=True))
    text = encode(value).encode("utf-8", "surrogatepass")
    if shape == "truncated":
        return text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    return text


# --------------------------------------------------------------------------- URLs and headers

numeric_text = st.one_of(
    st.integers().map(str),
    st.integers(1, 6_000).map(lambda n: "9" * n),
    st.sampled_from(
        ["-1", "1e3", "1.5", "0x1f", "²", "١", "NaN", "inf", " 1", "1 ", "+1", "", "00"]
    ),
)
"""Text that reaches a parser of numbers: valid, negative, huge, non-ASCII digits."""
url_text = st.one_of(numeric_text, st.text(max_size=40), st.text(string.printable, max_size=40))


def percent(text: str, *, slash: bool = False) -> str:
    """``text`` for a URL, every reserved character escaped (``/`` too, unless ``slash``)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="/" if slash else "")


HEADER_CHARS = "".join(chr(c) for c in (*range(0x21, 0x7F), *range(0xA0, 0x100)))
header_values = st.one_of(
    numeric_text,
    st.text(HEADER_CHARS + " \t", max_size=60),
    st.integers(0, 2 * MAX_HEAD_BYTES).map(lambda n: "c" * n),
).map(lambda t: t.strip(" \t").encode())  # UTF-8: bytes ≥ 0x80 are allowed as they are
"""Header values as HTTP allows them (visible characters, inner spaces, any bytes ≥ 0x80), of any
length up to twice the head limit."""
header_names = st.text(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~", min_size=1,
                       max_size=20).filter(lambda n: n.lower() not in {
                           "host", "content-length", "transfer-encoding", "connection",
                           "upgrade", "expect", "te", "trailer"})  # fmt: skip
"""Header names, except those that change how the message is framed."""


# --------------------------------------------------------------------------- checking answers


@dataclass
class Tally:
    """How many requests of each class were tried, and what they were answered."""

    answers: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, kind: str, outcome: str) -> None:
        self.answers.setdefault(kind, Counter())[outcome] += 1

    def report(self) -> str:
        lines = []
        for kind, counts in self.answers.items():
            tried = sum(counts.values())
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
            lines.append(f"{kind}: {tried} tried, {tried} handled ({shown})")
        return "\n".join(lines)


def check(response: httpx.Response, head_bytes: int = 0) -> str:
    """The outcome of ``response``, asserting it is a 2xx, or a 4xx with an error body.

    The other answers allowed: the redirect of a path with a trailing slash to the path
    without (Starlette's, on this server only), and the HTTP parser's own 400 to a head over
    the limit that arrived in pieces (h11 refuses it before any route, in plain text).
    """
    status = response.status_code
    assert status < 500, (status, response.request.url, response.text[:500])
    if 200 <= status < 300:
        return "2xx"
    if status in (307, 308):
        target = response.request.url.join(response.headers["location"])
        assert (target.host, target.port) == (response.request.url.host, response.request.url.port)
        assert str(response.request.url.path).endswith("/"), response.request.url
        return "307 (to the path without /)"
    assert 400 <= status < 500, (status, response.text[:500])
    if response.request.method == "HEAD":
        return str(status)
    if status == 400 and head_bytes > MAX_HEAD_BYTES and response.text.startswith("Invalid HTTP"):
        return "400 (parser)"
    assert response.headers["content-type"].startswith("application/json"), response.text[:500]
    body = response.json()
    assert set(body) >= {"error", "help"}, body
    assert isinstance(body["error"], str)
    assert body["error"]
    assert body["help"] is None or isinstance(body["help"], str)
    return str(status)


def filling(kind: str, wrap: Callable[[Raw], Any], limit: int = MAX_BODY_BYTES) -> bytes:
    """The body ``wrap(big(kind, n))`` for the largest ``n`` that keeps it within ``limit``."""

    def size(n: int) -> int:
        return len(encode(wrap(big(kind, n))).encode("utf-8", "surrogatepass"))

    per = max(size(1001) - size(1), 1) / 1000
    n = max(int((limit - size(1)) / per), 1)
    while n > 1 and size(n) > limit:
        n = int(n * 0.999)
    return encode(wrap(big(kind, n))).encode("utf-8", "surrogatepass")
