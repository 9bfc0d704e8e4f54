// Conformance run: drives cmdt-lsp through the reference client library
// (vscode-languageserver-protocol over vscode-jsonrpc), the same stack the
// VS Code extension uses, through initialize → didOpen → diagnostics →
// hover → completion → symbols → semantic tokens → cmdt/status → a run
// (progress, diagnostics, lenses, inlay hints, the accept quick fix and its
// workspace/applyEdit, a passing re-run) → shutdown → exit.
//
// Usage: node run.js /path/to/cmdt-lsp
// Prints one line per check and a closing "N passed, N failed" line; exits
// non-zero on any failure.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { pathToFileURL } = require('url');
const rpc = require('vscode-jsonrpc/node');
const lsp = require('vscode-languageserver-protocol');

const server = process.argv[2] || process.env.CMDT_LSP;
if (!server) {
  console.error('usage: node run.js /path/to/cmdt-lsp');
  process.exit(2);
}

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
  }
}

function withTimeout(promise, what, ms = 10000) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmdt-conformance-'));
  fs.writeFileSync(path.join(dir, 'go.mod'), 'module example.com/conformance\n');
  fs.writeFileSync(path.join(dir, 'data.txt'), 'data\n');
  const docPath = path.join(dir, 'demo.cmdt');
  const uri = pathToFileURL(docPath).href;
  const text = [
    '# demo',
    '% dep file data.txt missing.txt',
    '$ cat data.txt',
    '1 data',
    '',
    '1 orphan',
    '% bogus',
    '',
  ].join('\n');

  const child = spawn(server, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));

  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const diagnostics = new Promise((resolve) => {
    conn.onNotification(lsp.PublishDiagnosticsNotification.type, (p) => { if (p.uri === uri) resolve(p); });
  });
  // The client side of runs: progress, refreshes and edits, as an editor.
  const progress = [];
  const applied = [];
  conn.onNotification('$/progress', (p) => { progress.push(p); });
  conn.onRequest(lsp.ApplyWorkspaceEditRequest.type, (p) => { applied.push(p); return { applied: true }; });
  conn.onRequest(() => null); // registerCapability, workDoneProgress/create, refreshes
  conn.listen();

  const init = await withTimeout(conn.sendRequest(lsp.InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(dir).href,
    capabilities: {
      general: { positionEncodings: ['utf-16'] },
      textDocument: { hover: { contentFormat: ['markdown'] } },
      window: { workDoneProgress: true },
      workspace: { workspaceEdit: { documentChanges: true }, codeLens: { refreshSupport: true }, inlayHint: { refreshSupport: true } },
    },
    workspaceFolders: null,
  }), 'initialize');
  const caps = init.capabilities;
  check('initialize: serverInfo', init.serverInfo && init.serverInfo.name === 'cmdt-lsp', init.serverInfo);
  check('initialize: incremental sync', caps.textDocumentSync && caps.textDocumentSync.change === lsp.TextDocumentSyncKind.Incremental, caps.textDocumentSync);
  check('initialize: providers', caps.hoverProvider === true && caps.definitionProvider === true && !!caps.completionProvider, caps);
  check('initialize: semantic tokens legend', caps.semanticTokensProvider && Array.isArray(caps.semanticTokensProvider.legend.tokenTypes), caps.semanticTokensProvider);
  check('initialize: utf-16 (positionEncoding absent or utf-16)', !caps.positionEncoding || caps.positionEncoding === 'utf-16', caps.positionEncoding);
  await conn.sendNotification(lsp.InitializedNotification.type, {});

  await conn.sendNotification(lsp.DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'cmdt', version: 1, text },
  });
  const diags = await withTimeout(diagnostics, 'publishDiagnostics');
  const codes = diags.diagnostics.map((d) => d.code).sort();
  check('diagnostics: codes', JSON.stringify(codes) === JSON.stringify(['dependency-missing', 'output-outside-command', 'unknown-directive']), codes);
  check('diagnostics: source cmdt', diags.diagnostics.every((d) => d.source === 'cmdt'), diags.diagnostics);
  check('diagnostics: version', diags.version === 1, diags.version);

  const hover = await withTimeout(conn.sendRequest(lsp.HoverRequest.type, { textDocument: { uri }, position: { line: 1, character: 12 } }), 'hover');
  check('hover: dependency', hover && hover.contents && /data\.txt/.test(hover.contents.value) && /exists: yes/.test(hover.contents.value), hover);

  const completion = await withTimeout(conn.sendRequest(lsp.CompletionRequest.type, { textDocument: { uri }, position: { line: 7, character: 0 } }), 'completion');
  const items = Array.isArray(completion) ? completion : completion.items;
  check('completion: opcodes at line start', items.some((i) => i.label === '$') && items.some((i) => i.label === '1<'), items.map((i) => i.label));

  const symbols = await withTimeout(conn.sendRequest(lsp.DocumentSymbolRequest.type, { textDocument: { uri } }), 'documentSymbol');
  check('documentSymbol: one per command block', symbols.length === 1 && symbols[0].name === 'cat data.txt', symbols);

  const tokens = await withTimeout(conn.sendRequest(lsp.SemanticTokensRequest.type, { textDocument: { uri } }), 'semanticTokens');
  check('semanticTokens: data', tokens && tokens.data.length > 0 && tokens.data.length % 5 === 0, tokens);

  const status = await withTimeout(conn.sendRequest(new lsp.RequestType('cmdt/status'), { uri }), 'cmdt/status');
  // Never run (the Go test points CMDT_CACHE_DIR at an empty directory).
  check('cmdt/status', status && status.status === 'never-run' && status.text === 'not run yet', status);

  // Run a failing transcript, read the results, accept the actual output.
  const runUri = pathToFileURL(path.join(dir, 'run.cmdt')).href;
  await conn.sendNotification(lsp.DidOpenTextDocumentNotification.type, {
    textDocument: { uri: runUri, languageId: 'cmdt', version: 1, text: '$ echo hello\n1 goodbye\n' },
  });
  const runDiags = new Promise((resolve) => {
    conn.onNotification(lsp.PublishDiagnosticsNotification.type, (p) => {
      if (p.uri === runUri && p.diagnostics.some((d) => d.code === 'check-failed')) resolve(p);
    });
  });
  const ran = await withTimeout(conn.sendRequest(lsp.ExecuteCommandRequest.type, { command: 'cmdt.run', arguments: [runUri] }), 'cmdt.run');
  check('cmdt.run: failed', ran && ran.status === 'failed' && ran.failed === 1, ran);
  const failure = (await withTimeout(runDiags, 'run diagnostics')).diagnostics.find((d) => d.code === 'check-failed');
  check('run diagnostic: diff on the $ line', failure.range.start.line === 0 && failure.message.includes('-1 goodbye') && failure.message.includes('+1 hello'), failure);
  check('$/progress: begin … end', progress.length >= 2 && progress[0].value.kind === 'begin' && progress[progress.length - 1].value.kind === 'end', progress);
  const lenses = await withTimeout(conn.sendRequest(lsp.CodeLensRequest.type, { textDocument: { uri: runUri } }), 'codeLens');
  const titles = lenses.map((l) => l.command.title);
  check('code lenses', titles[0] === '▶ Run · failed: 1 of 1 commands' && titles.includes('↻ Update') && titles.includes('▶ Run (ignore cache)') && titles.includes('✓ Accept actual output'), titles);
  const hints = await withTimeout(conn.sendRequest(lsp.InlayHintRequest.type, { textDocument: { uri: runUri }, range: { start: { line: 0, character: 0 }, end: { line: 9, character: 0 } } }), 'inlayHint');
  check('inlay hints', hints.some((h) => /^✗ (<1|\d+) ms$/.test(h.label)), hints);
  const actions = await withTimeout(conn.sendRequest(lsp.CodeActionRequest.type, { textDocument: { uri: runUri }, range: failure.range, context: { diagnostics: [failure] } }), 'codeAction');
  const accept = actions.find((a) => a.title === 'Accept actual output');
  check('quick fix: accept', accept && accept.kind === 'quickfix' && accept.command.command === 'cmdt.accept', actions);
  const accepted = await withTimeout(conn.sendRequest(lsp.ExecuteCommandRequest.type, accept.command), 'cmdt.accept');
  const edit = applied[0] && applied[0].edit.documentChanges[0];
  check('cmdt.accept: workspace/applyEdit of one line', accepted.status === 'updated' && edit && edit.textDocument.version === 1 && edit.edits.length === 1 && edit.edits[0].newText === '1 hello\n', applied);
  await conn.sendNotification(lsp.DidChangeTextDocumentNotification.type, {
    textDocument: { uri: runUri, version: 2 }, contentChanges: [{ range: edit.edits[0].range, text: edit.edits[0].newText }],
  });
  const again = await withTimeout(conn.sendRequest(lsp.ExecuteCommandRequest.type, { command: 'cmdt.run', arguments: [runUri] }), 'cmdt.run again');
  const runStatus = await withTimeout(conn.sendRequest(new lsp.RequestType('cmdt/status'), { uri: runUri }), 'cmdt/status after the run');
  check('run after accepting: passed, status fresh', again.status === 'passed' && runStatus.status === 'fresh' && runStatus.text === 'cached ✓ just now', { again, runStatus });

  let unknownErr = null;
  try {
    await withTimeout(conn.sendRequest(new lsp.RequestType('cmdt/noSuchMethod'), {}), 'unknown method');
  } catch (e) {
    unknownErr = e;
  }
  check('unknown request: MethodNotFound', unknownErr && unknownErr.code === rpc.ErrorCodes.MethodNotFound, unknownErr && unknownErr.message);

  await withTimeout(conn.sendRequest(lsp.ShutdownRequest.type), 'shutdown');
  await conn.sendNotification(lsp.ExitNotification.type);
  const code = await withTimeout(exited, 'process exit');
  check('exit status 0 after shutdown+exit', code === 0, { code, stderr });
  conn.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  failed++;
  console.log(`FAIL ${e.message}`);
}).finally(() => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
});
