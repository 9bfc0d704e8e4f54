#!/usr/bin/env node
// A TEST DOUBLE of cmdt-lsp for the e2e test of the VS Code client: it speaks just enough LSP over stdio to
// exercise what the extension and VS Code do with the real server's features (syntax diagnostics, code lenses,
// server commands, failure diagnostics with a diff, inlay hints, quick fix, workspace/applyEdit, cmdt/status).
// It is deliberately simple (bash runs each command block; no cache) and is NOT the server: the real one is
// tested by the `server` scenario with CMDT_LSP.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const docs = new Map(); // uri -> { text, version, result }
let nextId = 1000;
let buf = Buffer.alloc(0);

function send(msg) {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }));
  process.stdout.write(`Content-Length: ${body.length}\r\n\r\n`);
  process.stdout.write(body);
}
const reply = (id, result) => send({ id, result });
const replyError = (id, code, message) => send({ id, error: { code, message } });
const notify = (method, params) => send({ method, params });
const request = (method, params) => send({ id: nextId++, method, params });

const OPCODE = /^(?:#.*|\$(?: .*)?|>(?: .*)?|[12](?: .*)?|[12]<(?: .*)?|\?(?: .*)?|%(?: .*)?|)$/;

/** Command blocks: { line (of `$`), cmd, expected: [{stream, text}], status, end (exclusive line of the block) }. */
function parse(text) {
  const lines = text.split('\n');
  const blocks = [];
  const errors = [];
  let cur;
  lines.forEach((l, i) => {
    if (!OPCODE.test(l)) {
      errors.push({ line: i, message: `unknown opcode "${l.split(' ')[0]}"` });
      cur = undefined;
      return;
    }
    if (l.startsWith('$')) {
      cur = { line: i, cmd: l.slice(2), expected: [], status: 0, first: i + 1, end: i + 1 };
      blocks.push(cur);
    } else if (l.startsWith('>') && cur && cur.expected.length === 0) {
      cur.cmd += '\n' + l.slice(2);
      cur.first = cur.end = i + 1;
    } else if (/^[12] |^[12]$/.test(l) && cur) {
      cur.expected.push({ stream: l[0], text: l.slice(2) });
      cur.end = i + 1;
    } else if (l.startsWith('? ') && cur) {
      cur.status = parseInt(l.slice(2), 10);
      cur.end = i + 1;
    } else if (l === '' || l.startsWith('#')) {
      cur = undefined;
    }
  });
  return { lines, blocks, errors };
}

function runDoc(uri, doc) {
  const dir = path.dirname(fileURLToPath(uri));
  const { blocks } = parse(doc.text);
  const results = blocks.map((b) => {
    const r = spawnSync('bash', ['-c', b.cmd], { cwd: dir, encoding: 'utf8' });
    const split = (s) => (s === '' ? [] : s.replace(/\n$/, '').split('\n'));
    const actual = [...split(r.stderr).map((t) => ({ stream: '2', text: t })), ...split(r.stdout).map((t) => ({ stream: '1', text: t }))];
    const exp = b.expected.map((e) => `${e.stream} ${e.text}`);
    const act = actual.map((e) => `${e.stream} ${e.text}`);
    const ok = exp.join('\n') === act.join('\n') && r.status === b.status;
    return { block: b, ok, actual, status: r.status, exp, act };
  });
  doc.result = { version: doc.version, results, at: Date.now() };
}

function diff(exp, act) {
  // Good enough for the fixture: a single hunk, common prefix kept as context.
  const out = ['--- expected', '+++ actual', `@@ -1,${exp.length} +1,${act.length} @@`];
  let i = 0;
  while (i < exp.length && i < act.length && exp[i] === act[i]) {
    out.push(' ' + exp[i++].slice(2));
  }
  exp.slice(i).forEach((l) => out.push('-' + l.slice(2)));
  act.slice(i).forEach((l) => out.push('+' + l.slice(2)));
  return out.join('\n');
}

const range = (l1, c1, l2, c2) => ({ start: { line: l1, character: c1 }, end: { line: l2, character: c2 } });

function diagnostics(uri) {
  const doc = docs.get(uri);
  const { lines, errors } = parse(doc.text);
  const diags = errors.map((e) => ({
    range: range(e.line, 0, e.line, lines[e.line].length),
    severity: 1,
    source: 'cmdt',
    message: e.message,
  }));
  for (const r of doc.result?.results ?? []) {
    if (!r.ok) {
      diags.push({
        range: range(r.block.line, 0, r.block.line, lines[r.block.line]?.length ?? 0),
        severity: 1,
        source: 'cmdt',
        code: 'check-failed',
        message: `output differs\n${diff(r.exp, r.act)}`,
        data: { line: r.block.line },
      });
    }
  }
  notify('textDocument/publishDiagnostics', { uri, version: doc.version, diagnostics: diags });
}

function acceptEdit(uri, line) {
  const doc = docs.get(uri);
  const r = doc.result?.results.find((x) => x.block.line === line);
  if (!r) {
    return undefined;
  }
  const newText = r.act.map((l) => l + '\n').join('') + (r.status ? `? ${r.status}\n` : '');
  return { changes: { [uri]: [{ range: range(r.block.first, 0, r.block.end, 0), newText }] } };
}

function status(uri) {
  const doc = docs.get(uri);
  if (!doc?.result) {
    return { status: 'never-run', text: 'not run yet' };
  }
  const failed = doc.result.results.filter((r) => !r.ok).length;
  if (failed) {
    return { status: 'failed', text: `${failed} of ${doc.result.results.length} commands failed` };
  }
  return { status: 'fresh', text: 'cached ✓ just now' };
}

function handle(msg) {
  const { id, method, params } = msg;
  if (method === undefined) {
    return; // a response to one of our requests
  }
  switch (method) {
    case 'initialize':
      return reply(id, {
        capabilities: {
          textDocumentSync: { openClose: true, change: 1, save: { includeText: false } },
          codeLensProvider: {},
          inlayHintProvider: true,
          codeActionProvider: { codeActionKinds: ['quickfix'] },
          executeCommandProvider: { commands: ['cmdt.run', 'cmdt.update', 'cmdt.runNoCache', 'cmdt.accept'] },
        },
        serverInfo: { name: 'cmdt-lsp-mock', version: '0' },
      });
    case 'shutdown':
      return reply(id, null);
    case 'exit':
      return process.exit(0);
    case 'textDocument/didOpen':
      docs.set(params.textDocument.uri, { text: params.textDocument.text, version: params.textDocument.version });
      return diagnostics(params.textDocument.uri);
    case 'textDocument/didChange': {
      const doc = docs.get(params.textDocument.uri);
      doc.text = params.contentChanges.at(-1).text;
      doc.version = params.textDocument.version;
      doc.result = undefined; // stale
      return diagnostics(params.textDocument.uri);
    }
    case 'textDocument/didClose':
      docs.delete(params.textDocument.uri);
      return undefined;
    case 'textDocument/codeLens': {
      const uri = params.textDocument.uri;
      const doc = docs.get(uri);
      const lenses = [];
      const { blocks } = parse(doc.text);
      const st = status(uri);
      lenses.push({ range: range(0, 0, 0, 0), command: { title: `▶ Run · ${st.text}`, command: 'cmdt.run', arguments: [uri] } });
      lenses.push({ range: range(0, 0, 0, 0), command: { title: '↻ Update', command: 'cmdt.update', arguments: [uri] } });
      lenses.push({ range: range(0, 0, 0, 0), command: { title: '▶ Run (ignore cache)', command: 'cmdt.runNoCache', arguments: [uri] } });
      for (const r of doc.result?.results ?? []) {
        if (!r.ok && blocks.some((b) => b.line === r.block.line)) {
          lenses.push({
            range: range(r.block.line, 0, r.block.line, 0),
            command: { title: '✓ Accept actual output', command: 'cmdt.accept', arguments: [uri, r.block.line] },
          });
        }
      }
      return reply(id, lenses);
    }
    case 'textDocument/inlayHint': {
      const doc = docs.get(params.textDocument.uri);
      const { lines } = parse(doc.text);
      const hints = (doc.result?.results ?? []).map((r) => ({
        position: { line: r.block.line, character: lines[r.block.line]?.length ?? 0 },
        label: r.ok ? '✓' : '✗ output differs',
        paddingLeft: true,
      }));
      return reply(id, hints);
    }
    case 'textDocument/codeAction': {
      const uri = params.textDocument.uri;
      const actions = (params.context.diagnostics ?? [])
        .filter((d) => d.code === 'check-failed')
        .map((d) => ({ title: 'Accept actual output', kind: 'quickfix', diagnostics: [d], edit: acceptEdit(uri, d.data?.line ?? d.range.start.line) }))
        .filter((a) => a.edit);
      return reply(id, actions);
    }
    case 'workspace/executeCommand': {
      const [uri, line] = params.arguments ?? [];
      const doc = docs.get(uri);
      if (!doc) {
        return replyError(id, -32602, `document ${uri} is not open`);
      }
      if (params.command === 'cmdt.accept') {
        const edit = acceptEdit(uri, line);
        if (edit) {
          request('workspace/applyEdit', { label: 'Accept actual output', edit });
        }
        return reply(id, null);
      }
      runDoc(uri, doc);
      if (params.command === 'cmdt.update') {
        for (const r of [...doc.result.results].reverse()) {
          const e = acceptEdit(uri, r.block.line);
          if (!r.ok && e) {
            request('workspace/applyEdit', { label: 'Update transcript', edit: e });
          }
        }
      }
      diagnostics(uri);
      request('workspace/codeLens/refresh', null);
      request('workspace/inlayHint/refresh', null);
      return reply(id, null);
    }
    case 'cmdt/status':
      return reply(id, status(params.uri));
    default:
      if (id !== undefined) {
        return replyError(id, -32601, `method not found: ${method}`);
      }
      return undefined;
  }
}

process.stdin.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const sep = buf.indexOf('\r\n\r\n');
    if (sep < 0) {
      return;
    }
    const m = /Content-Length: *(\d+)/i.exec(buf.subarray(0, sep).toString());
    const len = m ? parseInt(m[1], 10) : 0;
    if (buf.length < sep + 4 + len) {
      return;
    }
    const msg = JSON.parse(buf.subarray(sep + 4, sep + 4 + len).toString());
    buf = buf.subarray(sep + 4 + len);
    try {
      handle(msg);
    } catch (err) {
      process.stderr.write(`mock: ${err.stack}\n`);
      if (msg.id !== undefined) {
        replyError(msg.id, -32603, String(err));
      }
    }
  }
});
