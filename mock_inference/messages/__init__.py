"""The Anthropic Messages API (`POST /v1/messages`, `/v1/messages/count_tokens`).

decode.py validates a body into a `MessagesRequest`; turn.py decides the reply with
the same generator chat uses (choices.py, textgen.py); encode.py renders it as the
message object or as the event stream; errors.py owns Anthropic's error shape and
API-key check; endpoint.py puts them together as a `flow.Endpoint`, so waiting,
faults, remembered answers and metrics are the shared ones. The Sanic routes are
routes/generation.py's handler and routes/messages.py.
"""
