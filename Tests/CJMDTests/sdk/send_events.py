"""Sends identify, page and track calls for many customers through a real analytics SDK
(segment-analytics-python, rudder-sdk-python or posthog) to cjmd's http source, and prints
one tab-separated line per call sent: id, customer, event name as cjmd stores it,
touchpoint, timestamp (ISO 8601). Exits non-zero if the SDK reported an error.

Usage: python send_events.py SDK HOST KEY CUSTOMERS TAG [tolerant]
With `tolerant` (for tests that kill the daemon while the SDK sends), the exit status is 0
and the calls of every batch the server answered 200 are printed as `ACKED<TAB>id` lines:
the SDK's own post function is wrapped, since an SDK may drop a batch it is still retrying
when it shuts down without calling on_error.
"""
import datetime
import sys
import uuid

sdk, host, key, customers, tag = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
tolerant = len(sys.argv) > 6 and sys.argv[6] == "tolerant"
failed = []
errors = []
sent = []
now = datetime.datetime.now(datetime.timezone.utc)


def on_error(error, items):
    errors.append(repr(error))
    for item in items or []:
        failed.append(item.get("messageId") or item.get("uuid") or "?")


def at(seconds):
    return now - datetime.timedelta(seconds=300 - seconds)


acked = []


def recording(post):
    """The SDK's post, recording the ids of a batch it returns from (a 200)."""
    def wrapped(*args, **kwargs):
        response = post(*args, **kwargs)
        acked.extend(item.get("messageId") for item in kwargs.get("batch", []))
        return response
    return wrapped


if sdk in ("segment", "rudder"):
    if sdk == "segment":
        import segment.analytics as client
        import segment.analytics.consumer as consumer
        client.host = host
    else:
        import rudderstack.analytics as client
        import rudderstack.analytics.consumer as consumer
        client.dataPlaneUrl = host
    consumer.post = recording(consumer.post)
    client.write_key = key
    client.on_error = on_error
    client.max_retries = 20 if tolerant else 3
    for c in range(customers):
        user = f"{tag}-u{c}"
        base = c % 120
        ident = f"{tag}-i{c}"
        client.identify(user, {"persona": f"p{c % 3}", "plan": "pro"}, timestamp=at(base), message_id=ident)
        sent.append((ident, user, "identify", "server" if sdk == "rudder" else "unknown", at(base)))
        page = f"{tag}-p{c}"
        client.page(user, name="Pricing", properties={"path": "/pricing"}, context={"channel": "web"},
                    timestamp=at(base + 1), message_id=page)
        sent.append((page, user, "page:Pricing", "web", at(base + 1)))
        track = f"{tag}-t{c}"
        client.track(user, "add_to_cart", {"sku": f"S{c}", "touchpoint": "app", "revenue": 10 + c % 7},
                     timestamp=at(base + 2), message_id=track)
        sent.append((track, user, "add_to_cart", "app", at(base + 2)))
    client.flush()
    client.shutdown()
else:
    from posthog import Posthog
    client = Posthog(key, host=host, on_error=on_error, sync_mode=False, capture_mode="v0", max_retries=3)
    for c in range(customers):
        user = f"{tag}-d{c}"
        base = c % 120
        for offset, event, props, touchpoint in (
            (0, "$pageview", {"$current_url": "https://shop.example/pricing", "touchpoint": "web"}, "web"),
            (1, "add_to_cart", {"sku": f"S{c}"}, "unknown"),
        ):
            event_id = str(uuid.uuid4())
            client.capture(event, distinct_id=user, properties=props, timestamp=at(base + offset), uuid=event_id)
            sent.append((event_id, user, event, touchpoint, at(base + offset)))
    client.flush()
    client.shutdown()

for ident, user, name, touchpoint, ts in sent:
    print(f"{ident}\t{user}\t{name}\t{touchpoint}\t{ts.isoformat()}")
for ident in failed:
    print(f"FAILED\t{ident}")
for ident in acked if tolerant else []:
    print(f"ACKED\t{ident}")
if errors and not tolerant:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
