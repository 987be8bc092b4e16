-- Append one event to a resumable stream, cap its length and slide its TTL, atomically.
-- KEYS[1] the stream (a Redis Stream)
-- ARGV[1] maximum number of events kept, ARGV[2] TTL in seconds, ARGV[3] the JSON-RPC message
-- Returns the new entry id ("<ms>-<seq>").
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'm', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return id
