-- Password logins, round-robin over USERS accounts (user0@bench.test ...), so that no account
-- reaches its limit. FORM=1: the native token endpoint (form, HTTP Basic in AUTH);
-- otherwise DJUST's /auth/token (JSON; dj-* headers given on the command line).
local users = tonumber(os.getenv("USERS"))
local form = os.getenv("FORM") == "1"
local password = os.getenv("PASSWORD")
local auth = os.getenv("AUTH")
local n = 0

request = function()
  n = n + 1
  local user = "user" .. (n % users) .. "%40bench.test"
  if form then
    return wrk.format("POST", wrk.path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = auth,
    }, "grant_type=password&username=" .. user .. "&password=" .. password)
  end
  -- wrk.format replaces the command line's headers with the table given: copy them in.
  local headers = { ["Content-Type"] = "application/json" }
  for k, v in pairs(wrk.headers) do headers[k] = headers[k] or v end
  return wrk.format("POST", wrk.path, headers,
    '{"username":"user' .. (n % users) .. '@bench.test","password":"' .. password .. '"}')
end

-- The first refusal is printed, so a misconfigured run says why.
local told = false
response = function(status, headers, body)
  if status >= 300 and not told then
    told = true
    io.stderr:write("login answered " .. status .. ": " .. body .. "\n")
  end
end
