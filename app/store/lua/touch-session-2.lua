-- Re-check a session and slide its TTL, in one round trip.
-- KEYS[1] session hash, KEYS[2] the session's memory hash
-- ARGV[1] TTL in seconds, ARGV[2] (optional) the caller's principal
-- Returns {principal, logging level or ''}, or nil when the session has expired or was deleted. Only
-- these come back: the whole record is read (HGETALL) only by a node that restores it.
-- A session of another principal is left untouched: the caller refuses the request, and a
-- stranger's request must not keep a session it cannot use alive.
local fields = redis.call('HMGET', KEYS[1], 'principal', 'loggingLevel')
local principal = fields[1]
if not principal then
  return nil
end
local status = { principal, fields[2] or '' }
if ARGV[2] and principal ~= ARGV[2] then
  return status
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return status
