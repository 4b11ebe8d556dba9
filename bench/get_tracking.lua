-- GET /v1/tracking for one of BENCH_COUNT numbers started beforehand (BENCH_PREFIX000000001 …).
local key = os.getenv("BENCH_KEY")
local carrier = os.getenv("BENCH_CARRIER") or "ups"
local prefix = os.getenv("BENCH_PREFIX")
local count = tonumber(os.getenv("BENCH_COUNT"))
local i = 0

request = function()
  i = i % count + 1
  return wrk.format("GET", "/v1/tracking?carrier_code=" .. carrier .. "&tracking_number="
    .. prefix .. string.format("%09d", i), {["API-Key"] = key})
end
