# Build the wheel in one stage, install it into a clean slim image in the next.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY storage ./storage
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# The /data paths live in a settings file under .env, not in ENV: `--env-file` would override ENV.
COPY docker/defaults.env /etc/dreambot/defaults.env
RUN useradd --create-home --uid 10001 dreambot && mkdir -p /data && chown dreambot:dreambot /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER dreambot
WORKDIR /home/dreambot
VOLUME ["/data"]
# Healthy while the poller keeps touching its heartbeat file.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-m", "bot.healthcheck"]
STOPSIGNAL SIGTERM
CMD ["dreambot"]
