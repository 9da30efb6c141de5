"""Sends identify, page and track calls for many customers through a real analytics SDK
(segment-analytics-python, rudder-sdk-python or posthog) to cjmd's http source, and prints
one tab-separated line per call sent: id, customer, event name as cjmd stores it,
touchpoint, timestamp (ISO 8601). Exits non-zero if the SDK reported an error.

Usage: python send_events.py SDK HOST KEY CUSTOMERS TAG [MODE]
MODE is one of:
- `tolerant` (for tests that kill the daemon while the SDK sends): the exit status is 0 and
  the calls of every batch the server answered 200 are printed as `ACKED<TAB>id` lines (the
  SDK's own post function is wrapped, since an SDK may drop a batch it is still retrying when
  it shuts down without calling on_error);
- `patient` (for a database outage): the SDK retries up to 12 times;
- `big` (for a body past max_body_bytes): every call carries 2 KB of incompressible
  properties; the exit status is 0 and failed calls are printed as `FAILED<TAB>id`.
Every request the SDK makes is printed as `ATTEMPT<TAB>id of its batch's first call`.
"""
import base64
import datetime
import os
import sys
import uuid

sdk, host, key, customers, tag = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
mode = sys.argv[6] if len(sys.argv) > 6 else ""
tolerant = mode in ("tolerant", "big")
retries = {"tolerant": 20, "patient": 12}.get(mode, 3)


def padding():
    """2 KB that gzip cannot shrink below 1 KiB."""
    return {"padding": base64.b64encode(os.urandom(1500)).decode()} if mode == "big" else {}
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
attempts = []


def recording(post):
    """The SDK's post, recording every attempt and the ids of a batch it returns from (a 200)."""
    def wrapped(*args, **kwargs):
        batch = kwargs.get("batch", [])
        attempts.append(batch[0].get("messageId") or batch[0].get("uuid") if batch else "?")
        response = post(*args, **kwargs)
        acked.extend(item.get("messageId") or item.get("uuid") for item in batch)
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
    client.max_retries = retries
    for c in range(customers):
        user = f"{tag}-u{c}"
        base = c % 120
        ident = f"{tag}-i{c}"
        client.identify(user, {"persona": f"p{c % 3}", "plan": "pro", **padding()}, timestamp=at(base),
                        message_id=ident)
        sent.append((ident, user, "identify", "server" if sdk == "rudder" else "unknown", at(base)))
        page = f"{tag}-p{c}"
        client.page(user, name="Pricing", properties={"path": "/pricing", **padding()}, context={"channel": "web"},
                    timestamp=at(base + 1), message_id=page)
        sent.append((page, user, "page:Pricing", "web", at(base + 1)))
        track = f"{tag}-t{c}"
        client.track(user, "add_to_cart", {"sku": f"S{c}", "touchpoint": "app", "revenue": 10 + c % 7, **padding()},
                     timestamp=at(base + 2), message_id=track)
        sent.append((track, user, "add_to_cart", "app", at(base + 2)))
    client.flush()
    client.shutdown()
else:
    from posthog import Posthog
    import posthog.consumer as consumer
    consumer.batch_post = recording(consumer.batch_post)
    client = Posthog(key, host=host, on_error=on_error, sync_mode=False, capture_mode="v0", max_retries=retries)
    for c in range(customers):
        user = f"{tag}-d{c}"
        base = c % 120
        for offset, event, props, touchpoint in (
            (0, "$pageview", {"$current_url": "https://shop.example/pricing", "touchpoint": "web", **padding()},
             "web"),
            (1, "add_to_cart", {"sku": f"S{c}", **padding()}, "unknown"),
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
for ident in attempts:
    print(f"ATTEMPT\t{ident}")
if errors and not tolerant:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
