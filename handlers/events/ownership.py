"""Who owns an event id: the principal whose write created it. Only the owner may write the id again.

Before this rule any caller could overwrite any event id with a timestamp up to the allowed clock skew
(issue 16). Now:
- POST /events takes the caller from what the gateway vouched for (handlers/http_request.caller_arn) and
  refuses a request without one; the workflow input carries it as "principal".
- The owner a caller writes as is its ARN, with an assumed role's session name dropped (`owner_of`):
  IAM treats the role as the principal (aws:PrincipalArn), and whoever may assume a role picks any session
  name, so sessions of one role are no boundary; and a producer's session name changes whenever its
  credentials are renewed (an ECS task id, an instance id) - it must keep writing its own ids.
- Every item records its owner (Owner). The processor writes an id only when it is new, or owned by the
  caller, and its conditional write checks the Owner it decided against, so an owner change racing the
  read (a replicated creation) fails the write instead of being overwritten. Another principal's write
  is refused with EventOwnedByAnotherPrincipalError: 403 event_owned_by_another_principal, dead-lettered.
- Idempotency keys are scoped per owner: the same key from two principals is two requests; from one
  principal (in any session) a replay.
- Items written before owners were recorded have no Owner: the first write that wins over one under
  last-writer-wins claims it (conditional on there still being no Owner); later writes need that owner.

Across regions (multi-region eventual consistency): the conditional write checks only the local replica,
so two principals can each create the same id in their region within the replication lag (or during a
partition). The ConflictResolver (handlers/events/conflict.py) then ranks the owner before the client
timestamp: the lexically greater owner ARN owns the id everywhere, and every one of its versions beats
every version of the other principal, whatever their timestamps; the repair function restores it where
replication kept the other. The other principal's writes (each answered 200 in its region) are undone,
logged as an ownership conflict and counted (OwnershipConflictRepaired), and its later writes are refused
once the owner's item has replicated. An owned version beats an unowned (pre-owner) one. With
multi-region strong consistency (MRSC) the create is checked in every region and no such conflict exists.
"""

from __future__ import annotations

# The owner a caller writes as is the principal it acts as: one definition for every system.
from handlers.http_request import principal_of as owner_of

__all__ = ["owner_of"]
