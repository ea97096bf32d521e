"""Real peers the tests start for themselves, one module each, shared by every test that needs one:
free ports (ports), a Redis server (redis_server), an SMTP server (smtp), the app under gunicorn
(gunicorn), a dovecot IMAP server (dovecot), a database with no tables (databases), an HTTP client
keeping cookies and not following redirects (http_client)."""
