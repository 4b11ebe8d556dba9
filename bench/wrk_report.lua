-- Shared by the wrk scripts: print one JSON line the benchmark reads.
function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  io.write(string.format(
    'JSON {"rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, "errors": %d, "requests": %d}\n',
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors, summary.requests))
end
