-- Feature detection across Neovim versions.
--
-- The plugin targets Neovim 0.7 (Debian bookworm) and newer. Each helper
-- uses the newest API that is present and falls back to the 0.7 one, so
-- callers never branch on versions themselves:
--
--   API                         new                          0.7 fallback
--   start a client              vim.lsp.start (0.8)          start_client + buf_attach_client
--   list clients                vim.lsp.get_clients (0.10)   get_active_clients + buf_is_attached
--   client methods              client:request (0.11)        client.request
--   refresh lenses of a buffer  codelens.refresh{bufnr} (0.10)  refresh() inside nvim_buf_call
--   inlay hints                 vim.lsp.inlay_hint (0.10)    none
local M = {}

local has_011 = vim.fn.has("nvim-0.11") == 1

--- Calls a client method: `client:name(...)` on 0.11+ (the dot form is
--- deprecated there), `client.name(...)` before (methods were closures).
function M.client_call(client, name, ...)
  if has_011 then
    return client[name](client, ...)
  end
  return client[name](...)
end

--- Clients called `name`, optionally only those attached to bufnr.
---@return table[]
function M.get_clients(name, bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = name, bufnr = bufnr })
  end
  local out = {}
  for _, client in pairs(vim.lsp.get_active_clients()) do
    if client.name == name and (bufnr == nil or vim.lsp.buf_is_attached(bufnr, client.id)) then
      table.insert(out, client)
    end
  end
  return out
end

--- Buffers a client is attached to.
---@return integer[]
function M.client_buffers(client)
  if client.attached_buffers then -- 0.8+: a set bufnr -> true
    local out = {}
    for bufnr in pairs(client.attached_buffers) do
      table.insert(out, bufnr)
    end
    return out
  end
  return vim.lsp.get_buffers_by_client_id(client.id)
end

--- True when the server advertised code lenses.
function M.supports_codelens(client)
  return client.server_capabilities ~= nil and client.server_capabilities.codeLensProvider ~= nil
end

--- Asks for a buffer's code lenses again. Before 0.10, refresh() works on
--- the current buffer only (and ignores its argument), hence nvim_buf_call.
function M.refresh_codelens(bufnr)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  vim.api.nvim_buf_call(bufnr, function()
    vim.lsp.codelens.refresh({ bufnr = bufnr })
  end)
end

--- Turns on inlay hints for a buffer where this Neovim has them (0.10+).
--- Returns true if it could.
function M.enable_inlay_hints(bufnr)
  local ih = vim.lsp.inlay_hint
  if type(ih) == "table" and type(ih.enable) == "function" then
    -- 0.10.0+: enable(true, { bufnr = n }); some 0.10 pre-releases took
    -- enable(bufnr, true). Try the released form first.
    if pcall(ih.enable, true, { bufnr = bufnr }) then
      return true
    end
    return (pcall(ih.enable, bufnr, true))
  elseif type(ih) == "function" then -- 0.10 pre-release: inlay_hint(bufnr, enable)
    return (pcall(ih, bufnr, true))
  end
  return false
end

-- 0.7 fallback for vim.lsp.start: one client per (name, root_dir).
local started = {} -- "name\0root" -> client id

--- Starts (or reuses) a client for config.root_dir and attaches bufnr.
--- Returns the client id, or nil when the client could not start.
function M.start(config, bufnr)
  if vim.lsp.start then
    -- Reuses a running client with the same name and root_dir.
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  local key = config.name .. "\0" .. config.root_dir
  local id = started[key]
  -- Not vim.lsp.client_is_stopped(): on 0.7 it is true for a client that is
  -- still initializing, and every buffer opened meanwhile would start a new
  -- server. get_client_by_id() also knows initializing clients.
  local running = id and vim.lsp.get_client_by_id(id)
  if not (running and not running.is_stopped()) then
    local on_exit = config.on_exit
    config.on_exit = function(code, signal, client_id)
      if started[key] == client_id then
        started[key] = nil
      end
      if on_exit then
        on_exit(code, signal, client_id)
      end
    end
    id = vim.lsp.start_client(config)
    if not id then
      return nil
    end
    started[key] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

return M
