"""The composed-score cache (synth.cache): hits, invalidation, corruption, bounds, off switches."""

from __future__ import annotations

import os
import warnings

import pytest

import synth.arrangement
import synth.cache
import synth.version
from synth.cli import main
from synth.errors import SynthWarning
from synth.loader import load

from midi_bytes import EOT, note, smf  # noqa: E402
from test_arrangement import ARRANGEMENT, SOURCE, write  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder of the test's own, enabled."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SYNTH_CACHE_DIR", str(folder))
    monkeypatch.delenv("SYNTH_NO_CACHE", raising=False)
    monkeypatch.delenv("SYNTH_CACHE_MAX_MB", raising=False)
    return folder


def entries(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".score")) \
        if os.path.isdir(folder) else []


def no_composing(monkeypatch):
    """From now on a load that composes fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("composed again instead of reading the cache")
    monkeypatch.setattr(synth.arrangement, "arrange", refuse)


def notes(score):
    return {p.name: p.notes for p in score.parts}


def test_second_load_is_read_from_the_cache_and_equal(tmp_path, cache, monkeypatch):
    path = write(tmp_path)
    first = load(path, cache=True)
    assert first == load(path)                 # the cached load is the plain load
    assert len(entries(cache)) == 1
    no_composing(monkeypatch)
    again = load(path, cache=True)
    assert again == first and notes(again) == notes(first)
    assert again.metadata == first.metadata


def test_seed_and_variation_are_separate_entries(tmp_path, cache, monkeypatch):
    path = write(tmp_path)
    a = load(path, cache=True)
    b = load(path, seed=8, cache=True)
    c = load(path, variation=1, cache=True)
    assert len(entries(cache)) == 3
    assert notes(a) != notes(b) and notes(a) != notes(c)
    no_composing(monkeypatch)
    assert load(path, seed=8, cache=True) == b


def test_editing_the_source_composes_again(tmp_path, cache):
    path = write(tmp_path)
    before = load(path, cache=True)
    source = tmp_path / "sources" / "ground.toml"
    source.write_text(SOURCE.replace('[11,1,"E3",70]', '[11,1,"G3",70]'))
    after = load(path, cache=True)
    assert after == load(path)                 # the plain load of the edited files
    assert notes(after) != notes(before)
    # the arrangement is unchanged, so the new entry replaced the old one
    assert len(entries(cache)) == 1
    # and the original source text brings the original composition back
    source.write_text(SOURCE)
    assert load(path, cache=True) == before


def test_editing_the_arrangement_composes_again(tmp_path, cache):
    path = write(tmp_path)
    before = load(path, cache=True)
    path.write_text(ARRANGEMENT.replace("drift_cents = 15", "drift_cents = 40"))
    after = load(path, cache=True)
    assert notes(after) != notes(before)
    assert after == load(path)
    assert len(entries(cache)) == 2


def test_corrupt_or_truncated_entry_is_ignored_and_rewritten(tmp_path, cache, monkeypatch):
    path = write(tmp_path)
    good = load(path, cache=True)
    (name,) = entries(cache)
    entry = cache / name
    whole = entry.read_bytes()
    for bad in (whole[:len(whole) // 2],                         # truncated
                whole[:-10] + bytes(10),                          # payload changed
                b"not a cache entry at all"):
        entry.write_bytes(bad)
        assert load(path, cache=True) == good
        assert entry.read_bytes() == whole                      # written again, whole
    no_composing(monkeypatch)
    assert load(path, cache=True) == good


def test_an_entry_of_other_code_is_never_used(tmp_path, cache, monkeypatch):
    path = write(tmp_path)
    load(path, cache=True)
    # a different synth (version or installed files) names its entries differently
    monkeypatch.setattr(synth.version, "_CODE", "another version of synth")
    calls = []
    real = synth.arrangement.arrange
    monkeypatch.setattr(synth.arrangement, "arrange",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    load(path, cache=True)
    assert calls == [1]
    assert len(entries(cache)) == 2


def test_entry_under_the_wrong_name_is_not_trusted(tmp_path, cache):
    path = write(tmp_path)
    a = load(path, cache=True)
    (name_a,) = entries(cache)
    b = load(path, seed=8, cache=True)
    name_b = next(n for n in entries(cache) if n != name_a)
    # seed 7's entry copied over seed 8's name: its checksum is fine, its key is not
    (cache / name_b).write_bytes((cache / name_a).read_bytes())
    assert load(path, seed=8, cache=True) == b != a


def test_entries_kept_in_memory_are_used_while_their_files_are_unchanged(tmp_path, cache,
                                                                        monkeypatch):
    # keep_in_memory (the engine's): a hit in memory is the very score, without the disk
    monkeypatch.setattr(synth.cache, "_MEMORY", {})
    monkeypatch.setattr(synth.cache, "_MEMORY_SIZE", 0)
    synth.cache.keep_in_memory(2)
    path = write(tmp_path)
    first = load(path, cache=True)
    other = load(path, seed=8, cache=True)
    for name in entries(cache):
        os.unlink(cache / name)                 # only the memory can answer now
    calls = []
    real = synth.arrangement.arrange
    monkeypatch.setattr(synth.arrangement, "arrange",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    assert load(path, cache=True) is first and load(path, seed=8, cache=True) is other
    assert calls == []
    ninth = load(path, seed=9, cache=True)      # a third entry: the least recently used goes
    assert calls == [1] and len(synth.cache._MEMORY) == 2
    assert load(path, seed=8, cache=True) is other and calls == [1]
    assert load(path, cache=True) is not first and calls == [1, 1]
    # a source edited: the kept score is not used
    source = tmp_path / "sources" / "ground.toml"
    source.write_text(SOURCE.replace('[11,1,"E3",70]', '[11,1,"G3",70]'))
    after = load(path, seed=9, cache=True)
    assert calls == [1, 1, 1] and notes(after) != notes(ninth)
    assert after == load(path, seed=9)          # the plain load of the edited files
    synth.cache.keep_in_memory(0)
    assert synth.cache._MEMORY == {}


def test_disabled_by_environment_and_by_option(tmp_path, cache, monkeypatch, capsys):
    path = write(tmp_path)
    monkeypatch.setenv("SYNTH_NO_CACHE", "1")
    load(path, cache=True)
    assert entries(cache) == []
    monkeypatch.delenv("SYNTH_NO_CACHE")
    load(path)                                  # library calls do not use it by default
    assert entries(cache) == []
    assert main(["info", str(path), "--no-cache"]) == 0
    assert entries(cache) == []
    assert main(["info", str(path)]) == 0
    assert len(entries(cache)) == 1


def test_folder_is_kept_within_its_size_bound(tmp_path, cache, monkeypatch):
    path = write(tmp_path)
    load(path, cache=True)
    size = os.path.getsize(cache / entries(cache)[0])
    # room for two entries: the least recently used goes
    monkeypatch.setenv("SYNTH_CACHE_MAX_MB", str(2.5 * size / 1e6))
    load(path, seed=1, cache=True)
    os.utime(cache / entries(cache)[0], (1, 1))     # make one of the two the oldest
    oldest = entries(cache)[0]
    load(path, seed=2, cache=True)
    assert len(entries(cache)) == 2 and oldest not in entries(cache)


def test_warnings_of_the_load_are_given_again_on_a_hit(tmp_path, cache, monkeypatch):
    # a MIDI source with 6 bytes of garbage before its header: a repair warning
    (tmp_path / "tune.mid").write_bytes(b"\x00junk!" + smf(note(0, 60, 480) + note(0, 62, 480)
                                                          + EOT))
    arr = tmp_path / "arr.toml"
    arr.write_text('[arrangement]\ntitle = "t"\nsource = "tune.mid"\n\n'
                   '[[transform]]\nname = "detune"\ncents = 10\n')
    for round_ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load(arr, cache=True)
        msgs = [str(w.message) for w in caught if issubclass(w.category, SynthWarning)]
        assert any("6 bytes before the MThd header skipped" in m for m in msgs), round_
        if round_ == 0:
            no_composing(monkeypatch)


def test_an_error_is_not_cached(tmp_path, cache):
    path = write(tmp_path, ARRANGEMENT.replace('name = "remeter"', 'name = "remetre"'))
    for _ in range(2):
        with pytest.raises(synth.errors.TransformError, match="remetre"):
            load(path, cache=True)
    assert entries(cache) == []
