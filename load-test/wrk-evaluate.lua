-- wrk side of load-test/wrk-load-test.sh: the k6 script's iteration on the hot path.
-- Each request evaluates FLAG_NAME for a new user (GET EVALUATE_PATH?user_id=&flag_name=); each
-- connection waits THINK_MS between requests, as each k6 virtual user sleeps 0.1 s. At the end,
-- one line with what the thresholds need: RESULT requests= failed= ... p95_ms= p99_ms=.
local path = os.getenv("EVALUATE_PATH") or "/evaluate/evaluate"
local flag = os.getenv("FLAG_NAME") or "k6-load-test"
local think = tonumber(os.getenv("THINK_MS") or "100")

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

counter = 0
failures = 0
function request()
  counter = counter + 1
  return wrk.format("GET", path .. "?user_id=wrk-" .. id .. "-" .. counter .. "&flag_name=" .. flag)
end

function response(status, headers, body)
  -- A failure is anything but 200 with a boolean result, as the k6 script's checks.
  if status ~= 200 or not string.find(body, '"result":%s*[tf]') then
    failures = failures + 1
  end
end

if think > 0 then
  function delay() return think end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + (t:get("failures") or 0) end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT requests=%d failed=%d socket_errors=%d p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f rps=%.1f\n",
    summary.requests, failed, socket_errors, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.requests / (summary.duration / 1e6)))
end
