#!/usr/bin/env python3
"""Crash harness: kill -9 sirrd again and again while it works, then check its promises.

Usage: python3 bench/crash.py [CYCLES] [--sirrd build/sirrd] [--seed N] [--keep DIR]

Each cycle starts sirrd (loopback, port 0) on the same data directory, runs for a random
50-400 ms with concurrent writers (pushes), readers of read-once secrets, an occasional
online backup and, every 60 cycles, a master-key rotation (dual-key restarts until the job
completes), then kills it with SIGKILL at a random moment. At the end sirrd is started
cleanly once more and the harness checks:

  * no acknowledged write is lost: every push that got 201 reads back with its value
    (or, for read-once secrets, was read: never both missing and unread);
  * no value is delivered twice: a read-once secret answers 200 at most once over all cycles;
  * every committed change is audited: every secret in the database (live or tombstoned)
    has its secret.create record, every burned one its secret.burn record;
  * `sirrd audit verify` accepts the log with the newest key alone (torn records allowed,
    edits not), across the harness's two master-key rotations.

Bounded: CYCLES cycles (default 300), 127.0.0.1 only. Prints counts; exit 1 on any violation.
"""
import argparse
import base64
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

TOKEN = "crash-admin-token-" + os.urandom(16).hex()


class Sirrd:
    def __init__(self, binary, data, key, key_new=None):
        env = dict(os.environ)
        env.update({
            "SIRR_KEY_FILE": key, "SIRR_ADMIN_TOKEN": TOKEN, "SIRR_DATA_DIR": data,
            "SIRR_ADDR": "127.0.0.1:0", "SIRR_RATE_LIMIT": "0", "SIRR_ROTATION_BATCH": "5",
            "SIRR_SWEEP_INTERVAL": "1",
        })
        env.pop("SIRR_KEY_FILE_NEW", None)
        if key_new:
            env["SIRR_KEY_FILE_NEW"] = key_new
        self.log = os.path.join(os.path.dirname(data), "sirrd.log")
        self.proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "w"))
        self.port = None
        deadline = time.time() + 20
        while time.time() < deadline:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", open(self.log).read())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                raise RuntimeError("sirrd exited: " + open(self.log).read()[-2000:])
            time.sleep(0.01)
        raise RuntimeError("sirrd did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def request(conn, method, path, body=None):
    headers = {"Authorization": "Bearer " + TOKEN}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


SECRETS = "/api/v1/vaults/default/secrets"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}          # name -> value (pushes answered 201)
        self.once = []           # read-once names acknowledged and not yet delivered
        self.delivered = {}      # read-once name -> times answered 200
        self.counts = dict(pushes=0, reads=0, backups=0, errors=0)


def writer(port, state, stop, cycle, wid, once_ratio):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    i = 0
    while not stop.is_set():
        name = "c%d-w%d-%d" % (cycle, wid, i)
        value = base64.b64encode(os.urandom(12)).decode()
        once = random.random() < once_ratio
        body = {"name": name, "value": value}
        if once:
            body["max_reads"] = 1
        try:
            status, _ = request(conn, "POST", SECRETS, body)
        except Exception:
            return
        if status == 201:
            with state.lock:
                state.acked[name] = value
                state.counts["pushes"] += 1
                if once:
                    state.once.append(name)
                    state.counts["once"] = state.counts.get("once", 0) + 1
        i += 1


def reader(port, state, stop):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    while not stop.is_set():
        with state.lock:
            if not state.once:
                name = None
            else:
                name = state.once.pop(random.randrange(len(state.once)))
        if name is None:
            time.sleep(0.002)
            continue
        try:
            status, body = request(conn, "GET", SECRETS + "/" + name)
        except Exception:
            with state.lock:
                state.once.append(name)  # unknown outcome: may have burned; checked at the end
            return
        with state.lock:
            state.counts["reads"] += 1
            if status == 200:
                state.delivered[name] = state.delivered.get(name, 0) + 1
                if json.loads(body)["value"] != state.acked[name]:
                    print("WRONG VALUE for", name)
                    state.counts["errors"] += 1
            elif status != 410:
                state.once.append(name)


def backup(port, state, stop):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        status, body = request(conn, "POST", "/api/v1/admin/backup")
        if status == 200:
            with state.lock:
                state.counts["backups"] += 1
    except Exception:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cycles", nargs="?", type=int, default=300)
    ap.add_argument("--sirrd", default="build/sirrd")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    work = args.keep or tempfile.mkdtemp(prefix="sirr-crash-")
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "data")
    keys = []

    def new_key():
        path = os.path.join(work, "key%d" % len(keys))
        with open(path, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        os.chmod(path, 0o400)
        keys.append(path)
        return path

    key, key_new = new_key(), None
    state = State()
    rotations_started = rotations_done = 0
    started = time.time()
    print("crash harness: %d cycles, seed %d, work dir %s" % (args.cycles, seed, work))
    for cycle in range(args.cycles):
        if key_new is None and cycle in (args.cycles // 3, 2 * args.cycles // 3):
            # Two master-key rotations: dual-key mode from here until each job completes. The
            # audit chain key lives in the keyring, so the last key alone verifies the log.
            key_new = new_key()
        s = Sirrd(args.sirrd, data, key, key_new)
        if key_new is not None:
            # The keyring says where the rotation stands (the job's own status is in memory and
            # dies with the process): no version left "retiring" means it completed.
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
            status, body = request(conn, "GET", "/api/v1/seal-status")
            versions = json.loads(body).get("key_versions", []) if status == 200 else []
            if len(versions) > 1 and not any(v["state"] == "retiring" for v in versions):
                rotations_done += 1  # from the next cycle on, the new key alone opens it
                key, key_new = key_new, None
            else:
                status, body = request(conn, "GET", "/api/v1/admin/rotate-keys")
                if status == 200 and json.loads(body).get("state") != "running":
                    if request(conn, "POST", "/api/v1/admin/rotate-keys")[0] == 202:
                        rotations_started += 1
        stop = threading.Event()
        threads = [threading.Thread(target=writer, args=(s.port, state, stop, cycle, w, 0.3))
                   for w in range(4)]
        threads += [threading.Thread(target=reader, args=(s.port, state, stop)) for _ in range(2)]
        if random.random() < 0.1:
            threads.append(threading.Thread(target=backup, args=(s.port, state, stop)))
        for t in threads:
            t.start()
        time.sleep(random.uniform(0.05, 0.4))
        s.kill()
        stop.set()
        for t in threads:
            t.join()
        if (cycle + 1) % 50 == 0:
            print("  %d cycles, %d acknowledged pushes, %d reads, %.0f s" %
                  (cycle + 1, state.counts["pushes"], state.counts["reads"], time.time() - started))

    # Final clean start: finish a pending rotation's dual-key mode, then check everything.
    s = Sirrd(args.sirrd, data, key, key_new)
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    lost, wrong, double, unaudited = [], [], [], []
    for name, value in state.acked.items():
        status, body = request(conn, "GET", SECRETS + "/" + name)
        if status == 200:
            got = json.loads(body)["value"]
            if got != value:
                wrong.append(name)
            if name in state.delivered:
                double.append(name)  # a read-once secret delivered before and again now
        elif status == 410:
            pass  # read-once: burned by a read (delivered, or in flight when killed)
        else:
            lost.append((name, status))
    for name, n in state.delivered.items():
        if n > 1:
            double.append(name)
    s.stop()
    audit = os.path.join(data, "audit.log")
    text = open(audit, errors="replace").read()
    created = set(re.findall(r'"action":"secret\.create".*?"secret":"([^"]+)"', text))
    burned = set(re.findall(r'"action":"secret\.burn".*?"secret":"([^"]+)"', text))
    # Every secret the database holds (any state) must have its create record, and every burned
    # one its burn record: read the rows with sqlite3 (metadata only; values are ciphertext).
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "sirr.db"), uri=True)
    rows = db.execute("SELECT name, state FROM secrets").fetchall()
    db.close()
    for name, st in rows:
        if name not in created:
            unaudited.append(("create", name))
        if st == 1 and name not in burned:
            unaudited.append(("burn", name))
    env = dict(os.environ, SIRR_KEY_FILE=keys[-1], SIRR_DATA_DIR=data)  # the newest key only
    env.pop("SIRR_KEY_FILE_NEW", None)
    verify = subprocess.run([args.sirrd, "audit", "verify", audit], env=env,
                            capture_output=True, text=True)
    elapsed = time.time() - started
    torn = verify.stdout.count("torn record")
    print("cycles: %d (kill -9 each), %.0f s" % (args.cycles, elapsed))
    print("acknowledged pushes: %d (%d read-once), reads of read-once secrets: %d, backups: %d"
          % (state.counts["pushes"], state.counts.get("once", 0), state.counts["reads"],
             state.counts["backups"]))
    print("rotations: %d started, %d completed" % (rotations_started, rotations_done))
    print("secrets in the database: %d; audit log: %d bytes" % (len(rows), os.path.getsize(audit)))
    print("lost acknowledged writes: %d" % len(lost))
    print("wrong values: %d" % (len(wrong) + state.counts["errors"]))
    print("values delivered twice: %d" % len(double))
    print("committed changes without an audit record: %d" % len(unaudited))
    print("audit verify: %s%s" % (verify.stdout.strip().splitlines()[0] if verify.stdout else
                                  verify.stderr.strip(),
                                  " (%d torn record(s) noted)" % torn if torn else ""))
    for what in (lost[:5], wrong[:5], double[:5], unaudited[:5]):
        if what:
            print("  e.g.", what)
    ok = (not lost and not wrong and not double and not unaudited and verify.returncode == 0
          and state.counts["errors"] == 0)
    print("RESULT:", "OK" if ok else "FAILED")
    if ok and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
