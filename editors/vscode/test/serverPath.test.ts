import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INSTALL_COMMAND, expandConfiguredPath, goBinDirs, resolveServerPath } from '../src/serverPath';

/** A fake file system: the set of executable paths. */
function exe(...paths: string[]) {
  const set = new Set(paths);
  return { isExecutable: (p: string) => set.has(p), exists: (p: string) => set.has(p) };
}

test('setting: an absolute path that exists wins over PATH', () => {
  const r = resolveServerPath({
    configured: '/opt/cmdt/cmdt-lsp',
    env: { PATH: '/usr/bin' },
    platform: 'linux',
    homedir: '/home/u',
    ...exe('/opt/cmdt/cmdt-lsp', '/usr/bin/cmdt-lsp'),
  });
  assert.deepEqual(r, { ok: true, path: '/opt/cmdt/cmdt-lsp', source: 'setting' });
});

test('setting: a missing path is an error naming the path and the install command', () => {
  const r = resolveServerPath({
    configured: '/nowhere/cmdt-lsp',
    env: { PATH: '/usr/bin' },
    platform: 'linux',
    homedir: '/home/u',
    ...exe('/usr/bin/cmdt-lsp'),
  });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.reason, 'setting-not-found');
    assert.match(r.message, /\/nowhere\/cmdt-lsp/);
    assert.match(r.message, /cmdt\.server\.path/);
    assert.ok(r.message.includes(INSTALL_COMMAND));
  }
});

test('setting: an existing file that is not executable says so', () => {
  const r = resolveServerPath({
    configured: '/opt/cmdt-lsp',
    env: {},
    platform: 'linux',
    homedir: '/home/u',
    isExecutable: () => false,
    exists: (p) => p === '/opt/cmdt-lsp',
  });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.reason, 'not-executable');
    assert.match(r.message, /not an executable/);
  }
});

test('setting: ~ and ${workspaceFolder} and ${env:X} are expanded; relative paths are from the workspace', () => {
  const o = { env: { TOOLS: '/t' }, workspaceFolder: '/ws', homedir: '/home/u', platform: 'linux' as const };
  assert.equal(expandConfiguredPath('~/go/bin/cmdt-lsp', o), '/home/u/go/bin/cmdt-lsp');
  assert.equal(expandConfiguredPath('${workspaceFolder}/bin/cmdt-lsp', o), '/ws/bin/cmdt-lsp');
  assert.equal(expandConfiguredPath('${env:TOOLS}/cmdt-lsp', o), '/t/cmdt-lsp');
  assert.equal(expandConfiguredPath('bin/cmdt-lsp', o), '/ws/bin/cmdt-lsp');
  assert.equal(expandConfiguredPath('./cmdt-lsp', o), '/ws/cmdt-lsp');
  assert.equal(expandConfiguredPath('  cmdt-lsp  ', o), 'cmdt-lsp');
});

test('setting: a bare program name is looked up on PATH', () => {
  const ok = resolveServerPath({
    configured: 'my-cmdt-lsp',
    env: { PATH: '/a:/b' },
    platform: 'linux',
    homedir: '/home/u',
    ...exe('/b/my-cmdt-lsp'),
  });
  assert.deepEqual(ok, { ok: true, path: '/b/my-cmdt-lsp', source: 'setting' });
  const missing = resolveServerPath({ configured: 'my-cmdt-lsp', env: { PATH: '/a:/b' }, platform: 'linux', homedir: '/h', ...exe() });
  assert.equal(missing.ok, false);
  if (!missing.ok) {
    assert.deepEqual(missing.tried, ['/a/my-cmdt-lsp', '/b/my-cmdt-lsp']);
  }
});

test('no setting: the first cmdt-lsp on PATH', () => {
  const r = resolveServerPath({
    configured: '',
    env: { PATH: '/usr/local/bin::/usr/bin:/bin' },
    platform: 'linux',
    homedir: '/home/u',
    ...exe('/usr/bin/cmdt-lsp', '/bin/cmdt-lsp'),
  });
  assert.deepEqual(r, { ok: true, path: '/usr/bin/cmdt-lsp', source: 'PATH' });
});

test('no setting, not on PATH: Go install directories are tried (GOBIN, GOPATH/bin, ~/go/bin)', () => {
  assert.deepEqual(goBinDirs({ GOBIN: '/gb' }, '/h', 'linux'), ['/gb', '/h/go/bin']);
  assert.deepEqual(goBinDirs({ GOPATH: '/p1:/p2' }, '/h', 'linux'), ['/p1/bin', '/p2/bin']);
  assert.deepEqual(goBinDirs({}, '/h', 'linux'), ['/h/go/bin']);
  const r = resolveServerPath({ env: { PATH: '/usr/bin' }, platform: 'linux', homedir: '/home/u', ...exe('/home/u/go/bin/cmdt-lsp') });
  assert.deepEqual(r, { ok: true, path: '/home/u/go/bin/cmdt-lsp', source: 'go-bin' });
});

test('no setting, nowhere: one message with the go install command', () => {
  const r = resolveServerPath({ env: { PATH: '/usr/bin' }, platform: 'linux', homedir: '/home/u', ...exe() });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.reason, 'not-on-path');
    assert.equal(
      r.message,
      'cmdt: the language server cmdt-lsp was not found on PATH. ' +
        'Install it with: go install github.com/cmdt-dev/cmdt/cmd/cmdt-lsp@latest — or set cmdt.server.path.',
    );
    assert.deepEqual(r.tried, ['/usr/bin/cmdt-lsp', '/home/u/go/bin/cmdt-lsp']);
  }
});

test('windows: PATHEXT is tried', () => {
  const r = resolveServerPath({
    env: { PATH: 'C:\\tools;C:\\go\\bin', PATHEXT: '.EXE;.CMD' },
    platform: 'win32',
    homedir: 'C:\\Users\\u',
    ...exe('C:\\go\\bin\\cmdt-lsp.exe'),
  });
  assert.deepEqual(r, { ok: true, path: 'C:\\go\\bin\\cmdt-lsp.exe', source: 'PATH' });
});

test('the default executable check uses the real file system', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmdt-vscode-test-'));
  try {
    const bin = path.join(dir, 'cmdt-lsp');
    fs.writeFileSync(bin, '#!/bin/sh\n');
    fs.chmodSync(bin, 0o644);
    const notExec = resolveServerPath({ configured: bin, env: {} });
    assert.equal(notExec.ok, false);
    if (!notExec.ok && process.platform !== 'win32') {
      assert.equal(notExec.reason, 'not-executable');
    }
    fs.chmodSync(bin, 0o755);
    assert.deepEqual(resolveServerPath({ configured: bin, env: {} }), { ok: true, path: bin, source: 'setting' });
    assert.deepEqual(resolveServerPath({ env: { PATH: dir } }), { ok: true, path: bin, source: 'PATH' });
    // A directory named cmdt-lsp is not a server.
    const d2 = path.join(dir, 'sub');
    fs.mkdirSync(path.join(d2, 'cmdt-lsp'), { recursive: true });
    assert.equal(resolveServerPath({ env: { PATH: d2, GOBIN: d2 }, homedir: d2 }).ok, false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
