#!/usr/bin/python3
"""Several sirrd nodes on one PostgreSQL database (issue 20), with real components only: a
private PostgreSQL (initdb on a free loopback port, scripts/pg-test-server.sh), three sirrd
processes unsealed with the same key file, each with its own data directory and audit log.

Checks, in order:
  start-up errors    wrong URL, refused connection, bad password, missing database: one line, exit 1
  read-after-write   a write through one node is read through the others at once (overwrite,
                     delete, read limits; never an old value from a cache)
  one-read race      1,000 concurrent pulls of a one-read secret over the three nodes: one value
  audit              each node's log is one verifiable chain whose records name the node
  kill -9            a node killed during writes: every acknowledged write is read through the others
  database outage    PostgreSQL stopped: 503 + Retry-After (never 500); restarted: served again
  failover           a streaming standby (pg_basebackup -R, synchronous commit) promoted while
                     the nodes write through a multi-host URL: they reconnect, no acknowledged
                     write is lost, requests during the switch get 503 + Retry-After
  read-only standby  the standby given as the only host: one start-up line, exit 1

Usage: multinode.py BUILD_DIR   (root: PostgreSQL runs as the postgres user)
"""
import concurrent.futures
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PG_SERVER = os.path.join(ROOT, "scripts", "pg-test-server.sh")
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def pg_bin():
    versions = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(x) for x in v.split(".")])
    return f"/usr/lib/postgresql/{versions[-1]}/bin"


def as_postgres(*args, **kw):
    cmd = list(args) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(" ".join(args[:2]) + " failed: " + r.stderr.strip()[-500:])
    return r


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Node:
    """One sirrd process."""

    def __init__(self, build, work, name, env):
        self.build, self.name = build, name
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.env = env
        self.proc = None
        self.url = None

    def start(self, extra=None, expect_ready=True):
        ready = os.path.join(self.dir, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        env = dict(self.env)
        env.update({"SIRR_DATA_DIR": os.path.join(self.dir, "data"), "SIRR_ADDR": "127.0.0.1:0",
                    "SIRR_READY_FILE": ready, "SIRR_ACCESS_LOG": "false"})
        env.update(extra or {})
        self.log = open(os.path.join(self.dir, "sirrd.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(self.build, "sirrd")], env=env,
                                     stdout=self.log, stderr=self.log)
        if not expect_ready:
            return self.proc.wait(timeout=60)
        for _ in range(600):
            if os.path.exists(ready) and os.path.getsize(ready) > 0:
                self.url = open(ready).read().strip()
                return 0
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: " + self.tail())
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start: " + self.tail())

    def tail(self):
        with open(os.path.join(self.dir, "sirrd.log"), "rb") as f:
            return f.read().decode(errors="replace")[-600:]

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)


class Client:
    def __init__(self, url, token):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.token = u.hostname, u.port, token

    def call(self, method, path, body=None, timeout=30):
        """(status, headers, json or None); status 0 when the connection failed."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            c.request(method, path, body=data, headers={
                "Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
            r = c.getresponse()
            raw = r.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return r.status, dict(r.getheaders()), parsed
        except (OSError, http.client.HTTPException):
            return 0, {}, None
        finally:
            c.close()

    def push(self, name, value, overwrite=False, **extra):
        body = {"name": name, "value": value}
        body.update(extra)
        q = "?overwrite=true" if overwrite else ""
        return self.call("POST", "/api/v1/vaults/default/secrets" + q, body)[0]

    def pull(self, name):
        st, _, j = self.call("GET", "/api/v1/vaults/default/secrets/" + urllib.parse.quote(name, ""))
        return st, (j or {}).get("value")


def start_pg(work, name):
    out = subprocess.run(["bash", PG_SERVER, "start", os.path.join(work, name)], check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0], out[1]


def main():
    build = os.path.abspath(sys.argv[1])
    if not os.path.isdir("/usr/lib/postgresql"):
        print("SKIP: PostgreSQL is not installed (scripts/install-deps.sh)")
        return 77
    work = tempfile.mkdtemp(prefix="sirr-multinode.")
    os.chmod(work, 0o755)
    nodes = []
    try:
        return run(build, work, nodes)
    finally:
        for n in nodes:
            n.stop(signal.SIGKILL)
        for d in ("pg", "standby"):
            subprocess.run(["bash", PG_SERVER, "stop", os.path.join(work, d)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def migrate_storage(build, work, base, url, passfile, admin):
    env = {k: v for k, v in base.items() if not k.startswith("SIRR_DATABASE") and k != "SIRR_STORAGE"}
    solo = Node(build, work, "solo", env)
    solo.start()
    s = Client(solo.url, admin)
    ok = all(s.push(f"mig/{i}", f"value-{i}") == 201 for i in range(50))
    ok = ok and s.push("mig/once", "once", max_reads=1) == 201 and s.pull("mig/0") == (200, "value-0")
    ok = ok and s.push("mig/burned", "b", max_reads=1) == 201 and s.pull("mig/burned")[0] == 200
    st, _, key = s.call("POST", "/api/v1/vaults/default/keys", {"name": "signer", "spec": "Ed25519"})
    st2, _, tok = s.call("POST", "/api/v1/tokens", {"name": "reader", "capabilities": ["secrets:read"],
                                                    "vaults": ["default"]})
    check(ok and st == 201 and st2 == 201, "a SQLite instance with secrets, a tombstone, a key, a token")
    solo.stop()
    db = url.rsplit("/", 1)[0] + "/migrated"
    penv = dict(os.environ, PGPASSFILE=passfile)
    subprocess.run(["psql", url, "-qc", "CREATE DATABASE migrated"], env=penv, check=True,
                   capture_output=True)
    sirrd = os.path.join(build, "sirrd")
    data = os.path.join(solo.dir, "data")
    m = subprocess.run([sirrd, "migrate-storage", "--from", "sqlite:" + data + "/sirr.db",
                        "--to", "postgres:" + db], env=penv, capture_output=True, text=True)
    check(m.returncode == 0 and "rows copied" in m.stdout and "secrets: 52 rows copied" in m.stdout,
          "migrate-storage copied and counted: " + (m.stdout + m.stderr).strip().replace("\n", " | ")[:300])
    again = subprocess.run([sirrd, "migrate-storage", "--from", "sqlite:" + data + "/sirr.db",
                            "--to", "postgres:" + db], env=penv, capture_output=True, text=True)
    check(again.returncode == 1 and "only copies into an empty database" in again.stderr,
          "a second migration into the now non-empty target is refused: " + again.stderr.strip()[:160])
    # The same data directory (audit log, node id) on PostgreSQL: the chain continues.
    solo.env = dict(base, SIRR_DATABASE_URL=db, PGPASSFILE=passfile)
    solo.start()
    s = Client(solo.url, admin)
    st, _, j = s.call("POST", f"/api/v1/vaults/default/keys/{key['id']}/sign", {"message": "68656c6c6f"})
    seen = [s.pull("mig/49"), s.pull("mig/once"), s.pull("mig/once")[0], s.pull("mig/burned")[0], st,
            Client(solo.url, tok["token"]).pull("mig/1")]
    check(seen == [(200, "value-49"), (200, "once"), 410, 410, 201, (200, "value-1")],
          f"on PostgreSQL: values, read limits, tombstones, keys and tokens as before: {seen}")
    solo.stop()
    v = subprocess.run([sirrd, "audit", "verify", os.path.join(data, "audit.log")],
                       env=dict(solo.env, SIRR_DATA_DIR=data), capture_output=True, text=True)
    check(v.returncode == 0 and "matches the head recorded" in v.stdout,
          "the audit chain runs on unbroken across the move: " + (v.stdout + v.stderr).strip()[:120])


def run(build, work, nodes):
    url, passfile = start_pg(work, "pg")
    port = int(urllib.parse.urlparse(url).port)
    print("PostgreSQL at", url, flush=True)
    key = os.path.join(work, "key")
    with open(key, "w") as f:
        f.write(subprocess.run(["openssl", "rand", "-base64", "32"], capture_output=True,
                               text=True, check=True).stdout)
    os.chmod(key, 0o400)
    admin = secrets.token_hex(24)
    # The password two ways: libpq's passfile (nodes a, b) and SIRR_DATABASE_PASSWORD_FILE (c).
    password = open(passfile).read().strip().rsplit(":", 1)[1]
    pwfile = os.path.join(work, "dbpassword")
    with open(pwfile, "w") as f:
        f.write(password + "\n")
    base = {"PATH": os.environ["PATH"], "SIRR_KEY_FILE": key, "SIRR_ADMIN_TOKEN": admin,
            "SIRR_STORAGE": "postgres", "SIRR_DATABASE_URL": url,
            "SIRR_MAX_CONNECTIONS_PER_CLIENT": "2000", "SIRR_MAX_CONNECTIONS": "4000",
            "SIRR_SWEEP_INTERVAL": "1"}

    # --- start-up errors: one clear line each, exit 1, nothing half-done.
    bad = Node(build, work, "bad", dict(base, PGPASSFILE=passfile))
    cases = [
        ("a malformed URL", {"SIRR_DATABASE_URL": "postgresql://sirr:hunter2secret@[oops"},
         "IPv6 host address in URI"),
        ("a refused connection", {"SIRR_DATABASE_URL": f"postgresql://sirr@127.0.0.1:{free_port()}/sirr"},
         "refused"),
        ("a bad password", {"SIRR_DATABASE_PASSWORD_FILE": os.path.join(work, "key")},
         "password authentication failed"),
        ("a missing database", {"SIRR_DATABASE_URL": url.rsplit("/", 1)[0] + "/nosuchdb"},
         "does not exist"),
        ("no URL", {"SIRR_DATABASE_URL": ""}, "needs SIRR_DATABASE_URL"),
    ]
    for what, extra, expect in cases:
        open(os.path.join(bad.dir, "sirrd.log"), "w").close()
        code = bad.start(extra, expect_ready=False)
        log = bad.tail().strip()
        lines = [l for l in log.splitlines() if l.strip()]
        check(code == 1 and len(lines) == 1 and expect in log and "hunter2secret" not in log,
              f"start-up with {what}: exit {code}, one line: {lines[-1] if lines else ''}")

    # --- moving an instance: SQLite -> PostgreSQL (sirrd migrate-storage)
    migrate_storage(build, work, base, url, passfile, admin)

    # --- three nodes
    for name, extra in (("a", {"PGPASSFILE": passfile}), ("b", {"PGPASSFILE": passfile}),
                        ("c", {"SIRR_DATABASE_PASSWORD_FILE": pwfile})):
        n = Node(build, work, name, dict(base, **extra))
        n.start()
        nodes.append(n)
    a, b, c = (Client(n.url, admin) for n in nodes)
    check(True, "three nodes started on one database: " + ", ".join(n.url for n in nodes))

    # --- read-after-write across nodes (the caches included)
    check(a.push("raw/one", "v1") == 201, "push through a")
    check(b.pull("raw/one") == (200, "v1") and c.pull("raw/one") == (200, "v1"),
          "read at once through b and c")
    for _ in range(3):
        b.pull("raw/one"), c.pull("raw/one")  # warm their caches
    check(b.push("raw/one", "v2", overwrite=True) == 201, "overwrite through b")
    check(a.pull("raw/one") == (200, "v2") and c.pull("raw/one") == (200, "v2"),
          "a and c serve the new value at once (no stale cache)")
    st, _, _ = c.call("DELETE", "/api/v1/vaults/default/secrets/raw%2Fone")
    check(st == 204, "delete through c")
    check(a.pull("raw/one")[0] == 404 and b.pull("raw/one")[0] == 404,
          "a and b see it deleted at once")
    check(a.push("raw/two", "x", max_reads=2) == 201, "a two-read secret through a")
    check(b.pull("raw/two") == (200, "x") and c.pull("raw/two") == (200, "x"),
          "its two reads through b and c")
    check(a.pull("raw/two")[0] == 410, "a third read through a: 410 (burned)")
    check(a.push("raw/ttl", "t", ttl_seconds=1) == 201 and b.pull("raw/ttl") == (200, "t"),
          "a 1 s secret read through b")
    time.sleep(1.3)
    check(c.pull("raw/ttl")[0] in (404, 410) and b.pull("raw/ttl")[0] in (404, 410),
          "expired: refused on every node")

    # --- the one-read race: 1,000 concurrent pulls over the three nodes
    check(a.push("race/once", "the-only-value", max_reads=1) == 201, "a one-read secret")
    clients = [a, b, c]
    start = threading.Barrier(200)

    def pull(i):
        if i < 200:
            start.wait()
        return clients[i % 3].pull("race/once")

    with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(pull, range(1000)))
    values = [v for st, v in results if st == 200]
    codes = {}
    for st, _ in results:
        codes[st] = codes.get(st, 0) + 1
    check(values == ["the-only-value"] and set(codes) <= {200, 404, 410},
          f"1,000 concurrent pulls over three nodes: exactly one value (statuses {codes})")

    # --- kill -9 of a node during writes
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def writer(k):
        i = 0
        while not stop.is_set():
            name = f"kill/{k}/{i}"
            if b.push(name, name) == 201:
                with lock:
                    acked.append(name)
            i += 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    nodes[1].stop(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join()
    missing = [n for i, n in enumerate(acked) if (a if i % 2 else c).pull(n) != (200, n)]
    check(len(acked) > 50 and not missing,
          f"b killed -9 during writes: {len(acked)} acknowledged writes, {len(missing)} missing "
          "through a and c")
    nodes[1].start()
    b = Client(nodes[1].url, admin)
    check(b.pull(acked[0]) == (200, acked[0]), "b restarted and serves")

    # --- audit: each node's own chain, records naming the node
    for n in nodes:
        n.stop()
    for n in nodes:
        log_path = os.path.join(n.dir, "data", "audit.log")
        node_id = open(os.path.join(n.dir, "data", "node-id")).read().strip()
        recs = [json.loads(l) for l in open(log_path) if l.strip()]
        env = dict(n.env, SIRR_DATA_DIR=os.path.join(n.dir, "data"))
        v = subprocess.run([os.path.join(build, "sirrd"), "audit", "verify", log_path], env=env,
                           capture_output=True, text=True)
        check(v.returncode == 0 and "matches the head recorded" in v.stdout and
              all(r.get("node") == node_id for r in recs),
              f"node {n.name}: {len(recs)} records, all with node {node_id}, chain verified "
              f"against its head in PostgreSQL: {v.stdout.strip()[:80]}{v.stderr.strip()[:200]}")
    for n in nodes:
        n.start()
    a, b, c = (Client(n.url, admin) for n in nodes)

    # --- master key rotation: one node at a time, progress visible on every node
    newkey = os.path.join(work, "key.new")
    with open(newkey, "w") as f:
        f.write(subprocess.run(["openssl", "rand", "-base64", "32"], capture_output=True,
                               text=True, check=True).stdout)
    os.chmod(newkey, 0o400)
    for i in range(150):
        a.call("POST", "/api/v1/vaults", {"name": f"rot-{i}"})
    for n in nodes:
        n.stop()
        n.env = dict(n.env, SIRR_KEY_FILE_NEW=newkey, SIRR_ROTATION_BATCH="1")
        n.start()
    a, b, c = (Client(n.url, admin) for n in nodes)
    st, _, started = a.call("POST", "/api/v1/admin/rotate-keys")
    st_b, _, refused = b.call("POST", "/api/v1/admin/rotate-keys")
    _, _, seen_c = c.call("GET", "/api/v1/admin/rotate-keys")
    check(st == 202 and st_b == 409 and "another sirrd node" in (refused or {}).get("message", ""),
          f"rotation started on a ({(started or {}).get('total')} vault keys); b refused: "
          f"{(refused or {}).get('message')}")
    remaining, done_a = None, None
    for _ in range(300):
        _, _, j = c.call("GET", "/api/v1/admin/rotate-keys")
        remaining = (j or {}).get("remaining")
        # The job retires the old version after its last batch: wait for both.
        _, _, done_a = a.call("GET", "/api/v1/admin/rotate-keys")
        if remaining == 0 and (done_a or {}).get("state") != "running":
            break
        time.sleep(0.1)
    check((seen_c or {}).get("remaining", 0) > 0 and remaining == 0 and
          (done_a or {}).get("state") == "completed",
          f"c saw the progress in the database (remaining {(seen_c or {}).get('remaining')} -> "
          f"{remaining}); a: {(done_a or {}).get('state')}")
    check(b.pull(acked[2]) == (200, acked[2]), "secrets read through b after the rotation")

    # --- database outage: 503 + Retry-After, then served again by itself
    pgdata = os.path.join(work, "pg", "data")
    as_postgres(pg_bin() + "/pg_ctl", "-D", pgdata, "-m", "fast", "-w", "stop")
    st, hdrs, _ = a.call("GET", "/api/v1/vaults/default/secrets/" + urllib.parse.quote(acked[1], ""))
    st2, hdrs2, _ = b.call("POST", "/api/v1/vaults/default/secrets", {"name": "down", "value": "x"})
    check(st == 503 and "Retry-After" in hdrs and st2 == 503 and "Retry-After" in hdrs2,
          f"database stopped: read {st}, write {st2}, both with Retry-After")
    as_postgres(pg_bin() + "/pg_ctl", "-D", pgdata, "-l", os.path.join(work, "pg", "server.log"),
                "-w", "-o", f"-c listen_addresses=127.0.0.1 -c port={port} "
                f"-c unix_socket_directories='{os.path.join(work, 'pg')}'", "start")
    deadline, ok = time.time() + 20, False
    while time.time() < deadline and not ok:
        ok = a.pull(acked[1]) == (200, acked[1]) and b.push("up", "y", overwrite=True) == 201
        time.sleep(0.2)
    check(ok, "database back: the nodes reconnected by themselves")

    # --- streaming standby, synchronous commit, promotion while the nodes write
    sdir = os.path.join(work, "standby")
    os.makedirs(sdir)
    os.chmod(sdir, 0o755)
    shutil.chown(sdir, "postgres")
    sport = free_port()
    env_pg = {"PGPASSFILE": passfile}
    # A passfile line for the standby's port too (the same password).
    with open(passfile, "a") as f:
        f.write(f"127.0.0.1:{sport}:*:sirr:{password}\n")
    pg_pass_copy = os.path.join(sdir, "pgpass")
    shutil.copy(passfile, pg_pass_copy)
    shutil.chown(pg_pass_copy, "postgres")
    os.chmod(pg_pass_copy, 0o600)
    as_postgres("env", "PGPASSFILE=" + pg_pass_copy, pg_bin() + "/pg_basebackup", "-h",
                "127.0.0.1", "-p", str(port), "-U", "sirr", "-D", sdir + "/data", "-R",
                "--wal-method=stream", "--checkpoint=fast")
    with open(sdir + "/data/postgresql.auto.conf", "a") as f:
        f.write(f"primary_conninfo = 'host=127.0.0.1 port={port} user=sirr passfile={pg_pass_copy} "
                "application_name=standby1'\n")
    as_postgres(pg_bin() + "/pg_ctl", "-D", sdir + "/data", "-l", sdir + "/server.log", "-w",
                "-o", f"-c listen_addresses=127.0.0.1 -c port={sport} "
                f"-c unix_socket_directories='{sdir}'", "start")
    subprocess.run(["psql", url, "-qc", "ALTER SYSTEM SET synchronous_standby_names = 'standby1'"],
                   env=dict(os.environ, **env_pg), check=True, capture_output=True)
    subprocess.run(["psql", url, "-qc", "SELECT pg_reload_conf()"], env=dict(os.environ, **env_pg),
                   check=True, capture_output=True)
    sync = ""
    for _ in range(100):
        sync = subprocess.run(["psql", url, "-tAc", "SELECT sync_state FROM pg_stat_replication"],
                              env=dict(os.environ, **env_pg), capture_output=True, text=True).stdout.strip()
        if sync == "sync":
            break
        time.sleep(0.1)
    check(sync == "sync", "standby streaming with synchronous commit")

    # A standby as the only host: refused at start-up.
    only_standby = f"postgresql://sirr@127.0.0.1:{sport}/sirr"
    ro = Node(build, work, "readonly", dict(base, PGPASSFILE=passfile, SIRR_DATABASE_URL=only_standby))
    code = ro.start(expect_ready=False)
    check(code == 1 and "read-only" in ro.tail(), "standby as the only host: " + ro.tail().strip()[-160:])

    # Restart the nodes on a multi-host URL.
    multi = (f"postgresql://sirr@127.0.0.1:{port},127.0.0.1:{sport}/sirr"
             "?target_session_attrs=read-write&connect_timeout=2")
    for n in nodes:
        n.stop()
        n.env = dict(n.env, SIRR_DATABASE_URL=multi)
        n.start()
    clients = [Client(n.url, admin) for n in nodes]
    acked, during, stop = [], {}, threading.Event()

    def writer2(k):
        i = 0
        while not stop.is_set():
            name = f"failover/{k}/{i}"
            st, hdrs, _ = clients[k % 3].call("POST", "/api/v1/vaults/default/secrets",
                                               {"name": name, "value": name})
            with lock:
                if st == 201:
                    acked.append(name)
                if st == 503 and "Retry-After" not in hdrs:
                    st = "503 without Retry-After"
                during[st] = during.get(st, 0) + 1
            if st != 201:
                time.sleep(0.05)
            i += 1

    threads = [threading.Thread(target=writer2, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    t0 = time.time()
    as_postgres(pg_bin() + "/pg_ctl", "-D", pgdata, "-m", "immediate", "-w", "stop")
    as_postgres(pg_bin() + "/pg_ctl", "-D", sdir + "/data", "-w", "promote")
    # Served again through the promoted standby.
    back = None
    while time.time() - t0 < 30:
        if clients[0].push(f"failover/probe/{time.time()}", "p") == 201:
            back = time.time() - t0
            break
        time.sleep(0.1)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    check(back is not None, f"after promotion the nodes write again within {back and round(back, 1)} s")
    check(500 not in during and set(during) <= {201, 503},
          f"requests during the switch: {during} (503s carry Retry-After, no 500)")
    lost = [n for i, n in enumerate(acked) if clients[i % 3].pull(n) != (200, n)]
    check(acked and not lost,
          f"{len(acked)} writes acknowledged across the failover, {len(lost)} lost")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
