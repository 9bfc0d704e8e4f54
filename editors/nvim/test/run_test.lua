-- :CmdtRun on a failing transcript puts the server's failure diagnostic,
-- carrying a unified diff, on each failing command's `$` line. :CmdtAccept
-- takes one command's actual output, :CmdtUpdate all of them, both through
-- workspace/applyEdit (Neovim's built-in handler): undoable, not saved.
-- After that, runs pass.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

-- The check-failed diagnostic on a 0-based line whose diff (transcript
-- notation, docs/lsp.md) removes `want` and adds `got`.
local function failure_on(buf, lnum, want, got)
  for _, d in ipairs(vim.diagnostic.get(buf, { lnum = lnum })) do
    if d.message:find("\n-1 " .. want, 1, true) and d.message:find("\n+1 " .. got, 1, true) then
      return d
    end
  end
  return nil
end

local function lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

-- Waits until no command sent by the plugin for buf is in flight (the
-- server answers run/update/accept when the work is over).
local function wait_idle(buf, what)
  H.wait(60000, function()
    return require("cmdt").running(buf) == nil
  end, what .. " to be answered")
end

H.run("run, accept and update a failing transcript", function()
  local cmdt = require("cmdt")
  cmdt.setup({ cmd = { vim.env.CMDT_LSP } })

  local path = ws .. "/failing.cmdt"
  local original = {
    "# echo prints hello; the transcript expects goodbye",
    "$ echo hello",
    "1 goodbye",
    "",
    "$ echo same",
    "1 same",
    "",
    "$ echo world",
    "1 earth",
  }
  vim.fn.writefile(original, path)
  local buf = H.edit(path)
  local client = H.wait_client(buf)

  local provider = client.server_capabilities.executeCommandProvider or {}
  H.log("server commands: %s", table.concat(provider.commands or {}, ", "))
  for _, c in ipairs({ "cmdt.run", "cmdt.update", "cmdt.runNoCache", "cmdt.accept" }) do
    H.ok(vim.tbl_contains(provider.commands or {}, c), "the server does not offer " .. c .. " (executeCommandProvider)")
  end

  -- Nothing runs on open.
  vim.wait(300)
  H.ok(failure_on(buf, 1, "goodbye", "hello") == nil, "a failure diagnostic before any run")

  -- :CmdtRun, exactly as a user types it.
  vim.cmd("CmdtRun")
  H.eq("cmdt.run", cmdt.running(buf), "command in flight after :CmdtRun")
  local d = H.wait(60000, function()
    return failure_on(buf, 1, "goodbye", "hello")
  end, "the failure diagnostic on the `$ echo hello` line (line 2)")
  wait_idle(buf, ":CmdtRun")
  H.log("failure diagnostic on line %d:\n%s", d.lnum + 1, d.message)
  H.eq("cmdt", d.source, "failure diagnostic source")
  H.eq(vim.diagnostic.severity.ERROR, d.severity, "failure diagnostic severity")
  H.contains(d.message, "\n-1 goodbye\n", "diff in the failure message")
  H.contains(d.message, "\n+1 hello", "diff in the failure message")
  H.ok(failure_on(buf, 7, "earth", "world"), "the failure diagnostic on `$ echo world` (line 8)")
  for _, other in ipairs(vim.diagnostic.get(buf)) do
    H.ok(other.lnum ~= 4, "a diagnostic on the passing command (line 5): " .. other.message)
  end
  H.eq(original, lines(buf), "buffer untouched by a run")
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

  -- :CmdtAccept with the cursor on the expectation line of the last
  -- command (any line of the block): only that command changes.
  vim.api.nvim_win_set_cursor(0, { 9, 0 })
  vim.cmd("CmdtAccept")
  wait_idle(buf, ":CmdtAccept")
  H.eq("1 world", lines(buf)[9], "line 9 after :CmdtAccept")
  H.eq("1 goodbye", lines(buf)[3], "line 3 untouched by :CmdtAccept")
  H.ok(vim.bo[buf].modified, "accept is an unsaved buffer edit")

  -- Edits applied from callbacks with no key typed in between join one undo
  -- block; a user typing :CmdtUpdate ends the block. Do the same here.
  vim.cmd("let &undolevels = &undolevels")

  -- :CmdtUpdate: the server reruns and sends a workspace/applyEdit that
  -- Neovim applies to the buffer (not to disk).
  vim.cmd("CmdtUpdate")
  wait_idle(buf, ":CmdtUpdate")
  local updated = lines(buf)
  H.log("after :CmdtAccept and :CmdtUpdate:\n  %s", table.concat(updated, "\n  "))
  local want = vim.deepcopy(original)
  want[3], want[9] = "1 hello", "1 world"
  H.eq(want, updated, "updated buffer (comments, blank lines and commands kept)")
  H.eq(original, vim.fn.readfile(path), "file on disk not written behind the editor's back")

  -- The update is one undoable change.
  vim.cmd("silent undo")
  H.eq("1 goodbye", lines(buf)[3], "line 3 after :undo")
  H.eq("1 world", lines(buf)[9], "line 9 after :undo (the accept is a separate change)")
  vim.cmd("silent redo")
  H.eq(want, lines(buf), "buffer after :redo")

  -- Run again (the buffer's text, saved or not): it passes and the
  -- failure diagnostics go away.
  vim.cmd("CmdtRun")
  wait_idle(buf, ":CmdtRun after the update")
  H.wait(10000, function()
    return #vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR }) == 0
  end, function()
    return "no error diagnostics after update + run; have:\n" .. H.describe_diagnostics(vim.diagnostic.get(buf))
  end)
  H.log("passes after update; diagnostics left: %d", #vim.diagnostic.get(buf))

  -- Save; :CmdtRunNoCache reruns everything and still passes.
  vim.cmd("silent write")
  local result
  cmdt.run_no_cache(buf, function(err, res)
    H.ok(err == nil, "runNoCache error: " .. vim.inspect(err))
    result = res
  end)
  H.wait(60000, function()
    return result
  end, "the answer to cmdt.runNoCache")
  H.log("runNoCache answered: %s (%s)", tostring(result.status), tostring(result.text))
  H.eq("passed", result.status, "runNoCache status")
  H.eq(0, #vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR }), "error diagnostics after runNoCache")
end)
