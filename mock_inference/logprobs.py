"""Cheap, deterministic log-probabilities for the returned tokens.

A value derived from the token's id; alternatives come from a small word list.
Good enough for code that reads the structure; not a model of anything.
"""

from __future__ import annotations

from typing import Any

from .tokenizer import token_id

_ALTERNATIVES = (" the", " a", " and", " of", " to", " in", ".", ",")


def _logprob(piece: str) -> float:
    return -round((token_id(piece) % 997) / 997 * 0.9, 4)


def chat_entries(pieces: tuple[str, ...] | list[str], top: int) -> list[dict[str, Any]]:
    out = []
    for piece in pieces:
        lp = _logprob(piece)
        alts = [{"token": piece, "logprob": lp, "bytes": list(piece.encode())}]
        for k, alt in enumerate(_ALTERNATIVES[: max(0, top - 1)]):
            alt_lp = round(lp - 1.5 - k, 4)
            alts.append({"token": alt, "logprob": alt_lp, "bytes": list(alt.encode())})
        out.append(
            {
                "token": piece,
                "logprob": lp,
                "bytes": list(piece.encode()),
                "top_logprobs": alts[:top],
            }
        )
    return out


def legacy(pieces: tuple[str, ...] | list[str], top: int, offset: int = 0) -> dict[str, Any]:
    """The `/v1/completions` shape: parallel lists plus per-token dicts of alternatives."""
    tokens = list(pieces)
    token_logprobs = [_logprob(p) for p in tokens]
    top_list = []
    text_offset = []
    pos = offset
    for piece, lp in zip(tokens, token_logprobs, strict=True):
        entry = {piece: lp}
        for k, alt in enumerate(_ALTERNATIVES[: max(0, top - 1)]):
            entry.setdefault(alt, round(lp - 1.5 - k, 4))
        top_list.append(entry)
        text_offset.append(pos)
        pos += len(piece)
    return {
        "tokens": tokens,
        "token_logprobs": token_logprobs,
        "top_logprobs": top_list,
        "text_offset": text_offset,
    }
