"""Intake: returned documents and e-mails in, by every channel, onto cases.

ingest is the one pipeline (raw bytes stored first, parsed in the sandbox, validated, applied to a new
or threaded case, or quarantined with its reason); models holds the received items; channels receive
by SMTP and IMAP; cli holds its commands (a surface). May import forms, parsers, service.db,
service.documents and service.casework; never a surface.
"""
