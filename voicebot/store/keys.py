"""Every Redis key, TTL and channel the system uses, in one place.

All keys start with the configured prefix (default ``vb:``), so several deployments or test runs can
share one Redis. Layout (``P`` = prefix):

==============================  =======  ==========================================================
key                             type     content
==============================  =======  ==========================================================
P call:{id}                     hash     call record: caller, language, flow, channel, started/ended,
                                         outcome, transfer reason, handoff id, last node, frustration,
                                         transfer_failure + callback_id (the human line did not take
                                         the call; outcome callback, or transfer_failed if none booked),
                                         turn_timings (JSON list per caller turn, ms after the caller's
                                         last voiced audio: end_of_turn, asr_done, reply_ready, first_audio)
P call:{id}:turns               stream   transcript turns (role, text, intent, confidence, signals,
                                         timings as JSON); PII redacted before writing
P calls:by_time                 zset     call id -> start time (epoch s); for listing and retention
P calls:live                    set      ids of calls in progress in any process
P recording:{call_id}           hash     the call's audio recording: path of the file (Ogg Opus, caller left,
                                         bot right), content type, seconds, state (complete|failed),
                                         error; deleted with the call (retention)
P caller:{number}               hash     returning-caller memory: name, last case, last call time
                                         (store/callers.py; number = digits): number, name (from the CRM),
                                         language, calls, last_call_at, contacts (JSON, last 5: call id,
                                         time, outcome, topic), case (JSON: the open case, e.g. kind
                                         return, item, order number); withheld numbers get none
P callers:by_time               zset     number -> last call time (epoch s); for retention
P handoff:{id}                  string   handoff package (JSON) for the agent screen-pop
P handoffs:by_time              zset     handoff id -> time
P line:{call_id}                hash     a phone leg, between the switch and the bot (TTL 1 h): caller
                                         number announced by the dialplan; how the leg left the bot:
                                         disposition (transfer|hangup), handoff id, channel, detail;
                                         read by the Asterisk dialplan (/api/audiosocket/{uuid}/...)
                                         and Twilio's <Connect action> (/twilio/after-stream)
P callbacks                     zset     open callback id -> due time (epoch s; a retry moves it later)
P callbacks:closed              zset     closed callback id -> when it was closed (reached, failed, ...)
P callback:{id}                 string   callback request (JSON): number, topic, preferred time, handoff
                                         id, status, attempts, claimed_by, notes
P survey:asked:{number}         string   this number (digits, as caller:) was asked the post-call survey
                                         (answered, declined or hung up): not asked again (TTL
                                         survey.ask_again_days); deleted by privacy forget
P lineload:{skill}              zset     callers sent to a skill's human line -> when they stop counting
                                         against its max_calls (epoch s; escalation routing)
P flow:{flow}:{lang}:versions   list     published/draft flow versions (JSON with YAML text)
P flow:{flow}:{lang}:live       string   version number that is live
P audit                         stream   who changed what, when (flows, users)
P user:{name}                   hash     web user: password hash, role, must_change (1 = must pick a
                                         new password before anything else)
P users                         set      names of all web users
P userepoch:{name}              string   counter raised on password/role change and deletion; sessions
                                         and API tokens of an older epoch are dead (kept after deletion)
P apitoken:{sha256}             hash     API token (for scripts): user, scope, epoch, id, created_at,
                                         expires_at, label (TTL = its lifetime)
P apitokens:{name}              hash     token id -> sha256, the user's tokens (for listing/revoking)
P session:{token}               hash     web session: user, role, csrf, epoch (TTL = web.session_ttl_secs)
P ratelimit:login:{who}         string   login attempts counter (TTL 60 s), who = user+address or address
P ch:calls                      channel  live call events (started, turn, ended) for supervisors
P ch:handoffs                   channel  new handoff packages for agent desktops
P ch:flows                      channel  flow publications, so every process reloads
P ch:callbacks                  channel  a callback request changed (its id): the worklist updates
P job:{name}                    string   worker id running a once-per-cluster job this round (TTL = the
                                         job's interval): several workers, one retention run,
                                         one first-admin creation (job:first-admin, 300 s); the callback
                                         dialer's owner (job:callbacks, renewed while it runs)
==============================  =======  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "vb:"

    def call(self, call_id: str) -> str:
        return f"{self.prefix}call:{call_id}"

    def turns(self, call_id: str) -> str:
        return f"{self.prefix}call:{call_id}:turns"

    @property
    def calls_by_time(self) -> str:
        return f"{self.prefix}calls:by_time"

    @property
    def calls_live(self) -> str:
        return f"{self.prefix}calls:live"

    def recording(self, call_id: str) -> str:
        return f"{self.prefix}recording:{call_id}"

    def caller(self, number: str) -> str:
        return f"{self.prefix}caller:{number}"

    @property
    def callers_by_time(self) -> str:
        return f"{self.prefix}callers:by_time"

    def handoff(self, handoff_id: str) -> str:
        return f"{self.prefix}handoff:{handoff_id}"

    def line(self, call_id: str) -> str:
        return f"{self.prefix}line:{call_id}"

    @property
    def handoffs_by_time(self) -> str:
        return f"{self.prefix}handoffs:by_time"

    @property
    def callbacks(self) -> str:
        return f"{self.prefix}callbacks"

    def callback(self, callback_id: str) -> str:
        return f"{self.prefix}callback:{callback_id}"

    def survey_asked(self, number: str) -> str:
        return f"{self.prefix}survey:asked:{number}"

    def line_load(self, skill: str) -> str:
        return f"{self.prefix}lineload:{skill}"

    @property
    def callbacks_closed(self) -> str:
        return f"{self.prefix}callbacks:closed"

    def flow_versions(self, flow_id: str, lang: str) -> str:
        return f"{self.prefix}flow:{flow_id}:{lang}:versions"

    def flow_live(self, flow_id: str, lang: str) -> str:
        return f"{self.prefix}flow:{flow_id}:{lang}:live"

    @property
    def audit(self) -> str:
        return f"{self.prefix}audit"

    def user(self, name: str) -> str:
        return f"{self.prefix}user:{name}"

    @property
    def users(self) -> str:
        return f"{self.prefix}users"

    def api_token(self, token_hash: str) -> str:
        return f"{self.prefix}apitoken:{token_hash}"

    def api_tokens_of(self, name: str) -> str:
        return f"{self.prefix}apitokens:{name}"

    def user_epoch(self, name: str) -> str:
        return f"{self.prefix}userepoch:{name}"

    def login_session(self, token: str) -> str:
        return f"{self.prefix}session:{token}"

    def login_attempts(self, who: str) -> str:
        return f"{self.prefix}ratelimit:login:{who}"

    @property
    def channel_calls(self) -> str:
        return f"{self.prefix}ch:calls"

    @property
    def channel_callbacks(self) -> str:
        return f"{self.prefix}ch:callbacks"

    @property
    def channel_handoffs(self) -> str:
        return f"{self.prefix}ch:handoffs"

    @property
    def channel_flows(self) -> str:
        return f"{self.prefix}ch:flows"

    def job(self, name: str) -> str:
        return f"{self.prefix}job:{name}"
