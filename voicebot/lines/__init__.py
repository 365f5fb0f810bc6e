"""Every way audio reaches a call, one adapter module each (SIP, AudioSocket, Twilio, browser, WAV files)."""
