"""Application factory: Sanic[Any, Any] config, error handlers, routes, worker wiring."""

from __future__ import annotations

from functools import partial
from typing import Any

from sanic import Sanic

from . import flow
from .config import Settings
from .peers import Peers, serve_own
from .routes import embeddings, error_handlers, generation, messages, models, ops, responses
from .state import State
from .wire.chat import CHAT
from .wire.completions import COMPLETIONS
from .wire.responses import RESPONSES

APP_NAME = "mock_inference"


def create_app(
    settings: Settings | None = None,
    name: str = APP_NAME,
    counters: Any = None,
    peers: Peers | None = None,
) -> Sanic[Any, Any]:
    """counters: the shared "fail first N" table, peers: the other workers to ask for
    their metrics; both only when several workers run (supervisor.py)."""
    settings = settings or Settings.from_env()
    app = Sanic(name)
    cfg = app.config
    cfg.REQUEST_MAX_SIZE = settings.max_body_bytes
    cfg.FALLBACK_ERROR_FORMAT = "json"  # belt and braces: our handlers cover every error
    cfg.GRACEFUL_SHUTDOWN_TIMEOUT = settings.graceful_shutdown_seconds
    cfg.ACCESS_LOG = False  # an access log line costs more than the request itself
    cfg.MOTD = False
    cfg.KEEP_ALIVE_TIMEOUT = 75  # outlive client pools' idle timeouts, like uvicorn/vLLM
    cfg.RESPONSE_TIMEOUT = max(600, int(settings.timeout_fault_seconds) + 60)
    cfg.REQUEST_TIMEOUT = 60

    state = State(settings, counters, peers)
    app.ctx.state = state
    # Errors on the Messages routes (Sanic's 404/405/413 included) in Anthropic's shape.
    error_handlers.register(app, dialects=(("/v1/messages", messages.reshape),))
    generation.register(app, state, CHAT, "chat_completions")
    generation.register(app, state, COMPLETIONS, "completions")
    generation.register(app, state, RESPONSES, "responses")
    responses.register(app, state)
    embeddings.register(app, state)
    messages_endpoint = messages.register(app, state)
    models.register(app, state)
    ops.register(app, state, peers)
    if settings.fast_path:
        # Read by fastpath.FastPathProtocol: the routes it may answer itself.
        app.ctx.fast_routes = {
            b"/v1/chat/completions": partial(flow.answer_now, CHAT, state),
            b"/v1/completions": partial(flow.answer_now, COMPLETIONS, state),
            b"/v1/responses": partial(flow.answer_now, RESPONSES, state),
            b"/v1/embeddings": partial(embeddings.answer_now, state),
            b"/v1/messages": partial(flow.answer_now, messages_endpoint, state),
            b"/v1/messages/count_tokens": partial(messages_endpoint.count_now, state),
        }

    if peers is not None:

        @app.after_server_start
        async def _answer_peers(app: Sanic[Any, Any]) -> None:
            app.ctx.peer_server = await serve_own(peers, state.answer_peer)

        @app.before_server_stop
        async def _stop_answering(app: Sanic[Any, Any]) -> None:
            server = getattr(app.ctx, "peer_server", None)
            if server is not None:
                server.close()

    return app
