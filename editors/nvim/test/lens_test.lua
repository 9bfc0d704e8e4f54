-- Code lenses: the `▶ Run` lens runs the transcript (through
-- vim.lsp.codelens.run(), the function users map), the failure shows on the
-- `$` line, the `✓ Accept actual output` lens then rewrites the
-- expectation, and after saving, running again passes.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

local function lens_titles(buf)
  local out = {}
  for _, l in ipairs(vim.lsp.codelens.get(buf)) do
    if l.command then
      table.insert(out, string.format("%d: %s", l.range.start.line, l.command.title))
    end
  end
  table.sort(out)
  return out
end

-- A lens title is the name, optionally followed by " · <cache status>".
local function is_title(title, name)
  return title == name or vim.startswith(title, name .. " · ")
end

local function find_lens(buf, name)
  for _, l in ipairs(vim.lsp.codelens.get(buf)) do
    if l.command and is_title(l.command.title, name) then
      return l
    end
  end
  return nil
end

local function has_failure(buf, lnum)
  for _, d in ipairs(vim.diagnostic.get(buf, { lnum = lnum })) do
    if d.message:find("-1 goodbye", 1, true) and d.message:find("+1 hello", 1, true) then
      return d
    end
  end
  return nil
end

-- Runs the lens called name the way a user does: cursor
-- on its line, vim.lsp.codelens.run(). With several lenses on the line,
-- Neovim asks with vim.ui.select; answer it like the user picking the item.
local function run_lens(buf, name)
  local lens = H.wait(10000, function()
    return find_lens(buf, name)
  end, function()
    return "a lens titled " .. name .. " (have: " .. table.concat(lens_titles(buf), " | ") .. ")"
  end)
  vim.api.nvim_win_set_cursor(0, { lens.range.start.line + 1, 0 })
  local select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    for i, item in ipairs(items) do
      if is_title(opts.format_item(item), name) then
        return on_choice(item, i)
      end
    end
    on_choice(nil, nil)
  end
  vim.lsp.codelens.run()
  vim.ui.select = select
  return lens
end

H.run("code lenses: run, accept", function()
  require("cmdt").setup({ cmd = { vim.env.CMDT_LSP } })

  local path = ws .. "/lens.cmdt"
  vim.fn.writefile({ "# expects goodbye", "$ echo hello", "1 goodbye" }, path)
  local buf = H.edit(path)
  local client = H.wait_client(buf)
  H.ok(client.server_capabilities.codeLensProvider, "the server does not offer code lenses (codeLensProvider)")

  H.wait(10000, function()
    return find_lens(buf, "▶ Run")
  end, "the ▶ Run lens after attach")
  H.log("lenses on open: %s", table.concat(lens_titles(buf), " | "))
  H.ok(find_lens(buf, "↻ Update"), "an ↻ Update lens")
  H.ok(find_lens(buf, "▶ Run (ignore cache)"), "a ▶ Run (ignore cache) lens")
  -- Lenses are shown as virtual text (extmarks) in the buffer.
  local marks = 0
  for _, ns in pairs(vim.api.nvim_get_namespaces()) do
    marks = marks + #vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, {})
  end
  H.ok(marks > 0, "lenses displayed as virtual text")

  local lens = run_lens(buf, "▶ Run")
  H.log("ran lens %q on line %d", lens.command.title, lens.range.start.line + 1)
  local d = H.wait(60000, function()
    return has_failure(buf, 1)
  end, "the failure diagnostic with the diff on the `$` line (line 2)")
  H.log("failure: %s", d.message:gsub("\n", "\\n"))

  -- The lenses are refreshed after the run: now there is an accept lens.
  local accept = run_lens(buf, "✓ Accept actual output")
  H.log("ran lens %q on line %d; lenses: %s", accept.command.title, accept.range.start.line + 1, table.concat(lens_titles(buf), " | "))
  H.wait(60000, function()
    return vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1] == "1 hello"
  end, "the accepted output in the buffer (line 3 becomes `1 hello`)")

  H.wait(10000, function()
    return has_failure(buf, 1) == nil and find_lens(buf, "✓ Accept actual output") == nil
  end, "the failure and the accept lens to go away after accepting")

  -- Save and run the lens again: it passes and the refreshed first lens
  -- says so ("cached ✓ just now": a passing run is recorded in the cache).
  vim.cmd("silent write")
  run_lens(buf, "▶ Run")
  H.wait(60000, function()
    local run = find_lens(buf, "▶ Run")
    return run and run.command.title:find("cached ✓", 1, true)
  end, function()
    return "the ▶ Run lens to say `cached ✓` after the passing run (have: " .. table.concat(lens_titles(buf), " | ") .. ")"
  end)
  H.eq(nil, has_failure(buf, 1), "failure after the passing run")
  H.log("passes after accepting; lenses: %s", table.concat(lens_titles(buf), " | "))
end)
