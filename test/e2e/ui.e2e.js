// Drives code-server like a user: open the example from the Explorer, see the CodeLens, run a template from it (the
// real engine on ntk-mini), read the figures in the panel beside (the per-seed table, the verdict with its evidence,
// the warnings, the trained parameters, the kernel regime) and check them against the report stored under
// <workspace>/.ntk, hover the task name, cancel a run; then the same on a causal LM (a tiny random GPT-2 with a
// byte-level BPE tokenizer that this script writes into <workspace>/gpt2/): its CodeLens, its run's figures in the
// panel against its report.json, the summary lens, the hover on a label word ("Ġword"). Screenshots into <shotsDir>.
// Usage: node ui.e2e.js <workbenchUrl> <shotsDir> <workspaceDir>; prints "ui-e2e: N passed, N failed".
const { launch } = require('./browser');
const { expectedSummaryRows, statusLabel, storedReport, templateNames } = require('./figures');
const [url, shots, ws] = process.argv.slice(2);
const RUN_TIMEOUT = 240000; // a real run of the small example copy: about a minute on 2 shared cores
const { checkPanelAgainstReport, stepRunner, openExample } = require('./workbench');
const { writeTinyCausalFiles } = require('./causal-fixture');
const CAUSAL = 'gpt2-it-was';
const runner = stepRunner(shots, 'fail-');
const step = runner.step;
let page;
(async () => {
  const browser = await launch();
  page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  runner.setPage(page);
  page.setDefaultTimeout(30000);
  const offsite = [];
  page.on('request', r => { const u = new URL(r.url()); if (!['127.0.0.1', 'localhost'].includes(u.hostname) && !u.protocol.startsWith('data') && !u.protocol.startsWith('blob')) offsite.push(r.url()); });
  // the causal experiment is in the workspace before the workbench loads (the Explorer lists it from the start)
  const causal = await writeTinyCausalFiles(`${ws}/gpt2`, {
    specName: 'gpt2.ntk.yaml', steps: 4,
    templates: `  - name: ${CAUSAL}\n    template: "*cls**sent_0*_it_was*mask*"\n    words: {"0": terrible, "1": great}`,
  });
  await page.goto(url);
  const runLens = await openExample(page, step, {
    ws,
    loadedStep: 'workbench loads with the example workspace',
    openStep: 'open sentiment.ntk.yaml from the explorer',
    onLenses: () => page.screenshot({ path: `${shots}/01-codelens.png` }),
  });
  const inner = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  await step('clicking the CodeLens runs the template; the panel beside shows progress, then the figures of the stored report', async () => {
    await runLens.first().locator('a', { hasText: 'Run NTK comparison' }).click();
    await inner.locator('#title').waitFor();
    const groups = await page.locator('.editor-group-container').count();
    if (groups !== 2) throw new Error(`expected the panel in a second editor group, got ${groups} groups`);
    await inner.locator('#phase, #summary').first().waitFor({ timeout: RUN_TIMEOUT });
    await page.screenshot({ path: `${shots}/02-running.png` });
    await inner.locator('#summary').waitFor({ timeout: RUN_TIMEOUT });
    await inner.locator('#heatmap, #scatter').first().waitFor();
    await page.waitForTimeout(500); // let chart.js paint before the screenshot
    await page.screenshot({ path: `${shots}/03-panel-results.png` });
    const shown = await inner.locator('#summary tbody tr').evaluateAll(rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim())));
    const report = storedReport(ws, 'it-was');
    const expected = expectedSummaryRows(report);
    if (JSON.stringify(shown) !== JSON.stringify(expected)) {
      throw new Error(`panel shows ${JSON.stringify(shown)}, the stored report says ${JSON.stringify(expected)}`);
    }
    return `${JSON.stringify(shown)} = .ntk/${report.key}/report.json`;
  });
  await step('the panel shows the stored verdict: its status, every evidence figure with interval and threshold, the reason, the warnings, the trained set, the kernel regime', async () => {
    const report = storedReport(ws, 'it-was');
    const line = await checkPanelAgainstReport(inner, report);
    const tone = await inner.locator('#verdict').getAttribute('class');
    const want = { 'kernel-like': 'good', 'not-kernel-like': 'bad' }[report.verdict.status] ?? 'neutral';
    if (!tone.split(/\s+/).includes(want)) throw new Error(`#verdict has class "${tone}", expected "${want}" for ${report.verdict.status}`);
    await inner.locator('#verdict').screenshot({ path: `${shots}/03b-verdict.png` });
    return line;
  });
  await step('the CodeLens shows the result summary of the stored report', async () => {
    const lens = page.locator('.codelens-decoration', { hasText: /kernel \d+\.\d · FT/ }).first();
    await lens.waitFor({ timeout: 20000 });
    const text = (await lens.innerText()).replace(/\s+/g, ' ');
    const { summaryLine } = require('./figures');
    const want = summaryLine(storedReport(ws, 'it-was'));
    if (!text.includes(want)) throw new Error(`lens "${text}" does not show "${want}"`);
    return text;
  });
  await step('hover on the task name shows the results table', async () => {
    const box = await page.evaluate(() => {
      const root = document.querySelector('.editor-instance .view-lines');
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const i = n.textContent.indexOf('custom');
        if (i >= 0 && n.parentElement.closest('.view-line').textContent.startsWith('task')) {
          const r = document.createRange(); r.setStart(n, i + 1); r.setEnd(n, i + 4);
          const b = r.getBoundingClientRect(); return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
        }
      }
      return null;
    });
    if (!box) throw new Error('"task: custom" not found in the editor DOM');
    await page.mouse.move(box.x, box.y - 40);
    await page.mouse.move(box.x, box.y, { steps: 5 });
    const hover = page.locator('.monaco-hover', { hasText: 'kernel SGD' }).first();
    await hover.waitFor();
    await page.screenshot({ path: `${shots}/04-hover.png` });
    const text = (await hover.innerText()).replace(/\s+/g, ' ');
    await page.mouse.move(5, 450);
    const status = statusLabel(storedReport(ws, 'it-was').verdict.status);
    if (!/\bverdict\b/.test(text) || !text.includes(status)) throw new Error(`the hover has no verdict column showing "${status}": ${text.slice(0, 300)}`);
    return text.slice(0, 200);
  });
  await step('cancel a running template from its CodeLens', async () => {
    await page.locator('.tab', { hasText: 'sentiment.ntk.yaml' }).first().click();
    await page.keyboard.press('Control+Home'); // back to the top, where the lenses are
    // the second template: the first one's result is stored, so running it again would only reuse it
    await runLens.nth(1).locator('a', { hasText: 'Run NTK comparison' }).click();
    const cancel = page.locator('.codelens-decoration a', { hasText: /^Cancel$/ }).first();
    await cancel.waitFor({ timeout: RUN_TIMEOUT });
    await page.locator('.codelens-decoration', { hasText: /\d+\/\d+/ }).first().waitFor({ timeout: RUN_TIMEOUT });
    await page.screenshot({ path: `${shots}/05-running-lens.png` });
    await cancel.click();
    await page.locator('.notification-toast', { hasText: 'run cancelled' }).waitFor({ timeout: 20000 });
    // stopped: the lens is back to ▶ Run and no progress count remains
    await page.locator('.codelens-decoration a', { hasText: /^Cancel$/ }).waitFor({ state: 'detached', timeout: 20000 });
    const n = templateNames(ws).length;
    if (await runLens.count() !== n) throw new Error(`expected ${n} run lenses after the cancel, got ${await runLens.count()}`);
    // the panel beside drops its running state too
    await inner.locator('#running').waitFor({ state: 'detached', timeout: 20000 });
    await page.screenshot({ path: `${shots}/06-cancelled.png` });
  });
  // --- a causal LM (tiny random GPT-2): what works for BERT above works for it ---------------------------------------
  const gpt2Editor = page.locator('.editor-instance', { has: page.locator('.view-lines', { hasText: CAUSAL }) });
  const gpt2RunLens = gpt2Editor.locator('.codelens-decoration', { hasText: 'Run NTK comparison' });
  await step('causal LM: open gpt2/gpt2.ntk.yaml from the explorer; a ▶ Run CodeLens above its template', async () => {
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'gpt2' }).first().click();
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'gpt2.ntk.yaml' }).click();
    await gpt2Editor.first().waitFor();
    await gpt2RunLens.first().waitFor({ timeout: 60000 });
    const n = await gpt2RunLens.count();
    if (n !== 1) throw new Error(`expected 1 run lens above the causal template, got ${n}`);
  });
  await step('causal LM: clicking the CodeLens runs it; the panel shows the figures of its stored report (per-seed table, verdict with evidence, warnings, trained set, regime)', async () => {
    await gpt2RunLens.first().locator('a', { hasText: 'Run NTK comparison' }).click();
    await inner.locator('#title', { hasText: CAUSAL }).waitFor({ timeout: RUN_TIMEOUT });
    await inner.locator('#summary').waitFor({ timeout: RUN_TIMEOUT });
    await inner.locator('#running').waitFor({ state: 'detached', timeout: RUN_TIMEOUT });
    await inner.locator('#heatmap, #scatter').first().waitFor();
    await page.waitForTimeout(500); // let chart.js paint before the screenshot
    await page.screenshot({ path: `${shots}/08-causal-panel.png` });
    const report = storedReport(ws, CAUSAL);
    const shown = await inner.locator('#summary tbody tr').evaluateAll(rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim())));
    const expected = expectedSummaryRows(report);
    if (JSON.stringify(shown) !== JSON.stringify(expected)) throw new Error(`panel shows ${JSON.stringify(shown)}, the stored report says ${JSON.stringify(expected)}`);
    if (!report.seeds[0].kernels.sgd || !report.summary.kernels.sgd) throw new Error('the stored report has no SGD kernel result');
    const line = await checkPanelAgainstReport(inner, report);
    return `${JSON.stringify(shown)}; ${line} = .ntk/${report.key}/report.json`;
  });
  await step('causal LM: the CodeLens shows the result summary of its stored report', async () => {
    const lens = gpt2Editor.locator('.codelens-decoration', { hasText: /kernel \d+\.\d · FT/ }).first();
    await lens.waitFor({ timeout: 20000 });
    const text = (await lens.innerText()).replace(/\s+/g, ' ');
    const want = require('./figures').summaryLine(storedReport(ws, CAUSAL));
    if (!text.includes(want)) throw new Error(`lens "${text}" does not show "${want}"`);
    return text;
  });
  await step('causal LM: hover on the label word "great" shows its single byte-level BPE token "Ġgreat"', async () => {
    const box = await page.evaluate(name => {
      const editors = [...document.querySelectorAll('.editor-instance')].filter(e => e.querySelector('.view-lines')?.textContent.includes(name));
      const root = editors[0]?.querySelector('.view-lines');
      if (!root) return null;
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const i = n.textContent.indexOf('great');
        if (i >= 0 && n.parentElement.closest('.view-line').textContent.includes('words:')) {
          const r = document.createRange(); r.setStart(n, i + 1); r.setEnd(n, i + 4);
          const b = r.getBoundingClientRect(); return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
        }
      }
      return null;
    }, CAUSAL);
    if (!box) throw new Error('"great" of the words line not found in the editor DOM');
    await page.mouse.move(box.x, box.y - 40);
    await page.mouse.move(box.x, box.y, { steps: 5 });
    const hover = page.locator('.monaco-hover', { hasText: 'token id' }).first();
    await hover.waitFor();
    await page.waitForTimeout(300); // the hover fades in
    await page.screenshot({ path: `${shots}/09-causal-hover.png` });
    const text = (await hover.innerText()).replace(/\s+/g, ' ');
    await page.mouse.move(5, 450);
    const want = `great → token id ${causal.vocab['Ġgreat']} (Ġgreat)`;
    if (!text.includes(want) || /one token per label word/.test(text)) throw new Error(`the hover "${text}" does not show "${want}" as one token`);
    return text;
  });
  await step('no request left 127.0.0.1', async () => {
    // *.vscode-resource.vscode-cdn.net is the webview's resource origin: its service worker answers from the server
    const bad = offsite.filter(u => !/vsda|marketplace|open-vsx|update\.code|\.vscode-resource\.vscode-cdn\.net\//.test(u));
    if (bad.length) throw new Error(bad.slice(0, 3).join(', '));
    return `${offsite.length} gallery/update lookups ignored`;
  });
  await browser.close();
  const { passed, failed } = runner.counts();
  console.log(`ui-e2e (real engine): ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch(e => { console.error(e); process.exit(1); });
