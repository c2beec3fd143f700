"""Gunicorn settings for the container image (``gunicorn --config gunicorn.conf.py mes.wsgi``).

Every value can be changed through the environment, so one image serves every size of deployment.
"""

import os


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    number = int(value)
    if number < 1:
        raise ValueError(f"{name}={number} : doit valoir au moins 1.")
    return number


# Inside a container the port is published or reached through the container network only.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# WEB_CONCURRENCY is the usual name (gunicorn reads it too); each worker is one process with its own DB connection.
workers = _positive_int("WEB_CONCURRENCY", 3)
threads = _positive_int("GUNICORN_THREADS", 1)
timeout = _positive_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _positive_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Recycle workers now and then so that a slow leak never grows without bound.
max_requests = _positive_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max(1, max_requests // 10)

# Logs to the container's stdout/stderr, where the platform collects them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Worker heartbeats in memory rather than on the container's overlay filesystem.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - tmpfs, per container
# Containers are scaled by the orchestrator, not through gunicorn's control socket.
control_socket_disable = True
