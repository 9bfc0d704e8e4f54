// Tokenises sample lines with the real TextMate engine VS Code uses (vscode-textmate + oniguruma).
import { strict as assert } from 'node:assert';
import { before, test } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as tm from 'vscode-textmate';

const root = path.join(__dirname, '..', '..');
let registry: tm.Registry;

before(async () => {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  registry = new tm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (s: string[]) => new oniguruma.OnigScanner(s),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope: string) => {
      const file = { 'source.cmdt': 'cmdt.tmLanguage.json', 'source.cmdt-deps': 'cmdt-deps.tmLanguage.json' }[scope];
      if (!file) {
        return null;
      }
      const p = path.join(root, 'syntaxes', file);
      return tm.parseRawGrammar(fs.readFileSync(p, 'utf8'), p);
    },
  });
});

type Tok = { text: string; scopes: string[] };

async function tokenize(scope: string, text: string): Promise<Tok[][]> {
  const g = await registry.loadGrammar(scope);
  assert.ok(g, `grammar ${scope}`);
  let stack = tm.INITIAL;
  return text.split('\n').map((line) => {
    const r = g.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
}

/** The scopes of the first token on the line with exactly this text. */
function scopeOf(line: Tok[], text: string): string {
  const t = line.find((x) => x.text === text);
  assert.ok(t, `no token ${JSON.stringify(text)} in ${JSON.stringify(line.map((x) => x.text))}`);
  return t.scopes.join(' ');
}

test('package.json contributes both grammars with files that exist', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const g of pkg.contributes.grammars) {
    assert.ok(fs.existsSync(path.join(root, g.path)), g.path);
    const j = JSON.parse(fs.readFileSync(path.join(root, g.path), 'utf8'));
    assert.equal(j.scopeName, g.scopeName);
  }
  assert.equal(pkg.browser, undefined, 'no browser field: the extension spawns a process');
  assert.equal(pkg.main, './out/extension.js');
});

test('cmdt: opcodes, commands, variables, outputs, exit status, comments', async () => {
  const [c, cmd, cont, out, err, fout, status, blank, bad] = await tokenize('source.cmdt', [
    '# a comment',
    '$ FOO=1 echo "hi $USER" ${HOME} \'$lit\' | wc -l > out.txt && ls',
    '> --long-flag $X',
    '1 hello  world ',
    '2 error: $NOT_A_VAR',
    '1< testdata/out.bin',
    '? 3',
    '',
    'oops not an opcode',
  ].join('\n'));
  assert.match(scopeOf(c, ' a comment'), /comment\.line\.number-sign\.cmdt/);
  assert.match(scopeOf(cmd, '$'), /keyword\.control\.opcode\.command\.cmdt/);
  assert.match(scopeOf(cmd, 'FOO'), /variable\.other\.assignment/);
  assert.match(scopeOf(cmd, 'echo'), /entity\.name\.function\.command/);
  assert.match(scopeOf(cmd, 'USER'), /string\.quoted\.double.*variable\.other/);
  assert.match(scopeOf(cmd, "'$lit'"), /string\.quoted\.single/);
  assert.match(scopeOf(cmd, 'HOME'), /variable\.other\.braced/);
  assert.match(scopeOf(cmd, '|'), /keyword\.operator/);
  assert.match(scopeOf(cmd, '>'), /keyword\.operator\.redirect/);
  assert.match(scopeOf(cmd, '&&'), /keyword\.operator/);
  assert.match(scopeOf(cmd, 'wc'), /entity\.name\.function\.command/);
  assert.match(scopeOf(cmd, 'ls'), /entity\.name\.function\.command/);
  assert.match(scopeOf(cont, '>'), /keyword\.control\.opcode\.continuation/);
  assert.match(scopeOf(cont, 'X'), /variable\.other/);
  assert.match(scopeOf(out, '1'), /keyword\.control\.opcode\.stdout/);
  assert.match(scopeOf(out, 'hello  world '), /string\.unquoted\.output\.stdout/);
  assert.match(scopeOf(err, 'error: $NOT_A_VAR'), /string\.unquoted\.output\.stderr/);
  assert.match(scopeOf(fout, '1<'), /keyword\.control\.opcode\.file-output/);
  assert.match(scopeOf(fout, 'testdata/out.bin'), /string\.unquoted\.path/);
  assert.match(scopeOf(status, '?'), /keyword\.control\.opcode\.exit-status/);
  assert.match(scopeOf(status, '3'), /constant\.numeric\.exit-status/);
  assert.equal(blank.length, 1);
  assert.match(scopeOf(bad, 'oops not an opcode'), /invalid\.illegal\.syntax/);
});

test('cmdt: opcodes alone, and opcodes not followed by a space', async () => {
  const [one, dollar, q, oneX] = await tokenize('source.cmdt', ['1', '$', '? x', '1x'].join('\n'));
  assert.match(scopeOf(one, '1'), /opcode\.stdout/);
  assert.match(scopeOf(dollar, '$'), /opcode\.command/);
  assert.match(scopeOf(q, 'x'), /invalid\.illegal\.exit-status/);
  assert.match(scopeOf(oneX, '1x'), /invalid\.illegal\.syntax/);
});

test('cmdt: directives and dependency kinds', async () => {
  const [nn, file, glob, env, exe, depfile, compat, redir, other] = await tokenize('source.cmdt', [
    '% no-newline',
    '% dep file testdata/in.txt "with space.txt" $DIR/x',
    '% dep glob src/**/*.go',
    '% dep env GOFLAGS HOME',
    '% dep exe mytool ./bin/tool',
    '% depfile cmdt.deps',
    "% dep a.txt '$LANG'",
    '% dep < deps.txt',
    '% future-directive x',
  ].join('\n'));
  assert.match(scopeOf(nn, '%'), /keyword\.control\.opcode\.directive/);
  assert.match(scopeOf(nn, 'no-newline'), /keyword\.other\.directive\.no-newline/);
  assert.match(scopeOf(file, 'dep'), /keyword\.other\.directive\.dep/);
  assert.match(scopeOf(file, 'file'), /support\.type\.dep-kind/);
  assert.match(scopeOf(file, 'testdata/in.txt'), /string\.unquoted\.path/);
  assert.match(scopeOf(file, 'with space.txt'), /string\.quoted\.double/);
  assert.match(scopeOf(file, 'DIR'), /variable\.other/);
  assert.match(scopeOf(glob, 'glob'), /support\.type\.dep-kind/);
  assert.match(scopeOf(glob, '**'), /keyword\.operator\.glob/);
  assert.match(scopeOf(glob, 'src/'), /string\.unquoted\.path/);
  assert.match(scopeOf(env, 'env'), /support\.type\.dep-kind/);
  assert.match(scopeOf(env, 'GOFLAGS'), /variable\.other\.env/);
  assert.match(scopeOf(exe, 'exe'), /support\.type\.dep-kind/);
  assert.match(scopeOf(exe, 'mytool'), /entity\.name\.function\.program/);
  assert.match(scopeOf(exe, './bin/tool'), /string\.unquoted\.path/);
  assert.match(scopeOf(depfile, 'depfile'), /keyword\.other\.directive\.depfile/);
  assert.match(scopeOf(depfile, 'cmdt.deps'), /string\.unquoted\.path/);
  assert.match(scopeOf(compat, 'a.txt'), /string\.unquoted\.path/);
  assert.match(scopeOf(compat, 'LANG'), /variable\.other\.env/);
  assert.match(scopeOf(redir, '<'), /keyword\.operator\.redirect/);
  assert.match(scopeOf(redir, 'deps.txt'), /string\.unquoted\.path/);
  assert.match(scopeOf(other, 'future-directive'), /keyword\.other\.directive\.cmdt/);
});

test('cmdt: pattern lines, regexp lines and substitutions', async () => {
  const [glob, any, re, substRe, substVal, plain] = await tokenize('source.cmdt', [
    '1* took [..] in [ROOT]/x \\[..]',
    '2* ...',
    '1~ go1\\.\\d+ (ok|fail)',
    '% subst VERSION regexp go1\\.[0-9]+',
    '% subst USER value "$LOGNAME"',
    '1 [..] stays literal',
  ].join('\n'));
  assert.match(scopeOf(glob, '1*'), /keyword\.control\.opcode\.pattern/);
  assert.match(scopeOf(glob, '[..]'), /keyword\.operator\.wildcard/);
  assert.match(scopeOf(glob, 'ROOT'), /variable\.other\.substitution/);
  assert.match(scopeOf(glob, '\\['), /constant\.character\.escape/);
  assert.match(scopeOf(glob, 'took '), /string\.unquoted\.output\.pattern/);
  assert.match(scopeOf(any, '...'), /keyword\.operator\.wildcard\.any-lines/);
  assert.match(scopeOf(re, '1~'), /keyword\.control\.opcode\.regexp/);
  assert.match(scopeOf(re, 'go1\\.\\d+ (ok|fail)'), /string\.regexp/);
  assert.match(scopeOf(substRe, 'subst'), /keyword\.other\.directive\.subst/);
  assert.match(scopeOf(substRe, 'VERSION'), /variable\.other\.substitution/);
  assert.match(scopeOf(substRe, 'regexp'), /support\.type\.subst-kind/);
  assert.match(scopeOf(substRe, 'go1\\.[0-9]+'), /string\.regexp/);
  assert.match(scopeOf(substVal, 'value'), /support\.type\.subst-kind/);
  assert.match(scopeOf(substVal, 'LOGNAME'), /variable\.other/);
  assert.match(scopeOf(plain, '[..] stays literal'), /string\.unquoted\.output\.stdout/);
});

test('cmdt-deps: kinds, compatible forms, escapes, comments', async () => {
  const [c, file, glob, env, exe, compatEnv, compatFile, esc] = await tokenize('source.cmdt-deps', [
    '# comment',
    'file testdata/config.json',
    'glob src/foo/**',
    'env GOFLAGS',
    'exe bin/mytool',
    '$HOME',
    'plain/path with space.txt',
    'file a\\\\b\\$c\\nd',
  ].join('\n'));
  assert.match(scopeOf(c, ' comment'), /comment\.line/);
  assert.match(scopeOf(file, 'file'), /support\.type\.dep-kind\.cmdt-deps/);
  assert.match(scopeOf(file, 'testdata/config.json'), /string\.unquoted\.path/);
  assert.match(scopeOf(glob, '**'), /keyword\.operator\.glob/);
  assert.match(scopeOf(env, 'GOFLAGS'), /variable\.other\.env/);
  assert.match(scopeOf(exe, 'bin/mytool'), /string\.unquoted\.path/);
  assert.match(scopeOf(compatEnv, 'HOME'), /variable\.other\.env/);
  assert.match(scopeOf(compatFile, 'plain/path with space.txt'), /string\.unquoted\.path/);
  assert.match(scopeOf(esc, '\\\\'), /constant\.character\.escape/);
  assert.match(scopeOf(esc, '\\$'), /constant\.character\.escape/);
  assert.match(scopeOf(esc, '\\n'), /constant\.character\.escape/);
});
