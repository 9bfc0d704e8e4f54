-- :CmdtRun on a failing transcript puts the server's failure diagnostic,
-- carrying a unified diff, on the command's `$` line. :CmdtUpdate rewrites
-- the expectations through workspace/applyEdit (Neovim's built-in handler),
-- undoably and without saving; after saving, the next run passes.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

-- Diagnostics on a 0-based line whose message looks like the run failure
-- (the diff of expected "goodbye" vs actual "hello").
local function failure_on(buf, lnum)
  for _, d in ipairs(vim.diagnostic.get(buf, { lnum = lnum })) do
    if d.message:find("goodbye", 1, true) and d.message:find("hello", 1, true) then
      return d
    end
  end
  return nil
end

local function wait_done(what, start)
  local done, err = false, nil
  start(function(e)
    done, err = true, e
  end)
  H.wait(60000, function()
    return done
  end, what .. " to answer")
  H.ok(err == nil, what .. " returned an error: " .. vim.inspect(err))
end

H.run("run and update a failing transcript", function()
  local cmdt = require("cmdt")
  cmdt.setup({ cmd = { vim.env.CMDT_LSP } })

  local path = ws .. "/failing.cmdt"
  vim.fn.writefile({
    "# echo prints hello; the transcript expects goodbye",
    "$ echo hello",
    "1 goodbye",
    "",
    "$ echo same",
    "1 same",
  }, path)
  local buf = H.edit(path)
  local client = H.wait_client(buf)

  local provider = client.server_capabilities.executeCommandProvider or {}
  H.log("server commands: %s", table.concat(provider.commands or {}, ", "))
  for _, c in ipairs({ "cmdt.run", "cmdt.update", "cmdt.runNoCache" }) do
    H.ok(vim.tbl_contains(provider.commands or {}, c), "the server does not offer " .. c .. " (executeCommandProvider)")
  end

  -- No failure before a run: the server does not run transcripts on open.
  vim.wait(500)
  H.ok(failure_on(buf, 1) == nil, "a failure diagnostic before any run")

  -- :CmdtRun, exactly as a user types it.
  vim.cmd("CmdtRun")
  local d = H.wait(60000, function()
    return failure_on(buf, 1)
  end, "the failure diagnostic on the `$ echo hello` line (line 2)")
  H.log("failure diagnostic on line %d:\n%s", d.lnum + 1, d.message)
  H.eq("cmdt", d.source, "failure diagnostic source")
  H.eq(vim.diagnostic.severity.ERROR, d.severity, "failure diagnostic severity")
  -- A unified diff: expected line removed, actual line added.
  H.contains(d.message, "-goodbye", "diff in the failure message")
  H.contains(d.message, "+hello", "diff in the failure message")
  for _, other in ipairs(vim.diagnostic.get(buf)) do
    H.ok(other.lnum ~= 4, "a diagnostic on the passing command (line 5): " .. other.message)
  end
  H.eq("1 goodbye", vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1], "buffer untouched by a run")
  H.ok(not vim.bo[buf].modified, "buffer not modified by a run")

  -- Inlay hints with the run results: Neovim 0.10+ only.
  if vim.lsp.inlay_hint and vim.lsp.inlay_hint.get and client.server_capabilities.inlayHintProvider then
    local hints = H.wait(10000, function()
      local h = vim.lsp.inlay_hint.get({ bufnr = buf })
      return #h > 0 and h
    end, "inlay hints after the run")
    H.log("%d inlay hints", #hints)
  else
    H.log("inlay hints: not checked (%s)", vim.lsp.inlay_hint and "server offers none" or "this Neovim has no inlay hint API")
  end

  -- :CmdtUpdate: the server answers with a workspace/applyEdit that Neovim
  -- applies to the buffer (not to disk).
  vim.cmd("CmdtUpdate")
  H.wait(60000, function()
    return vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1] == "1 hello"
  end, "the update edit to reach the buffer (line 3 becomes `1 hello`)")
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  H.log("after :CmdtUpdate:\n  %s", table.concat(lines, "\n  "))
  H.eq({
    "# echo prints hello; the transcript expects goodbye",
    "$ echo hello",
    "1 hello",
    "",
    "$ echo same",
    "1 same",
  }, lines, "updated buffer (comments, blank lines and commands kept)")
  H.ok(vim.bo[buf].modified, "the update is an unsaved buffer edit")
  H.eq("1 goodbye", vim.fn.readfile(path)[3], "file on disk not written behind the editor's back")

  -- The edit is one undoable change.
  vim.cmd("silent undo")
  H.eq("1 goodbye", vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1], "line 3 after :undo")
  vim.cmd("silent redo")
  H.eq("1 hello", vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1], "line 3 after :redo")

  -- Save and run again: it passes, the failure diagnostic goes away.
  vim.cmd("silent write")
  wait_done("cmdt.run after the update", function(cb)
    cmdt.run(buf, cb)
  end)
  H.wait(10000, function()
    return failure_on(buf, 1) == nil
  end, "the failure diagnostic to clear after update + run")
  H.log("passes after update; diagnostics left: %d", #vim.diagnostic.get(buf))

  -- :CmdtRunNoCache reruns everything and still passes.
  wait_done("cmdt.runNoCache", function(cb)
    cmdt.run_no_cache(buf, cb)
  end)
  vim.wait(300)
  H.ok(failure_on(buf, 1) == nil, "no failure after runNoCache")
  for _, other in ipairs(vim.diagnostic.get(buf)) do
    H.ok(other.severity ~= vim.diagnostic.severity.ERROR, "an error diagnostic after a passing run: " .. other.message)
  end
end)
