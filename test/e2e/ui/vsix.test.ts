/**
 * Tier 3 against the package users install: the VSIX built by `npm run package`
 * (reused when current) is installed with `code-server --install-extension` into
 * an empty extensions dir, with no link to this repository, then the smoke test
 * runs on it: the ZeroMQ view, "ZeroMQ: Show Version" reporting libzmq 4.3.5 (the
 * native addon loads from the package), and the Get Started walkthrough done by
 * clicking its buttons: open the view, run an example, open the frames viewer.
 * A VSIX missing zeromq's prebuilds fails here.
 */
import * as assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureVsix } from '../../unit/helpers/vsix';
import { CodeServer, EXTENSION_ID, startCodeServer, stopCodeServersAfterEach, TEST_WORKSPACE } from './codeServer';

const WALKTHROUGH_TITLE = 'Get started with the ZeroMQ Topology Debugger';

describe('packaged extension (VSIX installed into code-server)', function () {
  this.timeout(180000);
  let vsix: string;
  let vsc: CodeServer | undefined;

  before(async function () {
    const { path, built, ms } = await ensureVsix();
    vsix = path;
    console.log(`      (${built ? `packaged in ${ms} ms` : 'reusing the current VSIX'}: ${path})`);
  });

  stopCodeServersAfterEach();

  /** The folder --install-extension made for us, checked to be a real copy, not a link to the repo. */
  function installedDir(v: CodeServer): string {
    const extensions = join(v.dir, 'extensions');
    const ours = readdirSync(extensions).filter((n) => n.startsWith(`${EXTENSION_ID}-`));
    assert.equal(ours.length, 1, `expected one ${EXTENSION_ID} in ${extensions}, found: ${readdirSync(extensions).join(', ')}`);
    const dir = join(extensions, ours[0]);
    assert.ok(!lstatSync(dir).isSymbolicLink(), 'the installed extension must be the unpacked VSIX, not a link');
    assert.ok(!existsSync(join(dir, 'src')) && !existsSync(join(dir, 'test')), 'the installed extension holds no sources or tests');
    return dir;
  }

  it('installs, shows the ZeroMQ view, and "ZeroMQ: Show Version" reports libzmq 4.3.5 from the packaged addon', async () => {
    const started = Date.now();
    vsc = await startCodeServer({ folder: TEST_WORKSPACE, vsix });
    const workbenchMs = Date.now() - started;
    const dir = installedDir(vsc);

    await vsc.openViewContainer('ZeroMQ');
    const endpoints = vsc.view('Endpoints');
    for (const endpoint of ['tcp://127.0.0.1:5556', 'tcp://127.0.0.1:5557']) {
      await endpoints.locator('.monaco-list-row', { hasText: endpoint }).first().waitFor({ state: 'visible', timeout: 20000 });
    }

    await vsc.runCommand('ZeroMQ: Show Version');
    // a VSIX without zeromq's prebuilds fails here: the command's error goes to the ZeroMQ log, no toast comes
    const toast = await vsc.waitForNotification(/libzmq/, 20000).catch((e: Error) => {
      throw new Error(`no "libzmq" notification after ZeroMQ: Show Version: did the packaged zeromq addon load? (${e.message.split('\n')[0]})`);
    });
    const text = (await toast.innerText()).trim();
    assert.match(text, /libzmq 4\.3\.5/);
    assert.match(text, /ZeroMQ Topology Debugger \d+\.\d+\.\d+/);

    // the addon the extension host mapped is the one inside the installed VSIX
    // (the extension host's command line does not name our folder: look at every process's mapped files)
    const mapped = new Set<string>();
    for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
          const m = /\s(\/\S*\/addon\.node)$/.exec(line);
          if (m && m[1].startsWith(vsc.dir + '/')) mapped.add(m[1]);
        }
      } catch {
        // ended meanwhile, or not ours to read
      }
    }
    assert.ok(mapped.size > 0, 'no process of this code-server has zeromq\'s addon.node loaded');
    for (const path of mapped) assert.ok(path.startsWith(join(dir, 'node_modules', 'zeromq', 'build') + '/'), `addon loaded from ${path}`);
    await vsc.screenshot('ui-vsix-show-version');
    console.log(
      `      (install ${vsc.installMs} ms, workbench up ${workbenchMs - vsc.installMs} ms, whole test ${Date.now() - started} ms; addon ${[...mapped]
        .map((p) => p.slice(dir.length + 1))
        .join(', ')})`,
    );
  });

  it('walks through Get Started: open the view, run an example, open the frames viewer', async () => {
    vsc = await startCodeServer({ folder: TEST_WORKSPACE, vsix });
    installedDir(vsc);
    const page = vsc.page;

    // Welcome: Open Walkthrough… lists the walkthroughs of installed extensions
    const input = await vsc.openPalette();
    await input.fill('>Welcome: Open Walkthrough');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open Walkthrough' }).first().waitFor({ timeout: 15000 });
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: WALKTHROUGH_TITLE }).first().waitFor({ timeout: 15000 });
    await input.fill(WALKTHROUGH_TITLE);
    await page.keyboard.press('Enter');

    // a step's markdown renders in a webview; wait for it before using the step's button, as a reader
    // would (a frames viewer created while that webview is still registering its service worker may
    // never load in code-server, where all webviews share one origin)
    const media = () => page.frameLocator('iframe.webview.ready >> visible=true').frameLocator('#active-frame');
    const mediaShows = (heading: string) => media().locator('h1', { hasText: heading }).waitFor({ state: 'visible', timeout: 15000 });
    const stepId = (id: string) => `${EXTENSION_ID}#zmqDebugger.getStarted#${id}`;
    const step = (id: string) => page.locator(`.getting-started-step[data-step-id="${stepId(id)}"]`);
    await step('openView').waitFor({ state: 'visible', timeout: 15000 });
    const titles = await page.locator('.getting-started-step .step-title').allInnerTexts();
    assert.deepEqual(
      titles.map((t) => t.trim()),
      ['Open the ZeroMQ view', 'Run an example', 'Spy on it', 'Open the frames viewer', 'See the topology'],
    );
    // the step's markdown shows its screenshot from the package
    await mediaShows('The ZeroMQ view');
    const image = media().locator('img').first();
    await image.waitFor({ state: 'visible', timeout: 15000 });
    const loaded = async () => image.evaluate((img) => { const i = img as unknown as { complete: boolean; naturalWidth: number }; return i.complete && i.naturalWidth > 0; });
    for (let i = 0; !(await loaded()); i++) {
      if (i > 50) throw new Error(`the walkthrough's image did not load: ${await image.getAttribute('src')}`);
      await page.waitForTimeout(100);
    }
    await vsc.screenshot('ui-vsix-walkthrough');

    // step 1: its button opens the ZeroMQ container; the step checks itself
    await step('openView').locator('.monaco-button', { hasText: 'Open the ZeroMQ View' }).click();
    await page.locator('.sidebar .composite.title', { hasText: /ZeroMQ/i }).first().waitFor({ state: 'visible', timeout: 15000 });
    await page.locator(`.getting-started-step[data-step-id="${stepId('openView')}"][aria-checked="true"]`).waitFor({ timeout: 15000 });

    // step 2: one click runs pub-sub in Node (the button's command carries its arguments: no picker,
    // which the walkthrough could close by taking the focus back); the run starts observed by spies
    await step('runExample').click();
    await mediaShows('Run an example');
    await step('runExample').locator('.monaco-button', { hasText: 'Run Publish/Subscribe' }).click();
    await vsc.view('Examples').locator('.monaco-list-row', { hasText: /pid \d+ · running/ }).first().waitFor({ state: 'visible', timeout: 30000 });
    await vsc.view('Sessions').locator('.monaco-list-row', { hasText: /spy-\d.* [1-9]\d* msgs?/ }).first().waitFor({ state: 'visible', timeout: 30000 });
    await page.locator(`.getting-started-step[data-step-id="${stepId('runExample')}"][aria-checked="true"]`).waitFor({ timeout: 15000 });
    // step 3 (spy on it) is done too: an example starts observed
    await page.locator(`.getting-started-step[data-step-id="${stepId('spy')}"][aria-checked="true"]`).waitFor({ timeout: 15000 });

    // step 4: Open Frames Viewer shows the spied messages
    await page.locator('.tabs-container .tab', { hasText: 'Walkthrough' }).first().click();
    await step('openFrames').click();
    await mediaShows('The frames viewer');
    await step('openFrames').locator('.monaco-button', { hasText: 'Open Frames Viewer' }).click();
    await page.locator('.tabs-container .tab', { hasText: 'ZeroMQ Frames' }).first().waitFor({ state: 'visible', timeout: 15000 });
    // the walkthrough's markdown is a webview too: take the visible one
    const frames = page.frameLocator('iframe.webview.ready >> visible=true').frameLocator('#active-frame');
    await frames.locator('.rows .row:not(.hidden)', { hasText: '10001' }).first().waitFor({ state: 'visible', timeout: 20000 }).catch(async (e) => {
      console.log(page.frames().map((f) => f.url().slice(0, 160)));
      console.log(await page.locator('iframe.webview').evaluateAll((els) => els.map((el) => `${el.className} ${(el as unknown as { style: { display: string } }).style.display}`)));
      throw e;
    });
    await vsc.screenshot('ui-vsix-frames');
    await page.locator('.tabs-container .tab', { hasText: 'Walkthrough' }).first().click();
    await page.locator(`.getting-started-step[data-step-id="${stepId('openFrames')}"][aria-checked="true"]`).waitFor({ timeout: 15000 });

    await vsc.runCommand('ZeroMQ: Stop All Examples');
    await vsc.view('Examples').locator('.monaco-list-row', { hasText: 'pub-sub#1' }).first().waitFor({ state: 'hidden', timeout: 15000 });
  });
});
