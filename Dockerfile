# Image of Mon espace santé: one image for every process (web, migrate, Celery worker, Celery beat).
# Build:  docker build -t mon-espace-sante .
# Run:    docker compose up (see docs/deployment.md); the default command serves the portal with gunicorn on :8000.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------------------------
# Stage 1: the virtualenv, with the dependencies pinned by requirements.lock.
# ---------------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Dependencies first (pyproject's list, pinned by the lock): this layer is rebuilt only when these two files change.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.in \
    && pip install -c requirements.lock -r /tmp/requirements.in

# Then the project. The settings find templates/, static/ and locale/ next to the packages (BASE_DIR is derived from
# mes/settings/base.py's own path), and those folders are not Python packages: a regular install would put the
# packages in site-packages without them. The editable install registers the project in the virtualenv and makes
# every entry point (gunicorn, celery, manage.py), from any working directory, import the code from /app, which the
# runtime stage fills with the same source.
COPY . .
RUN pip install -c requirements.lock -e .

# ---------------------------------------------------------------------------------------------------------------
# Stage 2: the runtime image (no build artefacts, no pip cache, non-root user).
# ---------------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=mes.settings.base \
    MES_DATA_DIR=/var/lib/mes \
    MEDIA_ROOT=/var/lib/mes/media

# The application user owns only its data folder; the code and the collected static files stay read-only for it.
RUN groupadd --system --gid 10001 mes \
    && useradd --system --uid 10001 --gid mes --create-home --home-dir /home/mes --shell /usr/sbin/nologin mes \
    && install -d -o mes -g mes -m 0750 /var/lib/mes /var/lib/mes/media /var/lib/mes/beat

COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY . .

# Static files are collected once, into the image (/app/staticfiles), and served by WhiteNoise.
# The variables below exist only for this step: DEBUG=1 lets the settings load without production secrets, and a
# DATABASE_URL must be set, otherwise the settings would start an embedded PostgreSQL (mes/settings/embedded.py);
# collectstatic never connects to it.
RUN DEBUG=1 \
    SECRET_KEY=collectstatic-only-throwaway-key \
    DATABASE_URL=postgres://build@127.0.0.1:1/collectstatic \
    python manage.py collectstatic --noinput \
    && python -m compileall -q /app

USER mes:mes
EXPOSE 8000

# Production is configured by the environment only (see .env.example): DEBUG is off unless DEBUG=1 is given, and the
# settings refuse to start without a strong SECRET_KEY and ALLOWED_HOSTS.
CMD ["gunicorn", "--config", "/app/gunicorn.conf.py", "mes.wsgi:application"]
