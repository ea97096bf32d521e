"""Escalate's services: documents, cases, routing, notifications and the web interface."""
