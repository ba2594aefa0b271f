-- The mixed workload: of every 511 requests, 1 login, 10 refreshes and 500 validations
-- (introspection of ACCESS). Refresh tokens come from TOKENS and from every answer.
dofile(os.getenv("BENCH_LUA") .. "/tokens.lua")
local auth = os.getenv("AUTH")
local access = os.getenv("ACCESS")
local users = tonumber(os.getenv("USERS"))
local password = os.getenv("PASSWORD")
local n = 0
local form = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = auth }

request = function()
  n = n + 1
  local k = n % 511
  if k == 0 then
    return wrk.format("POST", "/oauth2/token", form, "grant_type=password&username=user"
      .. (n % users) .. "%40bench.test&password=" .. password)
  elseif k <= 10 then
    local t = pop_token()
    if t then
      return wrk.format("POST", "/oauth2/token", form, "grant_type=refresh_token&refresh_token=" .. t)
    end
  end
  return wrk.format("POST", "/oauth2/introspect", form, "token=" .. access)
end
