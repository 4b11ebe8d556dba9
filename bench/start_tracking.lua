-- POST /v1/tracking/start: new numbers, and a repeat of a recent one every fourth request.
-- API key and carrier in the environment: BENCH_KEY, BENCH_CARRIER.
local counter = 0
local key = os.getenv("BENCH_KEY")
local carrier = os.getenv("BENCH_CARRIER") or "ups"
local prefix = "B" .. tostring(math.random(100000, 999999))

setup = function(thread)
  thread:set("tid", tostring(math.random(1000, 9999)))
end

request = function()
  counter = counter + 1
  local n = counter
  if counter % 4 == 0 then n = counter - 1 end
  local number = prefix .. tid .. string.format("%08d", n)
  return wrk.format("POST", "/v1/tracking/start?carrier_code=" .. carrier .. "&tracking_number=" .. number,
    {["API-Key"] = key})
end
