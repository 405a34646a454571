"""Scrapes Cardinal's /metrics with the operator token, as Prometheus would, and reads it with
the Prometheus project's own text parser (prometheus_client.parser): every family Cardinal
documents is there, typed as documented, and the request it just made is counted."""

import json
import os
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

base = os.environ["CARDINAL_BASE_URL"]
credentials = json.load(open(os.environ["CARDINAL_CREDENTIALS"]))
owner = credentials["owner_access_token"]


def get(path, token):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as answer:
        return answer.headers.get("Content-Type"), answer.read().decode()


get("/v2/organization", owner)
content_type, text = get("/metrics", credentials["operator_token"])
assert content_type.startswith("text/plain; version=0.0.4"), content_type
families = {family.name: family for family in text_string_to_metric_families(text)}

expected = {
    "cardinal_http_requests": "counter",
    "cardinal_http_request_duration_seconds": "histogram",
    "cardinal_rate_limited": "counter",
    "cardinal_commit_operations": "histogram",
    "cardinal_commit_duration_seconds": "histogram",
    "cardinal_sca_sessions_pending": "gauge",
    "cardinal_webhook_deliveries_pending": "gauge",
    "cardinal_webhook_attempts": "counter",
    "cardinal_webhook_attempt_duration_seconds": "histogram",
    "cardinal_build_info": "gauge",
}
for name, kind in expected.items():
    assert name in families, f"{name} missing: {sorted(families)}"
    assert families[name].type == kind, f"{name} is a {families[name].type}, not a {kind}"

requests = families["cardinal_http_requests"].samples
counted = [s for s in requests if s.labels.get("route") == "/v2/organization" and s.labels.get("status") == "200"]
assert counted and counted[0].value >= 1, requests
print(f"/metrics: {len(families)} families parsed, {sum(len(f.samples) for f in families.values())} samples")
sys.exit(0)
