"""Intake: returned documents and e-mails in, by every channel, onto cases.

ingest is the one pipeline (raw bytes stored first, then read as a job: parsed in the sandbox,
validated, applied to a new or threaded case, or quarantined with its reason); jobs is the intake
queue (Huey), worker its consumer, claims the database's rule that one reader applies an item;
matching threads replies; uploads is what a person sees of files being read; review is what a
person does with what could not be applied (run again, release), as jobs too; models holds the
received items and upload batches; channels receive by SMTP and IMAP; cli holds its commands (a surface). May import forms, parsers, service.db,
service.documents and service.casework; never a surface.
"""
