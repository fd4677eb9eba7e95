"""Cognito user pools (provision.py): moto issues the tokens and serves the pools' JWKS, which the gateway's
JWT authorizers verify (apigateway/jwt_authorization.py)."""
