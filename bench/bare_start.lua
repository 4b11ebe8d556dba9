-- The ceilings' request: the same POST, with a new number each time.
local counter = 0
local prefix = "C" .. tostring(math.random(100000, 999999))
setup = function(thread) thread:set("tid", tostring(math.random(1000, 9999))) end
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/tracking/start?carrier_code=ups&tracking_number=" .. prefix .. tid
    .. string.format("%08d", counter))
end
