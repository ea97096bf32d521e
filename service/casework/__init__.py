"""Casework: the case record and its rules, from a submission to the people it reaches.

Owns cases, stages and submissions (models; submit, stages, queries, gathered in cases), due dates in
working days (workdays), the contacts directory (directory), routing to contacts (routing) and who
a form reaches whatever its stage (recipients), the outbox of notifications (outbox), the
append-only audit log (audit), staff accounts (staff), the inbox query and retention. May import
forms, service.db and service.documents; never a surface (web, workspace, api, cli, ops) nor intake
or conference, which build on it.
"""
