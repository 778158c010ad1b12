-- wrk: OFREP single-flag evaluation (POST /ofrep/v1/evaluate/flags/bench-flag) with a different
-- targetingKey on every request, the OFREP twin of evaluate.lua.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local body = '{"context":{"targetingKey":"user-' .. id .. '-' .. counter .. '"}}'
  return wrk.format("POST", "/ofrep/v1/evaluate/flags/bench-flag", headers, body)
end
