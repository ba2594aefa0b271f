-- Refresh-token rotation: each token is used once; the answer's new token goes back in the
-- queue (tokens.lua). TOKENS names a file of refresh tokens, two per connection: wrk asks for
-- a connection's next request before it hands over the answer to the last.
dofile(os.getenv("BENCH_LUA") .. "/tokens.lua")
local auth = os.getenv("AUTH")

request = function()
  return wrk.format("POST", wrk.path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = auth,
  }, "grant_type=refresh_token&refresh_token=" .. (pop_token() or "exhausted"))
end
