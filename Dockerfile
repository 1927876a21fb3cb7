# Footnote: one image for Discord and Matrix. Build: docker build -t footnote .
# `make docker-check` builds it and runs the README's Docker commands against it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    FOOTNOTE_DATABASE=/data/footnote.sqlite3 \
    FOOTNOTE_METRICS_ENABLED=true \
    FOOTNOTE_METRICS_HOST=0.0.0.0 \
    FOOTNOTE_METRICS_PORT=9464

RUN useradd --create-home --uid 10001 footnote \
    && mkdir /data && chown footnote:footnote /data && chmod 700 /data

WORKDIR /app
# The dependencies (and the build backend) in their own layer, read from pyproject.toml: editing code or
# knowledge reuses this layer instead of reinstalling everything.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); \
print('\n'.join(p['build-system']['requires'] + p['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -q -r /tmp/requirements.txt && rm /tmp/requirements.txt

# Then Footnote itself, as `make run` installs it (editable, so the bundled knowledge/ sits next to bot/);
# the model files under bot/model/ ship in the package, so nothing is downloaded at run time.
COPY README.md config.example.yaml ./
COPY knowledge ./knowledge
COPY bot ./bot
RUN pip install -q --no-deps --no-build-isolation -e . \
    && python -m bot kb check

USER footnote
# /data holds the database and the Matrix keys: mount a named volume there (-v footnote-data:/data). There is
# no VOLUME line, so a container run without one leaves no anonymous volume behind.
# Mount your own knowledge read-only and list it in knowledge.extra_dirs to add or override claims.
# /healthz and /metrics listen on FOOTNOTE_METRICS_HOST:FOOTNOTE_METRICS_PORT; the health check asks there.
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-m", "bot.healthcheck"]

# `docker run footnote` runs the bot; `docker run footnote console --once "..."`, `... config check` etc. run
# any other command of the command line.
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
