"""The self-explaining CLI (synth presets NAME, synth transforms, synth effects), the
catalog behind it, and docs/sound-design.md covering every patch key and effect."""

from __future__ import annotations

import inspect
import json
import pathlib
import re
import tomllib

import pytest

from synth import catalog
from synth.cli import main
from synth.dsp import effects as fx_dsp
from synth.errors import PatchError, ScoreError
from synth.params import validate_effect
from synth.fx import EFFECTS, build_chain
from synth.patch import SOURCE_PARAMS, Patch, apply_overrides, patch_keys, preset_names
from synth.transforms import REGISTRY, make

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- synth presets NAME

def test_presets_name_lists_every_key_with_value_range_and_spectrum(capsys):
    code, out, err = run(capsys, "presets", "cmi_bell")
    assert code == 0, err
    assert out.startswith("cmi_bell: Fairlight bell")
    assert "source: fairlight" in out and "spectrum: " in out and "harmonic" in out
    keys = [line.split()[0] for line in out.splitlines() if line[:1].isalpha()]
    for key in patch_keys(catalog.get_preset("cmi_bell")):
        assert key in keys, key
    release = next(line for line in out.splitlines() if line.startswith("envelope.release "))
    assert "1.6" in release and "0 .. 600 seconds" in release


def test_presets_name_json(capsys):
    code, out, _ = run(capsys, "presets", "fm_bell", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["source"] == "fm2" and info["name"] == "fm_bell"
    keys = {k["key"]: k for k in info["keys"]}
    assert set(keys) == set(patch_keys(catalog.get_preset("fm_bell")))
    assert keys["params.index"]["range"] == "0 .. 50" and keys["params.index"]["unit"] == "rad"
    assert keys["filter.cutoff"]["unit"] == "Hz"
    spec = info["spectrum"]
    assert spec["count"] >= len(spec["partials"]) > 0 and spec["partials"][0][1] <= 1


def test_presets_listing_json(capsys):
    code, out, _ = run(capsys, "presets", "--json")
    assert code == 0
    assert [p["name"] for p in json.loads(out)] == preset_names()


@pytest.mark.parametrize("argv, hint", [
    (("presets", "cmi_bel"), "did you mean 'cmi_bell'?"),
    (("transforms", "shadw"), "did you mean 'shadow'?"),
    (("effects", "revreb"), "did you mean 'reverb'?"),
])
def test_unknown_names_exit_2_with_a_suggestion(capsys, argv, hint):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("synth: error: unknown ") and hint in err and err.count("\n") == 1


# ---------------------------------------------------------------- synth transforms

def test_transforms_listing_names_every_transform(capsys):
    code, out, _ = run(capsys, "transforms")
    assert code == 0
    listed = {line.split()[0] for line in out.splitlines()
              if re.match(r"[a-z_]+\s\s", line)}
    assert listed == set(REGISTRY)
    code, out, _ = run(capsys, "transforms", "--json")
    assert {t["name"] for t in json.loads(out)} == set(REGISTRY)


def test_transforms_name_shows_parameters_and_an_example(capsys):
    code, out, _ = run(capsys, "transforms", "shadow")
    assert code == 0
    assert out.startswith("shadow (pitch transform)")
    for key in REGISTRY["shadow"].params:
        assert re.search(rf"^{key}\s", out, re.M), key
    assert "semitones" in out and "-48 .. 48" in out and '[[transform]]' in out
    info = json.loads(run(capsys, "transforms", "remeter", "--json")[1])
    assert info["whole_score"] and info["params"][0] == {
        "name": "meter", "kind": "str", "required": True, "default": None, "lo": None,
        "hi": None, "choices": None, "unit": "", "doc": REGISTRY["remeter"].params["meter"].doc}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_transform_example_is_a_valid_step(name):
    text = catalog.transform_example(name)
    table = tomllib.loads(text)["transform"][0]
    assert table.pop("name") == name
    make(name, **table)
    # uncommenting every default gives a valid step too
    full = "\n".join(line[2:] if line.startswith("# ") and "= ..." not in line
                     and not line.startswith("# bars") else line for line in text.splitlines())
    table = tomllib.loads(full)["transform"][0]
    table.pop("name")
    make(name, **table)


# ---------------------------------------------------------------- synth effects

def test_effects_listing_and_detail(capsys):
    code, out, _ = run(capsys, "effects")
    assert code == 0
    assert {line.split()[0] for line in out.splitlines()[1:] if line[:1].isalpha()} >= set(EFFECTS)
    code, out, _ = run(capsys, "effects", "reverb")
    assert code == 0 and out.startswith("reverb: ")
    for key in ("rt60", "damping", "size", "mix"):
        assert re.search(rf"^{key}\s", out, re.M)
    assert 'effects = [{type = "reverb"' in out
    info = json.loads(run(capsys, "effects", "delay", "--json")[1])
    assert [p["name"] for p in info["params"]] == ["time", "beats", "feedback", "mix", "damping"]
    assert info["params"][0]["default"] == 0.375 and info["params"][0]["unit"] == "seconds"


def _registered_params(kind: str) -> set[str]:
    """The parameter names effect ``kind`` accepts, read from a chain's refusal of an unknown
    one; and each of them is built (at its documented default) without complaint."""
    try:
        build_chain([{"type": kind, "no_such_parameter": 1}], sr=44100, bpm=120)
    except PatchError as e:
        listed = set(re.search(r"\(valid: (.*)\)$", e.message)[1].split(", "))
    else:
        raise AssertionError(f"{kind} accepted an unknown parameter")
    for key in listed - {"beats"}:            # beats stands in for time: not both at once
        default = catalog.EFFECT_PARAMS[kind][key].default
        build_chain([{"type": kind, key: default}], sr=44100, bpm=120)
    return listed


def test_effect_table_matches_the_registry():
    assert set(catalog.EFFECT_PARAMS) == set(EFFECTS) == set(catalog.EFFECT_EXAMPLES)
    for kind, params in catalog.EFFECT_PARAMS.items():
        assert set(params) == _registered_params(kind), kind
        kernel = getattr(fx_dsp, kind, None)
        if kernel is None:
            continue
        sig = inspect.signature(kernel).parameters
        for key, p in params.items():
            if key in sig and sig[key].default is not inspect.Parameter.empty:
                assert p.default == sig[key].default, (kind, key)


@pytest.mark.parametrize("kind", sorted(catalog.EFFECT_PARAMS))
def test_effect_bounds_and_examples(kind):
    """The documented bounds are the load-time validator's, and the kernels take them."""
    def valid(**params):
        try:
            validate_effect({"type": kind, **params}, "fx")
            return True
        except ScoreError:
            return False

    def builds(**params):
        build_chain([{"type": kind, **params}], sr=96000, bpm=120)
        return True
    example = {k: v for k, v in catalog.EFFECT_EXAMPLES[kind].items() if k != "type"}
    assert valid(**example) and builds(**example)
    for key, p in catalog.EFFECT_PARAMS[kind].items():
        # a chorus's depth must stay below its delay: probe each with the other out of the way
        extra = {"delay_ms": {"depth_ms": 0.0}, "depth_ms": {"delay_ms": 100.0}}.get(key, {})
        for edge in (p.lo, p.hi):
            if edge is not None:
                assert valid(**{key: edge}, **extra) and builds(**{key: edge}, **extra), (key, edge)
        if p.hi is not None:
            assert not valid(**{key: p.hi * 1.01 + 0.01}), (kind, key, "above")
            assert not valid(**{key: float("inf")}), (kind, key, "inf")
        if p.lo is not None:
            assert not valid(**{key: p.lo - 0.01 * max(1.0, abs(p.lo))}), (kind, key, "below")


# ---------------------------------------------------------------- patch keys

def test_every_patch_key_has_a_kind_and_a_doc():
    for info in catalog.all_patch_keys():
        assert info.kind in ("number", "integer", "choice", "list", "pages", "text"), info
        assert info.doc, info.key


def test_patch_key_ranges_are_the_validators():
    for info in catalog.all_patch_keys():
        key, _, source = info.key.partition(" (")
        patch = Patch("probe", source=source.rstrip(")") or "saw")
        if info.kind not in ("number", "integer"):
            continue
        lo, hi = (float(x) for x in info.range.split(" (or")[0].split(" .. "))
        if info.kind == "integer":
            lo, hi = int(lo), int(hi)
        for good in (lo, hi):
            apply_overrides(patch, {key: good})
        step = 1 if info.kind == "integer" else 1e-6 * max(1.0, abs(hi))
        for bad in (lo - step, hi + step):
            with pytest.raises(PatchError):
                apply_overrides(patch, {key: bad})


# ---------------------------------------------------------------- docs/sound-design.md

def test_sound_design_page_covers_every_patch_key_and_effect():
    text = (ROOT / "docs" / "sound-design.md").read_text(encoding="utf-8")
    spans = set(re.findall(r"`([^`\n]+)`", text))
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    missing = [k for k in patch_keys() if k not in spans]
    for source, params in SOURCE_PARAMS.items():
        for name in params:
            if f"params.{name}" not in spans:
                missing.append(f"params.{name} ({source})")
            if f'"params.{name}"' not in code:
                missing.append(f"params.{name} has no example")
    for key in patch_keys():
        if f'"{key}"' not in code:
            missing.append(f"{key} has no example")
    for kind, params in catalog.EFFECT_PARAMS.items():
        m = re.search(rf"^### `{kind}`\n(.*?)(?=^#|\Z)", text, re.S | re.M)
        if not m:
            missing.append(f"effect {kind}")
            continue
        missing += [f"effect {kind}: {p}" for p in params if f"`{p}`" not in m[1]]
        if f'"type": "{kind}"' not in code:
            missing.append(f"effect {kind} has no example")
        missing += [f"effect {kind}: {p} has no example" for p in params
                    if not re.search(rf'"type": "{kind}"[^}}]*"{p}"', code)]
    assert not missing, f"docs/sound-design.md does not cover: {missing}"


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_explains_itself(capsys, name):
    code, out, err = run(capsys, "presets", name)
    assert code == 0, err
    assert out.startswith(f"{name}: ") and "\nspectrum: " in out
    model = catalog.spectrum_summary(catalog.get_preset(name))["model"]
    assert ("unpitched" in out) == (model == "unpitched")
