"""API Gateway: HTTP APIs (v2) and REST APIs (v1) (provision.py, provision_rest.py, definitions.py), served
with Lambda function URLs by one loopback gateway (gateway.py) on shared HTTP plumbing (http.py): payload
2.0 (http_api.py), REST with validation and VTL mapping (rest_api.py, validation.py, vtl.py)."""
