-- Tiny test harness for headless Neovim (no test framework to install).
--
-- A test file does:
--   local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
--   H.run("name", function() ... H.eq(...) ... end)
-- H.run executes the body protected, prints PASS/FAIL with the reason to
-- stdout, and exits Neovim: `:qa!` on success, `:cquit 1` on any failure,
-- so the runner sees a non-zero status.
local H = {}

local t0 = (vim.uv or vim.loop).hrtime()

local function elapsed()
  return string.format("%6.2fs", ((vim.uv or vim.loop).hrtime() - t0) / 1e9)
end

function H.log(fmt, ...)
  io.stdout:write(string.format("  [%s] " .. fmt .. "\n", elapsed(), ...))
  io.stdout:flush()
end

local function fail(msg)
  error({ cmdt_test_failure = msg }, 0)
end

function H.ok(cond, msg)
  if not cond then
    fail(msg or "assertion failed")
  end
  return cond
end

function H.eq(want, got, what)
  if not vim.deep_equal(want, got) then
    fail(string.format("%s: want %s, got %s", what or "value", vim.inspect(want), vim.inspect(got)))
  end
end

function H.contains(haystack, needle, what)
  if type(haystack) ~= "string" or not haystack:find(needle, 1, true) then
    fail(string.format("%s: %s does not contain %s", what or "text", vim.inspect(haystack), vim.inspect(needle)))
  end
end

--- Waits (processing events) until pred() returns a truthy value; fails
--- with `what` (a string, or a function giving one at failure time) after
--- ms milliseconds. Returns pred's value.
function H.wait(ms, pred, what)
  local value
  local done = vim.wait(ms, function()
    value = pred()
    return value and true or false
  end, 20)
  if not done then
    if type(what) == "function" then
      what = what()
    end
    fail(string.format("timed out after %d ms waiting for %s", ms, what or "condition"))
  end
  return value
end

--- The cmdt diagnostics of a buffer (source "cmdt" or from the cmdt client).
function H.diagnostics(bufnr)
  return vim.diagnostic.get(bufnr)
end

function H.describe_diagnostics(diags)
  local out = {}
  for _, d in ipairs(diags) do
    table.insert(out, string.format("line %d col %d sev %s [%s] %s", d.lnum, d.col, tostring(d.severity), tostring(d.source), d.message))
  end
  return table.concat(out, "\n")
end

--- Opens a file in the current window and returns its buffer.
function H.edit(path)
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  return vim.api.nvim_get_current_buf()
end

--- Waits until the cmdt client is attached to bufnr and initialized.
function H.wait_client(bufnr, ms)
  return H.wait(ms or 10000, function()
    local c = require("cmdt").client(bufnr)
    return c and c.initialized ~= false and c.server_capabilities ~= nil and c
  end, "the cmdt client to attach")
end

function H.run(name, body)
  io.stdout:write(string.format("=== %s (%s)\n", name, vim.fn.has("nvim-0.8") == 1 and "nvim >= 0.8" or "nvim 0.7"))
  local ok, err = xpcall(body, function(e)
    if type(e) == "table" and e.cmdt_test_failure then
      return e.cmdt_test_failure
    end
    return debug.traceback(tostring(e), 2)
  end)
  if ok then
    io.stdout:write(string.format("PASS %s (%s)\n", name, vim.trim(elapsed())))
    io.stdout:flush()
    vim.cmd("qa!")
  else
    io.stdout:write(string.format("FAIL %s (%s): %s\n", name, vim.trim(elapsed()), err))
    io.stdout:flush()
    vim.cmd("cquit 1")
  end
end

return H
