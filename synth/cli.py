"""The ``synth`` command line.

Only this layer prints and knows exit codes: 0 success, 2 bad input or
usage (one line naming the file and the problem), 1 an unexpected internal
error (add ``--traceback`` to see it), 130 interrupted.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import signal
import sys
import warnings
from typing import TYPE_CHECKING

from . import __version__
from .commands._common import keep_freed_memory
from .errors import SynthError, SynthWarning, printable

if TYPE_CHECKING:
    from collections.abc import Sequence

#: subcommand -> its one line in ``synth --help``, in --help order.  The module
#: ``synth/commands/NAME.py`` (and what it imports: analysis, MIDI writer, plotting,
#: audio playback, ...) is imported only when NAME is the command run or asked for
#: ``--help``; tests/test_cli.py checks that each module registers this same line.
COMMAND_HELP = {
    "render": "render a score, arrangement or MIDI file to WAV",
    "play": "play a score, arrangement or MIDI file as it renders",
    "watch": "re-render (and play) whenever the file changes",
    "engine": "a resident synth that plays pieces at once for synth play (start, stop, status)",
    "batch": "render many seeds/variations into a folder, with a manifest",
    "info": "describe a score: parts, notes, duration, provenance",
    "pieces": "list the bundled pieces (render them by name)",
    "presets": "list the instrument presets, explain one (NAME), or render auditions",
    "transforms": "list the arrangement transforms, or explain one",
    "effects": "list the effect types, or explain one",
    "analyze": "roughness of a score; loudness and peaks of audio",
    "export": "write a score or arrangement as a type-1 MIDI file",
    "plot": "draw a piano roll, roughness curve and spectrogram as PNG",
    "new": "write a commented starter arrangement file",
}

#: commands that may not render in this process: ``play`` hands its piece to a
#: running engine if it can (else it sets the allocator up itself)
LIGHT_COMMANDS = {"play", "engine"}

#: subcommand modules in synth/commands, in --help order
COMMANDS = list(COMMAND_HELP)

EPILOG = """examples:
  synth pieces
  synth render sonnerie-bells-in-the-ice -o ice.wav
  synth render arrangements/laurel-waltz-nightmare-march.toml -o march.wav
  synth render arrangements/sonnerie-bells-in-the-ice.toml --variation 2 -o ice2.wav
  synth play arrangements/sonnerie-bells-in-the-ice.toml --from 120
  synth watch piece.toml              # plays the bar you changed, each time you save
  synth render song.mid --preset calliope -o song.wav --bit-depth 16
  synth info arrangements/sources/laurel-waltz.toml
  synth new bells && synth render bells.toml -o bells.wav
  synth plot examples/first-score.toml -o first.png
  synth presets cmi_bell
  synth transforms shadow
  synth effects reverb

exit status: 0 ok, 2 bad input or usage, 1 internal error, 130 interrupted,
  143 or 129 stopped by SIGTERM or SIGHUP (nothing left behind in each case)"""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser that suggests the nearest subcommand or option on a typo."""

    def error(self, message):
        hint = ""
        if "invalid choice:" in message:
            bad = message.split("invalid choice:", 1)[1].split("'")[1]
            close = difflib.get_close_matches(bad, COMMANDS, n=1)
            if close:
                hint = f" (did you mean {close[0]!r}?)"
        elif "unrecognized arguments:" in message:
            bad = message.split("unrecognized arguments:", 1)[1].split()[0].split("=")[0]
            options = [o for a in self._actions for o in a.option_strings]
            for sub in self._subparsers._group_actions if self._subparsers else ():
                for p in getattr(sub, "choices", {}).values():
                    options += [o for a in p._actions for o in a.option_strings]
            close = difflib.get_close_matches(bad, options, n=1)
            if close:
                hint = f" (did you mean {close[0]!r}?)"
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="synth", description="Compose and render Fairlight-CMI-style "
                     "synthesizer music (score files, MIDI, arrangements).",
                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"synth {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the Python traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                action=_LazySubcommands)
    for name, help_line in COMMAND_HELP.items():
        sub.add_parser(name, help=help_line)        # a stand-in until NAME is chosen
    return parser


def command_parser(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    """The complete parser of subcommand ``name`` (its module imported and registered)."""
    module = importlib.import_module(f".commands.{name}", __package__)
    module.register(_Registrar(sub, name))
    return sub._name_parser_map[name]


class _Registrar:
    """What a command module's ``register(sub)`` sees: ``add_parser(name, ...)`` builds the
    complete parser and puts it in place of the stand-in (same prog, same --help line)."""

    def __init__(self, sub: argparse._SubParsersAction, name: str):
        self._sub, self._name = sub, name

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        if name != self._name:
            raise ValueError(f"synth/commands/{self._name}.py registers {name!r}")
        self.help = kwargs.pop("help", None)
        stand_in = self._sub._name_parser_map[name]
        kwargs.setdefault("prog", stand_in.prog)
        parser = self._sub._parser_class(**kwargs)
        self._sub._name_parser_map[name] = parser
        return parser


class _LazySubcommands(argparse._SubParsersAction):
    """Subparsers whose complete parser is built only for the command chosen."""

    def __call__(self, parser, namespace, values, option_string=None):
        name = values[0]
        if name in COMMAND_HELP and name not in self._complete:
            self._complete.add(name)
            command_parser(self, name)
        super().__call__(parser, namespace, values, option_string)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._complete: set[str] = set()


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that every ``finally`` and
    ``except BaseException`` cleans up (temporary files, a stems folder the
    render created) before the process exits with ``128 + signal``."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _install_signal_handlers() -> dict:
    """SIGTERM and SIGHUP raise :class:`Terminated` in this process; SIGXFSZ is
    ignored so that a file-size limit (``ulimit -f``) surfaces as an
    ``OSError`` (File too large) instead of killing the process.  Returns the
    previous handlers."""
    main_pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != main_pid:       # a forked worker: die as the signal intends
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if s is not None:             # a second signal must not interrupt the clean-up
                signal.signal(s, signal.SIG_IGN)
        raise Terminated(signum)

    previous = {}
    wanted = [(signal.SIGTERM, handler)]
    if hasattr(signal, "SIGHUP"):
        wanted.append((signal.SIGHUP, handler))
    if hasattr(signal, "SIGXFSZ"):
        wanted.append((signal.SIGXFSZ, signal.SIG_IGN))
    for signum, h in wanted:
        try:
            previous[signum] = signal.signal(signum, h)
        except (ValueError, OSError):     # not the main thread (an embedding caller)
            pass
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (also used as the console script)."""
    from .dsp import jit

    jit.for_command_line()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    if args.command not in LIGHT_COMMANDS:
        keep_freed_memory()
    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, SynthWarning):
            if not getattr(args, "quiet", False):
                print(f"synth: warning: {printable(message)}", file=sys.stderr)
        else:
            _default_show(message, category, filename, lineno, file, line)

    _default_show = warnings.showwarning
    warnings.showwarning = show
    previous = _install_signal_handlers()
    try:
        return int(args.func(args) or 0)
    except SynthError as e:
        if args.traceback:
            raise
        print(f"synth: error: {e}", file=sys.stderr)
        return 2
    except Terminated as e:
        name = signal.Signals(e.signum).name
        print(f"synth: stopped by {name}", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        print("synth: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except OSError as e:     # permission, disk full, file too large: the user's to fix
        if args.traceback:
            raise
        import errno
        import tempfile

        where = f"{printable(e.filename, 300)}: " if getattr(e, "filename", None) else ""
        hint = ""
        if not where and e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            hint = (f" (writing the output or a temporary file in {tempfile.gettempdir()!r}: "
                    "free some space or raise the file-size limit)")
        print(f"synth: error: {where}{printable(e.strerror or e)}{hint}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if args.traceback:
            raise
        print(f"synth: internal error: {type(e).__name__}: {e} "
              "(run again with --traceback and report it)", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = _default_show
        for signum, h in previous.items():
            signal.signal(signum, h)


if __name__ == "__main__":
    sys.exit(main())
