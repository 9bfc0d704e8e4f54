-- A transcript with a syntax error gets the server's diagnostic on the
-- right line; fixing the line in the buffer (unsaved: incremental sync)
-- clears it.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

H.run("syntax error diagnostics", function()
  require("cmdt").setup({ cmd = { vim.env.CMDT_LSP } })

  local path = ws .. "/syntax_error.cmdt"
  vim.fn.writefile({
    "# a transcript with one bad line",
    "$ echo hi",
    "1 hi",
    "x this line has no opcode",
    "",
    "$ true",
  }, path)
  local buf = H.edit(path)
  H.eq("cmdt", vim.bo[buf].filetype, "filetype")
  local client = H.wait_client(buf)
  H.log("attached: %s, root %s", client.name, client.config.root_dir)

  local diags = H.wait(10000, function()
    local d = vim.diagnostic.get(buf)
    return #d > 0 and d
  end, "diagnostics for syntax_error.cmdt")
  H.log("diagnostics:\n%s", H.describe_diagnostics(diags))

  H.eq(1, #diags, "number of diagnostics")
  local d = diags[1]
  H.eq(3, d.lnum, "diagnostic line (0-based; file line 4)")
  H.eq(vim.diagnostic.severity.ERROR, d.severity, "severity")
  H.eq("cmdt", d.source, "source")
  H.ok(d.message ~= "", "message is not empty")
  -- The message names the offending opcode (spec: "a syntax error naming
  -- the line").
  H.contains(d.message, "x", "message")

  -- Fix the line without saving: the server sees the didChange and the
  -- diagnostic goes away.
  vim.api.nvim_buf_set_lines(buf, 3, 4, false, { "# now a comment" })
  H.wait(10000, function()
    return #vim.diagnostic.get(buf) == 0
  end, "the diagnostic to clear after the fix")
  H.log("cleared after editing line 4")

  -- Break it again elsewhere: a new diagnostic on the new line.
  vim.api.nvim_buf_set_lines(buf, 5, 6, false, { "?? 1" })
  local again = H.wait(10000, function()
    local dd = vim.diagnostic.get(buf)
    return #dd > 0 and dd
  end, "a diagnostic for the new bad line")
  H.eq(5, again[1].lnum, "line of the new diagnostic")
  H.log("new diagnostic: line %d: %s", again[1].lnum, again[1].message)
end)
