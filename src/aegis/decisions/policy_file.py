"""Reading a YAML policy file (decisions, warnings, funds) into its pydantic model, with errors people can act on."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from aegis.reasons import Explained, Reason

M = TypeVar("M", bound=BaseModel)


class PolicyModel(BaseModel):
    """Base of the policy files' models: no field but its own, frozen once read, and every number finite. YAML
    reads ``.nan`` and ``.inf`` as floats; NaN is neither above nor below a threshold (a rule's minimum of ``.nan``
    never held, turning the rule off without a word) and infinity stands for "never" (a pace of ``.inf`` hours
    relaxed every sure warning of its type to the least severe level)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PolicyError(Explained, ValueError):
    """A policy file that cannot be used; the message names the file and the field, in the command's language."""


def read_policy_file(path: Path, model: type[M], name: str | None = None) -> M:
    """A YAML policy file validated into ``model``. A missing or unreadable file, bad YAML or a bad field is a
    :class:`PolicyError` naming the file as ``name`` (default: the path) and the field."""
    shown = name or str(path)
    if not Path(path).is_file():
        raise PolicyError(Reason("{path}：文件不存在", path=shown))
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(Reason("{path}：不是有效的YAML（{problem}）", path=shown,
                                 problem=_yaml_problem(exc))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(Reason("{path}：无法读取（{error}）", path=shown, error=str(exc))) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or Reason("（整个文件）")
        # a validator's own error keeps its words in both languages; pydantic's are English only
        error = first.get("ctx", {}).get("error")
        problem = error.reason if isinstance(error, Explained) else first["msg"].removeprefix("Value error, ")
        raise PolicyError(Reason("{path}：{where}：{problem}", path=shown, where=where, problem=problem)) from None


def _yaml_problem(exc: yaml.YAMLError) -> Reason | str:
    """The parser's complaint in one line with where it is (line 3, column 5), not its multi-line dump."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return problem
    return Reason("{problem}，第{line}行第{column}列", problem=problem, line=mark.line + 1, column=mark.column + 1)
