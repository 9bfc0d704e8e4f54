" cmdt transcripts and depfiles. Sourced by `:filetype on` (inside the
" filetypedetect augroup). require('cmdt').setup() registers the same
" detection for setups where this file is never sourced (nvim -u NONE).
autocmd BufNewFile,BufRead *.cmdt                setfiletype cmdt
autocmd BufNewFile,BufRead *.cmdtdeps,cmdt.deps  setfiletype cmdtdeps
