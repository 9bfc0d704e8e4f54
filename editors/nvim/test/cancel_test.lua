-- :CmdtCancel stops a long run: the server kills the command and answers
-- the run with a `cancelled` outcome long before the command would end.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

H.run("cancel a long run", function()
  local cmdt = require("cmdt")
  cmdt.setup({ cmd = { vim.env.CMDT_LSP } })

  local path = ws .. "/slow.cmdt"
  vim.fn.writefile({ "$ sleep 30", "$ echo never", "1 never" }, path)
  local buf = H.edit(path)
  H.wait_client(buf)

  local result, err
  local t0 = (vim.uv or vim.loop).hrtime()
  cmdt.run(buf, function(e, r)
    err, result = e, r
  end)
  vim.wait(500) -- let `sleep 30` start
  H.eq("cmdt.run", cmdt.running(buf), "the run is in flight")
  vim.cmd("CmdtCancel")
  H.wait(10000, function()
    return result or err
  end, "the cancelled run to be answered")
  local secs = ((vim.uv or vim.loop).hrtime() - t0) / 1e9
  H.log("run answered after %.2fs: %s", secs, vim.inspect(result or err))
  H.ok(err == nil, "run answered with an error: " .. vim.inspect(err))
  H.eq("cancelled", result.status, "run status")
  H.ok(secs < 10, "the run was not cancelled early (took " .. secs .. " s)")
  H.eq(nil, cmdt.running(buf), "nothing in flight after the cancel")
end)
