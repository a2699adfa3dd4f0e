/**
 * The typed command ids (src/extension/commands/commandIds.ts) against the
 * manifest: every contributed command has an id the registry accepts, and every
 * id is contributed, with a title and the ZeroMQ category.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_IDS } from '../../src/extension/commands/commandIds';

const manifest = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8'));

describe('command ids', () => {
  const contributed: { command: string; title?: string; category?: string }[] = manifest.contributes.commands;

  it('every contributed command is in COMMAND_IDS, and every id is contributed', () => {
    const ids = new Set<string>(COMMAND_IDS);
    const missingIds = contributed.filter((c) => !ids.has(c.command)).map((c) => c.command);
    const notContributed = COMMAND_IDS.filter((id) => !contributed.some((c) => c.command === id));
    assert.deepEqual(missingIds, [], 'contributed but not in COMMAND_IDS');
    assert.deepEqual(notContributed, [], 'in COMMAND_IDS but not contributed');
    assert.equal(ids.size, COMMAND_IDS.length, 'no id twice');
  });

  it('menus and keybindings name only known commands', () => {
    const ids = new Set<string>(COMMAND_IDS);
    const used: string[] = [];
    for (const items of Object.values(manifest.contributes.menus ?? {}) as { command?: string }[][]) for (const i of items) if (i.command) used.push(i.command);
    for (const k of manifest.contributes.keybindings ?? []) used.push(k.command);
    assert.deepEqual(used.filter((id) => !ids.has(id)), []);
  });

  it('the registry is the only place that calls registerCommand', () => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const hits = execFileSync('grep', ['-rln', 'registerCommand(', join(__dirname, '../../src')], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(hits.map((h) => h.replace(/.*\/src\//, 'src/')), ['src/extension/commands/registry.ts']);
  });
});
