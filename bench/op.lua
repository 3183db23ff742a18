-- POST one key operation per request: path and JSON body from env OP_PATH / OP_BODY, bearer
-- token from SIRR_TOKEN.
wrk.method = "POST"
wrk.path = os.getenv("OP_PATH")
wrk.body = os.getenv("OP_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("SIRR_TOKEN") or "")
done = function(summary, latency, requests)
  io.write(string.format("requests=%d non2xx_or_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
