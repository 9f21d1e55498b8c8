"""Users, roles, log-in, tokens and the audit log."""

