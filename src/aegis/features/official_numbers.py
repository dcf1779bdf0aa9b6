"""Official service numbers (官方服务号码): police, government hotlines, telcos, banks, payment, couriers.

A well-known official short number is never a risky entity: the anti-fraud centre's own 96110 reaches
thousands of residents a day, a bank's 955xx line sends every balance notice, and a false flag on one of them
would turn the whole city into "suspected victims". Domestic networks do not let an ordinary subscriber present
these numbers (a spoofed call from abroad arrives with a foreign or odd prefix), so the number alone is
trustworthy; the text and links of what it sends are still checked on their own.

The list is public knowledge, kept in code because it is short and changes rarely.

>>> is_official("96110"), is_official("+8695588"), is_official("13800138000")
(True, True, False)
"""

from __future__ import annotations

from aegis.events.numbers import national_number

OFFICIAL_NUMBERS: frozenset[str] = frozenset({
    # emergency and police: 110 police, 119 fire, 120 ambulance, 122 traffic accidents, 12110 SMS to police,
    # 96110 anti-fraud warning and dissuasion line
    "110", "119", "120", "122", "12110", "96110",
    # government hotlines: citizens, consumers, social security, railway, tax, housing fund, transport, health,
    # legal aid, internet and spam reporting (12381 is the telcos' fraud-call warning line), highways
    "12345", "12315", "12333", "12306", "12366", "12329", "12328", "12320", "12348", "12377", "12381",
    "12321", "12122",
    # telcos
    "10086", "10010", "10000", "10099",
    # banks
    "95588", "95533", "95599", "95566", "95555", "95559", "95580", "95528", "95561", "95511", "95558",
    "95595", "95568", "95577", "95508",
    # payment and shopping platforms, insurers, couriers, airlines
    "95188", "95017", "95118", "95519", "95500", "95518", "95338", "95311", "95554", "95546", "95543",
    "11183", "95583", "95530", "95539",
})



def is_official(number: str) -> bool:
    """Whether ``number`` is an official service number (with or without the +86 / 0086 country prefix, in any
    spelling :func:`~aegis.events.numbers.canonical_number` reads)."""
    return national_number(str(number)) in OFFICIAL_NUMBERS
