"""``synth watch``: re-render whenever the input, its source or a sample it uses changes.

Files are watched with ``watchfiles`` (inotify / FSEvents / ReadDirectoryChangesW
through the Rust ``notify`` crate; an optional ``watch`` extra).  Each
change reloads the input; an error is reported on one line and watching
goes on.  Without ``-o`` the new version plays from the first bar whose
notes changed (or from ``--from``); with ``-o`` it is written to the WAV
file atomically (a reader never sees half a file).
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

from ..audio import BIT_DEPTHS
from ..errors import SynthError
from ..render import MasterSettings, RenderPlan, render_to_file
from ._common import eprint

if TYPE_CHECKING:
    import argparse
    from typing import Any
    from ..score import Score

HELP = """examples:
  synth watch piece.toml                      # plays the bar you changed, each time you save
  synth watch piece.toml --from 9             # always from bar 9
  synth watch my-arrangement.toml -o out.wav  # rewrites out.wav on each save
stop with Ctrl-C."""

#: Suffixes that re-render on any change in a watched folder (tunings are read
#: by name from the score; a change to one is rare and cheap to pick up).
ALWAYS = (".scl", ".kbm")


def register(sub: argparse._SubParsersAction) -> None:
    import argparse

    from ._options import add_master_option, add_render_options

    p = sub.add_parser("watch", help="re-render (and play) whenever the file changes",
                       description="Watch INPUT, its arrangement source and the samples it "
                       "uses; on every change reload it and play it from the bar that "
                       "changed (or --from BAR), or with -o rewrite the WAV file. Errors are "
                       "reported and watching goes on. Needs the 'watch' extra (watchfiles), "
                       "and for playing the 'play' extra.", epilog=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT")
    p.add_argument("-o", "--output", metavar="OUT.wav",
                   help="write this WAV on every change instead of playing")
    add_render_options(p, sample_rate_default=None)
    p.add_argument("--from", dest="from_bar", type=int, metavar="BAR",
                   help="always play from bar BAR (default: the first bar that changed)")
    p.add_argument("--bit-depth", choices=sorted(BIT_DEPTHS), default="24",
                   help="with -o: 16, 24 (default) or float")
    add_master_option(p, default="limit")
    p.add_argument("--device", metavar="NAME|N", help="output device (see synth play "
                   "--list-devices)")
    p.add_argument("--latency", type=float, default=0.2, metavar="S",
                   help="device buffer in seconds (default 0.2)")
    p.add_argument("--stats", action="store_true",
                   help="print a machine-readable line for every render")
    p.add_argument("--quiet", action="store_true", help="no status lines, no warnings")
    # --jobs: all cores for -o, one process when playing (see synth play)
    p.set_defaults(func=run, jobs=None)


def import_watchfiles() -> Any:
    try:
        import watchfiles
    except ImportError:
        from ..resources import install_hint

        raise SynthError(f"watching needs the watchfiles package: {install_hint('watch')}") \
            from None
    return watchfiles


def dependencies(path: str, score: Score | None = None) -> set[str]:
    """Absolute paths of the files a render of ``path`` reads: itself, its source, samples."""
    from ..loader import is_arrangement

    deps = {os.path.abspath(path)}
    try:
        if is_arrangement(path):
            from ..arrangement import read_arrangement

            deps.add(os.path.abspath(read_arrangement(path).source_path))
    except (SynthError, OSError):
        pass
    for part in (score.parts if score is not None else ()):
        sample = (part.patch or {}).get("params.sample")
        if isinstance(sample, str) and sample:
            deps.add(os.path.abspath(sample))
    return deps


def first_changed_bar(old: Score, new: Score) -> int:
    """The first bar whose notes differ between two versions of a score.

    A change to a part's sound (preset, patch, gain, pan, effects), the
    tempo or the meter counts from the first bar.  No difference: the first bar.
    """
    first = new.meters.first_bar
    if old is None:
        return first

    def heads(score):
        return [(p.name, p.preset, repr(dict(p.patch)), p.gain_db, p.pan, repr(p.effects))
                for p in score.parts]

    if (heads(old) != heads(new) or repr(old.tempo.changes) != repr(new.tempo.changes)
            or repr(old.meters) != repr(new.meters)):
        return first

    def bars(score):
        out: dict[int, list] = {}
        for p in score.parts:
            for n in p.notes:
                out.setdefault(score.meters.bar_at(n.start), []).append((p.name, n))
        return out

    a, b = bars(old), bars(new)
    for bar in sorted(set(a) | set(b)):
        if a.get(bar) != b.get(bar):
            return max(first, bar)
    return first


class _Player:
    """Plays one version at a time in a thread; a new version stops the old one."""

    def __init__(self, sd, device, args, sr: int):
        self.sd, self.device, self.args, self.sr = sd, device, args, sr
        self.thread = None
        self.keys = None
        # one stream for every version (opening one takes JACK half a second,
        # closing one as long); not with --jobs > 1, whose workers fork
        self.keep_stream = max(1, args.jobs or 1) == 1
        self.stream = None

    def _stream(self):
        """The player's stream, opened on first use (called from the playing thread)."""
        if self.stream is None:
            self.stream = self.sd.OutputStream(samplerate=self.sr, channels=2, dtype="float32",
                                               device=self.device, latency=self.args.latency)
        return self.stream

    def cut(self):
        """Tell the version playing to stop, without waiting for it.

        Stopping takes the sound server a while (aborting a JACK stream:
        ~0.4 s, mostly waiting), so ``synth watch`` cuts the old version as
        soon as a save is seen and the playing thread stops it while the
        new version loads, plans and renders its first block;
        :meth:`start` then finds it (nearly) stopped.
        """
        if self.thread is not None:
            self.keys.quit.set()

    def stop(self):
        if self.thread is not None:
            self.keys.quit.set()
            self.thread.join()
            self.thread = None

    def close(self):
        self.stop()
        if self.stream is not None:
            self.stream.close(ignore_errors=True)
            self.stream = None

    def start(self, plan: RenderPlan, master: MasterSettings, on_first):
        from ._playing import Controls
        from .play import play_plan

        self.stop()
        self.keys = keys = Controls()

        def go():
            try:
                stats = play_plan(self.sd, plan, master, device=self.device,
                                  jobs=max(1, self.args.jobs or 1), latency=self.args.latency,
                                  keys=keys, first_block=on_first,
                                  stream=self._stream if self.keep_stream else None)
                if stats["underruns"] and not self.args.quiet:
                    eprint(f"synth: warning: {stats['underruns']} underrun(s)")
            except SynthError as e:
                eprint(f"synth: error: {e}")
            except Exception as e:  # noqa: BLE001 - keep watching
                eprint(f"synth: error: playback failed: {type(e).__name__}: {e}")

        self.thread = threading.Thread(target=go, name="synth-play", daemon=True)
        self.thread.start()


def run(args: argparse.Namespace) -> int:
    watchfiles = import_watchfiles()
    from .render import load_for_render, master_settings

    out = args.output
    sd = device = info = None
    if out is None:
        from .play import choose_rate, import_sounddevice, output_device

        sd = import_sounddevice()
        device, info = output_device(sd, args.device)
        sr = choose_rate(args, info)
    else:
        from ..audio import check_suffix

        check_suffix(out, allowed=(".wav",))
        sr = args.sample_rate or 44100
    from ..resources import resolve_input

    path = resolve_input(args.input)      # a file, or a bundled piece by name
    if not os.path.exists(path):
        raise SynthError(f"{args.input}: no such file")
    # playing always goes through the streaming master (the first block plays at once)
    master = master_settings(args) if out is not None else MasterSettings(
        ceiling_db=args.ceiling, limit=True)
    player = _Player(sd, device, args, sr) if out is None else None
    previous = None

    def render_once(changed_at: float, why: str = "after the change") -> None:
        nonlocal previous
        try:
            score, metadata = load_for_render(args)
        except SynthError as e:
            eprint(f"synth: error: {e}")
            return
        bar = args.from_bar or first_changed_bar(previous, score)
        previous = score
        try:
            if out is not None:
                render_to_file(score, out, sr=sr, seed=score.metadata.seed, force=True,
                               subtype=BIT_DEPTHS[args.bit_depth],
                               master=master, max_seconds=args.max_seconds, metadata=metadata,
                               jobs=max(1, args.jobs or os.cpu_count() or 1))
                took = time.time() - changed_at
                if not args.quiet:
                    eprint(f"wrote {out} ({took:.2f} s {why})")
                if args.stats:
                    print(f"stats: written_wall={time.time():.6f} after_change={took:.3f}",
                          flush=True)
                return
            if bar > score.meters.first_bar:
                score = score.excerpt(bar, max(bar, score.bar_count))
            plan = RenderPlan(score, sr=sr, seed=score.metadata.seed,
                              max_seconds=args.max_seconds)

            def started():
                took = time.time() - changed_at
                if not args.quiet:
                    eprint(f"playing from bar {bar} ({took:.2f} s {why})")
                if args.stats:
                    print(f"stats: playing_from_bar={bar} first_block_wall={time.time():.6f} "
                          f"after_change={took:.3f}", flush=True)

            player.start(plan, master, started)
        except SynthError as e:
            eprint(f"synth: error: {e}")

    if not args.quiet:
        eprint(f"watching {args.input} (Ctrl-C stops)")
    render_once(time.time(), "after start-up")
    deps = dependencies(path, previous)
    try:
        while True:
            folders = sorted({os.path.dirname(d) for d in deps if os.path.isdir(os.path.dirname(d))})
            restart = False
            for changes in watchfiles.watch(*folders, debounce=50, step=20, recursive=False):
                paths = {os.path.abspath(p) for _, p in changes}
                if not (paths & deps or any(p.endswith(ALWAYS) for p in paths)):
                    continue
                if not os.path.exists(path):
                    continue        # an editor's save in progress (delete, then rename)
                changed_at = time.time()
                if player is not None:
                    # the old version stops now (the file no longer says it), while
                    # the new one loads: stopping a stream is mostly waiting
                    player.cut()
                render_once(changed_at)
                new_deps = dependencies(path, previous)
                if new_deps != deps:
                    deps, restart = new_deps, True
                    break
            if not restart:
                return 0
    except KeyboardInterrupt:
        if not args.quiet:
            eprint("stopped")
        return 0
    finally:
        if player is not None:
            player.close()
