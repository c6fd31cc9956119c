"""Text layout shared by ``synth presets NAME``, ``synth transforms`` and ``synth effects``."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def fmt_value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    return str(value)


def table(headers, rows, caps=None) -> list[str]:
    """Left-aligned columns; the last column wraps to the terminal width.

    ``caps`` limits the width of the other columns: a longer cell is moved
    to the front of the row's last column (labelled with its header).
    """
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))
    cols = len(headers)
    caps = list(caps or [34] * (cols - 1))
    fitted = []
    for r in rows:
        cells, extra = [str(c) for c in r], []
        for i in range(cols - 1):
            if len(cells[i]) > caps[i]:
                extra.append(f"{headers[i]}: {cells[i]}.")
                cells[i] = "(below)"
        cells[-1] = " ".join(extra + [cells[-1]]).strip()
        fitted.append(cells)
    sizes = [max(len(r[i]) for r in [list(headers), *fitted]) for i in range(cols - 1)]
    lead = sum(sizes) + 2 * (cols - 1)
    last = max(30, width - lead - 1)
    out = []
    for cells in [list(headers), *fitted]:
        head = "".join(f"{c:<{s}}  " for c, s in zip(cells[:-1], sizes))
        wrapped = textwrap.wrap(cells[-1], last) or [""]
        out.append((head + wrapped[0]).rstrip())
        out += [" " * lead + w for w in wrapped[1:]]
    return out


def wrap(text: str, indent: str = "") -> list[str]:
    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    return textwrap.wrap(text, width - len(indent), initial_indent=indent,
                         subsequent_indent=indent) or [indent]
