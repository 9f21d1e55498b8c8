"""The admin console's server side: one scoped read of the configuration,
the routing test, and the audit search.  Changes go through each
capability's own API (users, queues, routing, realtime settings, QA forms),
which audits them and tells the running services."""
