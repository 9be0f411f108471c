#!/usr/bin/env python3
"""t/lib/storm.py — the concurrent load of t/storm.t (standard library only).

    storm.py CONFIG.json OUTDIR

Clients (threads, each with its own keep-alive HTTPS connection to nginx)
send a mix of requests to a few members of each tenant so that they
contend: events (new ones, exact duplicates, the same id with another
body), reversals whole and partial, adjustments up and down, redemptions,
voucher uses and cancellations, replays of an Idempotency-Key with the
same and with another body, and reads. While they run, a killer thread
SIGKILLs busy workers (by PID, from /status) at set points of progress.

A request that dies with its worker (502 from nginx, or a broken
connection) is sent again, byte for byte (same event id, same
Idempotency-Key and body), until it gets a definite answer; a retry that
finds the key still held by the dead attempt (409 "in progress") waits a
little and tries again.

Writes OUTDIR/requests.tsv (one line per logical request, for the SQL
checks of t/storm.t) and prints a JSON summary on stdout.

CONFIG: {"host", "port", "cafile", "seed", "status_path", "retry_seconds",
  "kill": {"master": PID, "at": [fractions of progress]} (optional),
  "groups": [{"tenant": uuid, "clients": N, "requests": N, "prefix": str,
    "auth": [{"bearer": token} | {"key": id, "secret": s}, ...],
    "members": [{"id": uuid, "external_id": str}], "rewards": [uuid],
    "currency": "USD", "mix": {kind: weight}}]}
"""
import hashlib
import hmac
import http.client
import json
import os
import random
import signal
import ssl
import subprocess
import sys
import threading
import time

# What each kind of request may be answered, when its first attempt
# reached a definite answer (a retried one may also see a replay: see
# expected()).
EXPECTED = {
    "event": {201},
    "dup": {200},
    "conflict": {409},
    "reverse": {201, 409, 422},
    "adjust": {201, 422},
    "redeem": {201, 422},
    "cancel": {200, 409, 422},
    "use": {200, 409, 422},
    "replay": {200, 201},
    "mismatch": {422},
    "read": {200},
}


class Group:
    """One tenant's share of the storm and what its clients learned."""

    def __init__(self, cfg, index):
        self.cfg = cfg
        self.index = index
        self.tenant = cfg["tenant"]
        self.members = cfg["members"]
        self.member_ids = {m["id"] for m in self.members}
        self.rewards = cfg.get("rewards", [])
        self.mix = cfg["mix"]
        self.left = cfg["requests"]
        self.lock = threading.Lock()
        # Events whose first receipt is settled: id -> dict.
        self.events = {}
        self.event_ids = []
        # Vouchers the clients hold: code -> state as they know it.
        self.vouchers = {}
        self.codes = []
        # Successful Idempotency-Key requests: (path, key, body, status).
        self.done_keys = []
        # The last balance an answer showed for each member.
        self.balance = {}
        self.seq = 0

    def ticket(self):
        with self.lock:
            if self.left <= 0:
                return None
            self.left -= 1
            self.seq += 1
            return self.seq


class Storm:
    def __init__(self, cfg, outdir):
        self.cfg = cfg
        self.outdir = outdir
        self.rng = random.Random(cfg.get("seed", 1))
        self.ctx = ssl.create_default_context(cafile=cfg["cafile"])
        self.groups = [Group(g, i) for i, g in enumerate(cfg["groups"])]
        self.total = sum(g.left for g in self.groups)
        self.done = 0
        self.lock = threading.Lock()
        self.rows = []
        self.counts = {}          # kind -> status -> n (final answers)
        self.seen = {}            # status -> n (every attempt)
        self.unexpected = []
        self.foreign = []         # answers naming another tenant's member
        self.died = {}            # kind -> n requests that died at least once
        self.attempt_errors = {}  # what the dead attempts saw
        self.replayed_after_death = 0
        self.gave_up = []
        self.kills = []
        self.unexpected_n = 0
        self.retry_seconds = cfg.get("retry_seconds", 60)

    # --- HTTP ----------------------------------------------------------

    def connect(self):
        return http.client.HTTPSConnection(self.cfg["host"], self.cfg["port"],
                                           context=self.ctx, timeout=60)

    def send(self, client, method, path, body, idem=None):
        """One attempt: (status, headers dict, body text) or (None, err)."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        auth = client["auth"]
        if "bearer" in auth:
            headers["Authorization"] = "Bearer " + auth["bearer"]
        else:
            ts = str(int(time.time()))
            msg = "%s.%s.%s.%s" % (ts, method, path, body or "")
            sig = hmac.new(auth["secret"].encode(), msg.encode(),
                           hashlib.sha256).hexdigest()
            headers.update({"X-Loyalty-Key": auth["key"],
                            "X-Loyalty-Timestamp": ts,
                            "X-Loyalty-Signature": "v1=" + sig})
        if idem is not None:
            headers["Idempotency-Key"] = idem
        try:
            if client["conn"] is None:
                client["conn"] = self.connect()
            client["conn"].request(method, path,
                                   body=body.encode() if body is not None else None,
                                   headers=headers)
            r = client["conn"].getresponse()
            text = r.read().decode("utf-8", "replace")
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if hdrs.get("connection", "").lower() == "close":
                client["conn"].close()
                client["conn"] = None
            return r.status, hdrs, text
        except (OSError, http.client.HTTPException) as e:
            try:
                client["conn"].close()
            except Exception:
                pass
            client["conn"] = None
            return None, {}, "%s: %s" % (type(e).__name__, e)

    def call(self, client, kind, method, path, body=None, idem=None):
        """A request until it has a definite answer: (status, hdrs, doc,
        text, died, replayed)."""
        died = False
        deadline = time.time() + self.retry_seconds
        while True:
            st, hdrs, text = self.send(client, method, path, body, idem)
            with self.lock:
                self.seen[st] = self.seen.get(st, 0) + 1
            dead = st is None or (st == 502 and "bad-gateway" in text)
            busy = (died and st == 409 and idem is not None
                    and "in progress" in text)
            if not dead and not busy:
                break
            if dead:
                died = True
                with self.lock:
                    k = "conn-error" if st is None else str(st)
                    self.attempt_errors[k] = self.attempt_errors.get(k, 0) + 1
            if time.time() > deadline:
                with self.lock:
                    self.gave_up.append([kind, path, st, text[:200]])
                break
            time.sleep(0.05 if dead else 0.2)
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = None
        replayed = hdrs.get("idempotent-replayed", "") == "true"
        return st, hdrs, doc, text, died, replayed

    # --- bookkeeping -----------------------------------------------------

    def record(self, g, kind, st, text, died, replayed, ref, v1="", v2="",
               doc=None):
        ok = st in EXPECTED[kind]
        # A request that died after its work committed is answered by the
        # replay: 200 for an event, the stored status for a key.
        if not ok and died and kind == "event" and st == 200:
            ok = True
        with self.lock:
            self.done += 1
            c = self.counts.setdefault(kind, {})
            c[str(st)] = c.get(str(st), 0) + 1
            if died:
                self.died[kind] = self.died.get(kind, 0) + 1
                if replayed or (kind == "event" and st == 200):
                    self.replayed_after_death += 1
            if not ok:
                self.unexpected_n += 1
                if len(self.unexpected) < 40:
                    self.unexpected.append([kind, ref, st, text[:300]])
            if isinstance(doc, dict):
                mid = doc.get("member_id")
                if mid is not None and mid not in g.member_ids:
                    self.foreign.append([kind, ref, mid])
                if mid is not None and isinstance(doc.get("balance"), int):
                    g.balance[mid] = doc["balance"]
            self.rows.append([g.tenant, kind, ref, "\\N" if st is None else str(st),
                              "1" if died else "0", "1" if replayed else "0",
                              str(v1), str(v2)])

    # --- the kinds of request ----------------------------------------------

    def pick(self, g, rng):
        kinds = list(g.mix)
        return rng.choices(kinds, weights=[g.mix[k] for k in kinds])[0]

    def new_event(self, g, c, rng, n):
        m = rng.choice(g.members)
        # Each client counts its own events: the same ids in each tenant.
        c["events"] += 1
        eid = "%s%d-%d" % (g.cfg["prefix"], c["n"], c["events"])
        amount = rng.randint(100, 2000)
        body = json.dumps({"event_id": eid, "type": "purchase",
                           "member": {"external_id": m["external_id"]},
                           "amount_minor": amount,
                           "currency": g.cfg.get("currency", "USD")},
                          separators=(",", ":"))
        st, h, doc, text, died, rep = self.call(c, "event", "POST", "/v1/events", body)
        pts = doc.get("points_awarded", "") if isinstance(doc, dict) else ""
        self.record(g, "event", st, text, died, rep, eid,
                    hashlib.sha256(body.encode()).hexdigest(), pts, doc=doc)
        if st in (200, 201):
            with g.lock:
                g.events[eid] = {"body": body, "amount": amount,
                                 "left": amount, "text": text}
                g.event_ids.append(eid)

    def dup_event(self, g, c, rng, conflict):
        with g.lock:
            if not g.event_ids:
                return False
            eid = rng.choice(g.event_ids)
            ev = g.events[eid]
        body = ev["body"]
        kind = "dup"
        if conflict:
            kind = "conflict"
            d = json.loads(body)
            d["amount_minor"] = d["amount_minor"] + 1
            body = json.dumps(d, separators=(",", ":"))
        st, h, doc, text, died, rep = self.call(c, kind, "POST", "/v1/events", body)
        # An exact duplicate is answered with the first answer's body.
        same = "" if conflict else ("same" if text == ev["text"] else "differs")
        self.record(g, kind, st, text, died, rep, eid,
                    hashlib.sha256(body.encode()).hexdigest(), same, doc=doc)
        return True

    def idem_call(self, g, c, kind, path, body, key):
        st, h, doc, text, died, rep = self.call(c, kind, "POST", path, body, key)
        if st is not None and 200 <= st < 300:
            with g.lock:
                g.done_keys.append((kind, path, key, body, st, text))
        return st, doc, text, died, rep

    def reverse(self, g, c, rng, n):
        with g.lock:
            live = [e for e in g.event_ids if g.events[e]["left"] > 0]
            if not live:
                return False
            eid = rng.choice(live)
            left = g.events[eid]["left"]
        if rng.random() < 0.5:
            body = "{}"
        else:
            body = json.dumps({"amount_minor": rng.randint(1, left)})
        key = "%srev-%d-%d" % (g.cfg["prefix"], c["n"], n)
        st, doc, text, died, rep = self.idem_call(
            g, c, "reverse", "/v1/events/%s/reversal" % eid, body, key)
        got = ""
        if st == 201 and isinstance(doc, dict):
            got = doc.get("amount_minor", 0)
            with g.lock:
                g.events[eid]["left"] -= got
        elif st == 409:
            with g.lock:
                g.events[eid]["left"] = 0
        # The amount the reversal took, for the SQL sum per event.
        self.record(g, "reverse", st, text, died, rep, key, eid, got, doc=doc)
        return True

    def adjust(self, g, c, rng, n):
        m = rng.choice(g.members)
        r = rng.random()
        with g.lock:
            last = g.balance.get(m["id"], 0)
        if r < 0.5:
            pts = rng.randint(1, 300)
        elif r < 0.8:
            pts = -rng.randint(1, 300)
        elif r < 0.9 and last > 0:
            # All the member has, as last seen: a reversal after this
            # takes back points already gone (debt, under 'negative').
            pts = -last
        else:
            pts = -rng.randint(10 ** 6, 10 ** 7)	# more than anyone has
        key = "%sadj-%d-%d" % (g.cfg["prefix"], c["n"], n)
        reason = "storm " + key
        body = json.dumps({"points": pts, "reason": reason})
        st, doc, text, died, rep = self.idem_call(
            g, c, "adjust", "/v1/members/%s/adjustments" % m["id"], body, key)
        self.record(g, "adjust", st, text, died, rep, key, reason, pts, doc=doc)
        return True

    def redeem(self, g, c, rng, n):
        if not g.rewards:
            return False
        m = rng.choice(g.members)
        reward = rng.choice(g.rewards)
        key = "%sred-%d-%d" % (g.cfg["prefix"], c["n"], n)
        body = json.dumps({"reward_id": reward})
        st, doc, text, died, rep = self.idem_call(
            g, c, "redeem", "/v1/members/%s/redemptions" % m["id"], body, key)
        code = ""
        if st == 422 and isinstance(doc, dict):
            # Why: for the check that the stock ran out.
            code = "422: %s %s" % (doc.get("detail", ""), json.dumps(doc.get("errors", "")))
        if st == 201 and isinstance(doc, dict) and "code" in doc:
            code = doc["code"]
            with g.lock:
                g.vouchers[code] = "issued"
                g.codes.append(code)
        self.record(g, "redeem", st, text, died, rep, key, code, reward, doc=doc)
        return True

    def voucher_op(self, g, c, rng, op):
        with g.lock:
            live = [v for v in g.codes[-200:] if g.vouchers[v] == "issued"]
            if not live:
                return False
            code = rng.choice(live)
        st, h, doc, text, died, rep = self.call(
            c, op, "POST", "/v1/vouchers/%s/%s" % (code, op), "{}")
        self.record(g, op, st, text, died, rep, code, doc=doc)
        if st == 200:
            with g.lock:
                g.vouchers[code] = "cancelled" if op == "cancel" else "used"
        return True

    def other_body(self, g, kind, body):
        """The same request with another body, still a valid one."""
        d = json.loads(body)
        if kind == "adjust":
            d["points"] += 1 if d["points"] != -1 else 2
        elif kind == "reverse":
            d = {} if "amount_minor" in d else {"amount_minor": 1}
        elif len(g.rewards) > 1:
            d["reward_id"] = [r for r in g.rewards if r != d["reward_id"]][0]
        else:
            return None
        return json.dumps(d)

    def replay(self, g, c, rng, mismatch):
        with g.lock:
            if not g.done_keys:
                return False
            kind0, path, key, body, st0, text0 = rng.choice(g.done_keys)
        kind = "replay"
        if mismatch:
            kind = "mismatch"
            body = self.other_body(g, kind0, body)
            if body is None:
                return False
        st, h, doc, text, died, rep = self.call(c, kind, "POST", path, body, key)
        # A replay gives the first answer's status and body; another body
        # under the key is refused naming the header.
        if mismatch:
            v1 = "named" if "Idempotency-Key" in text else "unnamed"
        else:
            v1 = "same" if (st == st0 and text == text0 and rep) else \
                "differs %s/%s replayed=%s" % (st, st0, rep)
        self.record(g, kind, st, text, died, rep, key, v1, kind0, doc=doc)
        return True

    def read(self, g, c, rng):
        with g.lock:
            if not g.event_ids:
                return False
            eid = rng.choice(g.event_ids)
        st, h, doc, text, died, rep = self.call(c, "read", "GET",
                                                "/v1/events/" + eid)
        self.record(g, "read", st, text, died, rep, eid, doc=doc)
        return True

    def one(self, g, c, rng, n):
        kind = self.pick(g, rng)
        done = True
        if kind == "dup":
            done = self.dup_event(g, c, rng, False)
        elif kind == "conflict":
            done = self.dup_event(g, c, rng, True)
        elif kind == "reverse":
            done = self.reverse(g, c, rng, n)
        elif kind == "adjust":
            done = self.adjust(g, c, rng, n)
        elif kind == "redeem":
            done = self.redeem(g, c, rng, n)
        elif kind in ("cancel", "use"):
            done = self.voucher_op(g, c, rng, kind)
        elif kind == "replay":
            done = self.replay(g, c, rng, False)
        elif kind == "mismatch":
            done = self.replay(g, c, rng, True)
        elif kind == "read":
            done = self.read(g, c, rng)
        else:
            done = False
        if not done:	# nothing to act on yet: a new event instead
            self.new_event(g, c, rng, n)

    def client(self, g, c):
        rng = random.Random(c["seed"])
        while True:
            n = g.ticket()
            if n is None:
                break
            try:
                self.one(g, c, rng, n)
            except Exception as e:	# a bug of this driver: say so
                with self.lock:
                    self.unexpected.append(["driver", str(n), None, repr(e)])
                    self.unexpected_n += 1
                    self.done += 1
        if c["conn"] is not None:
            c["conn"].close()

    # --- the killer ----------------------------------------------------------

    def workers(self, master):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def busy_worker(self):
        """A worker /status shows busy on a /v1 route, or None."""
        conn = self.connect()
        try:
            conn.request("GET", self.cfg.get("status_path", "/status"))
            s = json.loads(conn.getresponse().read())
        except (OSError, ValueError, http.client.HTTPException):
            return None, None
        finally:
            conn.close()
        busy = [w for w in s.get("workers", [])
                if w.get("state") == "busy"
                and str(w.get("route", "")).startswith("/v1/")]
        if not busy:
            return None, None
        w = self.rng.choice(busy)
        return w["pid"], w.get("route")

    def killer(self, stop):
        k = self.cfg["kill"]
        master = k["master"]
        for at in k["at"]:
            while not stop.is_set() and self.done < at * self.total:
                time.sleep(0.01)
            if stop.is_set():
                return
            pid = route = None
            for _ in range(100):
                pid, route = self.busy_worker()
                if pid is not None and pid in self.workers(master):
                    break
                pid = None
                time.sleep(0.01)
            if pid is None:	# none seen busy: any worker
                pids = self.workers(master)
                if not pids:
                    continue
                pid, route = self.rng.choice(pids), None
            try:
                os.kill(pid, signal.SIGKILL)
                with self.lock:
                    self.kills.append({"pid": pid, "route": route,
                                       "at": self.done})
            except ProcessLookupError:
                pass

    def run(self):
        threads = []
        n = 0
        for g in self.groups:
            auths = g.cfg["auth"]
            for i in range(g.cfg["clients"]):
                # Numbered within the group: the tenants' event ids
                # overlap, each tenant's being its own.
                c = {"n": i, "auth": auths[i % len(auths)], "conn": None,
                     "events": 0,
                     "seed": self.rng.randrange(1 << 30)}
                threads.append(threading.Thread(target=self.client, args=(g, c)))
                n += 1
        stop = threading.Event()
        kt = None
        if self.cfg.get("kill"):
            kt = threading.Thread(target=self.killer, args=(stop,))
            kt.start()
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - t0
        stop.set()
        if kt is not None:
            kt.join()
        with open(os.path.join(self.outdir, "requests.tsv"), "w") as f:
            for r in self.rows:
                f.write("\t".join(x.replace("\t", " ").replace("\n", " ")
                                  for x in r) + "\n")
        print(json.dumps({
            "clients": n, "requests": len(self.rows), "elapsed": round(elapsed, 1),
            "counts": self.counts, "seen": {str(k): v for k, v in self.seen.items()},
            "unexpected_n": self.unexpected_n,
            "unexpected": self.unexpected, "foreign": self.foreign[:20],
            "foreign_n": len(self.foreign), "died": self.died,
            "died_n": sum(self.died.values()),
            "attempt_errors": self.attempt_errors,
            "replayed_after_death": self.replayed_after_death,
            "gave_up": self.gave_up, "kills": self.kills,
        }, sort_keys=True))


def main():
    if len(sys.argv) != 3:
        print("usage: storm.py CONFIG.json OUTDIR", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    Storm(cfg, sys.argv[2]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
