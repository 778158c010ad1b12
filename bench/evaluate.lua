-- wrk: GET /evaluate for bench-flag with a different user id on every request.
-- BENCH_DELAY_MS (optional) paces each connection, for runs below the maximum rate.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

function request()
  counter = counter + 1
  return wrk.format("GET", "/evaluate?flag_name=bench-flag&user_id=user-" .. id .. "-" .. counter)
end

if pause > 0 then
  function delay() return pause end
end
