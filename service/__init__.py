"""Escalate's service, by concern, in the order a form flows through it:

- documents/  a form's DOCX and PDF, blank or completed, and the reports
- intake/     returned documents and e-mails read onto cases
- casework/   cases, stages, due dates, directory, routing, outbox, audit, staff
- conference/ child protection conference escalations (Kirklees Appendix 3)
- surfaces: web/ (public journey), workspace/ (staff), api/, cli.py, ops/ (operators)

db.py is the engine and sessions. tests/test_layout.py holds the rule that the domain never imports
a surface.
"""
