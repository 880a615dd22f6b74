-- Redis' clock in ms, for every script that reads it (`--- @include clock`). Every time two
-- processes compare comes from here, never from a host's clock: workers and producers run on
-- hosts whose clocks disagree, so no script takes a time argument (a heartbeat, a due time or a
-- history time from a host's clock would be judged against another host's: a worker 120 s
-- behind shown as gone). Needs effects replication (the default since Redis 5; the only mode
-- since 7): TIME before a write.
local function clock_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
