#!/bin/sh
# Kamailio in docker-compose.yml: render kamailio.cfg from config.toml's [cluster] section with the current
# replicas of the `voicebot` service (Docker's DNS gives one address per replica), start Kamailio, and
# re-render + reload the dispatcher list when `docker compose up --scale voicebot=N` changes the replicas.
set -eu
RUN=/tmp/kamailio
mkdir -p "$RUN"
SERVICE="${VOICEBOT_WORKER_SERVICE:-voicebot}"
SIP_PORT="${VOICEBOT_WORKER_SIP_PORT:-5060}"

workers() {
  getent ahostsv4 "$SERVICE" | awk '{print $1}' | sort -u | sed "s/\$/:$SIP_PORT/" | paste -sd, -
}

render() {
  python -m voicebot cluster render --out "$RUN" --workers "$1" --advertise "${VOICEBOT_PUBLIC_ADDRESS:-}" >/dev/null
}

current=""
until current="$(workers)" && [ -n "$current" ]; do echo "waiting for $SERVICE replicas"; sleep 2; done
render "$current"
# ctl: kamcmd's socket (health check, dispatcher.reload) in /tmp, not /run.
kamailio -DD -E -f "$RUN/kamailio.cfg" -P "$RUN/kamailio.pid" -Y "$RUN" -m 64 -M 8 \
  -A 'CTL_SOCKET="unix:/tmp/kamailio_ctl"' &
pid=$!
trap 'kill -TERM $pid; wait $pid' TERM INT
while kill -0 "$pid" 2>/dev/null; do
  sleep 5
  now="$(workers || true)"
  if [ -n "$now" ] && [ "$now" != "$current" ]; then
    echo "voicebot replicas changed: $now"
    render "$now" && kamcmd -s unix:/tmp/kamailio_ctl dispatcher.reload && current="$now"
  fi
done
wait "$pid"
