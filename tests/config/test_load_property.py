"""Property: whatever a user writes, `load_config` either succeeds or raises a ConfigError whose
message carries a key path — never any other exception, never a traceback.

Documents are the real fixture configs and built-in templates, mutated at random: keys
deleted, values replaced by other types, garbage and unknown keys inserted, step types
changed, names duplicated, references broken, depends_on cycles and raw-text corruption.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.config.conftest import FIXTURES

from tutti.config import templates
from tutti.config.issues import ConfigValidationError
from tutti.config.load import diagnose_config, load_config
from tutti.errors import ConfigError

SEEDS = [tomllib.loads((FIXTURES / n).read_text()) for n in ("tutti.toml", "docs_examples_tutti-codex-sdlc.toml")]
SEEDS += [tomllib.loads(templates.render(templates.builtin(n), Path("/tmp/seed"))) for n in templates.builtin_names()]
SEEDS += [{"workspace": {"name": "tiny"}}]

KEYS = ["name", "type", "run", "agent", "depends_on", "runtime", "role", "workflow", "step", "schedule",
        "timezone", "fail_mode", "timeout_secs", "subdir", "id", "output_json", "text", "memory", "source",
        "event", "reviewer", "artifact_name", "artifact_glob", "command", "working", "prompt", "env", "cwd"]
STEP_TYPES = ["prompt", "command", "ensure_running", "workflow", "review", "land"]

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
scalar = st.one_of(
    text, st.sampled_from(["", " ", "..", "/abs", "(", "* * *", "61 * * * *", "claude-code", "nope"]),
    st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
)
value = st.recursive(scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS) | text, inner, max_size=3)), max_leaves=6)


def containers(node, out):
    """Every (container, key) pair in the document."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for k, v in items:
        out.append((node, k))
        containers(v, out)
    return out


def tables(node, out):
    if isinstance(node, dict):
        out.append(node)
        for v in node.values():
            tables(v, out)
    elif isinstance(node, list):
        for v in node:
            tables(v, out)
    return out


@st.composite
def documents(draw):
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["delete", "retype", "unknown_key", "step_type", "duplicate", "reference",
                                     "cycle", "set_key"]))
        pairs = containers(doc, [])
        if kind in ("delete", "retype") and pairs:
            parent, key = draw(st.sampled_from(pairs))
            if kind == "delete":
                del parent[key]
            else:
                parent[key] = draw(value)
        elif kind in ("unknown_key", "set_key"):
            table = draw(st.sampled_from(tables(doc, [])))
            key = draw(text | st.sampled_from(KEYS)) if kind == "unknown_key" else draw(st.sampled_from(KEYS))
            table[key] = draw(value)
        elif kind == "step_type":
            steps = [t for t in tables(doc, []) if "type" in t]
            if steps:
                draw(st.sampled_from(steps))["type"] = draw(st.sampled_from(STEP_TYPES) | text)
        elif kind == "duplicate":
            for arr in ("agent", "workflow", "tool_pack"):
                if isinstance(doc.get(arr), list) and doc[arr]:
                    doc[arr].append(copy.deepcopy(doc[arr][0]))
                    break
        elif kind == "reference":
            refs = [t for t in tables(doc, []) if any(k in t for k in ("agent", "workflow", "reviewer", "depends_on"))]
            if refs:
                t = draw(st.sampled_from(refs))
                key = next(k for k in ("agent", "workflow", "reviewer", "depends_on") if k in t)
                t[key] = ["ghost"] if key == "depends_on" and isinstance(t[key], list) else "ghost"
        elif kind == "cycle":
            listed = doc.get("workflow")  # an earlier mutation may have set it to a scalar
            wfs = [w for w in (listed if isinstance(listed, list) else []) if isinstance(w, dict) and isinstance(w.get("step"), list)
                   and len(w["step"]) >= 2 and all(isinstance(s, dict) for s in w["step"][:2])]
            if wfs:
                w = draw(st.sampled_from(wfs))
                w["step"][0]["depends_on"], w["step"][1]["depends_on"] = [2], [1]
    return doc


def dump_toml(doc: dict) -> str:
    """Minimal TOML writer: every top-level key as an inline value (fast, total over our values)."""
    return "".join(f"{_key(k)} = {_val(v)}\n" for k, v in doc.items())


def _key(k) -> str:
    k = str(k)
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _str(k)


def _str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _val(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_val(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_val(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


@st.composite
def files(draw):
    text_doc = dump_toml(draw(documents()))
    if draw(st.integers(0, 9)) == 0:  # 10 %: corrupt the raw text too
        pos = draw(st.integers(0, len(text_doc)))
        text_doc = text_doc[:pos] + draw(st.sampled_from(["=", "[", "\"", "]]", "\n[[x", "\x00", "é"])) + text_doc[pos:]
    return text_doc


def test_dumper_round_trips_the_seeds():
    for seed in SEEDS:
        assert tomllib.loads(dump_toml(seed)) == seed


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                   HealthCheck.function_scoped_fixture])
@given(document=files())
def test_load_config_never_raises_anything_but_a_config_error_with_a_key_path(document, tmp_path):
    path = tmp_path / "tutti.toml"
    path.write_text(document, encoding="utf-8")
    try:
        load_config(path)
    except ConfigValidationError as exc:
        assert exc.key_path, exc.message
        assert exc.key_path in exc.message or f"(at {exc.key_path})" in exc.message
        assert "\n" not in exc.message
        assert exc.exit_code == 2
    except ConfigError as exc:  # pragma: no cover - would be a missing key path
        raise AssertionError(f"ConfigError without key path: {exc.message}") from exc
    report = diagnose_config(path)  # the doctor path must be total as well
    assert all(i.key_path for i in report.issues)
