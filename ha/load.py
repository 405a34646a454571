#!/usr/bin/env python3
"""The failover test's load and its verdict (issue 28); ha/failover runs it.

Against two Cardinal processes sharing one database: each card of a set is locked and unlocked
in turn by a thread of its own (each change keyed with X-Qonto-Idempotency-Key and retried with
the same key until acknowledged, as docs/production.md tells clients to), and other cards are
paid with (sandbox authorizations). After a warm-up the kill command runs (it kills the primary);
the load goes on until both processes have served writes again. Then:

- every acknowledged payment is in the account's transactions, and each card's spent amount is the
  sum of its transactions;
- every card's status is its last acknowledged change;
- no answer was a 5xx other than 503, and every 503 carried Retry-After;
- both processes served writes within 30 s of the kill;
- no keyed retry was answered more than 5 s after fresh calls were.

Prints the figures as one JSON line (prefixed "RESULT ") and exits 1 if a check failed.
Standard library only.
"""

import argparse
import http.client
import json
import subprocess
import sys
import threading
import time
import uuid

ADMIN = None


def call(address, method, path, token, body=None, key=None, timeout=40):
    """One request on a fresh connection: (status, json body, headers); status 0 when the
    connection failed."""
    host, port = address.split(":")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["X-Qonto-Idempotency-Key"] = key
    try:
        connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        connection.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return response.status, parsed, dict(response.getheaders())
    except OSError as error:
        return 0, str(error), {}


class Observed:
    def __init__(self):
        self.lock = threading.Lock()
        self.answers = {}  # status -> count
        self.bad = []  # (status, body) of 5xx other than 503, and 503 without Retry-After
        # (answered, process index, started, fresh: sent with a new key or none) of each 2xx write
        self.successes = []
        self.failures = []  # (time, process index) of each 5xx answer or failed connection
        self.keyed_waits = []  # (time answered, seconds since first failure, saw 409)
        self.payments = []  # (transaction id, card id, amount)
        self.last_change = {}  # card -> "lock" | "unlock" acknowledged last
        self.unknown_change = {}  # card -> a change sent after it, never acknowledged (outcome unknown)

    def saw(self, status, body, headers, process, fresh, started):
        now = time.monotonic()
        with self.lock:
            self.answers[status] = self.answers.get(status, 0) + 1
            if status >= 500 and (status != 503 or "retry-after" not in {k.lower() for k in headers}):
                self.bad.append((status, body))
            if 200 <= status < 300:
                self.successes.append((now, process, started, fresh))
            elif status == 0 or status >= 500:
                # The outage as a client sees it (a 409 is a key still held, counted apart).
                self.failures.append((now, process))


def toggler(addresses, owner, card, observed, stop, index):
    action = "lock"
    while not stop.is_set():
        key, first_failure, saw_409, attempt = str(uuid.uuid4()), None, False, 0
        while True:
            process = (index + attempt) % len(addresses)
            started = time.monotonic()
            status, body, headers = call(addresses[process], "PUT", f"/v2/cards/{card}/{action}", owner, key=key)
            observed.saw(status, body, headers, process, attempt == 0, started)
            attempt += 1
            if 200 <= status < 300:
                break
            saw_409 |= status == 409
            if status not in (0, 409, 503, 504):
                with observed.lock:
                    observed.bad.append((status, body))
                break
            first_failure = first_failure or time.monotonic()
            if stop.is_set():
                with observed.lock:
                    observed.unknown_change[card] = action
                break  # the load is over: this change stays unacknowledged, its outcome unknown
            time.sleep(0.1)
        if 200 <= status < 300:
            with observed.lock:
                observed.last_change[card] = action
                if first_failure is not None:
                    observed.keyed_waits.append((time.monotonic(), time.monotonic() - first_failure, saw_409))
        action = "unlock" if action == "lock" else "lock"


def payer(addresses, card, observed, stop, index):
    purchase = {"amount": 1.25, "channel": "online",
                "merchant": {"name": "Shop", "category": "other", "country": "FR"}}
    turn = index
    while not stop.is_set():
        process = turn % len(addresses)
        turn += 1
        started = time.monotonic()
        status, body, headers = call(addresses[process], "POST", f"/_sandbox/cards/{card}/authorizations", ADMIN,
                                     body=purchase)
        observed.saw(status, body, headers, process, True, started)
        if status == 200 and body["authorization"].get("transaction_id"):
            with observed.lock:
                observed.payments.append((body["authorization"]["transaction_id"], card, purchase["amount"]))
        elif status != 200:
            time.sleep(0.1)


def all_back(observed, killed_at, processes):
    """Whether the outage began (a refusal after the kill) and every process has since
    acknowledged a write after its last refusal."""
    with observed.lock:
        refusals = [(at, p) for at, p in observed.failures if at > killed_at]
        if not refusals:
            return False
        for process in range(processes):
            last = max((at for at, p in refusals if p == process), default=killed_at)
            # A write sent after the last refusal, not one that was under way at the kill.
            if not any(p == process and started > last for _, p, started, _ in observed.successes):
                return False
        return True


def organization(address):
    status, org, _ = call(address, "POST", "/_sandbox/organizations", ADMIN,
                          body={"sca_mode": "disabled", "balance": 100000000})
    assert status < 300, (status, org)
    owner = next(m for m in org["memberships"] if m["role"] == "owner")["access_token"]
    cards = [c["id"] for c in org["cards"] if c["status"] == "live"]
    return owner, cards, org["bank_account"]["id"]


def read(address, path, owner):
    """A read for the verdict, retried while the database is unavailable (up to 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        status, body, _ = call(address, "GET", path, owner)
        if status == 200 or time.monotonic() > deadline:
            if status != 200:
                raise SystemExit(f"RESULT {json.dumps({'failures': [f'GET {path} answered {status}: {body}']})}")
            return body
        time.sleep(0.5)


def transactions(address, owner, account):
    found, page = {}, 1
    while page:
        body = read(address, f"/v2/transactions?bank_account_id={account}&per_page=100&page={page}", owner)
        for t in body["transactions"]:
            found[t["id"]] = t
        page = body["meta"]["next_page"]
    return found


def verdict(args, observed, owner, account, togglers, payers, killed_at):
    failures = []
    address = args.addresses[0]
    listed = transactions(address, owner, account)
    acknowledged = [p[0] for p in observed.payments]
    lost = [t for t in acknowledged if t not in listed]
    if lost:
        failures.append(f"{len(lost)} acknowledged payments lost: {lost[:5]}")
    for card in payers:
        shown = read(address, f"/v2/cards/{card}", owner)
        spent = shown["card"]["payment_monthly_spent"]
        digits = shown["card"]["last_digits"]
        summed = sum(abs(float(t["amount"])) for t in listed.values()
                     if t["card_last_digits"] == digits and t["status"] in ("pending", "completed"))
        if abs(spent - summed) > 0.001:
            failures.append(f"card {card}: spent {spent} but its transactions sum to {summed}")
    for card in togglers:
        shown = read(address, f"/v2/cards/{card}", owner)
        made = {"lock": "paused", "unlock": "live"}
        expected = {made[c] for c in (observed.last_change.get(card), observed.unknown_change.get(card)) if c}
        if expected and shown["card"]["status"] not in expected:
            failures.append(f"card {card}: {shown['card']['status']}, its last changes made it {expected}")
    if observed.bad:
        failures.append(f"{len(observed.bad)} answers were errors other than 503 with Retry-After: {observed.bad[:3]}")
    # A process is back at its first write acknowledged after the last refusal it gave.
    served = {}
    for process in range(len(args.addresses)):
        refused = [at for at, p in observed.failures if p == process and at > killed_at]
        last_refusal = max(refused, default=killed_at)
        back = [at for at, p, started, _ in observed.successes if p == process and started > last_refusal]
        if back:
            served[process] = min(back) - killed_at
    outage = {f"process {p + 1}": round(served.get(p, float("inf")), 2) for p in range(len(args.addresses))}
    if len(served) < len(args.addresses) or any(v > 30 for v in served.values()):
        failures.append(f"a process did not serve writes within 30 s of the kill: {outage}")
    # Fresh calls are back at the first acknowledged call that was sent, with a new key or
    # none, after the outage began.
    outage_began = min((at for at, _ in observed.failures if at > killed_at), default=killed_at)
    fresh_back = min((at for at, _, started, fresh in observed.successes if fresh and started > outage_began),
                     default=None)
    keyed_after = [(at, wait, saw_409) for at, wait, saw_409 in observed.keyed_waits if at > killed_at]
    longest_extra = max((at - fresh_back for at, _, _ in keyed_after), default=0.0) if fresh_back else None
    if longest_extra is not None:
        longest_extra = max(longest_extra, 0.0)
    if longest_extra is None or longest_extra > 5:
        failures.append(f"a keyed retry was answered {longest_extra} s after fresh calls were")
    result = {
        "answers": {str(k): v for k, v in sorted(observed.answers.items())},
        "writes_acknowledged": len(observed.successes),
        "payments_acknowledged": len(acknowledged),
        "payments_lost": len(lost),
        "seconds_to_first_write_after_kill": outage,
        "fresh_calls_back_after_kill_s": round(fresh_back - killed_at, 2) if fresh_back else None,
        "keyed_retries_through_the_outage": len(keyed_after),
        "keyed_retries_that_met_409": sum(1 for k in keyed_after if k[2]),
        "longest_keyed_retry_wait_s": round(max((w for _, w, _ in keyed_after), default=0.0), 2),
        "longest_keyed_retry_after_fresh_calls_s": round(longest_extra, 2) if longest_extra is not None else None,
        "failures": failures,
    }
    return result


def main():
    global ADMIN
    parser = argparse.ArgumentParser()
    parser.add_argument("--addresses", required=True, type=lambda s: s.split(","))
    parser.add_argument("--admin", required=True)
    parser.add_argument("--kill", required=True, help="shell command that kills the primary")
    parser.add_argument("--warm-up", type=float, default=4)
    parser.add_argument("--after", type=float, default=6, help="seconds of load after both processes are back")
    args = parser.parse_args()
    ADMIN = args.admin
    owner, cards, account = organization(args.addresses[0])
    # Payments go to their own cards: a locked card declines them.
    half = max(1, len(cards) // 2)
    togglers, payers = cards[:half], cards[half:]
    observed, stop = Observed(), threading.Event()
    threads = [threading.Thread(target=toggler, args=(args.addresses, owner, c, observed, stop, i))
               for i, c in enumerate(togglers)]
    threads += [threading.Thread(target=payer, args=(args.addresses, c, observed, stop, i))
                for i, c in enumerate(payers)]
    for t in threads:
        t.start()
    time.sleep(args.warm_up)
    killed_at = time.monotonic()
    print(f"load: {len(togglers)} cards locked and unlocked, {len(payers)} paid with; killing the primary",
          flush=True)
    subprocess.run(args.kill, shell=True, check=True)
    deadline = killed_at + 60
    while time.monotonic() < deadline:
        if all_back(observed, killed_at, len(args.addresses)):
            print(f"load: both processes acknowledge writes again, {time.monotonic() - killed_at:.1f} s after the kill",
                  flush=True)
            break
        time.sleep(0.2)
    time.sleep(args.after)
    stop.set()
    for t in threads:
        t.join()
    result = verdict(args, observed, owner, account, togglers, payers, killed_at)
    print("RESULT " + json.dumps(result), flush=True)
    sys.exit(1 if result["failures"] else 0)


if __name__ == "__main__":
    main()
