" Vim syntax file
" Language:    cmdt depfile (*.cmdtdeps, cmdt.deps)
" Reference:   the .cmdt format spec, section 4 (Depfiles)
"
" One entry per line: `file|glob|env|exe VALUE`, or the compatible forms
" (`$NAME` an environment variable, anything else a file path). No shell
" expansion; only the escapes \\ \$ \n.

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

" A plain line is a file path (compatible form).
syn match cmdtdepsPath     "^[^#].*$" contains=cmdtdepsEscape
syn match cmdtdepsComment  "^#.*$" contains=@Spell
syn match cmdtdepsEnvCompat "^\$.*$"
syn match cmdtdepsKind     "^\(file\|glob\|env\|exe\)\ze " nextgroup=cmdtdepsValue
syn match cmdtdepsValue    " .*$" contained contains=cmdtdepsEscape,cmdtdepsGlob
syn match cmdtdepsGlob     "\*\*\|[*?]" contained
syn match cmdtdepsEscape   "\\[\\$n]" contained

hi def link cmdtdepsComment   Comment
hi def link cmdtdepsKind      Type
hi def link cmdtdepsValue     String
hi def link cmdtdepsPath      String
hi def link cmdtdepsEnvCompat Identifier
hi def link cmdtdepsGlob      Special
hi def link cmdtdepsEscape    SpecialChar

let b:current_syntax = 'cmdtdeps'

let &cpo = s:cpo_save
unlet s:cpo_save
