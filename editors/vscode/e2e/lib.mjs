// Helpers for driving a throwaway code-server (real VS Code) through Debian's chromium with playwright-core.
// See /work/shared/notes/vscode-e2e.md for the recipe this follows.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const extDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoDir = path.resolve(extDir, '..', '..');

const t0 = Date.now();
export function log(msg) {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  console.log(`[e2e ${s}s] ${msg}`);
}

export class AssertionFailed extends Error {}
export function check(cond, msg) {
  if (!cond) {
    throw new AssertionFailed(msg);
  }
}

/** Reads KEY='value' lines of the env file .ci/vscode-tools.sh writes. */
function readEnvFile(file) {
  const out = {};
  if (!fs.existsSync(file)) {
    return out;
  }
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) {
      out[m[1]] = m[2];
    }
  }
  return out;
}

/** Locates code-server, chromium and playwright-core (env vars first, then the tools folder). */
export function findTools() {
  const toolsDir = process.env.CMDT_TOOLS_DIR || path.join(repoDir, '.tools');
  const fromFile = readEnvFile(path.join(toolsDir, 'vscode-tools.env'));
  const get = (k, dflt) => process.env[k] || fromFile[k] || dflt;
  const tools = {
    codeServer: get('CMDT_CODE_SERVER', path.join(toolsDir, 'bin', 'code-server')),
    chromium: get('CMDT_CHROMIUM', '/usr/bin/chromium'),
    playwrightDir: get('CMDT_PLAYWRIGHT_DIR', path.join(toolsDir, 'playwright', 'node_modules', 'playwright-core')),
  };
  const missing = Object.entries(tools).filter(([, p]) => !fs.existsSync(p));
  if (missing.length) {
    throw new Error(
      `missing e2e tools: ${missing.map(([k, p]) => `${k} (${p})`).join(', ')}.\n` +
        `Install them with: bash ${path.relative(process.cwd(), path.join(repoDir, '.ci', 'vscode-tools.sh')) || '.ci/vscode-tools.sh'}`,
    );
  }
  const require = createRequire(import.meta.url);
  tools.playwright = require(tools.playwrightDir);
  return tools;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: opts.quiet ? 'pipe' : 'inherit', encoding: 'utf8', ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}${opts.quiet ? `\n${r.stdout}\n${r.stderr}` : ''}`);
  }
  return r;
}

/**
 * A code-server in its own process group with a throwaway config, user data and extensions folder.
 * Call stop() at the end: it kills the whole group (extension hosts, watchers, language servers).
 */
export class CodeServer {
  constructor(tools, { root, extensionsDir, settings }) {
    this.tools = tools;
    this.root = root;
    this.dataDir = path.join(root, 'data');
    this.extensionsDir = extensionsDir;
    this.config = path.join(root, 'cs.yaml');
    this.logFile = path.join(root, 'code-server.log');
    fs.mkdirSync(path.join(this.dataDir, 'User'), { recursive: true });
    fs.writeFileSync(this.config, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
    this.writeSettings(settings);
  }

  writeSettings(settings) {
    const base = {
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'update.mode': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'editor.inlayHints.enabled': 'on',
      'editor.codeLens': true,
      'editor.minimap.enabled': false,
      'window.restoreWindows': 'none',
      'files.hotExit': 'off',
      // VS Code for the web (code-server) saves after a delay by default: a save the test did not ask for races its
      // checks of the file on disk (an accepted edit must stay in the buffer until saved) and of runs on save.
      'files.autoSave': 'off',
      'chat.disableAIFeatures': true,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
    };
    const json = JSON.stringify({ ...base, ...settings }, null, 2);
    // code-server treats data/User as the browser-side user settings and data/Machine as the remote machine's;
    // machine-scoped settings (cmdt.server.path) only apply from the latter, as in any remote window.
    fs.writeFileSync(path.join(this.dataDir, 'User', 'settings.json'), json);
    fs.mkdirSync(path.join(this.dataDir, 'Machine'), { recursive: true });
    fs.writeFileSync(path.join(this.dataDir, 'Machine', 'settings.json'), json);
  }

  baseArgs() {
    return ['--config', this.config, '--user-data-dir', this.dataDir, '--extensions-dir', this.extensionsDir];
  }

  installExtension(vsix) {
    run(this.tools.codeServer, [...this.baseArgs(), '--install-extension', vsix, '--force'], { quiet: true });
  }

  async start(workspace, env = {}) {
    this.port = await freePort();
    const out = fs.openSync(this.logFile, 'a');
    this.proc = spawn(
      this.tools.codeServer,
      [
        ...this.baseArgs(),
        '--bind-addr', `127.0.0.1:${this.port}`,
        '--auth', 'none',
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        workspace,
      ],
      { detached: true, stdio: ['ignore', out, out], env: { ...process.env, ...env } },
    );
    fs.closeSync(out);
    this.url = `http://127.0.0.1:${this.port}`;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) {
        throw new Error(`code-server exited with ${this.proc.exitCode}; log:\n${this.logTail()}`);
      }
      try {
        const r = await fetch(`${this.url}/healthz`);
        if (r.ok) {
          return;
        }
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`code-server did not answer /healthz within 60 s; log:\n${this.logTail()}`);
  }

  logTail(n = 40) {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-n).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Text of VS Code's log files matching a name (e.g. the extension's output channel), for failure reports. */
  vscodeLogs(match) {
    const found = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) {
          walk(p);
        } else if (match.test(e.name)) {
          // The language server's channel whole (it says what was asked and answered when); other logs' tails.
          const text = fs.readFileSync(p, 'utf8');
          const keep = /Language Server/.test(e.name) ? text : text.split('\n').slice(-60).join('\n');
          found.push(`--- ${path.relative(this.dataDir, p)}\n${keep}`);
        }
      }
    };
    try {
      walk(path.join(this.dataDir, 'logs'));
    } catch {
      // no logs
    }
    return found.join('\n');
  }

  /** The text an extension's output channel holds so far ('' until the channel has written its log file). */
  outputChannel(name) {
    const found = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) {
          walk(p);
        } else if (e.name.endsWith(`-${name}.log`) && path.basename(d).startsWith('output_logging_')) {
          found.push(p);
        }
      }
    };
    try {
      walk(path.join(this.dataDir, 'logs'));
    } catch {
      return '';
    }
    return found.sort().map((p) => fs.readFileSync(p, 'utf8')).join('\n');
  }

  /** The URL that opens a folder and one file in it. */
  openUrl(folder, file) {
    const payload = JSON.stringify([['openFile', `vscode-remote://127.0.0.1:${this.port}${path.join(folder, file)}`]]);
    return `${this.url}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(payload)}`;
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) {
      return;
    }
    const pgid = this.proc.pid;
    const alive = () => {
      try {
        process.kill(-pgid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 30 && alive(); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (alive()) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

export async function launchBrowser(tools, profileDir) {
  return tools.playwright.chromium.launchPersistentContext(profileDir, {
    executablePath: tools.chromium,
    headless: true,
    serviceWorkers: 'block',
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function mkTemp(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Starts the language server once over stdio and returns its initialize result (capabilities), so that a server
 * lacking what a scenario drives (an old build) fails at once, saying what it lacks.
 */
export function probeServer(bin, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = Buffer.alloc(0);
    let stderr = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${bin} did not answer initialize within ${timeoutMs / 1000} s; stderr:\n${stderr}`));
    }, timeoutMs);
    const send = (msg) => {
      const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }));
      p.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
      p.stdin.write(body);
    };
    p.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.stdout.on('data', (d) => {
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
        if (msg.id === 1) {
          clearTimeout(timer);
          send({ id: 2, method: 'shutdown' });
          send({ method: 'exit' });
          setTimeout(() => p.kill('SIGKILL'), 2000).unref();
          if (msg.error) {
            reject(new Error(`initialize failed: ${JSON.stringify(msg.error)}`));
          } else {
            resolve(msg.result);
          }
        }
      }
    });
    send({ id: 1, method: 'initialize', params: { processId: process.pid, rootUri: null, capabilities: {} } });
  });
}

/**
 * The LSP messages of a vscode-languageclient output channel traced at `verbose`:
 * [{dir: 'Sending'|'Received', kind: 'request'|'response'|'notification', method, id, body}] in order; body is the
 * parsed `Params:` / `Result:` JSON when there is one. Other lines (the server's stderr) are skipped.
 */
export function traceMessages(text) {
  const out = [];
  const head = /^\[Trace - [^\]]+\] (Sending|Received) (request|response|notification) '([^']+?)(?: - \((\d+)\))?'/;
  const chunks = text.split(/\n(?=\[Trace - )/);
  for (const chunk of chunks) {
    const m = head.exec(chunk);
    if (!m) {
      continue;
    }
    const msg = { dir: m[1], kind: m[2], method: m[3], id: m[4] === undefined ? undefined : Number(m[4]) };
    const failed = / Request failed: ([\s\S]*?) \((-?\d+)\)\./.exec(chunk);
    if (failed && msg.kind === 'response') {
      msg.error = { message: failed[1], code: Number(failed[2]) };
    }
    const b = /\n(?:Params|Result): ([\s\S]*)$/.exec(chunk);
    if (b) {
      // The JSON ends at one of the closing brackets; server stderr lines or blank lines may follow it.
      const raw = b[1];
      for (let end = raw.length; end > 0;) {
        const i = Math.max(raw.lastIndexOf('}', end - 1), raw.lastIndexOf(']', end - 1));
        if (i < 0) {
          break;
        }
        try {
          msg.body = JSON.parse(raw.slice(0, i + 1));
          break;
        } catch {
          end = i;
        }
      }
    }
    out.push(msg);
  }
  return out;
}
