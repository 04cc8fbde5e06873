# The provisioner as an image: runs migrations and seeds against DATABASE_URL and exits.
# Used by the compose export's one-shot service and the Kubernetes Job.
#   docker build --build-arg BASE_IMAGE=python:3.11-slim -t ias-dev-provisioner:local .
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The package and its dependencies first, so SQL edits do not re-run pip.
COPY pyproject.toml /app/pyproject.toml
COPY provisioner /app/provisioner
RUN pip install /app && rm -rf /app/provisioner /app/build /app/*.egg-info

COPY migrations /app/migrations
COPY seeds /app/seeds
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin provisioner
USER 10001

# Exec form: python is PID 1 and gets SIGTERM directly. Waits for the database (the
# migrations' advisory lock makes concurrent or repeated runs safe), then exits.
CMD ["python", "-m", "provisioner", "bootstrap-db", "--migrations", "/app/migrations", "--seeds", "/app/seeds"]
