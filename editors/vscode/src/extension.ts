// The cmdt VS Code extension: a thin vscode-languageclient client for cmdt-lsp, plus palette commands and a
// status-bar item with the active transcript's cache status. Features live in the server (run on save included:
// the extension only forwards the cmdt.runOnSave setting).
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { RESTART_COMMAND, SERVER_COMMANDS } from './commands';
import { depfilePaths } from './depfiles';
import { INSTALL_COMMAND, Resolution, resolveServerPath } from './serverPath';
import { STATUS_METHOD, formatStatus, isMethodNotFound } from './status';
import { TranscriptTests } from './testing';

const CLIENT_ID = 'cmdt';
const CLIENT_NAME = 'cmdt Language Server';
const STATUS_POLL_MS = 4000;

let client: LanguageClient | undefined;
let starting: Promise<LanguageClient | undefined> | undefined;
let output: vscode.OutputChannel;
let statusBar: StatusBar;
let tests: TranscriptTests;
/** The last "server not found" message shown, so it is shown once, not on every file or save. */
let shownMissing: string | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel(CLIENT_NAME);
  statusBar = new StatusBar();
  tests = new TranscriptTests(() => startClient(), output);
  context.subscriptions.push(output, statusBar, tests);

  for (const [id, cmd] of Object.entries(SERVER_COMMANDS)) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, (arg?: unknown) => runServerCommand(cmd.server, cmd.title, toUri(arg))),
    );
  }
  context.subscriptions.push(
    vscode.commands.registerCommand(RESTART_COMMAND, () => restart(true)),
    // No run here: with cmdt.runOnSave on, the server runs the transcript on didSave itself (the setting reaches it
    // through initializationOptions and workspace/didChangeConfiguration); a run from here would be a second one.
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (doc.languageId === 'cmdt') {
        statusBar.refreshSoon();
      }
    }),
    vscode.workspace.onDidOpenTextDocument((doc) => detectDepfiles(doc)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('cmdt.server.path') || e.affectsConfiguration('cmdt.server.args')) {
        output.appendLine('cmdt.server settings changed: restarting the language server');
        void restart(false);
      }
    }),
  );

  vscode.workspace.textDocuments.forEach(detectDepfiles);
  await startClient();
}

/**
 * Gives the cmdt-deps language to plain-text files that an open transcript names as depfiles
 * (`% depfile PATH`, `% dep < PATH`), whatever their names; when a transcript opens, to open files it names.
 */
function detectDepfiles(doc: vscode.TextDocument): void {
  const isCandidate = (d: vscode.TextDocument) => d.languageId === 'plaintext' && d.uri.scheme === 'file';
  const named = (t: vscode.TextDocument) => depfilePaths(t.getText(), t.uri.fsPath, process.env);
  const transcripts = vscode.workspace.textDocuments.filter((t) => t.languageId === 'cmdt' && t.uri.scheme === 'file');
  let targets: vscode.TextDocument[] = [];
  if (isCandidate(doc)) {
    if (transcripts.some((t) => named(t).includes(doc.uri.fsPath))) {
      targets = [doc];
    }
  } else if (doc.languageId === 'cmdt' && doc.uri.scheme === 'file') {
    const paths = new Set(named(doc));
    targets = vscode.workspace.textDocuments.filter((d) => isCandidate(d) && paths.has(d.uri.fsPath));
  }
  for (const d of targets) {
    output.appendLine(`${vscode.workspace.asRelativePath(d.uri)} is a depfile of an open transcript: language cmdt-deps`);
    void vscode.languages.setTextDocumentLanguage(d, 'cmdt-deps');
  }
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) {
    await c.stop().catch(() => undefined);
  }
}

function toUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) {
    return arg;
  }
  if (typeof arg === 'string' && arg) {
    try {
      return vscode.Uri.parse(arg, true);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function resolve(): Resolution {
  const cfg = vscode.workspace.getConfiguration('cmdt');
  return resolveServerPath({
    configured: cfg.get<string>('server.path', ''),
    env: process.env,
    workspaceFolder: vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath,
  });
}

async function showMissing(res: Extract<Resolution, { ok: false }>, force: boolean): Promise<void> {
  output.appendLine(res.message);
  if (res.tried.length) {
    output.appendLine(`  looked for: ${res.tried.join(', ')}`);
  }
  if (!force && shownMissing === res.message) {
    return;
  }
  shownMissing = res.message;
  const copy = 'Copy Install Command';
  const settings = 'Open Settings';
  const choice = await vscode.window.showErrorMessage(res.message, copy, settings);
  if (choice === copy) {
    await vscode.env.clipboard.writeText(INSTALL_COMMAND);
    void vscode.window.showInformationMessage(`Copied: ${INSTALL_COMMAND}`);
  } else if (choice === settings) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'cmdt.server.path');
  }
}

/** Starts the client if the server can be found. Never throws. */
function startClient(opts: { forceMessage?: boolean } = {}): Promise<LanguageClient | undefined> {
  if (client) {
    return Promise.resolve(client);
  }
  if (starting) {
    return starting;
  }
  starting = (async () => {
    const res = resolve();
    if (!res.ok) {
      void showMissing(res, !!opts.forceMessage);
      statusBar.update();
      return undefined;
    }
    shownMissing = undefined;
    const args = vscode.workspace.getConfiguration('cmdt').get<string[]>('server.args', []);
    output.appendLine(`Starting ${res.path}${args.length ? ' ' + args.join(' ') : ''} (found via ${res.source})`);
    const serverOptions: ServerOptions = { command: res.path, args, transport: TransportKind.stdio };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { language: 'cmdt' },
        { language: 'cmdt-deps' },
      ],
      outputChannel: output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // The server reads its settings ({undeclaredDependencies, shellSyntax, ...}) from initializationOptions
      // and from workspace/didChangeConfiguration ({settings: {cmdt: {...}}}). File events: the server registers
      // its own watcher (client/registerCapability), so none is set up here (events would arrive twice).
      initializationOptions: serverSettings(),
      synchronize: {
        configurationSection: 'cmdt',
      },
      middleware: {
        // Server commands run from code lenses (cmdt.run, cmdt.accept, ...) change the cache status.
        executeCommand: async (command, args, next) => {
          try {
            return await next(command, args);
          } finally {
            statusBar.refreshSoon();
          }
        },
      },
    };
    const c = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    c.onDidChangeState((e) => {
      if (e.newState === State.Running) {
        statusBar.reset();
      }
      statusBar.update();
    });
    try {
      await c.start();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      output.appendLine(`The language server failed to start: ${msg}`);
      void vscode.window.showErrorMessage(`cmdt: the language server ${res.path} failed to start: ${msg}`, 'Show Output')
        .then((choice) => choice && output.show(true));
      await c.stop().catch(() => undefined);
      return undefined;
    }
    client = c;
    statusBar.update();
    tests.attach(c);
    return c;
  })().finally(() => {
    starting = undefined;
  });
  return starting;
}

function serverSettings(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(vscode.workspace.getConfiguration('cmdt'))) as Record<string, unknown>;
}

async function restart(fromUser: boolean): Promise<void> {
  const c = client;
  client = undefined;
  if (c) {
    output.appendLine('Stopping the language server');
    await c.stop().catch((err) => output.appendLine(`stop: ${err}`));
  }
  shownMissing = undefined;
  const started = await startClient({ forceMessage: fromUser });
  if (started && fromUser) {
    void vscode.window.setStatusBarMessage('cmdt: language server restarted', 3000);
  }
}

async function runServerCommand(
  command: string,
  title: string,
  uri: vscode.Uri | undefined,
): Promise<void> {
  const doc = uri
    ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString())
    : vscode.window.activeTextEditor?.document;
  const target = uri ?? doc?.uri;
  if (!target || (doc && doc.languageId !== 'cmdt')) {
    void vscode.window.showWarningMessage(`cmdt: ${title}: open a .cmdt transcript first.`);
    return;
  }
  const c = client ?? (await startClient({ forceMessage: true }));
  if (!c) {
    return;
  }
  try {
    await c.sendRequest(ExecuteCommandRequest.type, { command, arguments: [target.toString()] });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    output.appendLine(`${command} ${target.toString()}: ${msg}`);
    void vscode.window.showErrorMessage(`cmdt: ${title} failed: ${msg}`);
  } finally {
    statusBar.refreshSoon();
  }
}

/** The status-bar item with the active transcript's cache status (server request cmdt/status). */
class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('cmdt.status', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];
  private readonly timer: NodeJS.Timeout;
  /** The server answered MethodNotFound: it has no cmdt/status; stay hidden until it restarts. */
  private unsupported = false;
  private seq = 0;
  private soon: NodeJS.Timeout | undefined;

  constructor() {
    this.item.name = 'cmdt cache status';
    this.item.command = 'cmdt.palette.run';
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === vscode.window.activeTextEditor?.document) {
          this.refreshSoon(800);
        }
      }),
      // Runs report in the background ($/progress) and end by publishing diagnostics: a good moment to ask.
      vscode.languages.onDidChangeDiagnostics((e) => {
        const active = vscode.window.activeTextEditor?.document.uri.toString();
        if (active && e.uris.some((u) => u.toString() === active)) {
          this.refreshSoon(200);
        }
      }),
    );
    this.timer = setInterval(() => this.update(), STATUS_POLL_MS);
  }

  reset(): void {
    this.unsupported = false;
  }

  refreshSoon(delay = 300): void {
    if (this.soon) {
      clearTimeout(this.soon);
    }
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.update();
    }, delay);
  }

  update(): void {
    const seq = ++this.seq;
    const doc = vscode.window.activeTextEditor?.document;
    const c = client;
    if (!doc || doc.languageId !== 'cmdt' || !c || c.state !== State.Running || this.unsupported) {
      this.item.hide();
      return;
    }
    c.sendRequest(STATUS_METHOD, { uri: doc.uri.toString() }).then(
      (result) => {
        if (seq !== this.seq) {
          return;
        }
        const view = formatStatus(result, vscode.workspace.asRelativePath(doc.uri));
        if (!view.visible) {
          this.item.hide();
          return;
        }
        this.item.text = view.text;
        this.item.tooltip = view.tooltip;
        this.item.backgroundColor = view.background ? new vscode.ThemeColor(view.background) : undefined;
        this.item.show();
      },
      (err) => {
        if (isMethodNotFound(err)) {
          this.unsupported = true;
          output.appendLine(`The server does not implement ${STATUS_METHOD}: hiding the status item.`);
        }
        if (seq === this.seq) {
          this.item.hide();
        }
      },
    );
  }

  dispose(): void {
    clearInterval(this.timer);
    if (this.soon) {
      clearTimeout(this.soon);
    }
    this.item.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
