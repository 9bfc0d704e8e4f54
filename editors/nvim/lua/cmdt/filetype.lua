-- Filetype detection for transcripts and depfiles.
--
--   *.cmdt                     -> filetype "cmdt"      (a transcript)
--   *.cmdtdeps, cmdt.deps      -> filetype "cmdtdeps"  (a depfile, spec section 4)
--
-- ftdetect/cmdt.vim covers users who have `:filetype on` but never call
-- setup() (colours only). setup() calls register() as well, because
-- ftdetect/ scripts are only sourced by `:filetype on`, which `nvim -u NONE`
-- and lazy-loading plugin managers may never (re)run after the plugin is
-- added to 'runtimepath'.
local M = {}

M.transcript = "cmdt"
M.depfile = "cmdtdeps"

-- The server's language ids (lsp/documents.go). The server also classifies
-- by file name; sending its own ids makes a depfile with another name (set
-- by hand to filetype cmdtdeps) count as a depfile too.
local language_ids = { cmdt = "cmdt", cmdtdeps = "cmdt-deps" }

--- LSP languageId for a Neovim filetype.
function M.language_id(ft)
  return language_ids[ft] or ft
end

--- Filetype for a file name by the naming convention, or nil.
---@param name string
---@return string|nil
function M.detect(name)
  local base = vim.fn.fnamemodify(name, ":t")
  if base:match("%.cmdt$") then
    return M.transcript
  end
  if base:match("%.cmdtdeps$") or base == "cmdt.deps" then
    return M.depfile
  end
  return nil
end

local registered = false

--- Registers detection once. Safe to call again.
function M.register()
  if registered then
    return
  end
  registered = true

  -- 0.8+ detects with filetype.lua: the table form is all it needs. (0.7
  -- has vim.filetype.add too but only consults it with g:do_filetype_lua.)
  if vim.filetype and vim.filetype.add then
    vim.filetype.add({
      extension = { cmdt = M.transcript, cmdtdeps = M.depfile },
      filename = { ["cmdt.deps"] = M.depfile },
    })
  end

  -- Works on every version, with or without `:filetype on`. :setfiletype
  -- does not override a filetype chosen earlier in the same event, but does
  -- override filetype.vim's "FALLBACK conf" guess for files starting with #.
  local group = vim.api.nvim_create_augroup("cmdt_filetype", { clear = true })
  vim.api.nvim_create_autocmd({ "BufNewFile", "BufRead" }, {
    group = group,
    pattern = { "*.cmdt", "*.cmdtdeps", "cmdt.deps" },
    callback = function(args)
      local ft = M.detect(args.file ~= "" and args.file or args.match)
      if ft then
        vim.api.nvim_buf_call(args.buf, function()
          vim.cmd("setfiletype " .. ft)
        end)
      end
    end,
  })
end

return M
