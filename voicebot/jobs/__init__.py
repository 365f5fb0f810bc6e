"""Background work of a server process that is not HTTP: it runs on the stores the composition root built
(voicebot/app.py registers each as a cleanup_ctx) and imports neither the web app nor the lines."""
