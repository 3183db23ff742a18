#!/usr/bin/env bash
# Backup under load: fills sirrd (loopback) to ~300 MB with 64 KiB values, then runs a writer
# (one push every 10 ms for 25 s) and times `sirr operator backup` meanwhile. Bounded; 127.0.0.1 only.
# Usage: bash bench/backup_under_load.sh
cd /work/main
source bench/start_sirrd.sh
export SIRR_SERVER=http://127.0.0.1:$PORT
/usr/bin/python3 - "$PORT" "$SIRR_TOKEN" <<'PY'
import http.client, json, os, sys, threading, base64
port, tok = int(sys.argv[1]), sys.argv[2]
def fill(t):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(600):
        v = base64.b64encode(os.urandom(48 * 1024)).decode()
        c.request("POST", "/api/v1/vaults/default/secrets", json.dumps({"name": "f%d-%d" % (t, i), "value": v}),
                  {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
        r = c.getresponse(); r.read()
ts = [threading.Thread(target=fill, args=(t,)) for t in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
PY
ls -la $W/data/sirr.db | awk '{print "database bytes:", $5}'
/usr/bin/python3 - "$PORT" "$SIRR_TOKEN" > $W/writer.out 2> $W/writer.err <<'PY' &
import http.client, json, sys, time
port, tok = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port); n = ok = 0; t0 = time.time()
while time.time() - t0 < 25:
    c.request("POST", "/api/v1/vaults/default/secrets", json.dumps({"name": "w%d" % n, "value": "x"}),
              {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    r = c.getresponse(); r.read(); n += 1; ok += r.status == 201
    time.sleep(0.01)
print("writer: %d writes in 25 s (%.0f/s), %d acknowledged" % (n, n / 25, ok))
PY
WP=$!
sleep 3
S=$(date +%s.%N); SIRR_TOKEN=$SIRR_TOKEN build/sirr operator backup $W/backup.db >/dev/null; E=$(date +%s.%N)
echo "backup: $(ls -la $W/backup.db | awk '{print $5}') bytes in $(echo "$E - $S" | bc) s while the writer ran"
wait $WP || true
cat $W/writer.out; cat $W/writer.err 2>/dev/null | tail -3
