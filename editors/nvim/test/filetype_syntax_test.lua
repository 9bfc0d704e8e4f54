-- Filetype detection, syntax groups and root detection, with `-u NONE`
-- (no :filetype on): setup() alone must make *.cmdt / *.cmdtdeps / cmdt.deps
-- buffers get their filetypes, and start the server for them.
local H = dofile(vim.env.CMDT_NVIM_TEST_DIR .. "/helpers.lua")
local ws = vim.env.CMDT_TEST_WORKSPACE

local function write(path, lines)
  vim.fn.mkdir(vim.fn.fnamemodify(path, ":h"), "p")
  vim.fn.writefile(lines, path)
end

local function syn_at(lnum, col)
  return vim.fn.synIDattr(vim.fn.synID(lnum, col, 1), "name")
end

H.run("filetype, syntax and root detection", function()
  -- Open a transcript BEFORE setup(): setup() must pick up loaded buffers.
  write(ws .. "/ft/early.cmdt", { "$ true" })
  local early = H.edit(ws .. "/ft/early.cmdt")
  H.eq("", vim.bo[early].filetype, "filetype before setup (-u NONE has no detection)")

  require("cmdt").setup({ cmd = { vim.env.CMDT_LSP } })
  vim.cmd("syntax on") -- what any real config has; -u NONE does not

  H.eq("cmdt", vim.bo[early].filetype, "filetype of a buffer loaded before setup()")

  write(ws .. "/ft/sub/a.cmdt", {
    "# comment",
    "$ echo $HOME 'x'",
    "> continued",
    "1 out",
    "2 err",
    "1< out.txt",
    "? 3",
    "% dep file data.txt",
    "% depfile cmdt.deps",
    "bogus",
    "1* a [..] [ROOT] \\[..]",
    "2* ...",
    "1~ go\\d+",
    "% subst VER regexp v[0-9]+",
    "% subst USER value $LOGNAME",
  })
  write(ws .. "/ft/sub/cmdt.deps", { "# c", "file a b", "env GOFLAGS", "$HOME", "some/path" })
  write(ws .. "/ft/sub/x.cmdtdeps", { "glob src/**" })

  local a = H.edit(ws .. "/ft/sub/a.cmdt")
  H.eq("cmdt", vim.bo[a].filetype, "filetype of a.cmdt")
  H.eq("cmdt", vim.b.current_syntax, "syntax of a.cmdt")
  local want = {
    { 1, 1, "cmdtComment" },
    { 2, 1, "cmdtCommandOp" },
    { 2, 3, "cmdtCommand" },
    { 2, 8, "cmdtVar" },
    { 2, 14, "cmdtString" },
    { 3, 1, "cmdtContinueOp" },
    { 4, 1, "cmdtStdoutOp" },
    { 4, 3, "cmdtStdout" },
    { 5, 1, "cmdtStderrOp" },
    { 6, 1, "cmdtFileOp" },
    { 6, 4, "cmdtPath" },
    { 7, 3, "cmdtStatus" },
    { 8, 1, "cmdtDirectiveOp" },
    { 8, 3, "cmdtDirective" },
    { 8, 7, "cmdtDepKind" },
    { 8, 12, "cmdtDepArgs" },
    { 9, 3, "cmdtDirective" },
    { 10, 1, "cmdtError" },
    { 11, 1, "cmdtPatternOp" },
    { 11, 4, "cmdtPattern" },
    { 11, 6, "cmdtWildcard" },
    { 11, 12, "cmdtSubst" },
    { 11, 18, "cmdtEscape" },
    { 11, 21, "cmdtPattern" },
    { 12, 4, "cmdtAnyLines" },
    { 13, 1, "cmdtRegexpOp" },
    { 13, 4, "cmdtRegexp" },
    { 14, 3, "cmdtSubstDirective" },
    { 14, 9, "cmdtSubstName" },
    { 14, 13, "cmdtSubstRegexp" },
    { 14, 20, "cmdtRegexp" },
    { 15, 14, "cmdtSubstValue" },
    { 15, 21, "cmdtVar" },
  }
  for _, w in ipairs(want) do
    H.eq(w[3], syn_at(w[1], w[2]), string.format("syntax group at %d:%d", w[1], w[2]))
  end

  local deps = H.edit(ws .. "/ft/sub/cmdt.deps")
  H.eq("cmdtdeps", vim.bo[deps].filetype, "filetype of cmdt.deps")
  H.eq("cmdtdeps", vim.b.current_syntax, "syntax of cmdt.deps")
  H.eq("cmdtdepsComment", syn_at(1, 1), "depfile comment")
  H.eq("cmdtdepsKind", syn_at(2, 1), "depfile kind")
  H.eq("cmdtdepsValue", syn_at(2, 6), "depfile value")
  H.eq("cmdtdepsEnvCompat", syn_at(4, 1), "depfile $VAR line")
  H.eq("cmdtdepsPath", syn_at(5, 1), "depfile plain path line")
  local x = H.edit(ws .. "/ft/sub/x.cmdtdeps")
  H.eq("cmdtdeps", vim.bo[x].filetype, "filetype of x.cmdtdeps")

  -- With a typical config (`filetype plugin on`): ftdetect/cmdt.vim and
  -- setup()'s detection coexist, and the ftplugin sets the comment leader.
  vim.cmd("filetype plugin on")
  write(ws .. "/ft/sub/b.cmdt", { "# c" })
  local b = H.edit(ws .. "/ft/sub/b.cmdt")
  H.eq("cmdt", vim.bo[b].filetype, "filetype of b.cmdt with :filetype on")
  H.eq("# %s", vim.bo[b].commentstring, "commentstring (ftplugin) of b.cmdt")
  local d2 = H.edit(ws .. "/ft/cmdt.deps")
  H.eq("cmdtdeps", vim.bo[d2].filetype, "filetype of cmdt.deps with :filetype on (not conf)")

  -- Root: the workspace has go.mod at its top (written by run.sh).
  local root = require("cmdt.root")
  H.eq(vim.fn.resolve(ws), vim.fn.resolve(root.find(ws .. "/ft/sub/a.cmdt")), "root of a.cmdt (go.mod)")
  H.eq("/", root.find("/a.cmdt"), "root of a file with no markers (its dir)")

  -- One client for the whole root, attached to all four buffers.
  local client = H.wait_client(a)
  for _, buf in ipairs({ early, a, deps, x, b, d2 }) do
    H.wait(5000, function()
      return vim.lsp.buf_is_attached(buf, client.id)
    end, "buffer " .. buf .. " attached to the one client")
  end
  H.eq(1, #require("cmdt.compat").get_clients("cmdt"), "number of cmdt clients")
  H.eq(vim.fn.resolve(ws), vim.fn.resolve(client.config.root_dir), "client root_dir")
  H.log("server %s %s attached to 6 buffers", client.server_capabilities and "cmdt-lsp" or "?", client.id)
end)
