"""``synth batch``: byte-identical renders, shards, resume after SIGKILL, dask, errors.

Every batch here renders a tiny score (one bar, two parts, 22 050 Hz) so an
item takes a few milliseconds; the whole file runs in well under a minute.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from synth.batch import (BatchError, RenderOptions, parse_range, parse_shard, plan_items,
                         read_batch_file, read_manifest, run_batch, shard)
from synth.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]

TINY = """\
[score]
title = "Tiny"
seed = 3
tempo = 240
meter = "4/4"

[parts.lead]
preset = "triangle"
notes = "C5:8 E5 G5 C6 G5 E5 C5:4 |"

[parts.bass]
preset = "saw"
gain_db = -6.0
notes = "C3:2 G2 |"
"""

TINY_ARRANGEMENT = """\
[arrangement]
title = "Tiny, humanised"
source = "tiny.toml"
seed = 11

[[transform]]
name = "humanise"
jitter_beats = 0.05
velocity_jitter = 0.2
"""

SR = "22050"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "tiny.toml").write_text(TINY)
    (folder / "tinyarr.toml").write_text(TINY_ARRANGEMENT)
    return folder


def tree(folder: pathlib.Path, manifests: bool = False) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes), manifests left out unless asked."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and (manifests or not p.name.startswith("manifest"))}


def records(folder: pathlib.Path) -> list[str]:
    """Every manifest record in ``folder``, as canonical JSON, sorted."""
    return sorted(json.dumps(r, sort_keys=True) for m in folder.glob("manifest*.jsonl")
                  for r in read_manifest(m))


def cli(*argv, cwd=None) -> int:
    old = os.getcwd()
    os.chdir(cwd or old)
    try:
        return main([str(a) for a in argv])
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    """An uninterrupted, unsharded batch: 3 seeds x 2 variations of the arrangement,
    with stems and MIDI, plus two seeds of the score."""
    out = tmp_path_factory.mktemp("reference")
    code = cli("batch", "tinyarr.toml", "--seeds", "1:4", "--variations", "0:2", "--stems",
               "--midi", "--sample-rate", SR, "-o", out, "--jobs", "2", "--quiet", cwd=inputs)
    assert code == 0
    return out


# --------------------------------------------------------------------------- ranges, shards

def test_ranges_are_python_style_half_open():
    assert parse_range("1:4") == [1, 2, 3]
    assert parse_range("0:10") == list(range(10))
    assert parse_range("7") == [7]
    assert parse_range("1,4,10:13,4") == [1, 4, 10, 11, 12]


@pytest.mark.parametrize("text, why", [("1-5", "not a number"), ("5:5", "is empty"),
                                       ("", "empty"), ("-1:3", ">= 0"), ("a:b", "not a number")])
def test_bad_ranges_name_the_option(text, why):
    with pytest.raises(BatchError, match=rf"--variations {re.escape(repr(text))}: .*{why}"):
        parse_range(text, "--variations")


def test_shards_partition_the_items_by_index(inputs):
    items = plan_items([inputs / "tiny.toml"], seeds=range(10))
    assert [it.index for it in items] == list(range(10))
    parts = [shard(items, i, 3) for i in range(3)]
    assert [it.index for it in parts[1]] == [1, 4, 7]
    assert sorted(it.index for p in parts for it in p) == list(range(10))
    assert parse_shard("2/3") == (2, 3)
    for bad in ("3/3", "1", "a/b", "0/0", "-1/2"):
        with pytest.raises(BatchError, match="--shard"):
            parse_shard(bad)


def test_items_are_named_by_input_seed_and_variation(inputs):
    items = plan_items([inputs / "tinyarr.toml"], variations=[0, 1, 2])
    assert [it.name for it in items] == ["tinyarr-s11-v0", "tinyarr-s11-v1", "tinyarr-s11-v2"]
    assert items[0].render_seed == 11 and items[1].render_seed != 11


# --------------------------------------------------------------------------- byte equality

def test_outputs_equal_synth_render_byte_for_byte(inputs, reference, tmp_path):
    manifest = read_manifest(reference / "manifest.jsonl")
    assert len(manifest) == 6
    for rec in manifest[1::3]:                    # a sample of items
        name, seed, variation = rec["name"], rec["seed"], rec["variation"]
        wav, stems, mid = tmp_path / f"{name}.wav", tmp_path / f"{name}-stems", tmp_path / f"{name}.mid"
        assert cli("render", "tinyarr.toml", "--seed", seed, "--variation", variation,
                   "--sample-rate", SR, "-o", wav, "--stems", stems, "--jobs", "1", "--quiet",
                   cwd=inputs) == 0
        assert wav.read_bytes() == (reference / f"{name}.wav").read_bytes()
        for stem in stems.iterdir():
            assert stem.read_bytes() == (reference / f"{name}.stems" / stem.name).read_bytes()
        assert cli("export", "tinyarr.toml", "--seed", seed, "--variation", variation,
                   "-o", mid, "--quiet", cwd=inputs) == 0
        assert mid.read_bytes() == (reference / f"{name}.mid").read_bytes()
        sha = {o["path"]: o["sha256"] for o in rec["outputs"]}
        assert len(sha) == 2 + len(list(stems.iterdir()))


def test_score_file_items_equal_synth_render(inputs, tmp_path):
    out = tmp_path / "out"
    assert cli("batch", "tiny.toml", "--seeds", "5,9", "--sample-rate", SR, "--bit-depth", "16",
               "-o", out, "--jobs", "1", "--quiet", cwd=inputs) == 0
    assert cli("render", "tiny.toml", "--seed", "9", "--sample-rate", SR, "--bit-depth", "16",
               "-o", tmp_path / "r.wav", "--quiet", cwd=inputs) == 0
    assert (out / "tiny-s9-v0.wav").read_bytes() == (tmp_path / "r.wav").read_bytes()
    assert (out / "tiny-s5-v0.wav").read_bytes() != (tmp_path / "r.wav").read_bytes()
    # the library call, without a version, tags the WAV as synth render does
    items = plan_items([inputs / "tiny.toml"], seeds=[9],
                       options=RenderOptions(sample_rate=22050, bit_depth="16"))
    run_batch(items, tmp_path / "lib", jobs=1)
    assert (tmp_path / "lib" / "tiny-s9-v0.wav").read_bytes() == (tmp_path / "r.wav").read_bytes()


def test_a_bundled_piece_by_name_with_the_limit_master_equals_synth_render(tmp_path):
    args = ["laurel-waltz-nightmare-march", "--bars", "1-1", "--master", "limit",
            "--sample-rate", SR, "--quiet"]
    assert cli("batch", *args, "--variations", "1", "-o", tmp_path / "out", cwd=tmp_path) == 0
    assert cli("render", *args, "--variation", "1", "-o", tmp_path / "r.wav", cwd=tmp_path) == 0
    rec, = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert rec["input"] == "laurel-waltz-nightmare-march" and rec["options"]["master"] == "limit"
    assert (tmp_path / "out" / f"{rec['name']}.wav").read_bytes() == (tmp_path / "r.wav").read_bytes()


def test_manifest_records_what_was_rendered(inputs, reference):
    rec = read_manifest(reference / "manifest.jsonl")[0]
    assert rec["input"] == "tinyarr.toml" and rec["source"] == "tiny.toml"
    import hashlib
    assert rec["input_sha256"] == hashlib.sha256((inputs / "tinyarr.toml").read_bytes()).hexdigest()
    assert rec["source_sha256"] == hashlib.sha256((inputs / "tiny.toml").read_bytes()).hexdigest()
    from synth import __version__
    assert rec["synth_version"] == __version__
    assert rec["options"]["sample_rate"] == 22050 and rec["options"]["stems"] is True
    for out in rec["outputs"]:
        assert hashlib.sha256((reference / out["path"]).read_bytes()).hexdigest() == out["sha256"]
    assert 1.0 < rec["duration_seconds"] < 3.0
    assert -40 < rec["loudness_lufs"] < 0
    assert rec["roughness"] >= 0


# --------------------------------------------------------------------------- shards, resume

def test_union_of_shards_equals_the_unsharded_batch(inputs, reference, tmp_path):
    out = tmp_path / "sharded"
    argv = [sys.executable, "-m", "synth", "batch", "tinyarr.toml", "--seeds", "1:4",
            "--variations", "0:2", "--stems", "--midi", "--sample-rate", SR, "-o", out,
            "--jobs", "1", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen(argv + ["--shard", f"{i}/3"], cwd=inputs, env=env,
                              stderr=subprocess.PIPE, text=True) for i in range(3)]
    for p in procs:                              # three processes, one shared folder
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert sorted(m.name for m in out.glob("manifest*")) == [
        f"manifest.shard-{i}-of-3.jsonl" for i in range(3)]
    assert tree(out) == tree(reference)
    assert records(out) == records(reference)
    shard1 = read_manifest(out / "manifest.shard-1-of-3.jsonl")
    assert sorted(r["item"] for r in shard1) == [1, 4]
    # and an unsharded run over the shards' folder has nothing left to do
    assert cli("batch", "tinyarr.toml", "--seeds", "1:4", "--variations", "0:2", "--stems",
               "--midi", "--sample-rate", SR, "-o", out, "--quiet", cwd=inputs) == 0
    assert not (out / "manifest.jsonl").read_bytes()


def test_rerun_is_idempotent(inputs, reference, capsys):
    before = tree(reference, manifests=True)
    assert cli("batch", "tinyarr.toml", "--seeds", "1:4", "--variations", "0:2", "--stems",
               "--midi", "--sample-rate", SR, "-o", reference, cwd=inputs) == 0
    err = capsys.readouterr().err
    assert "6 items: 0 rendered, 6 already done, 0 failed" in err
    assert tree(reference, manifests=True) == before
    # the same input by another path is the same render (records match on its hash)
    assert cli("batch", inputs / "tinyarr.toml", "--seeds", "1:4", "--variations", "0:2",
               "--stems", "--midi", "--sample-rate", SR, "-o", reference, "--quiet") == 0
    assert tree(reference, manifests=True) == before


def test_sigkill_then_rerun_renders_only_the_missing_items(inputs, tmp_path):
    args = ["tiny.toml", "--seeds", "0:50", "--sample-rate", SR, "--jobs", "2"]
    whole = tmp_path / "whole"
    assert cli("batch", *args, "-o", whole, "--quiet", cwd=inputs) == 0

    killed = tmp_path / "killed"
    manifest = killed / "manifest.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "synth", "batch", *args, "-o", str(killed),
                             "--quiet"], cwd=inputs, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if manifest.exists() and manifest.read_bytes().count(b"\n") >= 8:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the batch finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)          # the whole job, workers included
    proc.wait()
    done = read_manifest(manifest)
    assert 8 <= len(done) < 50
    kept = {r["name"]: os.stat(killed / f"{r['name']}.wav") for r in done}

    rerun = subprocess.run([sys.executable, "-m", "synth", "batch", *args, "-o", str(killed)],
                           cwd=inputs, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert (f"50 items: {50 - len(done)} rendered, {len(done)} already done, 0 failed"
            in rerun.stderr)
    for name, st in kept.items():                # finished files were not touched
        now = os.stat(killed / f"{name}.wav")
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    assert tree(killed) == tree(whole)
    assert records(killed) == records(whole)
    data = manifest.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 50
    assert [p.name for p in killed.rglob(".*")] == []        # no temporary file left


def test_torn_manifest_line_and_damaged_file_are_redone(inputs, reference, tmp_path, capsys):
    out = tmp_path / "copy"
    shutil.copytree(reference, out)
    manifest = out / "manifest.jsonl"
    lines = manifest.read_bytes().split(b"\n")[:-1]
    # the last line torn mid-write (no newline), and one finished file damaged
    manifest.write_bytes(b"\n".join(lines[:-1]) + b"\n" + lines[-1][:40])
    torn = json.loads(lines[-1])["name"]
    damaged = json.loads(lines[0])["name"]
    (out / f"{damaged}.stems" / "02-bass.wav").write_bytes(b"RIFF")
    assert cli("batch", "tinyarr.toml", "--seeds", "1:4", "--variations", "0:2", "--stems",
               "--midi", "--sample-rate", SR, "-o", out, cwd=inputs) == 0
    assert "6 items: 2 rendered, 4 already done" in capsys.readouterr().err
    data = manifest.read_bytes()
    assert data.endswith(b"\n")
    names = [json.loads(line)["name"] for line in data.split(b"\n")[:-1]]   # every line parses
    assert sorted(names[-2:]) == sorted([torn, damaged]) and len(set(names)) == 6
    assert tree(out) == tree(reference)


# --------------------------------------------------------------------------- dask

def test_dask_local_cluster_gives_the_same_manifest(inputs, reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    items = plan_items([inputs / "tinyarr.toml"], seeds=[1, 2, 3], variations=[0, 1],
                       options=RenderOptions(sample_rate=22050, stems=True, midi=True))
    # threads in this process: no worker start-up to wait for
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        summary = run_batch(items, tmp_path, scheduler=client, version=_version())
    assert summary.rendered == 6 and not summary.failed
    assert tree(tmp_path) == tree(reference)
    ours = {r["name"]: r for r in read_manifest(tmp_path / "manifest.jsonl")}
    theirs = {r["name"]: r for r in read_manifest(reference / "manifest.jsonl")}
    assert ours.keys() == theirs.keys()
    for name, rec in ours.items():
        # the input path is as given: absolute here, relative on the command line
        assert {**rec, "input": "x"} == {**theirs[name], "input": "x"}


def test_missing_dask_is_a_clear_error(inputs, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)      # import fails
    code = cli("batch", "tiny.toml", "-o", tmp_path, "--scheduler", "local", "--quiet",
               cwd=inputs)
    assert code == 2
    assert "pip install 'synth-liquidsky[dask]'" in capsys.readouterr().err


def _version():
    from synth import __version__
    return __version__


# --------------------------------------------------------------------------- batch files

def test_toml_batch_file(inputs, tmp_path):
    (tmp_path / "renders.toml").write_text(f"""\
[defaults]
sample_rate = 22050

[[render]]
input = "{inputs / 'tinyarr.toml'}"
variations = "0:2"

[[render]]
input = "{os.path.relpath(inputs / 'tiny.toml', tmp_path)}"
name = "tiny-16bit"
seeds = [4, 5]
bit_depth = "16"
""")
    items = read_batch_file(tmp_path / "renders.toml")
    assert [it.name for it in items] == ["tinyarr-s11-v0", "tinyarr-s11-v1",
                                         "tiny-16bit-s4-v0", "tiny-16bit-s5-v0"]
    assert [it.index for it in items] == [0, 1, 2, 3]
    assert items[2].options == RenderOptions(sample_rate=22050, bit_depth="16")
    assert os.path.samefile(items[2].input.path, inputs / "tiny.toml")
    summary = run_batch(items, tmp_path / "out", jobs=1, shard_spec=(1, 2), version="test")
    assert summary.rendered == 2
    assert sorted(p.name for p in (tmp_path / "out").glob("*.wav")) == [
        "tiny-16bit-s5-v0.wav", "tinyarr-s11-v1.wav"]


def test_csv_batch_file_and_command_line_defaults(inputs, tmp_path, capsys):
    (tmp_path / "renders.csv").write_text(
        "input,seeds,variations,sample_rate\n"
        f"{inputs / 'tinyarr.toml'},1:3,,\n"
        f"{inputs / 'tiny.toml'},7,,44100\n")
    assert cli("batch", "--batch-file", tmp_path / "renders.csv", "--sample-rate", SR,
               "--variations", "0:2", "-o", tmp_path / "out", "--dry-run") == 2
    assert "not an arrangement" in capsys.readouterr().err     # row 2 has no variations
    assert cli("batch", "--batch-file", tmp_path / "renders.csv", "--sample-rate", SR,
               "-o", tmp_path / "out", "--dry-run") == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[1] for line in listed] == ["tinyarr-s1-v0", "tinyarr-s2-v0",
                                                         "tiny-s7-v0"]
    items = read_batch_file(tmp_path / "renders.csv", defaults={"sample_rate": 22050})
    assert [it.options.sample_rate for it in items] == [22050, 22050, 44100]


def test_batch_file_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[render]]\ninput = "x.toml"\nsample_rte = 22050\n')
    with pytest.raises(BatchError, match=r"bad.toml: render\[0\]: unknown key 'sample_rte' "
                                         r"\(did you mean 'sample_rate'\?\)"):
        read_batch_file(bad)
    bad.write_text('[[render]]\ninput = "missing.toml"\n')
    with pytest.raises(BatchError, match=r"missing.toml: no such file"):
        read_batch_file(bad)
    bad.write_text('[[render]]\ninput = "x.toml"\nseeds = "1:0"\n')
    with pytest.raises(BatchError, match=r"render\[0\]\.seeds '1:0': .*empty"):
        read_batch_file(bad)
    bad.write_text('[[render]]\ninput = "x.toml"\nbars = "5-"\n')
    with pytest.raises(BatchError, match=r"render\[0\]\.bars: bad value '5-'"):
        read_batch_file(bad)


# --------------------------------------------------------------------------- CLI errors

@pytest.mark.parametrize("extra, message", [
    (["tiny.toml", "--seeds", "1..5"], "--seeds '1..5': '1..5' is not a number"),
    (["tiny.toml", "--shard", "2/2"], "--shard '2/2': need 0 <= I < N"),
    (["tiny.toml", "--shard", "1-of-2"], "--shard '1-of-2': expected I/N"),
    (["nope.toml"], "nope.toml: no such file"),
    (["tiny.toml", "--variations", "0:3"], "tiny.toml: variations vary an arrangement"),
    (["tiny.toml", "--sample-rate", "8000"], "sample_rate must be an integer 22050..96000"),
    (["tiny.toml", "--max-seconds", "inf"], "max_seconds must be a finite number > 0"),
    ([], "nothing to render"),
])
def test_cli_errors_exit_2_with_one_line(inputs, tmp_path, capsys, extra, message):
    assert cli("batch", *extra, "-o", tmp_path / "out", cwd=inputs) == 2
    err = capsys.readouterr().err
    assert err.startswith("synth: error: ") and message in err and err.count("\n") == 1


def test_unwritable_output_folder_exits_2(inputs, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert cli("batch", "tiny.toml", "-o", tmp_path / "file" / "out", cwd=inputs) == 2
    err = capsys.readouterr().err
    assert "output folder" in err and "file/out" in err and err.count("\n") == 1


def test_a_failing_item_is_reported_and_the_others_render(inputs, tmp_path, capsys):
    code = cli("batch", "tiny.toml", "--seeds", "1:3", "--max-seconds", "0.5", "--jobs", "1",
               "-o", tmp_path, cwd=inputs)
    err = capsys.readouterr().err
    assert code == 2 and "synth: error: tiny-s1-v0: " in err and "more than the limit" in err
    assert "2 items: 0 rendered, 0 already done, 2 failed" in err


def test_progress_lines_and_summary(inputs, tmp_path, capsys):
    assert cli("batch", "tiny.toml", "--seeds", "0:3", "--sample-rate", SR, "-o", tmp_path,
               "--jobs", "2", cwd=inputs) == 0
    err = capsys.readouterr().err
    assert re.search(r"batch: 3/3 items \(0 already done, 0 failed\), [\d.]+ renders/min, "
                     r"ETA 0:00", err)
    assert "3 items: 3 rendered, 0 already done, 0 failed" in err
    assert cli("batch", "tiny.toml", "--seeds", "0:3", "--sample-rate", SR, "-o", tmp_path,
               "--quiet", cwd=inputs) == 0
    assert capsys.readouterr().err == ""


def test_bars_option_is_parsed_as_synth_render_parses_it(inputs, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli("batch", "tiny.toml", "--bars", "2-", "-o", tmp_path, "--dry-run", cwd=inputs)
    assert exit_.value.code == 2
    assert "argument --bars: expected A-B (bar numbers), got '2-'" in capsys.readouterr().err
