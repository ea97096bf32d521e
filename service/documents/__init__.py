"""Documents: every form as a completed or blank DOCX and PDF, and the reports made from cases.

docx/ (templates built from the specs and rendering), pdf/ (layout, fields, text shaping), records
(the one entry point: render a form's document), charts (SVG) and reports (annual report, XLSX).
May import forms only: documents know forms and answers, not cases or how they arrived.
"""
