"""`kvsim policies`: every eviction policy and admission filter, what it does, its parameters."""

from __future__ import annotations

import inspect

from experiments.cli.commands import summary
from policies import available, policy_class


def add_policies_command(commands) -> None:
    policies_parser = commands.add_parser(
        "policies", help=summary("policies"), description=summary("policies").capitalize() + "."
    )
    policies_parser.set_defaults(handler=command_policies)


def command_policies(args) -> int:
    print(policies_text())
    return 0


def policies_text() -> str:
    """`kvsim policies`: every policy and admission filter, what it does, its parameters and their defaults."""
    from policies import available_admissions
    from policies.admission import admission_class

    lines = [
        "Eviction policies: cluster.policy (or --policy); parameters go in cluster.policy_params,",
        'e.g. policy = "clock" and policy_params = { bits = 2 }.',
        "",
    ]
    for name in available():
        lines += _entry(name, policy_class(name))
    lines += [
        "Admission filters, in front of any policy: policy_params = { admission = NAME,",
        'admission_params = { ... } }, e.g. { admission = "size", admission_params = { threshold = 65536 } }.',
        "",
    ]
    for name in available_admissions():
        lines += _entry(name, admission_class(name))
    lines.append("Your own policy: --policy module:Class, or its registered name with --import module (README).")
    return "\n".join(lines)


def _entry(name: str, cls) -> list[str]:
    """A policy's or filter's lines: name and summary, then its parameters with their defaults."""
    summary = cls.summary or (cls.__doc__ or "").strip().split("\n")[0]
    params = []
    for parameter in inspect.signature(cls.__init__).parameters.values():
        if parameter.name in ("self", "capacity", "capacity_bytes") or parameter.kind in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            continue
        default = "(required)" if parameter.default is parameter.empty else repr(parameter.default)
        params.append(f"{parameter.name} = {default}")
    return [f"  {name:<14} {summary}", f"  {'':<14} {', '.join(params) or 'no parameters'}", ""]
