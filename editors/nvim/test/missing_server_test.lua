-- A missing server binary gives one clear message with the install command,
-- no Lua error, and buffers still get their filetype and colours.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

H.run("missing server binary", function()
  local messages = {}
  local notify = vim.notify
  vim.notify = function(msg, level, opts)
    table.insert(messages, { msg = msg, level = level })
    return notify(msg, level, opts)
  end

  require("cmdt").setup({ cmd = { ws .. "/no/such/cmdt-lsp" } })
  vim.cmd("syntax on")
  for _, name in ipairs({ "a.cmdt", "b.cmdt", "cmdt.deps" }) do
    vim.fn.writefile({ "# x" }, ws .. "/" .. name)
    H.edit(ws .. "/" .. name)
  end
  H.eq("cmdtdeps", vim.bo.filetype, "filetype still detected")
  H.eq("cmdtdeps", vim.b.current_syntax, "syntax still loaded")
  vim.wait(200)

  vim.notify = notify
  H.eq(1, #messages, "number of messages for 3 buffers (" .. vim.inspect(messages) .. ")")
  H.eq(vim.log.levels.ERROR, messages[1].level, "message level")
  H.contains(messages[1].msg, "go install github.com/cmdt-dev/cmdt/cmd/cmdt-lsp@latest", "message")
  H.contains(messages[1].msg, "no/such/cmdt-lsp", "message names the configured command")
  H.eq(0, #require("cmdt.compat").get_clients("cmdt"), "no client started")
  H.log("message: %s", messages[1].msg)

  -- :CmdtRun without a server explains instead of failing.
  messages = {}
  vim.notify = function(msg, level)
    table.insert(messages, { msg = msg, level = level })
  end
  vim.cmd("CmdtRun")
  vim.notify = notify
  H.eq(1, #messages, "messages from :CmdtRun")
  H.contains(messages[1].msg, "no cmdt language server attached", ":CmdtRun message")
end)
