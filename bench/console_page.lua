-- GET one page (BENCH_PATH) with the session cookie (BENCH_COOKIE) signed in beforehand and,
-- when BENCH_ACCEPT is set, that Accept header.
local path = os.getenv("BENCH_PATH")
local cookie = os.getenv("BENCH_COOKIE")
local accept = os.getenv("BENCH_ACCEPT")

local headers = {["Cookie"] = cookie}
if accept ~= nil and accept ~= "" then
  headers["Accept"] = accept
end

request = function()
  return wrk.format("GET", path, headers)
end
