-- wrk script for `make serve-bench`: POST /v1/tag with $SENTENCES (default 1) sentences of the
-- CoNLL file $CONLL per request, taken in turn, and a summary line with tokens/s and latency.
-- Every Lua state of wrk (one per thread, and the one that runs `done`) reads the file.

local per_request = tonumber(os.getenv("SENTENCES") or "1")

local function json_string(text)
  return '"' .. text:gsub('[\\"]', '\\%0') .. '"'
end

-- The sentences of the file, each as a JSON request object, and its token count.
local sentences, lengths = {}, {}
local tokens = {}
local function finish_sentence()
  if #tokens > 0 then
    sentences[#sentences + 1] = '{"id":' .. #sentences .. ',"tokens":[' .. table.concat(tokens, ",") .. "]}"
    lengths[#lengths + 1] = #tokens
    tokens = {}
  end
end
local path = os.getenv("CONLL")
assert(path, "set CONLL to a CoNLL file")
for line in io.lines(path) do
  local token = line:match("^(%S+)")
  if token then tokens[#tokens + 1] = json_string(token) else finish_sentence() end
end
finish_sentence()

-- Request i holds sentences i·k + 1 … i·k + k (wrapping around); bodies[i] and their tokens.
local bodies, body_tokens, total_tokens = {}, {}, 0
for i = 0, #sentences - 1 do
  local parts, count = {}, 0
  for j = 0, per_request - 1 do
    local index = (i * per_request + j) % #sentences + 1
    parts[#parts + 1] = sentences[index]
    count = count + lengths[index]
  end
  bodies[i + 1] = '{"sentences":[' .. table.concat(parts, ",") .. "]}"
  total_tokens = total_tokens + count
end
local mean_tokens = total_tokens / #bodies

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local next_body = 0
request = function()
  next_body = next_body % #bodies + 1
  return wrk.format(nil, "/v1/tag", nil, bodies[next_body])
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    "%d requests of %d sentence(s) in %.1f s: %.0f requests/s, %.0f tokens/s, " ..
    "latency p50 %.2f ms, p99 %.2f ms, %d errors, %d non-200\n",
    summary.requests, per_request, seconds, summary.requests / seconds,
    summary.requests * mean_tokens / seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
