-- Root directory of a transcript, as the server and `go test` see it.
--
-- The format spec (section 3, "The module root") defines it as the nearest
-- directory at or above the file holding go.mod, else the nearest holding
-- .git, else the file's own directory. One language-server client is run per
-- root, so transcripts of one module share a server (and its caches).
--
-- Written against vim.loop only (vim.fs is 0.8+) so it works on Neovim 0.7.
local M = {}

local uv = vim.uv or vim.loop

-- Default markers, in priority order: each one is searched all the way up
-- before the next is tried (go.mod beats a nearer .git, as in the spec).
M.default_markers = { "go.mod", ".git" }

local function parent(dir)
  local p = vim.fn.fnamemodify(dir, ":h")
  if p == dir then
    return nil
  end
  return p
end

-- Walks up from dir looking for name (a file or a directory: .git is a file
-- in worktrees and submodules).
local function find_up(dir, name)
  while dir do
    if uv.fs_stat(dir .. "/" .. name) then
      return dir
    end
    dir = parent(dir)
  end
  return nil
end

--- Returns the root directory for a file path (absolute or relative).
---@param path string
---@param markers string[]|nil  defaults to M.default_markers
---@return string
function M.find(path, markers)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  for _, marker in ipairs(markers or M.default_markers) do
    local root = find_up(dir, marker)
    if root then
      return root
    end
  end
  return dir
end

return M
