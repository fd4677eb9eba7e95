"""Sample data: deterministic generators (batch_records, transform_documents, dynamodb_tables) and the
files README's examples send: orders.xml (generate_orders_xml(2500), for rules/orders-v1.json),
kunden-latin1.xml (an ISO-8859-1 document, sent as binary) and audit-record.json (an audit payload)."""
