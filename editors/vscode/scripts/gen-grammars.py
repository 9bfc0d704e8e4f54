#!/usr/bin/env python3
"""Generates syntaxes/*.tmLanguage.json (regexes are easier to read here than JSON-escaped).

Run from editors/vscode:  python3 scripts/gen-grammars.py
The generated files are committed; test/grammar.test.ts checks them.
"""
import json, os

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, '..', 'syntaxes')

OP = 'keyword.control.opcode.cmdt'

# ---------------------------------------------------------------- shell text
# Command text ($ and > lines): a light shell colouring, one line at a time.
shell = {
    'patterns': [
        {'include': '#shell-comment'},
        {'include': '#single-quoted'},
        {'include': '#double-quoted'},
        {'include': '#variable'},
        {'include': '#escape'},
        {'include': '#operator'},
        {'include': '#command-after-separator'},
        {'include': '#redirect'},
        {'include': '#keyword'},
    ]
}
variable = {
    'patterns': [
        {'match': r'(\$\{)([^}]*)(\})',
         'name': 'variable.other.braced.cmdt',
         'captures': {'1': {'name': 'punctuation.definition.variable.cmdt'},
                      '3': {'name': 'punctuation.definition.variable.cmdt'}}},
        {'match': r'(\$)([A-Za-z_][A-Za-z0-9_]*)',
         'name': 'variable.other.normal.cmdt',
         'captures': {'1': {'name': 'punctuation.definition.variable.cmdt'}}},
        {'match': r'(\$)([0-9@*#?$!-])',
         'name': 'variable.language.special.cmdt',
         'captures': {'1': {'name': 'punctuation.definition.variable.cmdt'}}},
        {'match': r'\$\(\(?|\$\[|`',
         'name': 'punctuation.section.substitution.cmdt'},
    ]
}
repo = {
    'shell': shell,
    'variable': variable,
    'shell-comment': {
        'match': r'(?:(?<=^)|(?<=[\s;&|(]))(#).*$',
        'name': 'comment.line.number-sign.shell.cmdt',
        'captures': {'1': {'name': 'punctuation.definition.comment.cmdt'}},
    },
    'single-quoted': {
        'match': r"'[^']*(?:'|$)",
        'name': 'string.quoted.single.cmdt',
    },
    'double-quoted': {
        'begin': '"', 'end': '"|$',
        'name': 'string.quoted.double.cmdt',
        'patterns': [
            {'match': r'\\[\\"$`]', 'name': 'constant.character.escape.cmdt'},
            {'include': '#variable'},
        ],
    },
    'escape': {'match': r'\\.', 'name': 'constant.character.escape.cmdt'},
    'operator': {'match': r'&&|\|\||\|&?|;;?|&', 'name': 'keyword.operator.logical.cmdt'},
    'redirect': {'match': r'[0-9]*(?:<<<|<<-?|>>|>&|<&|&>>?|>\||<>|>|<)', 'name': 'keyword.operator.redirect.cmdt'},
    'keyword': {
        'match': r'(?:(?<=^)|(?<=[\s;&|(]))(?:if|then|else|elif|fi|for|while|until|do|done|case|esac|in|function|select|time|!)(?=$|[\s;&|)])',
        'name': 'keyword.control.shell.cmdt',
    },
    # The command word: first on a `$` line (\G), or after ; & | ( — after any VAR=value assignments.
    'command-name': {
        'match': r"""\G(\s*(?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"[^"]*"|[^\s;&|<>'"]*)\s+)*)([^\s;&|<>()$'"`=\\#]+)""",
        'captures': {
            '1': {'patterns': [
                {'match': r'([A-Za-z_][A-Za-z0-9_]*)(=)',
                 'captures': {'1': {'name': 'variable.other.assignment.cmdt'},
                              '2': {'name': 'keyword.operator.assignment.cmdt'}}},
                {'include': '#single-quoted'},
                {'include': '#double-quoted'},
                {'include': '#variable'},
            ]},
            '2': {'patterns': [
                {'match': r'^(?:if|then|else|elif|fi|for|while|until|do|done|case|esac|function|select|time|!)$',
                 'name': 'keyword.control.shell.cmdt'},
                {'match': r'.+', 'name': 'entity.name.function.command.cmdt'},
            ]},
        },
    },
    # ---- dependency words (directive payloads are shell-like words)
    'dep-quoted': {
        'patterns': [
            {'match': r"'[^']*(?:'|$)", 'name': 'string.quoted.single.cmdt'},
            {'begin': '"', 'end': '"|$', 'name': 'string.quoted.double.cmdt',
             'patterns': [{'match': r'\\[\\"$`]', 'name': 'constant.character.escape.cmdt'},
                          {'include': '#variable'}]},
        ]
    },
    'dep-path': {
        'patterns': [
            {'include': '#dep-quoted'},
            {'include': '#variable'},
            {'include': '#escape'},
            {'match': r'[^\s\'"$\\]+', 'name': 'string.unquoted.path.cmdt'},
        ]
    },
    'dep-glob': {
        'patterns': [
            {'include': '#dep-quoted'},
            {'include': '#variable'},
            {'include': '#escape'},
            {'match': r'\*\*|\*|\?|\[[^\]\s]*\]|[{},]', 'name': 'keyword.operator.glob.cmdt'},
            {'match': r'[^\s\'"$\\*?\[{},]+', 'name': 'string.unquoted.path.cmdt'},
        ]
    },
    'dep-env': {
        'patterns': [
            {'match': r'[A-Za-z_][A-Za-z0-9_]*', 'name': 'variable.other.env.cmdt'},
            {'include': '#dep-quoted'},
            {'include': '#variable'},
        ]
    },
    'dep-exe': {
        'patterns': [
            {'include': '#dep-quoted'},
            {'include': '#variable'},
            {'include': '#escape'},
            {'match': r'[^\s\'"$\\/]+(?=$|\s)', 'name': 'entity.name.function.program.cmdt'},
            {'match': r'[^\s\'"$\\]+', 'name': 'string.unquoted.path.cmdt'},
        ]
    },
    'dep-compat': {
        # `% dep PATH... '$NAME'...`: '$NAME' words are env vars, others are files.
        'patterns': [
            {'match': r"(')(\$)([A-Za-z_][A-Za-z0-9_]*)(')",
             'captures': {'1': {'name': 'punctuation.definition.string.begin.cmdt'},
                          '2': {'name': 'punctuation.definition.variable.cmdt'},
                          '3': {'name': 'variable.other.env.cmdt'},
                          '4': {'name': 'punctuation.definition.string.end.cmdt'}}},
            {'include': '#dep-path'},
        ]
    },
}

repo['command-after-separator'] = dict(repo['command-name'])
repo['command-after-separator']['match'] = r'(?<=[;&|(])' + repo['command-name']['match'][2:]

def directive(name_re, name_scope, content):
    return {
        'begin': r'^(%)( )(' + name_re + r')(?=$|\s)',
        'beginCaptures': {'1': {'name': OP + ' keyword.control.opcode.directive.cmdt'},
                          '3': {'name': name_scope}},
        'end': '$',
        'name': 'meta.directive.cmdt',
        'patterns': content,
    }

def dep_kind(kind, inc):
    return {
        'begin': r'^(%)( )(dep)( +)(' + kind + r')(?=$|\s)',
        'beginCaptures': {'1': {'name': OP + ' keyword.control.opcode.directive.cmdt'},
                          '3': {'name': 'keyword.other.directive.dep.cmdt'},
                          '5': {'name': 'support.type.dep-kind.cmdt'}},
        'end': '$',
        'name': 'meta.directive.dep.' + kind + '.cmdt',
        'patterns': [{'include': inc}],
    }

def output(opcode, stream):
    return {
        'match': r'^(' + opcode + r')(?:( )(.*))?$',
        'name': 'meta.output.' + stream + '.cmdt',
        'captures': {'1': {'name': OP + ' keyword.control.opcode.' + stream + '.cmdt'},
                     '3': {'name': 'string.unquoted.output.' + stream + '.cmdt'}},
    }

cmdt = {
    '$schema': 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
    'name': 'cmdt',
    'scopeName': 'source.cmdt',
    'fileTypes': ['cmdt'],
    'patterns': [
        {'match': r'^(#).*$', 'name': 'comment.line.number-sign.cmdt',
         'captures': {'1': {'name': 'punctuation.definition.comment.cmdt'}}},
        {'begin': r'^(\$)(?: |$)', 'end': '$', 'name': 'meta.command.cmdt',
         'beginCaptures': {'1': {'name': OP + ' keyword.control.opcode.command.cmdt'}},
         'patterns': [{'include': '#command-name'}, {'include': '#shell'}]},
        {'begin': r'^(>)(?: |$)', 'end': '$', 'name': 'meta.command.continuation.cmdt',
         'beginCaptures': {'1': {'name': OP + ' keyword.control.opcode.continuation.cmdt'}},
         'patterns': [{'include': '#shell'}]},
        {'match': r'^([12]<)(?:( )(.*))?$', 'name': 'meta.output.file.cmdt',
         'captures': {'1': {'name': OP + ' keyword.control.opcode.file-output.cmdt'},
                      '3': {'name': 'string.unquoted.path.cmdt markup.underline.link.cmdt'}}},
        output('1', 'stdout'),
        output('2', 'stderr'),
        {'match': r'^(\?)(?:( )(?:([0-9]+)|(.*)))?$', 'name': 'meta.exit-status.cmdt',
         'captures': {'1': {'name': OP + ' keyword.control.opcode.exit-status.cmdt'},
                      '3': {'name': 'constant.numeric.exit-status.cmdt'},
                      '4': {'name': 'invalid.illegal.exit-status.cmdt'}}},
        {'match': r'^(%)( )(no-newline)$', 'name': 'meta.directive.no-newline.cmdt',
         'captures': {'1': {'name': OP + ' keyword.control.opcode.directive.cmdt'},
                      '3': {'name': 'keyword.other.directive.no-newline.cmdt'}}},
        directive('depfile', 'keyword.other.directive.depfile.cmdt', [{'include': '#dep-path'}]),
        dep_kind('file', '#dep-path'),
        dep_kind('glob', '#dep-glob'),
        dep_kind('env', '#dep-env'),
        dep_kind('exe', '#dep-exe'),
        {'begin': r'^(%)( )(dep)( +)(<)(?=$|\s)', 'end': '$', 'name': 'meta.directive.dep.depfile.cmdt',
         'beginCaptures': {'1': {'name': OP + ' keyword.control.opcode.directive.cmdt'},
                           '3': {'name': 'keyword.other.directive.dep.cmdt'},
                           '5': {'name': 'keyword.operator.redirect.cmdt'}},
         'patterns': [{'include': '#dep-path'}]},
        directive('dep', 'keyword.other.directive.dep.cmdt', [{'include': '#dep-compat'}]),
        {'begin': r'^(%)(?:( )([^\s]*))?', 'end': '$', 'name': 'meta.directive.other.cmdt',
         'beginCaptures': {'1': {'name': OP + ' keyword.control.opcode.directive.cmdt'},
                           '3': {'name': 'keyword.other.directive.cmdt'}},
         'patterns': [{'include': '#dep-path'}]},
        # Anything else (but whitespace-only lines) is a syntax error.
        {'match': r'^.*\S.*$', 'name': 'invalid.illegal.syntax.cmdt'},
    ],
    'repository': repo,
}

ESC = {'match': r'\\[\\$n]', 'name': 'constant.character.escape.cmdt-deps'}
deps = {
    '$schema': 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
    'name': 'cmdt-deps',
    'scopeName': 'source.cmdt-deps',
    'fileTypes': ['cmdtdeps'],
    'patterns': [
        {'match': r'^(#).*$', 'name': 'comment.line.number-sign.cmdt-deps',
         'captures': {'1': {'name': 'punctuation.definition.comment.cmdt-deps'}}},
        {'begin': r'^(env)( )', 'end': '$', 'name': 'meta.dep.env.cmdt-deps',
         'beginCaptures': {'1': {'name': 'support.type.dep-kind.cmdt-deps'}},
         'contentName': 'variable.other.env.cmdt-deps', 'patterns': [ESC]},
        {'begin': r'^(glob)( )', 'end': '$', 'name': 'meta.dep.glob.cmdt-deps',
         'beginCaptures': {'1': {'name': 'support.type.dep-kind.cmdt-deps'}},
         'contentName': 'string.unquoted.path.cmdt-deps',
         'patterns': [ESC, {'match': r'\*\*|\*|\?|\[[^\]]*\]|[{},]', 'name': 'keyword.operator.glob.cmdt-deps'}]},
        {'begin': r'^(exe)( )', 'end': '$', 'name': 'meta.dep.exe.cmdt-deps',
         'beginCaptures': {'1': {'name': 'support.type.dep-kind.cmdt-deps'}},
         'contentName': 'string.unquoted.path.program.cmdt-deps', 'patterns': [ESC]},
        {'begin': r'^(file)( )', 'end': '$', 'name': 'meta.dep.file.cmdt-deps',
         'beginCaptures': {'1': {'name': 'support.type.dep-kind.cmdt-deps'}},
         'contentName': 'string.unquoted.path.cmdt-deps', 'patterns': [ESC]},
        # Compatible forms: `$NAME` is an env var; any other line is a file path.
        {'match': r'^(\$)(.*)$', 'name': 'meta.dep.env.cmdt-deps',
         'captures': {'1': {'name': 'punctuation.definition.variable.cmdt-deps'},
                      '2': {'name': 'variable.other.env.cmdt-deps'}}},
        {'begin': r'^(?=.)', 'end': '$', 'name': 'meta.dep.file.cmdt-deps',
         'contentName': 'string.unquoted.path.cmdt-deps', 'patterns': [ESC]},
    ],
}

for name, g in (('cmdt', cmdt), ('cmdt-deps', deps)):
    with open(os.path.join(out, name + '.tmLanguage.json'), 'w') as f:
        json.dump(g, f, indent=2)
        f.write('\n')
print('wrote', out)
