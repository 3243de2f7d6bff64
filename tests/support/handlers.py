"""An outbox kind for the core's tests: POST a JSON body to a URL, as any domain client would.

Registered into a test app with `register_jobs(app, tests.support.handlers)`."""

from modules.core import http, outbox

KIND = "test.webhook"


@outbox.handler(KIND, backoff=(10, 60))
def post_webhook(message):
    if not message.payload["url"]:
        raise outbox.Deferred("no URL configured yet", delay_seconds=60)
    response = http.send(http.session(timeout=30), "POST", message.payload["url"], json=message.payload["body"],
                         headers={"Idempotency-Key": message.id})
    return http.check_delivery(response)
