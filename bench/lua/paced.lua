-- Latency at a fixed offered load: each of the CONNS connections waits a random 0..2×(its
-- share of the interval) before its next request, so together they offer about RATE
-- requests/s instead of as many as the server can answer. With BODY (and AUTH) set it sends
-- that form as a POST (introspection); otherwise the URL and -H headers as they are.
local conns = tonumber(os.getenv("CONNS"))
local rate = tonumber(os.getenv("RATE"))
-- wrk's delay() is in whole milliseconds.
local spread = math.max(0, math.floor(2 * conns * 1000 / rate + 0.5))

if os.getenv("BODY") then
  wrk.method = "POST"
  wrk.body = os.getenv("BODY")
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = os.getenv("AUTH")
end

function init(args)
  math.randomseed(os.time())
end

function delay()
  return math.random(0, spread)
end
