// The packaged extension as a user gets it: the .vsix installed into a fresh code-server profile (scripts/vscode-e2e.sh),
// on a small copy of the example that the installed extension ships. Opens the example, runs a template from its
// CodeLens, checks that the worker ran from the installed extension (not the repo) and that the panel shows the
// figures of the stored report (the per-seed table and the verdict block), and screenshots the finished panel.
// Usage: node vsix.e2e.js <workbenchUrl> <shotsDir> <workspaceDir> <installedExtensionDir>; prints "vsix-e2e: N passed, N failed".
const { execFileSync } = require('child_process');
const path = require('path');
const { launch } = require('./browser');
const { expectedSummaryRows, storedReport } = require('./figures');
const [url, shots, ws, extDir] = process.argv.slice(2);
const RUN_TIMEOUT = 240000;
const { checkPanelAgainstReport, stepRunner, openExample } = require('./workbench');
const runner = stepRunner(shots, 'fail-vsix-');
const step = runner.step;
let page;
/** Command lines of the running ntk-lens workers. */
const workers = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter(l => /dist[\\/]worker\.js/.test(l));
(async () => {
  const browser = await launch();
  page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  runner.setPage(page);
  page.setDefaultTimeout(30000);
  await page.goto(url);
  const runLens = await openExample(page, step, {
    ws,
    loadedStep: 'the installed extension: workbench loads with the example it ships',
    openStep: 'open sentiment.ntk.yaml',
  });
  const inner = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  await step('running from the CodeLens forks the worker of the installed extension', async () => {
    await runLens.first().locator('a', { hasText: 'Run NTK comparison' }).click();
    await inner.locator('#title').waitFor();
    const mine = path.join(extDir, 'dist', 'worker.js');
    const t = Date.now();
    let w = [];
    while (Date.now() - t < 30000 && !(w = workers().filter(l => l.includes(mine))).length) await page.waitForTimeout(250);
    if (!w.length) throw new Error(`no worker from ${mine}; workers: ${workers().join(' | ') || 'none'}`);
    return w[0];
  });
  await step('the panel shows the finished comparison, with the figures of the stored report', async () => {
    await inner.locator('#summary').waitFor({ timeout: RUN_TIMEOUT });
    await inner.locator('#heatmap, #scatter').first().waitFor();
    await page.waitForTimeout(500);
    await page.screenshot({ path: `${shots}/07-vsix-finished.png` });
    const shown = await inner.locator('#summary tbody tr').evaluateAll(rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim())));
    const expected = expectedSummaryRows(storedReport(ws, 'it-was'));
    if (JSON.stringify(shown) !== JSON.stringify(expected)) throw new Error(`panel ${JSON.stringify(shown)} ≠ stored ${JSON.stringify(expected)}`);
    // the verdict block, the warnings, the trained set and the kernel regime, as the installed webview bundle shows them
    return `${JSON.stringify(shown)} | ${await checkPanelAgainstReport(inner, storedReport(ws, 'it-was'))}`;
  });
  await browser.close();
  const { passed, failed } = runner.counts();
  console.log(`vsix-e2e (installed .vsix, real engine): ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch(e => { console.error(e); process.exit(1); });
