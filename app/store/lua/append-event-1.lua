-- Append one event to a session's resumable streams, cap them and slide their TTL, atomically.
-- KEYS[1] the session's events (a Redis Stream)
-- ARGV[1] maximum number of events kept, ARGV[2] TTL in seconds, ARGV[3] the stream id,
-- ARGV[4] the event's position within its stream, ARGV[5] the JSON-RPC message, ARGV[6] the relay
-- address of the node process writing it (a client resuming elsewhere follows only a live writer)
-- Returns the new entry id ("<ms>-<seq>"). Entries older than the TTL are dropped too, so a busy
-- session keeps about TTL seconds of events, not always the maximum.
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 's', ARGV[3], 'n', ARGV[4], 'm', ARGV[5], 'w', ARGV[6])
local now = redis.call('TIME')
local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[2]) * 1000
redis.call('XTRIM', KEYS[1], 'MINID', '~', oldest)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return id
