"""Real time: order events in (:mod:`.events`), the week so far sensed against its forecast (:mod:`.sensing`),
signals raised on write (:mod:`.signals`), pushed to webhooks from a durable outbox (:mod:`.webhooks`), and a
watch folder (:mod:`.watch`); :mod:`.engine` runs them inside the server."""
