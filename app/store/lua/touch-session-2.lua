-- Re-check a session and slide its TTL, in one round trip.
-- KEYS[1] session hash, KEYS[2] the session's memory hash
-- ARGV[1] TTL in seconds, ARGV[2] '1' to get the whole record too, ARGV[3] (optional) the caller's principal
-- Returns {principal, logging level or ''}, or nil when the session has expired or was deleted.
-- Asked for the record (a node about to restore the session), it returns the record's fields and
-- values after those two, flat as HGETALL has them: the restore then needs no round trip of its own.
-- A session of another principal is left untouched and its record unread: the caller refuses the
-- request, and a stranger's request must not keep a session it cannot use alive.
local fields = redis.call('HMGET', KEYS[1], 'principal', 'loggingLevel')
local principal = fields[1]
if not principal then
  return nil
end
local status = { principal, fields[2] or '' }
if ARGV[3] and principal ~= ARGV[3] then
  return status
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  for _, value in ipairs(redis.call('HGETALL', KEYS[1])) do
    status[#status + 1] = value
  end
end
return status
