-- POST a new secret per request (unique names: thread id + counter), each a durable commit.
local counter = 0
local threads = {}
setup = function(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
init = function(args) counter = 0 end
request = function()
  counter = counter + 1
  local body = string.format('{"name":"bench/t%d/s%d","value":"s3cr3t-0123456789abcdef"}', id, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. (os.getenv("SIRR_TOKEN") or "")}, body)
end
dofile("bench/report.lua")
