"""A person to sign in with, in each user pool the deployment created: `up` prints who and how.

On AWS an administrator invites people (the pools here take no self sign-up); a local run has nobody to
invite, so `up` makes one person per pool with a fresh password, confirmed, and prints it once. The
password exists only in the emulator's memory and on that terminal; each `up` makes a new one.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from typing import Any

DEMO_USERNAME = "demo"
USER_POOL_TYPE = "aws:cognito/userPool:UserPool"


@dataclass(frozen=True)
class DemoPerson:
    pool_name: str
    pool_id: str
    region: str
    username: str
    password: str

    def line(self) -> str:
        return (
            f"Sign in to user pool {self.pool_name} ({self.pool_id}) as {self.username}, "
            f"password {self.password} (made for this run)"
        )


def fresh_password() -> str:
    # Every character class a pool's policy may ask for, and 144 random bits.
    return f"Aa1!{secrets.token_urlsafe(18)}"


def demo_people(cognito: Any, region: str) -> list[DemoPerson]:
    """One confirmed person (DEMO_USERNAME, a fresh password) in each of the region's user pools."""
    people = []
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            password = fresh_password()
            # A person from an earlier run stays; the password below is new.
            with contextlib.suppress(cognito.exceptions.UsernameExistsException):
                cognito.admin_create_user(
                    UserPoolId=pool["Id"], Username=DEMO_USERNAME, MessageAction="SUPPRESS"
                )
            cognito.admin_set_user_password(
                UserPoolId=pool["Id"], Username=DEMO_USERNAME, Password=password, Permanent=True
            )
            people.append(DemoPerson(pool["Name"], pool["Id"], region, DEMO_USERNAME, password))
    return people
