-- The refresh tokens a script has in hand: read from the file TOKENS, taken once each, and
-- refilled from every answer that carries a new one. Loaded by refresh.lua and mixed.lua.
local queue = {}
local head, tail = 1, 0
-- A retried refresh answers the same pair again: a token is queued once only, or it would be
-- presented twice, and a second use after the retry window revokes its session (reuse).
local seen = {}

function push_token(t)
  if seen[t] then return end
  seen[t] = true
  tail = tail + 1; queue[tail] = t
end

function pop_token()
  if head > tail then return nil end
  local t = queue[head]; queue[head] = nil; head = head + 1; return t
end

for line in io.lines(os.getenv("TOKENS")) do push_token(line) end

local told = false
response = function(status, headers, body)
  local t = body:match('"refresh_token":"([^"]+)"')
  if t then push_token(t) end
  -- The first refusal is printed, so a misconfigured run says why.
  if status >= 300 and not told then
    told = true
    io.stderr:write("answered " .. status .. ": " .. body .. "\n")
  end
end
