-- :CmdtWatch: keep the quickfix list filled with failing transcripts, re-running
-- exactly what each file change makes stale.
--
-- The server does the watching (docs/lsp.md, "Tests"): `cmdt/watch` turns its
-- watcher on, and each batch of file changes arrives as a `cmdt/stale`
-- notification naming the transcripts it made stale and why. This module runs
-- those (and only those) with `cmdt/runTest`, and keeps one entry per failed
-- command in the quickfix list (title "cmdt watch"), replacing a transcript's
-- entries when it runs again and dropping them when it passes or is deleted.
local compat = require("cmdt.compat")

local M = {}

local title = "cmdt watch"

-- State of the watch, per client id: { failures = { [uri] = { qf items } },
-- running = { [uri] = true }, rounds = n, runs = n }.
M.state = {}

local function notify(msg, level)
  vim.notify("cmdt: " .. msg, level or vim.log.levels.INFO)
end

-- The quickfix list this module owns, if it still exists.
local function own_qf_id()
  local info = vim.fn.getqflist({ title = 0, id = 0 })
  if info.title == title then
    return info.id
  end
  for nr = vim.fn.getqflist({ nr = "$" }).nr, 1, -1 do
    local l = vim.fn.getqflist({ nr = nr, title = 0, id = 0 })
    if l.title == title then
      return l.id
    end
  end
  return nil
end

-- Rewrites the quickfix list from every client's failures, in path order.
local function publish()
  local items = {}
  for _, st in pairs(M.state) do
    for _, list in pairs(st.failures) do
      vim.list_extend(items, list)
    end
  end
  table.sort(items, function(a, b)
    if a.filename ~= b.filename then
      return a.filename < b.filename
    end
    return a.lnum < b.lnum
  end)
  local id = own_qf_id()
  if id then
    vim.fn.setqflist({}, "r", { id = id, items = items, title = title })
  else
    vim.fn.setqflist({}, " ", { items = items, title = title })
  end
end

-- Quickfix items of a cmdt/runTest result: one per failed command (at its $
-- line, text: the failure's first lines), or one for a transcript that could
-- not run.
local function items_of(uri, result)
  local file = vim.uri_to_fname(uri)
  local items = {}
  if result.status == "error" then
    table.insert(items, { filename = file, lnum = 1, col = 1, type = "E", text = result.error or result.text or "error" })
  end
  for _, c in ipairs(result.commands or {}) do
    if c.status == "failed" then
      local text = (c.message or "failed"):gsub("\n", " | ")
      table.insert(items, { filename = file, lnum = c.line + 1, col = 1, type = "E", text = text })
    end
  end
  return items
end

-- At most this many transcripts run at once (each is a process tree; a
-- branch switch can make hundreds stale).
M.max_parallel = 2

-- Runs one stale transcript and updates the list with its result; queued
-- when M.max_parallel runs are going on.
local function run_one(client, st, entry)
  local uri = entry.uri
  if st.running[uri] then
    st.again[uri] = true -- changed again while running: once more after
    return
  end
  if st.active >= M.max_parallel then
    if not st.queued[uri] then
      st.queued[uri] = true
      table.insert(st.queue, entry)
    end
    return
  end
  st.running[uri] = true
  st.active = st.active + 1
  st.peak = math.max(st.peak, st.active)
  compat.client_call(client, "request", "cmdt/runTest", { uri = uri }, function(err, result)
    st.running[uri] = nil
    st.active = st.active - 1
    st.runs = st.runs + 1
    if err then
      st.failures[uri] = { { filename = vim.uri_to_fname(uri), lnum = 1, col = 1, type = "E", text = err.message or "run failed" } }
    else
      local items = items_of(uri, result)
      st.failures[uri] = #items > 0 and items or nil
      st.results[uri] = result
    end
    publish()
    if st.again[uri] then
      st.again[uri] = nil
      run_one(client, st, entry)
    end
    local nxt = table.remove(st.queue, 1)
    if nxt then
      st.queued[nxt.uri] = nil
      run_one(client, st, nxt)
    end
  end)
end

-- cmdt/stale (server -> client): run exactly the transcripts named.
function M.stale_handler(_, params, ctx)
  local st = M.state[ctx.client_id]
  if not st or not params then
    return vim.NIL
  end
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if not client then
    return vim.NIL
  end
  st.rounds = st.rounds + 1
  for _, uri in ipairs(params.removed or {}) do
    st.failures[uri] = nil
    st.results[uri] = nil
  end
  if params.removed and #params.removed > 0 then
    publish()
  end
  for _, entry in ipairs(params.stale or {}) do
    table.insert(st.log, { uri = entry.uri, reasons = entry.reasons })
    run_one(client, st, entry)
  end
  return vim.NIL
end

--- Starts watching with the cmdt client attached to bufnr (0 = current):
--- what is stale already runs now, then whatever each change makes stale.
function M.start(bufnr, callback)
  local client = require("cmdt").client(bufnr)
  if not client then
    notify("no cmdt language server attached to this buffer", vim.log.levels.WARN)
    return false
  end
  local exp = (client.server_capabilities or {}).experimental or {}
  if not (exp.cmdtTests and exp.cmdtTests.watch) then
    notify("this cmdt-lsp cannot watch (no experimental.cmdtTests.watch); update it", vim.log.levels.ERROR)
    return false
  end
  vim.lsp.handlers["cmdt/stale"] = M.stale_handler
  local st = { failures = {}, results = {}, running = {}, again = {}, queue = {}, queued = {}, active = 0, peak = 0, rounds = 0, runs = 0, log = {} }
  M.state[client.id] = st
  compat.client_call(client, "request", "cmdt/watch", { enabled = true }, function(err, result)
    if err then
      M.state[client.id] = nil
      notify("watch failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    else
      notify(string.format("watching %d directories; %d transcript(s) stale", result.directories or 0, #(result.stale or {})))
      for _, entry in ipairs(result.stale or {}) do
        table.insert(st.log, { uri = entry.uri, reasons = entry.reasons })
        run_one(client, st, entry)
      end
      publish()
    end
    if callback then
      callback(err, result)
    end
  end)
  return true
end

--- Stops watching (every cmdt client this module started watching).
function M.stop()
  for id in pairs(M.state) do
    local client = vim.lsp.get_client_by_id(id)
    if client then
      compat.client_call(client, "request", "cmdt/watch", { enabled = false }, function() end)
    end
  end
  M.state = {}
  publish()
end

return M
