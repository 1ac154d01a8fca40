-- wrk script: send requests in pipelined batches over each connection.
-- Usage: wrk -s bench/pipeline.lua <url> -- [depth]   (depth defaults to 16)
-- wrk counts every response, so req/s is responses per second.

local depth = 16
local batch

function init(args)
  if args[1] ~= nil then
    depth = tonumber(args[1])
  end
  local parts = {}
  for i = 1, depth do
    parts[i] = wrk.format()
  end
  batch = table.concat(parts)
end

function request()
  return batch
end
