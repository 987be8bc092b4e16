-- Put one relayed message in a node process's inbox and ring its doorbell, atomically.
-- KEYS[1] the inbox (a list), ARGV[1] the message, ARGV[2] the inbox TTL in seconds, ARGV[3] the most
-- messages an inbox holds, ARGV[4] the node's relay channel (it shares the inbox's hash tag, so its slot).
-- Returns how many subscribers heard the doorbell, or -1 when the inbox is full (nothing is stored).
-- The inbox outlives a missed doorbell: its node drains it on every doorbell and every second.
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return -1
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('SPUBLISH', ARGV[4], '')
