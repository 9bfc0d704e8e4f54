import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { depfilePaths, shellWords } from '../src/depfiles';

test('shellWords: quoting, escapes and $VAR expansion like the directive payloads', () => {
  const env = { HOME: '/home/u', D: 'sub dir' };
  assert.deepEqual(shellWords('a b  c', env), ['a', 'b', 'c']);
  assert.deepEqual(shellWords(`'with space' "x $HOME" \${D}/f a\\ b`, env), ['with space', 'x /home/u', 'sub dir/f', 'a b']);
  assert.deepEqual(shellWords('$UNSET/x', env), ['/x']);
  assert.deepEqual(shellWords("''", env), ['']);
  assert.deepEqual(shellWords('"a\\"b"', env), ['a"b']);
  assert.deepEqual(shellWords('cost$', env), ['cost$']);
});

test('depfilePaths: % depfile and % dep < , relative to the transcript', () => {
  const text = [
    '# deps',
    '% depfile deps.txt',
    '% dep < ../shared/list',
    '% dep file not-a-depfile.txt',
    '% depfile "$ROOT/abs deps"',
    '$ cat deps.txt',
    '%depfile nope',
  ].join('\n');
  assert.deepEqual(depfilePaths(text, '/ws/tests/a.cmdt', { ROOT: '/r' }), [
    '/ws/tests/deps.txt',
    '/ws/shared/list',
    '/r/abs deps',
  ]);
  assert.deepEqual(depfilePaths('% depfile x\r\n', '/w/t.cmdt', {}), ['/w/x']);
});
