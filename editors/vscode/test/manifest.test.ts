// package.json against the extension's command table and the settings the server reads.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { RESTART_COMMAND, SERVER_COMMANDS, SERVER_SETTINGS } from '../src/commands';

// Compiled to out/test/manifest.test.js: package.json is two levels up.
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
const props: Record<string, { type?: string; default?: unknown; description?: string; markdownDescription?: string }> =
  pkg.contributes.configuration.properties;

test('every palette command is declared with the title it is registered with, and nothing else is', () => {
  const declared = new Map<string, string>(pkg.contributes.commands.map((c: { command: string; title: string }) => [c.command, c.title]));
  for (const [id, cmd] of Object.entries(SERVER_COMMANDS)) {
    assert.equal(declared.get(id), cmd.title, `${id} in package.json`);
    assert.match(cmd.server, /^cmdt\.(run|runNoCache|update)$/);
  }
  assert.equal(declared.get(RESTART_COMMAND), 'Restart server');
  assert.deepEqual([...declared.keys()].sort(), [...Object.keys(SERVER_COMMANDS), RESTART_COMMAND].sort());
});

test('the server settings are in the cmdt section the client forwards', () => {
  for (const key of SERVER_SETTINGS) {
    assert.equal(props[`cmdt.${key}`]?.type, 'boolean', `cmdt.${key}`);
  }
});

test('runOnSave: off by default, and described as the server running on save', () => {
  const s = props['cmdt.runOnSave'];
  assert.equal(s.default, false);
  const text = s.markdownDescription ?? s.description ?? '';
  assert.match(text, /language server/i);
});
