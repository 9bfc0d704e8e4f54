// The palette commands and the server commands they call. Pure data (no 'vscode' import), so the unit tests can
// hold it against package.json.

/** Palette command id -> server command id and title. The server's own ids are registered by vscode-languageclient. */
export const SERVER_COMMANDS: Readonly<Record<string, { server: string; title: string }>> = {
  'cmdt.palette.run': { server: 'cmdt.run', title: 'Run transcript' },
  'cmdt.palette.update': { server: 'cmdt.update', title: 'Update transcript' },
  'cmdt.palette.runNoCache': { server: 'cmdt.runNoCache', title: 'Run ignoring cache' },
};

export const RESTART_COMMAND = 'cmdt.palette.restart';

/**
 * The settings the server reads (initializationOptions, workspace/didChangeConfiguration {settings: {cmdt: ...}}).
 * The client forwards the whole `cmdt` section; these must exist there. The server acts on them itself: with
 * `runOnSave` it runs a transcript on didSave, so the extension never runs one on save.
 */
export const SERVER_SETTINGS = ['undeclaredDependencies', 'shellSyntax', 'runOnSave'] as const;
