"""The notification RPCs: a subscription's signing secret is returned once, at creation, and
never by ListSubscriptions (nor an apprise URL's credentials); bad input is refused naming
the field and the fix, with nothing stored; ListDeliveries shows dead letters and why."""

from __future__ import annotations

import grpc
import pytest

from corral.v1 import orchestrator_pb2 as pb
from orchestrator.config import NotificationsConfig
from orchestrator.notifications.delivery import DeliveryWorker
from orchestrator.store import events
from tests.integration.api_in_process import serving


@pytest.fixture
def api(tmp_path):
    with serving(tmp_path) as api:
        yield api


def create(api, **fields):
    return api.call("CreateSubscription", pb.CreateSubscriptionRequest(**fields))


def test_the_signing_secret_is_returned_once_and_never_listed(api):
    code, _, created = create(api, events=["suggestion.created", "execution.failed"], webhook_url="https://hooks.example.com/corral")
    assert code == grpc.StatusCode.OK
    secret = created.signing_secret
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created.subscription.owner == "local" and created.subscription.target == "webhook"
    code, _, apprise = create(api, events=["platform.halted"], apprise_url="mailto://alice:hunter2@mail.example.com")
    assert code == grpc.StatusCode.OK and apprise.signing_secret == ""
    _, _, listed = api.call("ListSubscriptions", pb.ListSubscriptionsRequest())
    shown = str(listed)
    assert secret not in shown and "hunter2" not in shown and "alice" not in shown
    assert [s.destination for s in listed.subscriptions] == ["https://hooks.example.com/corral", "mailto://…"]
    assert list(listed.subscriptions[0].events) == ["suggestion.created", "execution.failed"]


@pytest.mark.parametrize(("fields", "names"), [
    ({"events": ["suggestion.created"], "webhook_url": "ftp://example.com/x"}, "url must be an http:// or https://"),
    ({"events": ["suggestion.created"], "webhook_url": "https://user:pw@example.com/x"}, "must not carry a user or password"),
    ({"events": ["suggestion.made"], "webhook_url": "https://example.com/x"}, "events: 'suggestion.made' is not an event type"),
    ({"events": [], "webhook_url": "https://example.com/x"}, "events: name at least one of"),
    ({"events": ["suggestion.created"]}, "set webhook_url or apprise_url"),
    ({"events": ["suggestion.created"], "apprise_url": "not a url"}, "apprise_url: give one apprise URL"),
    # Apprise would connect where the check cannot see (a host in a parameter, a local service).
    ({"events": ["suggestion.created"], "apprise_url": "syslog://"}, "the 'syslog' service is not offered"),
    ({"events": ["suggestion.created"], "apprise_url": "json://hooks.example.com/x?proxy=http://10.0.0.1:3128"},
     "the parameter 'proxy' would send the notification elsewhere"),
    ({"events": ["suggestion.created"], "webhook_url": "https://example.com/x", "session_id": 99}, "session_id: there is no session 99"),
    ({"events": ["suggestion.created"], "webhook_url": "https://example.com/" + "x" * 3000}, "webhook_url"),
])
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(api, fields, names):
    before = api.dump()
    code, details, _ = create(api, **fields)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert names in details
    assert api.dump() == before


def test_without_a_secrets_key_creation_says_which_setting_to_set(tmp_path):
    with serving(tmp_path, secrets_key=False) as api:
        code, details, _ = create(api, events=["suggestion.created"], webhook_url="https://example.com/x")
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "secrets_key_file" in details


def test_deleting_a_subscription_stops_its_deliveries_and_they_are_listed_as_dead_letters(api, tmp_path):
    _, _, created = create(api, events=["suggestion.created"], webhook_url="https://hooks.example.com/corral")
    with api.db.session() as s:
        events.record(s, "suggestion", "created", 1, 5)
        s.commit()
    _, _, pending = api.call("ListDeliveries", pb.ListDeliveriesRequest())
    assert [(d.type, d.status, d.session_id) for d in pending.deliveries] == [("suggestion.created", pb.DELIVERY_STATUS_PENDING, 1)]
    code, _, _ = api.call("DeleteSubscription", pb.DeleteSubscriptionRequest(subscription_id=created.subscription.id))
    assert code == grpc.StatusCode.OK
    code, details, _ = api.call("DeleteSubscription", pb.DeleteSubscriptionRequest(subscription_id=created.subscription.id))
    assert code == grpc.StatusCode.NOT_FOUND and "ListSubscriptions" in details
    _, _, listed = api.call("ListSubscriptions", pb.ListSubscriptionsRequest())
    assert list(listed.subscriptions) == []
    with api.db.session() as s:  # a deleted subscription gets no new deliveries
        events.record(s, "suggestion", "created", 1, 6)
        s.commit()
    _, _, still = api.call("ListDeliveries", pb.ListDeliveriesRequest(status=pb.DELIVERY_STATUS_PENDING))
    assert len(still.deliveries) == 1

    async def one_pass():  # the worker meets the pending delivery of the deleted subscription
        worker = DeliveryWorker(api.db, NotificationsConfig(), tmp_path / "secrets.key", settled_through=lambda: 10**9)
        await worker.send_due()
        await worker.stop()

    api.loop.run(one_pass())
    _, _, dead = api.call("ListDeliveries", pb.ListDeliveriesRequest(status=pb.DELIVERY_STATUS_DEAD))
    assert [(d.id, d.last_error, d.attempts) for d in dead.deliveries] == [(pending.deliveries[0].id, "the subscription was deleted", 1)]
    assert not dead.deliveries[0].HasField("next_attempt_at")


def test_list_deliveries_refuses_a_page_past_the_maximum(api):
    code, details, _ = api.call("ListDeliveries", pb.ListDeliveriesRequest(page_size=501))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "page_size must be at most 500" in details
