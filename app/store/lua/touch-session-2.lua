-- Re-check a session and slide its TTL, in one round trip.
-- KEYS[1] session hash, KEYS[2] the session's memory hash
-- ARGV[1] TTL in seconds, ARGV[2] now in epoch milliseconds
-- Returns the hash as a flat array, or nil when the session has expired or was deleted.
-- EXPIRE comes first: HSET on a missing key would resurrect it without any TTL.
if redis.call('EXPIRE', KEYS[1], ARGV[1]) == 0 then
  return nil
end
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'lastSeen', ARGV[2])
return redis.call('HGETALL', KEYS[1])
