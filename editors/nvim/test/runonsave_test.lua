-- With the server's runOnSave setting, :write runs the transcript; the
-- lenses then change without any client-side trigger, only because the
-- server sends workspace/codeLens/refresh, which the plugin handles (Neovim
-- 0.7 has no handler of its own) after advertising refreshSupport.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

local function run_lens_title(buf)
  for _, l in ipairs(vim.lsp.codelens.get(buf)) do
    if l.command and vim.startswith(l.command.title, "▶ Run") and not l.command.title:find("ignore cache", 1, true) then
      return l.command.title
    end
  end
  return nil
end

H.run("runOnSave and server-requested lens refresh", function()
  local cmdt = require("cmdt")
  cmdt.setup({ cmd = { vim.env.CMDT_LSP }, settings = { runOnSave = true } })

  local path = ws .. "/onsave.cmdt"
  vim.fn.writefile({ "$ echo hello", "1 goodbye" }, path)
  local buf = H.edit(path)
  local client = H.wait_client(buf)
  H.eq(true, client.config.capabilities.workspace.codeLens.refreshSupport, "refreshSupport advertised")

  H.wait(10000, function()
    return run_lens_title(buf) == "▶ Run · not run yet"
  end, "the initial ▶ Run lens")

  -- Count the server's refresh requests by wrapping the client's handler.
  local refreshes = 0
  local handler = client.handlers["workspace/codeLens/refresh"]
  client.handlers["workspace/codeLens/refresh"] = function(...)
    refreshes = refreshes + 1
    return handler(...)
  end

  -- Drop the plugin's own refresh autocmds (BufWritePost would refresh
  -- too): from here on only the server's request can update the lenses.
  vim.api.nvim_del_augroup_by_name("cmdt_codelens_" .. buf)

  vim.cmd("silent write")
  H.wait(30000, function()
    return #vim.diagnostic.get(buf, { lnum = 0 }) > 0
  end, "the failure diagnostic from the run on save")
  local title = H.wait(10000, function()
    local t = run_lens_title(buf)
    return t and t:find("failed", 1, true) and t
  end, function()
    return "the ▶ Run lens to show the failed run (have " .. tostring(run_lens_title(buf)) .. ")"
  end)
  H.log("after :write: lens %q, %d server refresh request(s)", title, refreshes)
  H.ok(refreshes > 0, "the server asked for a lens refresh")
end)
