"""Dependencies every route takes: the store's engine and the acting user.

Until the identity issue lands (tokens, sign-in), the acting user comes from trusted headers set by the
gateway in front of Aegis: X-Aegis-User, X-Aegis-Role, and X-Aegis-District / X-Aegis-Station /
X-Aegis-Institution where the role needs one (401 without; a place the role has none of, such as a telco
user's station, or a control character in any header is refused with 400: :class:`~aegis.usecases.actor.Actor`).
The ``system`` role is Aegis's own (its batch jobs and the operator's commands) and is refused from a header.
HTTP headers carry only Latin-1, so values in Chinese (a station, a bank) are sent percent-encoded as UTF-8
(``urllib.parse.quote``) and decoded here.
"""

from __future__ import annotations

import contextlib
import unicodedata
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Header, HTTPException, Query, Request
from sqlalchemy import Engine

from aegis.reasons import LANGS, Lang, parse_lang
from aegis.usecases.actor import Actor, Role, Unidentified
from aegis.usecases.places import check_city


def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def _text(value: str) -> str:
    """A header's value as text: percent-encoded UTF-8 as documented, or raw UTF-8, which the server hands over
    decoded as Latin-1 (so 思明区 arrived as mojibake and matched nothing)."""
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):  # else not UTF-8 read as Latin-1: as it came
        value = value.encode("latin-1").decode("utf-8")
    # the same name however a keyboard wrote it: "中国工商银行 " and full-width letters matched no opening
    return unicodedata.normalize("NFKC", unquote(value)).strip()


_IDENTITY = ("X-Aegis-User", "X-Aegis-Role", "X-Aegis-City", "X-Aegis-District", "X-Aegis-Station",
             "X-Aegis-Institution")


def current_actor(
    request: Request,
    user: Annotated[str, Header(alias="X-Aegis-User")],
    role: Annotated[str, Header(alias="X-Aegis-Role")],
    city: Annotated[str | None, Header(alias="X-Aegis-City")] = None,
    district: Annotated[str | None, Header(alias="X-Aegis-District")] = None,
    station: Annotated[str | None, Header(alias="X-Aegis-Station")] = None,
    institution: Annotated[str | None, Header(alias="X-Aegis-Institution")] = None,
) -> Actor:
    repeated = [name for name in _IDENTITY if len(request.headers.getlist(name)) > 1]
    if repeated:  # a proxy that appends rather than replaces: which one is the caller? (the last one won before)
        raise HTTPException(400, f"{repeated[0]}: sent more than once; send each identity header once")
    city, district, station, institution = (_text(v) if v else None for v in (city, district, station, institution))
    user = _text(user)
    try:
        parsed_role = Role(role)
    except ValueError:
        raise HTTPException(401, f"X-Aegis-Role: '{role}' is not a role") from None
    if parsed_role is Role.system:  # it ignores jurisdiction and sees personal data unmasked
        raise HTTPException(403, "X-Aegis-Role: 'system' is Aegis's own role for its internal jobs, never taken "
                                 "over HTTP; send the caller's own role")
    try:
        actor = Actor(user, parsed_role, city=city, district=district, station=station, institution=institution)
    except Unidentified as exc:  # who asks is not said in full
        raise HTTPException(401, str(exc)) from None
    except ValueError as exc:  # said, but not so that the audit log could name the asker as written
        raise HTTPException(400, str(exc)) from None
    if city:  # a city no resident is registered in is refused on every route (403); a station or a district where
        # it is one, by the warnings' use cases (the other routes refuse police roles by their role first)
        with get_engine(request).connect() as connection:
            check_city(connection, actor)
    return actor


def reason_lang(
    lang: Annotated[str | None, Query(description="language of the reasons: zh (default) or en")] = None,
    accept_language: Annotated[str | None, Header(alias="Accept-Language")] = None,
) -> Lang:
    """The language reasons are given in: ``?lang=`` if present, else the Accept-Language header, else zh."""
    if lang is not None and lang.lower() not in LANGS:
        raise HTTPException(422, f"lang: '{lang}' is not one of {', '.join(LANGS)}")
    return parse_lang(lang or accept_language)


EngineDep = Annotated[Engine, Depends(get_engine)]
ActorDep = Annotated[Actor, Depends(current_actor)]
LangDep = Annotated[Lang, Depends(reason_lang)]
