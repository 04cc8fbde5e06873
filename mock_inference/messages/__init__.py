"""The Anthropic Messages API (`POST /v1/messages`, `/v1/messages/count_tokens`).

decode.py validates a body into a `MessagesRequest`; turn.py decides the reply with
the same generator chat uses (choices.py, textgen.py); encode.py renders it as the
message object or as the event stream; errors.py owns Anthropic's error shape and
API-key check. The Sanic route and the fast-path entry are in routes/messages.py.
"""
