" Vim syntax file
" Language:    cmdt transcript (*.cmdt)
" Reference:   the .cmdt format spec (opcodes, directives, dependency kinds)
"
" Line-based, like the format: an opcode, one space, a payload. A line that
" starts with no known opcode is highlighted as an error; the server reports
" the precise syntax errors (e.g. output lines outside a command block).

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

" Lowest priority first: any non-comment line that nothing below claims.
syn match cmdtError       "^[^#].*$"

syn match cmdtComment     "^#.*$" contains=@Spell

" $ command  /  > continuation
syn match cmdtCommandOp   "^\$\ze\( \|$\)"  nextgroup=cmdtCommand
syn match cmdtContinueOp  "^>\ze\( \|$\)"   nextgroup=cmdtCommand
syn match cmdtCommand     " .*$" contained contains=cmdtVar,cmdtString
syn match cmdtVar         "\$\h\w*\|\${[^}]*}" contained
syn region cmdtString     start=+'+ end=+'+ end=+$+ contained oneline
syn region cmdtString     start=+"+ skip=+\\"+ end=+"+ end=+$+ contained oneline contains=cmdtVar

" 1 stdout  /  2 stderr  (payload is literal output)
syn match cmdtStdoutOp    "^1\ze\( \|$\)"   nextgroup=cmdtStdout
syn match cmdtStderrOp    "^2\ze\( \|$\)"   nextgroup=cmdtStderr
syn match cmdtStdout      " .*$" contained
syn match cmdtStderr      " .*$" contained

" 1* PATTERN  /  2* PATTERN: [..] wildcards, [NAME] substitutions, \[ \\
" escapes; "..." alone is any number of lines. 1~ RE  /  2~ RE: a regexp.
syn match cmdtPatternOp   "^[12]\*\ze\( \|$\)" nextgroup=cmdtPattern,cmdtAnyLines
syn match cmdtPattern     " .*$" contained contains=cmdtEscape,cmdtWildcard,cmdtSubst
syn match cmdtAnyLines    " \.\.\.$" contained
syn match cmdtEscape      "\\[[\\]" contained
syn match cmdtWildcard    "\[\.\.\]" contained
syn match cmdtSubst       "\[\u[A-Z0-9_]*\]" contained
syn match cmdtRegexpOp    "^[12]\~\ze\( \|$\)" nextgroup=cmdtRegexp
syn match cmdtRegexp      " .*$" contained

" 1< PATH  /  2< PATH
syn match cmdtFileOp      "^[12]<\ze\( \|$\)" nextgroup=cmdtPath
syn match cmdtPath        " .*$" contained

" ? N
syn match cmdtStatusOp    "^?\ze\( \|$\)"   nextgroup=cmdtStatus,cmdtBadStatus
syn match cmdtBadStatus   " .*$" contained
syn match cmdtStatus      " \d\+$" contained

" % directives
syn match cmdtDirectiveOp "^%\ze\( \|$\)"   nextgroup=cmdtDirective,cmdtSubstDirective
syn match cmdtDirective   " \S*" contained nextgroup=cmdtDepKind,cmdtRedirect,cmdtDepArgs
" Listed before the kinds: among nextgroup items matching at one spot the
" last defined wins.
syn match cmdtDepArgs     ".*$" contained contains=cmdtVar,cmdtString
syn match cmdtDepKind     " \(file\|glob\|env\|exe\)\>" contained nextgroup=cmdtDepArgs
syn match cmdtRedirect    " <\ze\( \|$\)" contained nextgroup=cmdtDepArgs
" % subst NAME value WORD  /  % subst NAME regexp RE
syn match cmdtSubstDirective " subst\ze " contained nextgroup=cmdtSubstName
syn match cmdtSubstName   " \u[A-Z0-9_]*" contained nextgroup=cmdtSubstValue,cmdtSubstRegexp
syn match cmdtSubstValue  " value\>" contained nextgroup=cmdtDepArgs
syn match cmdtSubstRegexp " regexp\>" contained nextgroup=cmdtRegexp

hi def link cmdtError       Error
hi def link cmdtComment     Comment
hi def link cmdtCommandOp   Statement
hi def link cmdtContinueOp  Statement
hi def link cmdtCommand     Identifier
hi def link cmdtVar         PreProc
hi def link cmdtString      String
hi def link cmdtStdoutOp    Special
hi def link cmdtStderrOp    Special
hi def link cmdtStdout      String
hi def link cmdtStderr      Character
hi def link cmdtPatternOp   Special
hi def link cmdtPattern     String
hi def link cmdtAnyLines    Operator
hi def link cmdtEscape      SpecialChar
hi def link cmdtWildcard    Operator
hi def link cmdtSubst       Identifier
hi def link cmdtRegexpOp    Special
hi def link cmdtRegexp      SpecialChar
hi def link cmdtSubstDirective PreProc
hi def link cmdtSubstName   Identifier
hi def link cmdtSubstValue  Type
hi def link cmdtSubstRegexp Type
hi def link cmdtFileOp      Special
hi def link cmdtPath        Underlined
hi def link cmdtStatusOp    Special
hi def link cmdtStatus      Number
hi def link cmdtBadStatus   Error
hi def link cmdtDirectiveOp PreProc
hi def link cmdtDirective   PreProc
hi def link cmdtDepKind     Type
hi def link cmdtRedirect    Operator

let b:current_syntax = 'cmdt'

let &cpo = s:cpo_save
unlet s:cpo_save
