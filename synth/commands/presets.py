"""``synth presets``: list the presets."""

from __future__ import annotations

from ..patch import get_preset, preset_names


def register(sub) -> None:
    p = sub.add_parser("presets", help="list the instrument presets",
                       description="List every preset with its sound source and a line about it.",
                       epilog="example:\n  synth presets")
    p.set_defaults(func=run)


def run(args) -> int:
    names = preset_names()
    width = max(len(n) for n in names)
    for name in names:
        p = get_preset(name)
        print(f"{name:<{width}}  {p.source:<10} {p.description}")
    return 0
