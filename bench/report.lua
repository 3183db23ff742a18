-- Shared by the wrk scripts (dofile from the repository root): one summary line per run.
done = function(summary, latency, requests)
  io.write(string.format("requests=%d non2xx_or_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
