package redisstore

import "github.com/redis/go-redis/v9"

// The scripts touch only the keys passed in KEYS, all of one service and so
// of one hash slot: they run unchanged on a single node, under Sentinel and
// on a Cluster. Times are Unix microseconds (exact in Lua's doubles until
// the year 2255); numbers are formatted with %.0f because Lua's default
// number-to-string conversion keeps only 14 digits.

// putScript replaces one instance atomically and reports whether a live
// instance had that key (ports.Store's created=false). Given the services
// index as KEYS[3] (a single node or Sentinel, where every key is on one
// server), it also raises the service's score there (ZADD GT), sparing
// the separate command a Cluster needs.
//
// KEYS: instance hash, service index[, services index].
// ARGV: now_us, exp_us, pexpire_ms, instance ID, service name, then hash
// field/value pairs.
var putScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local exp = tonumber(ARGV[2])
if KEYS[3] then redis.call('ZADD', KEYS[3], 'GT', string.format('%.0f', exp), ARGV[5]) end
local old = redis.call('HGET', KEYS[1], 'exp_us')
local existed = 0
if old and tonumber(old) > now then existed = 1 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
redis.call('ZADD', KEYS[2], string.format('%.0f', exp), ARGV[4])
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local ms = math.max(1, math.ceil((tonumber(top[2]) - now) / 1000))
redis.call('PEXPIRE', KEYS[2], string.format('%.0f', ms))
return existed
`)

// renewScript restarts a live instance's lease at now and returns the
// fields decodeFields reads (HMGET, as instancesScript), or nil when the
// instance is absent or expired by the caller's clock. Given the services index as KEYS[3] (see putScript), it raises
// the service's score there too: a heartbeat is then one round trip.
//
// KEYS: instance hash, service index[, services index].
// ARGV: now_us, now_ns (the new last_heartbeat), instance ID, service name,
// then the field names to return.
var renewScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'exp_us', 'ttl_ns')
if not f[1] or tonumber(f[1]) <= now then return false end
local ttl_us = math.floor(tonumber(f[2]) / 1000)
local exp = now + ttl_us
local ms = math.max(1, math.ceil(ttl_us / 1000))
redis.call('HSET', KEYS[1], 'last_heartbeat_ns', ARGV[2], 'exp_us', string.format('%.0f', exp))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ms))
redis.call('ZADD', KEYS[2], string.format('%.0f', exp), ARGV[3])
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local ims = math.max(1, math.ceil((tonumber(top[2]) - now) / 1000))
redis.call('PEXPIRE', KEYS[2], string.format('%.0f', ims))
if KEYS[3] then redis.call('ZADD', KEYS[3], 'GT', string.format('%.0f', exp), ARGV[4]) end
return redis.call('HMGET', KEYS[1], unpack(ARGV, 5))
`)

// deleteScript removes the given instances and counts how many were live.
//
// KEYS: service index, then one instance hash per ID.
// ARGV: now_us, then the instance IDs in KEYS' order.
var deleteScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local live = 0
for i = 2, #KEYS do
  local exp = redis.call('HGET', KEYS[i], 'exp_us')
  if exp and tonumber(exp) > now then live = live + 1 end
  redis.call('DEL', KEYS[i])
  redis.call('ZREM', KEYS[1], ARGV[i])
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return live
`)

// instancesScript returns, for every instance whose index score is after
// now, the hash fields decodeFields reads, in instanceFields' order (HMGET:
// values only, so the reply carries no field names; an instance whose key
// is gone comes back as all nils), in one round trip. The instance keys are
// built from ARGV[2] rather than passed in KEYS (the IDs are only known
// inside the script); they carry the service's hash tag, so they live in
// KEYS[1]'s slot and the script stays legal on a Cluster.
//
// KEYS: service index.
// ARGV: now_us, instance key prefix ("vertice:{svc}:i:"), then the field names.
var instancesScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local out = {}
for i, id in ipairs(ids) do
  out[i] = redis.call('HMGET', ARGV[2] .. id, unpack(ARGV, 3))
end
return out
`)
