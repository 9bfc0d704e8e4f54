-- :CmdtWatch: the server's watcher names the transcripts a file change made
-- stale (cmdt/stale); the plugin runs exactly those (cmdt/runTest) and keeps
-- their failures in the quickfix list.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

local function qf()
  local info = vim.fn.getqflist({ title = 0, items = 0 })
  if info.title ~= "cmdt watch" then
    return nil
  end
  return info.items
end

local function describe(items)
  local out = {}
  for _, it in ipairs(items or {}) do
    table.insert(out, string.format("%s:%d %s", vim.fn.bufname(it.bufnr), it.lnum, it.text))
  end
  return table.concat(out, "\n")
end

H.run("watch fills the quickfix list with what goes stale and fails", function()
  local cmdt = require("cmdt")
  cmdt.setup({ cmd = { vim.env.CMDT_LSP }, cmd_env = { CMDT_CACHE_DIR = ws .. "/.cache" } })
  vim.fn.mkdir(ws .. "/testdata", "p")
  vim.fn.writefile({ "hello" }, ws .. "/testdata/in.txt")
  vim.fn.writefile({ "% dep file testdata/in.txt", "$ cat testdata/in.txt", "1 hello" }, ws .. "/a.cmdt")
  vim.fn.writefile({ "$ echo b", "1 b" }, ws .. "/b.cmdt")
  vim.fn.writefile({ "$ echo c", "1 c" }, ws .. "/c.cmdt")

  local buf = H.edit(ws .. "/b.cmdt")
  local client = H.wait_client(buf)
  local watch = require("cmdt.watch")
  vim.cmd("CmdtWatch")
  local st = H.wait(10000, function()
    return watch.state[client.id]
  end, "the watch to start")

  -- All were never run: each runs once (two at a time), and passes.
  H.wait(60000, function()
    return st.runs == 3
  end, function()
    return "the initial runs (have " .. st.runs .. ")"
  end)
  H.eq(0, #(qf() or {}), "quickfix entries after passing runs")
  H.eq(2, st.peak, "transcripts running at once (max_parallel)")
  local ran = #st.log

  -- The declared input changes: only a.cmdt runs again, and fails at its $ line.
  vim.fn.writefile({ "bye" }, ws .. "/testdata/in.txt")
  local items = H.wait(60000, function()
    local l = qf()
    return l and #l > 0 and st.runs == 4 and l
  end, function()
    return "a failure in the quickfix list (runs " .. st.runs .. ")\n" .. describe(qf())
  end)
  H.log("quickfix: %s", describe(items))
  H.eq(1, #items, "quickfix entries")
  H.eq(2, items[1].lnum, "failure line")
  H.contains(vim.fn.bufname(items[1].bufnr), "a.cmdt", "failure file")
  H.contains(items[1].text, "-1 hello", "failure text")
  H.eq(ran + 1, #st.log, "transcripts made stale by the change")
  H.contains(st.log[#st.log].uri, "/a.cmdt", "the stale transcript")
  H.eq("testdata/in.txt changed", st.log[#st.log].reasons[1], "the reason")

  -- Back as it was: it passes, the list empties; the others never ran again.
  vim.fn.writefile({ "hello" }, ws .. "/testdata/in.txt")
  H.wait(60000, function()
    return st.runs == 5 and #(qf() or { 1 }) == 0
  end, function()
    return "the list to empty (runs " .. st.runs .. ")\n" .. describe(qf())
  end)
  vim.wait(500)
  H.eq(5, st.runs, "runs in all")

  vim.cmd("CmdtWatchStop")
  H.eq(nil, watch.state[client.id], "watch state after stop")
end)
