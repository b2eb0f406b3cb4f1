"""Notifications: subscriptions to event types, delivered from the durable outbox
(orchestrator/store/notification_outbox.py) as signed webhooks or through apprise."""
