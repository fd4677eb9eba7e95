"""Clients bound to the emulator are safe to share between threads from the moment they are made."""

from __future__ import annotations

from localcloud.core.clients import emulator_client


def test_an_emulator_client_has_its_error_classes_before_any_thread_uses_it() -> None:
    # GIVEN a new client, about to be shared by threads that each catch its service's errors
    client = emulator_client("http://127.0.0.1:1", "dynamodb", "eu-west-1")
    # THEN its error classes already exist: no two threads can each make a set of their own on a first error
    made = client._exceptions  # botocore's lazily made set, None until first use
    assert made is not None
    assert client.exceptions is made
    assert issubclass(made.ConditionalCheckFailedException, Exception)
