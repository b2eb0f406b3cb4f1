"""What `WatchEvents` checks before it streams, and how a stream's heartbeat is put on the
wire (the events themselves are `service.event_message`)."""

from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from corral.v1 import orchestrator_pb2
from orchestrator.errors import Refused, invalid
from orchestrator.store.events import HEARTBEAT_SECONDS, Position


def check_watch_request(after_event_id: int | None, heartbeat_seconds: int, head: int) -> None:
    """Refuses a cursor the stream could only wait on silently, and a heartbeat it cannot
    keep. `head` is the highest event id the database has handed out (`events.head_id`)."""
    if after_event_id is not None and after_event_id < 0:
        raise invalid(f"after_event_id must be 0 or more (0 replays every event kept; unset starts from now), not {after_event_id}")
    if after_event_id is not None and after_event_id > head:
        raise Refused(grpc.StatusCode.OUT_OF_RANGE,
                      f"after_event_id {after_event_id} is past the newest event id this server has handed out: "
                      "it comes from another database or from before a restore. Resume with after_event_id 0 to replay "
                      "every event kept, or leave it unset to start from now")
    low, high = HEARTBEAT_SECONDS
    if heartbeat_seconds and not low <= heartbeat_seconds <= high:
        raise invalid(f"heartbeat_seconds must be {low} to {high} (0: no heartbeats), not {heartbeat_seconds}")


def heartbeat_message(position: Position) -> orchestrator_pb2.Event:
    sent_at = Timestamp()
    sent_at.GetCurrentTime()
    return orchestrator_pb2.Event(
        kind=orchestrator_pb2.EVENT_KIND_HEARTBEAT, occurred_at=sent_at,
        heartbeat=orchestrator_pb2.Heartbeat(position=position.after, caught_up=position.caught_up),
    )
