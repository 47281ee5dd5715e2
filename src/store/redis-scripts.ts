/** The Lua scripts RedisKvStore runs (redis-kv.ts): one call admits a turn's requests, one settles them. */

/**
 * All counters of a request are checked and incremented by one Lua script, atomic across every gateway node. The
 * admits of concurrent requests issued in the same event-loop turn travel together in ONE script call (one command,
 * one round trip): each request's checks are a group, and each group is all-or-nothing on its own, exactly as if
 * the requests had been sent one after another.
 * KEYS are the counters' base keys, one per check, group after group; the numbers travel as ONE argument, a JSON
 * array (cjson decodes it in C, several times cheaper for Redis than splitting a string in Lua; sixty-odd separate
 * arguments cost more to encode on the client): per group its number of checks (negative: a group linked to the one
 * before, tried only when that one was admitted), then seven per check: limit, cost, windowMs (0 = plain), the
 * window's bucket index and elapsed ms, ttlMs and initial (plain counters). A rolling-window total (budgets over the
 * last 24 h / 7 d / 30 d) has a NEGATIVE windowMs, minus its bucket length, then its current bucket index and the
 * number of buckets it sums; its key is a hash of bucket → amount, read with HGETALL in the same script (buckets that
 * fell out of the window are deleted when it is next taken). The reply is, per group, the index of
 * the blocking check (-1 when admitted) then `used, ttl` per check; a linked group that was not tried is just -2.
 * A window's bucket keys are `<base>:<index>`, built here from the base key: that is fine on a single Redis or
 * Sentinel, not on Redis Cluster (see README).
 */
export const ADMIT = `
local f = cjson.decode(ARGV[1])
local out = {}
local p, k0 = 1, 0
local last = -1
while p <= #f do
  local n = f[p]
  local linked = n < 0
  if linked then n = -n end
  if linked and last ~= -1 then
    out[#out + 1] = -2
  else
    -- every counter of the group read with one MGET: a window's current and previous bucket, a plain counter
    local keys, reads = {}, {}
    local nr = 0
    for i = 1, n do
      local a = p + (i - 1) * 7
      local base = KEYS[k0 + i]
      if f[a+3] > 0 then
        keys[i] = base .. ':' .. f[a+4]
        reads[nr + 1] = keys[i]
        reads[nr + 2] = base .. ':' .. (f[a+4] - 1)
        nr = nr + 2
      elseif f[a+3] == 0 then
        keys[i] = base
        reads[nr + 1] = base
        nr = nr + 1
      else
        keys[i] = base
      end
    end
    local values = {}
    if nr > 0 then values = redis.call('MGET', unpack(reads)) end
    local used, fresh, stale = {}, {}, {}
    local blocked = -1
    local r = 1
    for i = 1, n do
      local a = p + (i - 1) * 7
      local limit, cost, win = f[a+1], f[a+2], f[a+3]
      local u
      if win < 0 then
        -- rolling total: the newest f[a+5] buckets up to the current one f[a+4]; older fields are noted for deletion
        local h = redis.call('HGETALL', keys[i])
        fresh[i] = #h == 0
        if fresh[i] then
          u = f[a+7]
        else
          u = 0
          local oldest = f[a+4] - f[a+5] + 1
          local old = {}
          for j = 1, #h, 2 do
            if tonumber(h[j]) >= oldest then u = u + tonumber(h[j + 1]) else old[#old + 1] = h[j] end
          end
          stale[i] = old
        end
      elseif win > 0 then
        local curr = tonumber(values[r] or '0')
        local prev = tonumber(values[r + 1] or '0')
        r = r + 2
        fresh[i] = curr == 0
        u = math.floor(prev * (win - f[a+5]) / win) + curr
      else
        local v = values[r]
        r = r + 1
        fresh[i] = not v
        if v then u = tonumber(v) else u = f[a+7] end
      end
      used[i] = u
      if blocked == -1 and u + cost > limit then blocked = i - 1 end
    end
    out[#out + 1] = blocked
    for i = 1, n do
      local a = p + (i - 1) * 7
      local cost, win, ttl = f[a+2], f[a+3], f[a+6]
      local key = keys[i]
      if blocked == -1 then
        if win < 0 then
          if fresh[i] then
            redis.call('HSET', key, f[a+4], used[i] + cost)
          else
            redis.call('HINCRBY', key, f[a+4], cost)
            if #stale[i] > 0 then redis.call('HDEL', key, unpack(stale[i])) end
          end
          if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
        elseif win > 0 then
          redis.call('INCRBY', key, cost)
          -- a bucket that was empty may be new: it lives two windows (one as current, one as previous)
          if fresh[i] then redis.call('PEXPIRE', key, 2 * win) end
        elseif not fresh[i] then
          redis.call('INCRBY', key, cost)
        elseif ttl > 0 then
          redis.call('SET', key, used[i] + cost, 'PX', ttl)
        else
          redis.call('SET', key, used[i] + cost)
        end
        used[i] = used[i] + cost
      end
      out[#out + 1] = used[i]
      if win > 0 then
        out[#out + 1] = 0
      elseif win < 0 then
        out[#out + 1] = ttl
      elseif blocked == -1 and fresh[i] then
        out[#out + 1] = ttl > 0 and ttl or -1
      else
        out[#out + 1] = redis.call('PTTL', key)
      end
    end
    last = blocked
  end
  p = p + 1 + n * 7
  k0 = k0 + n
end
return out
`;

/**
 * Settles several counters in one round trip, and appends the turn's usage events to the usage stream in the same
 * call: KEYS[i] gets the i-th quadruple of the JSON array ARGV[1] (the delta, its windowMs: 0 = plain counter,
 * negative = a rolling total, then for a rolling total the bucket the request was admitted in and how many buckets
 * it sums); when ARGV[2] (the number of events) is above 0 the last KEY is the stream, ARGV[3] its most entries,
 * and the events follow. A window bucket is created if missing; a plain counter or rolling total that expired stays
 * absent (it restarts from the database's truth on the next admit, which already counts this request). Events are
 * added in order while the stream has room. The reply is how many were added (the caller spools the rest), then per
 * counter its value after the adjustment (a plain counter's value, a rolling total's sum; -1 for a sliding window
 * or an absent counter): a budget's standing after a call is known without a second round trip.
 */
export const SETTLE = `
local f = cjson.decode(ARGV[1])
local nev = tonumber(ARGV[2])
local ncounters = #KEYS
if nev > 0 then ncounters = ncounters - 1 end
local values = {}
for i = 1, ncounters do
  local delta, win = f[4*i-3], f[4*i-2]
  local v = -1
  if win > 0 then
    -- the bucket was empty (maybe absent): give it its two windows of life
    if redis.call('INCRBY', KEYS[i], delta) == delta then redis.call('PEXPIRE', KEYS[i], 2 * win) end
  elseif win < 0 then
    if redis.call('EXISTS', KEYS[i]) == 1 then
      redis.call('HINCRBY', KEYS[i], f[4*i-1], delta)
      local h = redis.call('HGETALL', KEYS[i])
      local oldest = f[4*i-1] - f[4*i] + 1
      v = 0
      for j = 1, #h, 2 do
        if tonumber(h[j]) >= oldest then v = v + tonumber(h[j + 1]) end
      end
    end
  elseif redis.call('EXISTS', KEYS[i]) == 1 then
    v = redis.call('INCRBY', KEYS[i], delta)
  end
  values[i] = v
end
local n = 0
if nev > 0 then
  local stream = KEYS[#KEYS]
  local room = tonumber(ARGV[3]) - redis.call('XLEN', stream)
  n = nev
  if room < n then n = math.max(room, 0) end
  for i = 1, n do redis.call('XADD', stream, '*', 'e', ARGV[3 + i]) end
end
local out = { n }
for i = 1, ncounters do out[i + 1] = values[i] end
return out
`;
