"""Small stacks shared by the tests. In the Docker ones PROJECT is replaced by make_stack."""

from __future__ import annotations

from tests.support.images import POSTGRES, PYTHON, RABBITMQ, REDIS

# The pure tests' stack: resolved and planned, never run.
DEMO_STACK = """
project: demo
services:
  db:
    image: postgres:15
    environment:
      POSTGRES_PASSWORD: secret
      POSTGRES_USER: app
    ports: ["5432:5432"]
    volumes: [data:/var/lib/postgresql/data]
    healthcheck: {type: postgres, user: app, password: secret}
  web:
    build: ./web
    depends_on:
      db: {condition: service_healthy}
    ports: ["8000:8000"]
  cache:
    image: redis:7
volumes:
  data:
"""


def slow_http_command(delay: float, port: int = 8080) -> str:
    """A Python one-liner that listens on `port` only after `delay` seconds."""
    code = (
        f"import time, http.server as h; print('slow: sleeping', flush=True); "
        f"time.sleep({delay}); print('slow: listening', flush=True); "
        f"h.HTTPServer(('', {port}), h.SimpleHTTPRequestHandler).serve_forever()"
    )
    return f'["python3", "-c", "{code}"]'


def interrupt_stack(redis_port: int, slow_port: int, delay: float = 3.0) -> str:
    """redis, a service healthy only after `delay` s, and one that waits for it."""
    return f"""
project: PROJECT
services:
  redis:
    image: {REDIS}
    command: redis-server --appendonly yes
    ports: ["{redis_port}:6379"]
    volumes: [redis_data:/data]
    healthcheck: {{type: redis, timeout: 60s}}
  slow:
    image: {PYTHON}
    command: {slow_http_command(delay)}
    ports: ["{slow_port}:8080"]
    healthcheck: {{type: http, port: 8080, path: /, timeout: 60s}}
    stop_grace_period: 1s
  app:
    image: {REDIS}
    depends_on: {{slow: {{condition: healthy}}}}
    healthcheck: {{type: redis, timeout: 60s}}
volumes:
  redis_data:
"""


def data_stack(pg_port: int, redis_port: int, amqp_port: int, marker: str = "one") -> str:
    """The three data services as the repo's stack.yaml declares them (stand-in images)."""
    return f"""
project: PROJECT
services:
  postgres:
    image: {POSTGRES}
    environment:
      POSTGRES_DB: app
      POSTGRES_USER: app
      POSTGRES_PASSWORD: pg_secret_pw
      MARKER: {marker}
    ports: ["{pg_port}:5432"]
    volumes: [postgres_data:/var/lib/postgresql/data]
    healthcheck: {{type: postgres, user: app, password: pg_secret_pw, database: app}}
    stop_grace_period: 30s
    restart: unless-stopped
  redis:
    image: {REDIS}
    command: redis-server --appendonly yes
    environment:
      MARKER: {marker}
    ports: ["{redis_port}:6379"]
    volumes: [redis_data:/data]
    healthcheck: {{type: redis}}
    restart: "no"
  rabbitmq:
    image: {RABBITMQ}
    hostname: rabbitmq
    environment:
      RABBITMQ_DEFAULT_USER: app
      RABBITMQ_DEFAULT_PASS: mq_secret_pw
      MARKER: {marker}
    ports: ["{amqp_port}:5672"]
    volumes: [rabbitmq_data:/var/lib/rabbitmq]
    healthcheck: {{type: amqp, user: app, password: mq_secret_pw, timeout: 120s}}
    stop_grace_period: 30s
    restart: "no"
volumes:
  postgres_data:
  redis_data:
  rabbitmq_data:
"""


def two_service_stack(redis_port: int, pg_port: int, redis_env: str = "one") -> str:
    """redis and postgres (a smaller data_stack): apply, diff and destroy cycles."""
    return f"""
project: PROJECT
services:
  redis:
    image: {REDIS}
    command: redis-server --appendonly yes
    environment:
      FOO: {redis_env}
    ports: ["{redis_port}:6379"]
    volumes: [redis_data:/data]
    healthcheck: {{type: redis, timeout: 60s}}
  postgres:
    image: {POSTGRES}
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: secret_pw
      POSTGRES_DB: app
    ports: ["{pg_port}:5432"]
    volumes: [pg_data:/var/lib/postgresql/data]
    healthcheck: {{type: postgres, user: app, password: secret_pw, database: app}}
    stop_grace_period: 20s
volumes:
  redis_data:
  pg_data:
"""
