-- Hold one lease in a principal's set (its live sessions, or its open streams), within a limit.
-- KEYS[1] the principal's lease set: a sorted set of member -> expiry (epoch ms)
-- ARGV[1] the lease's length in ms, ARGV[2] the most leases (0: no limit), ARGV[3] the member
-- Returns {1, count} when held (new or refreshed), {0, count} when the principal is at its limit.
-- Redis's clock, not the nodes', dates every lease, so nodes whose clocks drift agree.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expiry = now + tonumber(ARGV[1])
-- Leases that were not released (a node died) end here, by their expiry.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[2])
if max > 0 and count >= max and not redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  return {0, count}
end
count = count + redis.call('ZADD', KEYS[1], expiry, ARGV[3])
-- The set lives as long as its longest lease, and no longer.
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or now + ttl < expiry then
  redis.call('PEXPIREAT', KEYS[1], expiry)
end
return {1, count}
