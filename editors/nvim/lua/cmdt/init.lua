-- cmdt.nvim: Neovim client for cmdt-lsp, the language server for `.cmdt`
-- CLI transcripts and their depfiles.
--
-- Everything clever lives in the server (diagnostics, lenses, hints, quick
-- fixes, run/update). This module only:
--   * detects the filetypes (lua/cmdt/filetype.lua),
--   * starts one server per module root for cmdt/cmdtdeps buffers,
--   * maps :CmdtRun, :CmdtRunNoCache, :CmdtUpdate, :CmdtAccept, :CmdtCancel to
--     the server's commands (plus :CmdtStatus, :CmdtRestart, and :CmdtWatch in
--     lua/cmdt/watch.lua),
--   * keeps code lenses fresh and turns on inlay hints where Neovim has them.
--
-- It works on Neovim 0.7 and newer; version differences are confined to
-- lua/cmdt/compat.lua. Nothing is global except the user commands and
-- augroups named Cmdt*/cmdt*.
--
--   require("cmdt").setup({ cmd = { "cmdt-lsp" } })
local compat = require("cmdt.compat")
local filetype = require("cmdt.filetype")
local rootmod = require("cmdt.root")

local M = {}

local levels = vim.log.levels

-- The install command shown when the server is missing (same as the VS Code
-- extension's message).
M.install_command = "go install github.com/cmdt-dev/cmdt/cmd/cmdt-lsp@latest"

-- Server commands (workspace/executeCommand), taking [uri] (accept: [uri,
-- line]). See docs/lsp.md, "Running transcripts".
M.commands = {
  run = "cmdt.run",
  run_no_cache = "cmdt.runNoCache",
  update = "cmdt.update",
  accept = "cmdt.accept",
  cancel = "cmdt.cancel",
}

local defaults = {
  -- Command line that starts the server on stdio.
  cmd = { "cmdt-lsp" },
  -- Environment for the server process (e.g. { CMDT_CACHE_DIR = "..." }).
  cmd_env = nil,
  -- Filetypes the server is started for.
  filetypes = { filetype.transcript, filetype.depfile },
  -- Root markers in priority order (see lua/cmdt/root.lua).
  root_markers = rootmod.default_markers,
  -- Server settings: sent as initializationOptions and answered to
  -- workspace/configuration requests for the "cmdt" section.
  settings = {},
  -- Refresh code lenses on attach, BufEnter, InsertLeave, BufWritePost and
  -- after each run/update.
  codelens = true,
  -- Enable inlay hints on attach (Neovim 0.10+ only; ignored before).
  inlay_hints = true,
  -- Extra client capabilities, deep-merged over Neovim's defaults.
  capabilities = nil,
  -- function(client, bufnr) called after the plugin's own attach logic:
  -- the place for buffer-local mappings.
  on_attach = nil,
  -- Start the server for cmdt buffers. false: something else starts it
  -- (nvim-lspconfig); the commands still work with any client named
  -- "cmdt", and require("cmdt").on_attach can be its on_attach.
  autostart = true,
}

M.config = vim.deepcopy(defaults)

local function notify(msg, level)
  vim.notify("cmdt: " .. msg, level or levels.INFO)
end

-- Reported once per session: a missing binary would otherwise complain for
-- every buffer opened.
local missing_reported = false

local function server_available(cmd)
  if vim.fn.executable(cmd[1]) == 1 then
    return true
  end
  if not missing_reported then
    missing_reported = true
    notify(
      string.format(
        "language server %q not found (not executable / not on PATH). Install it with `%s`, "
          .. "or pass its path: require('cmdt').setup({ cmd = { '/path/to/cmdt-lsp' } })",
        cmd[1],
        M.install_command
      ),
      levels.ERROR
    )
  end
  return false
end

--- The cmdt client attached to bufnr (0 = current), or nil.
function M.client(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  return compat.get_clients("cmdt", bufnr)[1]
end

--- Re-requests code lenses for bufnr if the server provides them.
function M.refresh_codelens(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  local client = M.client(bufnr)
  -- Before 0.10, refreshing against a server without codeLensProvider shows
  -- an error and blocks later refreshes of the buffer: ask only when offered.
  if client and compat.supports_codelens(client) then
    compat.refresh_codelens(bufnr)
  end
end

-- workspace/codeLens/refresh (server -> client): lenses changed, e.g. after
-- a run started from another buffer or a cache status change. Our own
-- handler so it works on versions that lack one; we advertise the
-- capability in make_config().
local function codelens_refresh_handler(_, _, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if client then
    for _, bufnr in ipairs(compat.client_buffers(client)) do
      M.refresh_codelens(bufnr)
    end
  end
  return vim.NIL
end

--- Per-buffer setup once a cmdt client is attached: lens refreshes, inlay
--- hints, then the user's on_attach. Public so that a client started by
--- other means (nvim-lspconfig) can use it as its on_attach.
function M.on_attach(client, bufnr)
  local cfg = M.config
  if cfg.codelens then
    local group = vim.api.nvim_create_augroup("cmdt_codelens_" .. bufnr, { clear = true })
    vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "BufWritePost" }, {
      group = group,
      buffer = bufnr,
      callback = function()
        M.refresh_codelens(bufnr)
      end,
    })
    M.refresh_codelens(bufnr)
  end
  local caps = client.server_capabilities or {}
  if cfg.inlay_hints and caps.inlayHintProvider then
    compat.enable_inlay_hints(bufnr)
  end
  if cfg.on_attach then
    cfg.on_attach(client, bufnr)
  end
end

local function make_config(root)
  local cfg = M.config
  local capabilities = vim.lsp.protocol.make_client_capabilities()
  capabilities.workspace = capabilities.workspace or {}
  capabilities.workspace.codeLens = { refreshSupport = true }
  if cfg.capabilities then
    capabilities = vim.tbl_deep_extend("force", capabilities, cfg.capabilities)
  end
  local has_settings = next(cfg.settings or {}) ~= nil
  return {
    name = "cmdt",
    cmd = cfg.cmd,
    cmd_env = cfg.cmd_env,
    root_dir = root,
    capabilities = capabilities,
    -- An empty Lua table would be sent as [], which is not an object.
    init_options = has_settings and cfg.settings or nil,
    settings = { cmdt = cfg.settings },
    get_language_id = function(_, ft)
      return filetype.language_id(ft)
    end,
    handlers = { ["workspace/codeLens/refresh"] = codelens_refresh_handler },
    on_attach = M.on_attach,
  }
end

--- Starts or reuses the server for bufnr's root and attaches the buffer.
--- Called from the FileType autocmd; callable by hand.
---@return integer|nil client id
function M.attach(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  -- The server works on files: skip scratch/help/terminal buffers and
  -- unnamed ones (no URI to send).
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  if not server_available(M.config.cmd) then
    return nil
  end
  local root = rootmod.find(name, M.config.root_markers)
  local id = compat.start(make_config(root), bufnr)
  if not id then
    notify("could not start " .. table.concat(M.config.cmd, " "), levels.ERROR)
  end
  return id
end

-- Commands in flight per buffer (bufnr -> { [request key] = command }), for
-- M.running() (statuslines, tests).
local in_flight = {}

--- Name of a server command this plugin sent for bufnr that has not been
--- answered yet (run, update, accept answer when the work is over), or nil.
function M.running(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  for _, command in pairs(in_flight[bufnr] or {}) do
    return command
  end
  return nil
end

--- Sends workspace/executeCommand `command` with arguments
--- { uri of bufnr, unpack(extra_args) }. The server answers when the work is
--- over, with { status, text, ... } (docs/lsp.md); callback(err, result)
--- runs then, after the buffer's lenses were asked for again. Failures
--- arrive as diagnostics (textDocument/publishDiagnostics) and update or
--- accept edits as workspace/applyEdit (Neovim's built-in handler), both
--- before the answer.
function M.execute(command, bufnr, callback, extra_args)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  local client = M.client(bufnr)
  if not client then
    local msg = "no cmdt language server attached to this buffer (is it a .cmdt file, and is the server running? :set ft?)"
    notify(msg, levels.WARN)
    if callback then
      callback({ message = msg }, nil)
    end
    return false
  end
  local file = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ":t")
  local arguments = { vim.uri_from_bufnr(bufnr) }
  vim.list_extend(arguments, extra_args or {})

  local key = {}
  in_flight[bufnr] = in_flight[bufnr] or {}
  in_flight[bufnr][key] = command
  -- Runs can take a while; say that something is happening. (The server
  -- also reports $/progress, which statusline plugins can show.)
  vim.api.nvim_echo({ { string.format("cmdt: %s %s ...", command, file) } }, false, {})

  local params = { command = command, arguments = arguments }
  compat.client_call(client, "request", "workspace/executeCommand", params, function(err, result)
    in_flight[bufnr][key] = nil
    if err then
      notify(string.format("%s %s: %s", command, file, err.message or vim.inspect(err)), levels.ERROR)
    else
      -- result.text is the server's one-line summary ("failed: 1 of 3
      -- commands", "cached ✓ 3 min ago").
      local summary = type(result) == "table" and (result.text ~= "" and result.text or result.status) or "done"
      vim.api.nvim_echo({ { string.format("cmdt: %s: %s", file, summary or "done") } }, false, {})
    end
    M.refresh_codelens(bufnr)
    if callback then
      callback(err, result)
    end
  end, bufnr)
  return true
end

--- Runs the transcript in bufnr (0 = current) and reports failures as
--- diagnostics on the `$` lines. Uses the result cache: a fresh transcript
--- does not run again.
function M.run(bufnr, callback)
  return M.execute(M.commands.run, bufnr, callback)
end

--- Like run(), ignoring the result cache.
function M.run_no_cache(bufnr, callback)
  return M.execute(M.commands.run_no_cache, bufnr, callback)
end

--- Re-runs every command and rewrites the expectations in the buffer (an
--- edit the server sends with workspace/applyEdit: undoable, not saved).
function M.update(bufnr, callback)
  return M.execute(M.commands.update, bufnr, callback)
end

--- Replaces the expectations of the command on (1-based) line lnum (any
--- line of its block; default: the cursor line) with its actual output in
--- the last run. A buffer edit, like update().
function M.accept(bufnr, lnum, callback)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  lnum = lnum or vim.api.nvim_win_get_cursor(0)[1]
  return M.execute(M.commands.accept, bufnr, callback, { lnum - 1 })
end

--- Cancels the run or update going on for the buffer.
function M.cancel(bufnr, callback)
  return M.execute(M.commands.cancel, bufnr, callback)
end

--- Shows the transcript's run/cache status (the server's cmdt/status).
function M.status(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  local client = M.client(bufnr)
  if not client then
    notify("no cmdt language server attached to this buffer", levels.WARN)
    return
  end
  local params = { uri = vim.uri_from_bufnr(bufnr) }
  compat.client_call(client, "request", "cmdt/status", params, function(err, result)
    if err then
      notify("status failed: " .. (err.message or vim.inspect(err)), levels.ERROR)
    elseif result then
      local text = result.text ~= nil and result.text ~= "" and (" - " .. result.text) or ""
      notify((result.status or "?") .. text)
    end
  end, bufnr)
end

--- Stops every cmdt client and starts fresh ones for the open cmdt buffers.
function M.restart()
  if not M.config.autostart then
    -- The client belongs to whoever started it (nvim-lspconfig: :LspRestart).
    notify("autostart is off: restart the server where it was started (e.g. :LspRestart)", levels.WARN)
    return
  end
  local clients = compat.get_clients("cmdt")
  for _, client in ipairs(clients) do
    compat.client_call(client, "stop")
  end
  local uv = vim.uv or vim.loop
  local deadline = uv.now() + 5000
  local function reattach()
    for _, client in ipairs(clients) do
      -- Gone from the registry once its on_exit ran: only then does a new
      -- attach start a new process instead of reusing the dying client.
      local gone = vim.lsp.get_client_by_id(client.id) == nil
      if not gone and uv.now() < deadline then
        vim.defer_fn(reattach, 50)
        return
      end
    end
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
        M.attach(bufnr)
      end
    end
  end
  reattach()
end

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("CmdtRun", function()
    M.run(0)
  end, { desc = "cmdt: run the transcript in this buffer" })
  cmd("CmdtRunNoCache", function()
    M.run_no_cache(0)
  end, { desc = "cmdt: run the transcript, ignoring the result cache" })
  cmd("CmdtUpdate", function()
    M.update(0)
  end, { desc = "cmdt: re-run and rewrite the expected output in this buffer" })
  cmd("CmdtAccept", function(opts)
    M.accept(0, opts.line1)
  end, { range = true, desc = "cmdt: accept the actual output of the command at the cursor" })
  cmd("CmdtCancel", function()
    M.cancel(0)
  end, { desc = "cmdt: cancel the run or update going on" })
  cmd("CmdtStatus", function()
    M.status(0)
  end, { desc = "cmdt: show the transcript's cache/run status" })
  cmd("CmdtRestart", function()
    M.restart()
  end, { desc = "cmdt: restart the language server(s)" })
  cmd("CmdtWatch", function()
    require("cmdt.watch").start(0)
  end, { desc = "cmdt: re-run what each file change makes stale; failures in the quickfix list" })
  cmd("CmdtWatchStop", function()
    require("cmdt.watch").stop()
  end, { desc = "cmdt: stop :CmdtWatch" })
end

--- Configures the plugin. Safe to call more than once (the last call wins).
---@param opts table|nil see `defaults` above and :help cmdt-setup
function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  -- Lists are replaced, not merged index by index.
  if opts and opts.cmd then
    M.config.cmd = opts.cmd
  end
  if opts and opts.filetypes then
    M.config.filetypes = opts.filetypes
  end
  if opts and opts.root_markers then
    M.config.root_markers = opts.root_markers
  end
  if type(M.config.cmd) == "string" then
    M.config.cmd = { M.config.cmd }
  end
  missing_reported = false

  filetype.register()
  create_commands()

  local group = vim.api.nvim_create_augroup("cmdt", { clear = true })
  if not M.config.autostart then
    return
  end
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })

  -- Buffers loaded before setup() ran (nvim foo.cmdt with a lazy-loaded
  -- plugin): detect and attach them now.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      local ft = vim.bo[bufnr].filetype
      if ft == "" then
        local detected = filetype.detect(vim.api.nvim_buf_get_name(bufnr))
        if detected then
          vim.bo[bufnr].filetype = detected -- fires FileType -> attach
        end
      elseif vim.tbl_contains(M.config.filetypes, ft) then
        M.attach(bufnr)
      end
    end
  end
end

return M
