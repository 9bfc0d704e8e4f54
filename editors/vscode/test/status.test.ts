import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { METHOD_NOT_FOUND, formatStatus, isCacheStatus, isMethodNotFound } from '../src/status';

test('fresh: check icon and the server text', () => {
  const v = formatStatus({ status: 'fresh', text: 'cached ✓ 3 min ago' }, 'tests/a.cmdt');
  assert.equal(v.text, '$(pass) cmdt: cached ✓ 3 min ago');
  assert.equal(v.background, undefined);
  assert.match(v.tooltip, /^tests\/a\.cmdt: cached ✓ 3 min ago\n/);
});

test('stale: warning background, the reason from the server', () => {
  const v = formatStatus({ status: 'stale', text: 'stale: testdata/in.txt changed' });
  assert.equal(v.text, '$(history) cmdt: stale: testdata/in.txt changed');
  assert.equal(v.background, 'statusBarItem.warningBackground');
});

test('never-run and failed', () => {
  assert.equal(formatStatus({ status: 'never-run', text: 'not run yet' }).text, '$(circle-large-outline) cmdt: not run yet');
  const f = formatStatus({ status: 'failed', text: '2 checks failed' });
  assert.equal(f.text, '$(error) cmdt: 2 checks failed');
  assert.equal(f.background, 'statusBarItem.errorBackground');
});

test('empty text falls back to a word for the status', () => {
  assert.equal(formatStatus({ status: 'never-run', text: '' }).text, '$(circle-large-outline) cmdt: not run yet');
  assert.equal(formatStatus({ status: 'fresh' }).text, '$(pass) cmdt: cached ✓');
});

test('malformed or unknown results read as unknown; unknown without text is hidden', () => {
  assert.equal(formatStatus(null).text, '$(question) cmdt: status unknown');
  assert.equal(formatStatus(null).visible, false);
  assert.equal(formatStatus({ status: 'unknown', text: '' }).visible, false);
  assert.equal(formatStatus({ status: 'unknown', text: 'no cache' }).visible, true);
  assert.equal(formatStatus({ status: 'never-run', text: '' }).visible, true);
  assert.equal(formatStatus('fresh').text, '$(question) cmdt: status unknown');
  assert.equal(formatStatus({ status: 'weird', text: 'hm' }).text, '$(question) cmdt: hm');
  assert.equal(isCacheStatus('fresh'), true);
  assert.equal(isCacheStatus('toString'), false);
});

test('server text is kept on one line, truncated, and cannot inject icons', () => {
  const long = 'stale: ' + 'x'.repeat(100);
  const v = formatStatus({ status: 'stale', text: long });
  const shown = v.text.replace('$(history) cmdt: ', '');
  assert.equal(Array.from(shown).length, 60);
  assert.ok(shown.endsWith('…'));
  assert.equal(formatStatus({ status: 'fresh', text: 'a\n  b\r\nc' }).text, '$(pass) cmdt: a b c');
  assert.equal(formatStatus({ status: 'fresh', text: 'run $(rocket)' }).text, '$(pass) cmdt: run \\$(rocket)');
});

test('MethodNotFound is recognised (the item is then hidden)', () => {
  assert.equal(METHOD_NOT_FOUND, -32601);
  assert.equal(isMethodNotFound({ code: -32601, message: 'method not found' }), true);
  assert.equal(isMethodNotFound({ code: -32603 }), false);
  assert.equal(isMethodNotFound(new Error('x')), false);
  assert.equal(isMethodNotFound(undefined), false);
});
