"""Reading a YAML policy file (decisions, warnings, funds) into its pydantic model, with errors people can act on."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the field."""


def read_policy_file(path: Path, model: type[M], name: str | None = None) -> M:
    """A YAML policy file validated into ``model``. A missing or unreadable file, bad YAML or a bad field is a
    :class:`PolicyError` naming the file as ``name`` (default: the path) and the field."""
    shown = name or str(path)
    if not Path(path).is_file():
        raise PolicyError(f"{shown}: no such file")
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{shown}: not valid YAML ({_yaml_problem(exc)})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{shown}: cannot be read ({exc})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(the whole file)"
        raise PolicyError(f"{shown}: {where}: {first['msg'].removeprefix('Value error, ')}") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """The parser's complaint in one line with where it is (line 3, column 5), not its multi-line dump."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else problem
