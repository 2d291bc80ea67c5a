"""Infrastructure: PostgreSQL (connections, event store, tokens, schema), Kafka clients and topics,
the embedded services. Imports nothing of ``application``, ``api``, ``consumers`` or ``runtime``."""
