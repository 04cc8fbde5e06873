"""A Job that checks the applied stack from inside the cluster, with real clients.

It runs in the clients image (.ci/images/clients: psycopg, redis-py, pika and the
`openai` SDK, built by .ci/images/build.sh and loaded into the cluster by .ci/kube-up)
and reaches every service by its Service DNS name, as the stack's own pods do.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from typing import Any

CLIENTS_IMAGE = f"{os.environ.get('STANDIN_PREFIX', 'provisioner-standin')}/clients:latest"

SCRIPT = textwrap.dedent(
    """
    import json
    import openai, pika, psycopg, redis

    out = {}
    with psycopg.connect("postgresql://ias_dev:dev_password@postgres:5432/ias_dev",
                         connect_timeout=10) as db:
        out["tables"] = sorted(r[0] for r in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))
        out["orgs"] = [r[0] for r in db.execute("SELECT slug FROM organizations")]
        out["admins"] = [r[0] for r in db.execute(
            "SELECT email FROM users WHERE role = 'system_admin'")]
    r = redis.Redis(host="redis", port=6379, socket_timeout=10)
    out["redis_ping"] = r.ping()
    connection = pika.BlockingConnection(pika.ConnectionParameters(
        host="rabbitmq", port=5672,
        credentials=pika.PlainCredentials("ias_dev", "dev_password"),
        connection_attempts=3, retry_delay=2))
    channel = connection.channel()
    channel.queue_declare(queue="kube-check", durable=False, auto_delete=True)
    channel.basic_publish(exchange="", routing_key="kube-check", body=b"hello")
    method, _, body = channel.basic_get(queue="kube-check", auto_ack=True)
    out["amqp_roundtrip"] = body.decode() if body else None
    connection.close()
    client = openai.OpenAI(base_url="http://mock-inference:8000/v1", api_key="test",
                           timeout=30, max_retries=2)
    messages = [{"role": "user", "content": "ping"}]
    completion = client.chat.completions.create(model="mock-gpt", messages=messages)
    out["openai_sdk"] = openai.__version__
    out["completion_object"] = completion.object
    out["completion_text"] = completion.choices[0].message.content
    stream = client.chat.completions.create(model="mock-gpt", messages=messages, stream=True)
    out["streamed_text"] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    print("RESULT " + json.dumps(out))
    """
)


def check_job(name: str, image: str = CLIENTS_IMAGE) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "check",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["python", "-c", SCRIPT],
                        }
                    ],
                }
            },
        },
    }


def run_check(cluster: Any) -> dict[str, Any]:
    """Apply the check Job, wait for it, return what it printed."""
    name = f"check-{int(time.time() * 1000) % 10**8}"
    cluster.kubectl("apply", "-f", "-", input_json=check_job(name))
    waited = cluster.kubectl(
        "wait", "--for=condition=complete", f"job/{name}", "--timeout=120s", check=False
    )
    logs = cluster.kubectl("logs", f"job/{name}", check=False)
    assert "condition met" in waited, f"check job did not complete: {logs}"
    line = next(x for x in logs.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))
