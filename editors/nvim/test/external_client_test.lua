-- setup({ autostart = false }) with the server started by someone else
-- (what nvim-lspconfig does on 0.7: start_client + buf_attach_client with a
-- client named "cmdt"): the plugin starts nothing itself, and its commands
-- and on_attach work with that client.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

H.run("autostart = false with an externally started client", function()
  local cmdt = require("cmdt")
  cmdt.setup({ autostart = false })

  local path = ws .. "/ext.cmdt"
  vim.fn.writefile({ "$ true", "x bad" }, path)
  local buf = H.edit(path)
  H.eq("cmdt", vim.bo[buf].filetype, "filetype with autostart = false")
  vim.wait(300)
  H.eq(0, #require("cmdt.compat").get_clients("cmdt"), "clients started by the plugin")

  local attached = {}
  local id = vim.lsp.start_client({
    name = "cmdt",
    cmd = { vim.env.CMDT_LSP },
    root_dir = ws,
    on_attach = function(client, bufnr)
      attached[bufnr] = true
      cmdt.on_attach(client, bufnr)
    end,
  })
  vim.lsp.buf_attach_client(buf, id)
  H.wait(10000, function()
    return attached[buf]
  end, "on_attach")
  H.eq(id, cmdt.client(buf).id, "require('cmdt').client() finds the external client")
  H.wait(10000, function()
    return #vim.diagnostic.get(buf) > 0
  end, "diagnostics from the external client")

  -- :CmdtStatus goes to that client and gets an answer.
  local messages = {}
  local notify = vim.notify
  vim.notify = function(msg, level)
    table.insert(messages, msg)
  end
  vim.cmd("CmdtStatus")
  H.wait(10000, function()
    return #messages > 0
  end, "the :CmdtStatus answer")
  vim.notify = notify
  H.log(":CmdtStatus -> %s", messages[1])
  H.ok(not messages[1]:find("failed", 1, true), ":CmdtStatus failed: " .. messages[1])
end)
