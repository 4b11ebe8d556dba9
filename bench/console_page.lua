-- GET one console page (BENCH_PATH) with the session cookie (BENCH_COOKIE) signed in beforehand.
local path = os.getenv("BENCH_PATH")
local cookie = os.getenv("BENCH_COOKIE")

request = function()
  return wrk.format("GET", path, {["Cookie"] = cookie})
end
