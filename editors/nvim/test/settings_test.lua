-- Server settings reach the server (initializationOptions), and
-- :CmdtRestart starts a new server that picks up changed settings.
-- Uses the server's `shellSyntax` setting: a command that is not valid
-- shell is reported unless it is turned off.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

H.run("settings and :CmdtRestart", function()
  local cmdt = require("cmdt")
  cmdt.setup({ cmd = { vim.env.CMDT_LSP } })

  local path = ws .. "/shell.cmdt"
  vim.fn.writefile({ "$ echo (", "? 2" }, path)
  local buf = H.edit(path)
  local first = H.wait_client(buf)

  local diags = H.wait(10000, function()
    local d = vim.diagnostic.get(buf)
    return #d > 0 and d
  end, "a shell syntax diagnostic with default settings")
  H.log("default settings:\n%s", H.describe_diagnostics(diags))
  H.eq(0, diags[1].lnum, "line of the shell syntax diagnostic")

  -- Turn the check off and restart.
  cmdt.setup({ cmd = { vim.env.CMDT_LSP }, settings = { shellSyntax = false } })
  vim.cmd("CmdtRestart")
  local second = H.wait(10000, function()
    local c = cmdt.client(buf)
    return c and c.id ~= first.id and c.server_capabilities and c
  end, "a new client after :CmdtRestart")
  H.eq(nil, vim.lsp.get_client_by_id(first.id), "the old client is gone")
  H.eq({ shellSyntax = false }, second.config.init_options, "init_options sent")
  H.log("restarted: client %d -> %d", first.id, second.id)

  -- Prove the new server analyses the buffer: add a bad opcode line and
  -- wait for its diagnostic; the shell one must not come back.
  vim.api.nvim_buf_set_lines(buf, -1, -1, false, { "x bad" })
  local after = H.wait(10000, function()
    local d = vim.diagnostic.get(buf)
    return #d > 0 and d
  end, "the new server's diagnostics")
  vim.wait(300)
  after = vim.diagnostic.get(buf)
  H.log("shellSyntax = false:\n%s", H.describe_diagnostics(after))
  H.eq(1, #after, "number of diagnostics with shellSyntax = false")
  H.eq(2, after[1].lnum, "the remaining diagnostic is the bad opcode line")
  H.eq(1, #require("cmdt.compat").get_clients("cmdt"), "number of cmdt clients after restart")
end)
