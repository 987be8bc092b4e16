-- Re-check a session and slide its TTL, in one round trip.
-- KEYS[1] session hash, KEYS[2] the session's memory hash
-- ARGV[1] TTL in seconds, ARGV[2] now in epoch milliseconds, ARGV[3] (optional) the caller's principal
-- Returns the hash as a flat array, or nil when the session has expired or was deleted.
-- A session of another principal is returned untouched: the caller refuses the request, and a
-- stranger's request must not keep a session it cannot use alive.
if ARGV[3] and redis.call('HGET', KEYS[1], 'principal') ~= ARGV[3] then
  local record = redis.call('HGETALL', KEYS[1])
  if #record == 0 then
    return nil
  end
  return record
end
-- EXPIRE comes first: HSET on a missing key would resurrect it without any TTL.
if redis.call('EXPIRE', KEYS[1], ARGV[1]) == 0 then
  return nil
end
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'lastSeen', ARGV[2])
return redis.call('HGETALL', KEYS[1])
