// Shared steps of the browser-driven e2e scripts (ui.e2e.js, vsix.e2e.js): a step runner that counts and
// screenshots failures, and opening the example file until its ▶ Run CodeLenses show.

/** A step runner: `step(name, fn)` runs fn, prints ok/FAIL with the time, screenshots a failure; `counts()`. */
exports.stepRunner = (shots, failPrefix) => {
  let passed = 0, failed = 0, page;
  const t0 = Date.now();
  const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1);
  return {
    setPage: p => { page = p; },
    counts: () => ({ passed, failed }),
    async step(name, fn) {
      try { const info = await fn(); passed++; console.log(`ok   [${elapsed()}s] ${name}${info ? ': ' + info : ''}`); }
      catch (e) {
        failed++; console.log(`FAIL [${elapsed()}s] ${name}: ${e.message.split('\n')[0]}`);
        await page?.screenshot({ path: `${shots}/${failPrefix}${passed + failed}.png` }).catch(() => undefined);
      }
    },
  };
};

/**
 * Waits for the workbench with the example workspace, opens sentiment.ntk.yaml from the Explorer and checks that
 * a ▶ Run CodeLens shows above each of its 2 templates. Returns the CodeLens locator.
 */
exports.openExample = async (page, step, { loadedStep, openStep, onLenses }) => {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'sentiment.ntk.yaml' });
  await step(loadedStep, async () => { await row.waitFor({ timeout: 60000 }); });
  await step(openStep, async () => {
    await row.click();
    await page.locator('.editor-instance .view-lines', { hasText: 'templates' }).waitFor();
  });
  const runLens = page.locator('.codelens-decoration', { hasText: 'Run NTK comparison' });
  await step('a ▶ Run CodeLens above each template', async () => {
    await runLens.first().waitFor({ timeout: 60000 });
    const n = await runLens.count();
    await onLenses?.();
    if (n !== 2) throw new Error(`expected 2 run lenses, got ${n}`);
    return `${n} lenses`;
  });
  return runLens;
};
