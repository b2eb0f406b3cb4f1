"""Principals (issue 18, item 2), tried as another user of the same orchestrator would: with
a key of their own, roles that do not allow the call, or wallets that are not the session's.
Served as the orchestrator serves it (api_serving + the guard) with API keys on; every
refusal is checked to have changed nothing in the database."""

from __future__ import annotations

import hashlib

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.api.access import METHOD_ROLES, RESUME_METHOD, TARGETS
from orchestrator.egress.secrets import SecretBox
from orchestrator.notifications import subscriptions
from orchestrator.store import EgressConnectionRow, ExecutionRow, SessionRow, SuggestionRow, TransactionRow, events, principals, utcnow
from orchestrator.store.models import EventRow, PrincipalRow
from orchestrator.store.notification_outbox import subscribers
from orchestrator.store.principals import Role
from tests.integration.api_in_process import WALLET, serving

SERVICE = pb.DESCRIPTOR.services_by_name["OrchestratorService"]
OTHER_WALLET = "0x" + "33" * 20
SEEDED = {"session": 1, "execution": 1, "transaction": 1, "suggestion": 1}
MISSING_ID = 999


@pytest.fixture
def api(tmp_path):
    with serving(tmp_path, api_keys=True) as api:
        with api.db.session() as s:
            now = utcnow()
            s.add(ExecutionRow(id=1, session_id=1, command="run", status="succeeded", started_at=now))
            s.add(TransactionRow(id=1, session_id=1, request_id="r1", network="ethereum:31337", from_address=WALLET,
                                 to_address=OTHER_WALLET, value="1", status="confirmed", created_at=now, updated_at=now))
            s.add(SuggestionRow(id=1, session_id=1, kind="transaction", request=b"", status="pending", created_at=now))
            s.commit()
        yield api


def user(api, name: str, roles: list[Role], wallets: list[str]) -> str:
    with api.db.session() as s:
        return principals.add(s, name, roles, wallets)


def stream(api, method: str, request: Message, key: str | None) -> tuple[grpc.StatusCode, str, list]:
    """(status, details, messages) of a server stream read until it ends or 1 s passes."""
    metadata = (("authorization", f"Bearer {key}"),) if key else None

    async def once():
        got = []
        try:
            async for message in getattr(api.stub, method)(request, timeout=1, metadata=metadata):
                got.append(message)
        except grpc.aio.AioRpcError as error:
            return error.code(), error.details() or "", got
        return grpc.StatusCode.OK, "", got

    return api.loop.run(once())


def call(api, method: str, request: Message, key: str | None) -> tuple[grpc.StatusCode, str]:
    if SERVICE.methods_by_name[method].server_streaming:
        code, details, _ = stream(api, method, request, key)
        return code, details
    code, details, _ = api.call(method, request, key=key)
    return code, details


def request_naming(method: str, kind_id: int | str) -> Message:
    """`method`'s request with its target field (access.TARGETS) set to `kind_id`."""
    request = getattr(pb, SERVICE.methods_by_name[method].input_type.name)()
    *parents, name = TARGETS[method].field.split(".")
    holder = request
    for parent in parents:
        holder = getattr(holder, parent)
    setattr(holder, name, kind_id)
    return request


def empty_request(method: str) -> Message:
    return getattr(pb, SERVICE.methods_by_name[method].input_type.name)()


def test_every_method_has_a_role_and_every_target_names_a_field_of_its_request():
    methods = {m.name for m in SERVICE.methods}
    assert set(METHOD_ROLES) == methods - {RESUME_METHOD}, "a new RPC needs its role in orchestrator/api/access.py"
    for method, target in TARGETS.items():
        request_naming(method, "x" if target.kind == "wallet" else 1)  # raises for a field the request lacks


@pytest.mark.parametrize("method", sorted(m for m, role in METHOD_ROLES.items() if role is not Role.VIEWER))
def test_a_principal_with_every_other_role_is_refused_and_nothing_changes(api, method):
    needed = METHOD_ROLES[method]
    key = user(api, "almost", [r for r in Role if r is not needed], [WALLET])
    before = api.dump()
    code, details = call(api, method, empty_request(method), key)
    assert code == grpc.StatusCode.PERMISSION_DENIED and f"needs the {needed} role" in details
    after = api.dump()
    assert after == before


def test_a_refused_caller_is_answered_before_its_request_is_read(api):
    """The guard refuses on the method alone: bytes that would not even parse get the refusal,
    not INVALID_ARGUMENT, so a caller without the role cannot make the server parse anything."""
    viewer = user(api, "vera", [Role.VIEWER], [WALLET])
    garbage = b"\xff" * 64
    assert api.call_raw("PauseSession", garbage, key=viewer)[0] == grpc.StatusCode.PERMISSION_DENIED
    assert api.call_raw("PauseSession", garbage)[0] == grpc.StatusCode.UNAUTHENTICATED
    assert api.call_raw("GetSession", garbage, key=viewer)[0] == grpc.StatusCode.INVALID_ARGUMENT  # allowed: then parsed


def test_lifting_a_halt_takes_the_resume_credential_not_an_admin_key(api):
    admin = user(api, "root", list(Role), [WALLET])
    code, details = call(api, "ResumePlatform", pb.ResumePlatformRequest(), admin)
    assert code == grpc.StatusCode.PERMISSION_DENIED and "resume credential" in details


@pytest.mark.parametrize("method", sorted(m for m, t in TARGETS.items() if t.kind in SEEDED))
def test_what_is_on_another_wallet_is_indistinguishable_from_what_does_not_exist(api, method):
    """Bob holds every role, on his own wallet only: session 1 (Alice's wallet), its execution,
    transaction and suggestion answer him exactly as ids that do not exist."""
    bob = user(api, "bob", list(Role), [OTHER_WALLET])
    kind = TARGETS[method].kind
    before = api.dump()
    theirs = call(api, method, request_naming(method, SEEDED[kind]), bob)
    missing = call(api, method, request_naming(method, MISSING_ID), bob)
    assert theirs[0] == missing[0] == grpc.StatusCode.NOT_FOUND
    assert theirs[1].replace(str(SEEDED[kind]), "N", 1) == missing[1].replace(str(MISSING_ID), "N", 1)
    assert api.dump() == before


@pytest.mark.parametrize("method", sorted(m for m, t in TARGETS.items() if t.kind in SEEDED))
def test_the_wallets_owner_reaches_the_same_calls(api, method):
    alice = user(api, "alice", list(Role), [WALLET.upper().replace("0X", "0x")])  # any case: one hex address
    code, details = call(api, method, request_naming(method, SEEDED[TARGETS[method].kind]), alice)
    assert code != grpc.StatusCode.NOT_FOUND or "does not exist" not in details, (method, details)
    assert code not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNKNOWN), (method, details)


def test_a_session_starts_only_on_a_wallet_the_caller_owns(api):
    bob = user(api, "bob", [Role.OPERATOR], [OTHER_WALLET])
    before = api.dump()
    code, details, _ = api.call("StartSession", pb.StartSessionRequest(agent_id=1, wallet_address=WALLET), key=bob)
    assert code == grpc.StatusCode.PERMISSION_DENIED and "does not own wallet" in details and "corral user add" in details
    assert api.dump() == before


def test_lists_show_only_the_callers_wallets(api):
    alice = user(api, "alice", [Role.VIEWER], [WALLET])
    bob = user(api, "bob", [Role.VIEWER], [OTHER_WALLET])
    _, _, mine = api.call("ListSessions", pb.ListSessionsRequest(), key=alice)
    _, _, theirs = api.call("ListSessions", pb.ListSessionsRequest(), key=bob)
    assert [s.id for s in mine.sessions] == [1] and list(theirs.sessions) == []
    _, _, wallets = api.call("ListWallets", pb.ListWalletsRequest(), key=bob)
    assert list(wallets.wallets) == []  # the signer holds only Alice's
    _, _, wallets = api.call("ListWallets", pb.ListWalletsRequest(), key=alice)
    assert [w.address for w in wallets.wallets] == [WALLET]


def test_the_event_stream_carries_the_callers_sessions_and_the_platform_and_names_who_acted(api):
    alice = user(api, "alice", [Role.OPERATOR], [WALLET])
    bob = user(api, "bob", [Role.ADMIN], [OTHER_WALLET])
    assert api.call("PauseSession", pb.PauseSessionRequest(session_id=1), key=alice)[0] == grpc.StatusCode.OK
    assert api.call("HaltPlatform", pb.HaltPlatformRequest(reason="drill"), key=bob)[0] == grpc.StatusCode.OK
    watch = pb.WatchEventsRequest(after_event_id=0)
    _, _, seen_by_alice = stream(api, "WatchEvents", watch, alice)
    _, _, seen_by_bob = stream(api, "WatchEvents", watch, bob)
    assert [(e.kind, e.change, e.actor) for e in seen_by_alice] == [
        (pb.EVENT_KIND_SESSION, "paused", "alice"), (pb.EVENT_KIND_PLATFORM, "halted", "bob")]
    assert [(e.kind, e.change, e.actor) for e in seen_by_bob] == [(pb.EVENT_KIND_PLATFORM, "halted", "bob")]
    code, _, _ = stream(api, "WatchEvents", pb.WatchEventsRequest(session_id=1, after_event_id=0), bob)
    assert code == grpc.StatusCode.NOT_FOUND


def test_keys_are_checked_on_every_call_and_a_revoked_one_is_refused_from_the_next(api):
    alice = user(api, "alice", [Role.VIEWER], [WALLET])
    assert api.call("GetSession", pb.GetSessionRequest(session_id=1), key=alice)[0] == grpc.StatusCode.OK
    key_id = alice.split("_")[1]
    forged = f"corral_{key_id}_{'A' * 43}"  # the right key id, the wrong secret
    for wrong in (None, "nonsense", forged, alice + "x"):
        code, details, _ = api.call("GetSession", pb.GetSessionRequest(session_id=1), key=wrong)
        assert code == grpc.StatusCode.UNAUTHENTICATED and "API key" in details and alice not in details
    with api.db.session() as s:
        assert principals.revoke(s, "alice")
    assert api.call("GetSession", pb.GetSessionRequest(session_id=1), key=alice)[0] == grpc.StatusCode.UNAUTHENTICATED

    async def health():
        return await health_pb2_grpc.HealthStub(api.channel).Check(health_pb2.HealthCheckRequest())

    assert api.loop.run(health()).status == health_pb2.HealthCheckResponse.SERVING  # open without a key


def test_only_a_hash_of_the_key_is_stored(api):
    alice = user(api, "alice", [Role.VIEWER], [WALLET])
    secret = alice.removeprefix("corral_")[17:]  # after the 16-character key id and its "_" (a secret may hold "_" too)
    dumped = repr(api.dump())
    assert secret not in dumped and alice not in dumped
    with api.db.session() as s:
        row = s.query(PrincipalRow).one()
        assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_get_caller_says_what_the_caller_may_do(api):
    alice = user(api, "alice", [Role.APPROVER, Role.VIEWER], [WALLET])
    _, _, me = api.call("GetCaller", pb.GetCallerRequest(), key=alice)
    assert me.name == "alice" and list(me.roles) == [pb.ROLE_APPROVER, pb.ROLE_VIEWER]
    assert list(me.wallet_addresses) == [WALLET] and not me.all_wallets


def test_request_ids_are_per_principal(api):
    """Bob cannot replay Alice's answer by guessing her request_id."""
    alice = user(api, "alice", [Role.OPERATOR], [WALLET])
    bob = user(api, "bob", [Role.OPERATOR], [OTHER_WALLET])
    _, _, paused = api.call("PauseSession", pb.PauseSessionRequest(session_id=1, request_id="same"), key=alice)
    assert paused.session.status == pb.SESSION_STATUS_PAUSED
    code, _, _ = api.call("PauseSession", pb.PauseSessionRequest(session_id=1, request_id="same"), key=bob)
    assert code == grpc.StatusCode.NOT_FOUND


def subscription(api, owner: str) -> int:
    box = SecretBox.from_file(api.servicer._secrets_key_file)
    with api.db.session() as s:
        row, _ = subscriptions.create(s, box, owner, ["suggestion.created", "platform.halted"], "webhook", f"https://{owner}.example/h", None)
        return row.id


def test_subscriptions_belong_to_their_principal_and_hear_only_of_its_wallets(api):
    user(api, "alice", [Role.VIEWER], [WALLET])
    bob = user(api, "bob", [Role.VIEWER, Role.OPERATOR], [OTHER_WALLET])
    alices_id, bobs_id = subscription(api, "alice"), subscription(api, "bob")
    _, _, listed = api.call("ListSubscriptions", pb.ListSubscriptionsRequest(), key=bob)
    assert [sub.id for sub in listed.subscriptions] == [bobs_id]
    before = api.dump()
    for method, request in (("DeleteSubscription", pb.DeleteSubscriptionRequest(subscription_id=alices_id)),
                            ("ListDeliveries", pb.ListDeliveriesRequest(subscription_id=alices_id))):
        theirs = api.call(method, request, key=bob)[:2]
        request.subscription_id = MISSING_ID
        missing = api.call(method, request, key=bob)[:2]
        assert theirs[0] == missing[0] == grpc.StatusCode.NOT_FOUND
        assert theirs[1].replace(str(alices_id), "N") == missing[1].replace(str(MISSING_ID), "N")
    assert api.dump() == before
    with api.db.session() as s:
        assert subscribers(s, "suggestion", "created", 1, 1)[1] == [alices_id]  # session 1 is on Alice's wallet
        assert subscribers(s, "platform", "halted", None, 0)[1] == [alices_id, bobs_id]
        principals.revoke(s, "alice")
        assert subscribers(s, "platform", "halted", None, 0)[1] == [bobs_id]
    _, _, listed = api.call("ListSubscriptions", pb.ListSubscriptionsRequest(), key=user(api, "root", [Role.ADMIN], []))
    assert [(sub.id, sub.owner) for sub in listed.subscriptions] == [(bobs_id, "bob")]  # revoking deleted Alice's


def test_an_admin_manages_the_subscriptions_made_before_keys_were_on(api):
    legacy = subscription(api, "api")  # made by the single-token API of an earlier version
    admin = user(api, "root", [Role.ADMIN, Role.OPERATOR], [])
    operator = user(api, "olga", [Role.OPERATOR], [WALLET])
    assert api.call("ListSubscriptions", pb.ListSubscriptionsRequest(), key=operator)[2].subscriptions == []
    assert [s.id for s in api.call("ListSubscriptions", pb.ListSubscriptionsRequest(), key=admin)[2].subscriptions] == [legacy]
    assert api.call("DeleteSubscription", pb.DeleteSubscriptionRequest(subscription_id=legacy), key=admin)[0] == grpc.StatusCode.OK


def test_shared_memory_is_read_only_by_who_owns_every_wallet_its_agent_ran_on(api):
    """Agent 1's shared memory holds what its session on Alice's wallet wrote: Bob, running the
    same agent on his own wallet, may not read it through the API."""
    with api.db.session() as s:
        s.add(SessionRow(id=2, agent_id=1, wallet_address=OTHER_WALLET, status="running", execution_mode="manual", settings={},
                         allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="1000",
                         created_at=utcnow()))
        s.commit()
    bob = user(api, "bob", [Role.VIEWER], [OTHER_WALLET])
    both = user(api, "carol", [Role.VIEWER], [WALLET, OTHER_WALLET])
    code, details, _ = api.call("ListSessionMemory", pb.ListSessionMemoryRequest(session_id=2, shared=True), key=bob)
    assert code == grpc.StatusCode.PERMISSION_DENIED and "wallets you do not own" in details
    assert api.call("ListSessionMemory", pb.ListSessionMemoryRequest(session_id=2), key=bob)[0] == grpc.StatusCode.OK
    assert api.call("ListSessionMemory", pb.ListSessionMemoryRequest(session_id=2, shared=True), key=both)[0] == grpc.StatusCode.OK


def test_auto_mode_takes_the_approver_role_too(api):
    """Auto mode approves each action in advance: an operator alone cannot switch a manual
    session to it, or start one in it, and so bypass the approvers."""
    operator = user(api, "olga", [Role.OPERATOR], [WALLET])
    both = user(api, "otto", [Role.OPERATOR, Role.APPROVER], [WALLET])
    to_auto = pb.UpdateSessionRequest(session=pb.Session(id=1, execution_mode=common_pb2.EXECUTION_MODE_AUTO),
                                      update_mask=field_mask_pb2.FieldMask(paths=["execution_mode"]))
    before = api.dump()
    code, details, _ = api.call("UpdateSession", to_auto, key=operator)
    assert code == grpc.StatusCode.PERMISSION_DENIED and "approver role" in details
    assert api.dump() == before
    assert api.call("UpdateSession", to_auto, key=both)[0] == grpc.StatusCode.OK
    api.call("StopSession", pb.StopSessionRequest(session_id=1), key=both)
    code, details, _ = api.call("StartSession", pb.StartSessionRequest(agent_id=1, wallet_address=WALLET,
                                                                       execution_mode=common_pb2.EXECUTION_MODE_AUTO), key=operator)
    assert code == grpc.StatusCode.PERMISSION_DENIED and "approver role" in details
    manual = pb.StartSessionRequest(agent_id=1, wallet_address=WALLET, execution_mode=common_pb2.EXECUTION_MODE_MANUAL)
    assert api.call("StartSession", manual, key=operator)[0] == grpc.StatusCode.OK


def test_a_users_heartbeats_do_not_move_with_other_users_events(api):
    alice = user(api, "alice", [Role.OPERATOR], [WALLET])
    bob = user(api, "bob", [Role.VIEWER], [OTHER_WALLET])
    for request in (pb.PauseSessionRequest(session_id=1), pb.ResumeSessionRequest(session_id=1)) * 2:
        api.call(type(request).__name__.removesuffix("Request"), request, key=alice)
    _, _, seen = stream(api, "WatchEvents", pb.WatchEventsRequest(after_event_id=0, heartbeat_seconds=1), bob)
    heartbeats = [e.heartbeat.position for e in seen if e.WhichOneof("object") == "heartbeat"]
    assert heartbeats and set(heartbeats) == {0}  # four of Alice's events passed; Bob was sent none


def test_the_platforms_own_names_are_not_for_users(api):
    for name in ("local", "api-token", "resume-credential", "nobody"):
        with api.db.session() as s, pytest.raises(principals.PrincipalError, match="reserved"):
            principals.add(s, name, [Role.VIEWER], [])


def test_every_change_made_through_the_api_names_its_principal(api):
    alice = user(api, "alice", [Role.OPERATOR, Role.APPROVER], [WALLET])
    api.call("RejectSuggestion", pb.RejectSuggestionRequest(suggestion_id=1), key=alice)
    api.call("PauseSession", pb.PauseSessionRequest(session_id=1), key=alice)
    api.call("ResumeSession", pb.ResumeSessionRequest(session_id=1), key=alice)
    api.call("StopSession", pb.StopSessionRequest(session_id=1), key=alice)
    with api.db.session() as s:
        events.record(s, "execution", "started", 1, 1)  # the platform's own: no actor
        s.commit()
        rows = [(r.kind, r.change, r.actor) for r in s.query(EventRow).order_by(EventRow.id)]
    assert rows == [("suggestion", "rejected", "alice"), ("session", "paused", "alice"), ("session", "running", "alice"),
                    ("session", "stopped", "alice"), ("execution", "started", "")]


def test_a_wallet_that_is_no_address_is_refused_by_name(api):
    with api.db.session() as s:
        for wallet in ("0x1234", "x" * 100, "0x" + "g" * 40):
            with pytest.raises(principals.PrincipalError, match="is not an address"):
                principals.add(s, "alice", [Role.VIEWER], [wallet])
        principals.add(s, "alice", [Role.VIEWER], [WALLET])
        with pytest.raises(principals.PrincipalError, match="is not an address"):
            principals.grant(s, "alice", ["nope"])
        assert principals.grant(s, "alice", ["7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV"])  # a Solana address


def test_a_recording_withholds_shared_memory_and_fetches_from_a_user_who_does_not_own_every_session_of_the_agent(api):
    """The agent also runs on another user's wallet: what its executions read from or wrote to
    the memory its sessions share, and what they fetched (with the author's keys), is withheld
    from a user of one wallet, as ListSessionMemory withholds it; a user of both wallets reads it."""
    from corral.v1 import runtime_pb2
    from orchestrator.executions import recording
    from orchestrator.executions.recording import Recorder

    with api.db.session() as s:
        s.add(SessionRow(id=2, agent_id=1, wallet_address=OTHER_WALLET, status="running", execution_mode="auto", settings={},
                         allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="1", created_at=utcnow()))
        recorder = Recorder(max_bytes=64 * 1024)
        recorder.record("/corral.v1.AgentRuntime/GetMemory", runtime_pb2.GetMemoryRequest(key="k", scope=runtime_pb2.MEMORY_SCOPE_SHARED)
                        .SerializeToString(), runtime_pb2.GetMemoryResponse(key="k", value="the other user's").SerializeToString(), "OK", "", 0)
        recorder.keep_exchange(pb.RecordedExchange(scheme="https", host="api.example.com", port=443, method="GET",
                                                   path="/v3/authors-key", response=b"HTTP/1.1 200 OK\r\n\r\nauthor's signal"))
        recording.store(s, recorder.message(1))
        s.add(EgressConnectionRow(execution_id=1, method="CONNECT", host="api.example.com", port=443, address="203.0.113.7",
                                  bytes_out=100, bytes_in=2000, duration_ms=30, outcome="allowed", reason=""))
        s.commit()
    mine = user(api, "one-wallet", [Role.VIEWER], [WALLET])
    both = user(api, "both-wallets", [Role.VIEWER], [WALLET, OTHER_WALLET])
    code, details, limited = api.call("GetExecutionRecording", pb.GetExecutionRecordingRequest(execution_id=1), key=mine)
    assert code == grpc.StatusCode.OK, details
    [call_seen] = limited.recording.calls
    assert call_seen.withheld and call_seen.response == b"" and b"other user" not in limited.SerializeToString()
    [fetched] = limited.recording.exchanges
    assert fetched.withheld and fetched.host == "api.example.com" and b"author" not in limited.SerializeToString()
    # What the execution reached on the network comes with its recording (not what it answered).
    [connection] = limited.recording.egress_connections
    assert (connection.host, connection.bytes_in, connection.outcome) == ("api.example.com", 2000, pb.EGRESS_OUTCOME_ALLOWED)
    whole = api.call("GetExecutionRecording", pb.GetExecutionRecordingRequest(execution_id=1), key=both)[2].recording
    [call_whole], [fetched_whole] = whole.calls, whole.exchanges
    assert not fetched_whole.withheld and fetched_whole.response.endswith(b"author's signal")
    assert not call_whole.withheld and runtime_pb2.GetMemoryResponse.FromString(call_whole.response).value == "the other user's"
