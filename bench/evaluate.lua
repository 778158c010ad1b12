-- wrk: GET /evaluate for bench-flag with a different user id on every request.
-- BENCH_DELAY_MS (optional) paces each connection, for runs below the maximum rate: a random
-- whole number of ms from 0.5 to 1.5 times it (mean: it), so that many connections do not fall
-- into step and arrive in bursts.
-- BENCH_OFREP=1: the OFREP twin, POST /ofrep/v1/evaluate/flags/bench-flag with that user id as
-- the context's targetingKey.
-- BENCH_UNKNOWN=1: a flag name never seen before on every request (a flood of unknown names).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local ofrep = os.getenv("BENCH_OFREP") == "1"
local unknown = os.getenv("BENCH_UNKNOWN") == "1"
local json_headers = { ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local user = "user-" .. id .. "-" .. counter
  if ofrep then
    return wrk.format("POST", "/ofrep/v1/evaluate/flags/bench-flag", json_headers,
                      '{"context":{"targetingKey":"' .. user .. '"}}')
  end
  local flag = "bench-flag"
  if unknown then flag = "unknown-" .. id .. "-" .. counter .. "-" .. math.random(1000000000) end
  return wrk.format("GET", "/evaluate?flag_name=" .. flag .. "&user_id=" .. user)
end

if pause > 0 then
  local spread = math.floor(pause / 2)
  function delay() return math.random(pause - spread, pause + spread) end
end
