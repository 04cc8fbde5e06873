"""Per-worker service state and the checks every /v1 request goes through first."""

from __future__ import annotations

import time
from typing import Any

from .config import Settings
from .errors import APIError
from .faults import Faults
from .memo import Memo
from .metrics import Metrics
from .peers import Peers
from .response_store import ResponseStore
from .textgen import FixedReply, ReplyStrategy, strategy_for


class State:
    def __init__(
        self, settings: Settings, counters: Any | None = None, peers: Peers | None = None
    ) -> None:
        self.settings = settings
        self.created = int(time.time())
        self.models = settings.models
        self.model_set = frozenset(self.models)
        self.strategy = strategy_for(settings)
        self.strategies: dict[str, ReplyStrategy] = {
            mode: strategy_for(settings, mode) for mode in ("fixed", "echo", "filler")
        }
        self.strategies["script"] = (
            self.strategy if settings.reply_mode == "script" else (self.strategies["fixed"])
        )
        self.faults = Faults(settings, counters)
        self.metrics = Metrics(settings.model_name)
        self.bearer = frozenset(f"Bearer {key}" for key in settings.api_keys)
        self.responses = ResponseStore(settings.responses_stored, peers)
        self.memo = Memo(settings.memo_entries, settings.memo_max_body)

    def answer_peer(self, line: bytes) -> bytes:
        """Another worker's request (peers.py): metrics, or a stored response."""
        verb, _, arg = line.partition(b" ")
        if verb == b"metrics":
            return self.metrics.render().encode()
        return self.responses.answer_peer(verb, arg.decode(errors="replace"))

    def admit(self, request: Any) -> str | None:
        """Auth, then injected faults. Returns a deferred fault for the handler to act on."""
        self.authorize(request.headers)
        return self.faults.check(request.method, request.path, request.headers, request.body)

    def authorize(self, headers: Any) -> None:
        """401 in OpenAI's words when an API key is configured and not presented."""
        if self.bearer:
            auth = headers.get("authorization")
            if auth not in self.bearer:
                if not auth:
                    message = (
                        "You didn't provide an API key. You need to provide your API key in an "
                        "Authorization header using Bearer auth "
                        "(i.e. Authorization: Bearer YOUR_KEY)."
                    )
                else:
                    shown = auth.removeprefix("Bearer ")
                    shown = shown[:3] + "*" * max(0, len(shown) - 7) + shown[-4:]
                    message = f"Incorrect API key provided: {shown}."
                raise APIError(401, message, code="invalid_api_key")

    def serves(self, model: str) -> bool:
        """Whether a request may name `model` (every API; each words its 404 itself)."""
        return model in self.model_set or self.settings.accept_unknown_models

    def check_model(self, model: str) -> None:
        if not self.serves(model):
            raise APIError(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )

    @staticmethod
    def plain(headers: Any) -> bool:
        """No header picks the reply (pick_strategy gives the configured one)."""
        return "x-mock-reply" not in headers and "x-mock-reply-mode" not in headers

    def pick_strategy(self, headers: Any) -> ReplyStrategy:
        literal = headers.get("x-mock-reply")
        if literal is not None:
            return FixedReply(literal)
        mode = headers.get("x-mock-reply-mode")
        if mode is None:
            return self.strategy
        strategy = self.strategies.get(mode.strip().lower())
        if strategy is None:
            raise APIError(
                400,
                "x-mock-reply-mode must be fixed, echo, filler or script",
                param="x-mock-reply-mode",
            )
        return strategy
