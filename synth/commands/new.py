"""``synth new``: write a commented starter arrangement (work in progress)."""


def register(sub) -> None:
    p = sub.add_parser("new", help="write a commented starter arrangement file")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=lambda args: 2)
