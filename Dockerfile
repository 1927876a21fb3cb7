# Footnote: one image for Discord and Matrix. Build: docker build -t footnote .
# The install step is the same command `make run` uses (tests/test_dockerfile.py keeps them in step).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    FOOTNOTE_DATABASE=/data/footnote.sqlite3 \
    FOOTNOTE_METRICS_ENABLED=true

RUN useradd --create-home --uid 10001 footnote \
    && mkdir /data && chown footnote:footnote /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY config.example.yaml ./

# Same install as the Makefile's INSTALL_RUN; the model files under bot/model/ ship in the package,
# so nothing is downloaded at run time.
RUN pip install --disable-pip-version-check -q -e . \
    && rm -rf /root/.cache/pip \
    && python -m bot kb check

USER footnote
VOLUME ["/data"]
# Mount your own knowledge over /app/knowledge, or add a directory via knowledge.extra_dirs.
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4).status == 200 else 1)"

CMD ["python", "-m", "bot", "run"]
