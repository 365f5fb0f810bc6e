#!/bin/sh
# A voicebot worker container: the SDP must name an address the caller can send RTP to. Use
# VOICEBOT_SIP_PUBLIC_ADDRESS when the environment gives one (a host with published ports, or rtpengine's
# side of the network), else this replica's own address on the compose network.
set -eu
if [ -z "${VOICEBOT_SIP_PUBLIC_ADDRESS:-}" ]; then
  VOICEBOT_SIP_PUBLIC_ADDRESS="$(hostname -i | awk '{print $1}')"
  export VOICEBOT_SIP_PUBLIC_ADDRESS
fi
# Each replica is its own worker: name it after its container (host name) unless told otherwise.
export VOICEBOT_CLUSTER_WORKER_ID="${VOICEBOT_CLUSTER_WORKER_ID:-$(hostname)}"
exec "$@"
