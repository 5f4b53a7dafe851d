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
 * Waits for the workbench with the example workspace `ws`, opens sentiment.ntk.yaml from the Explorer and checks that
 * a ▶ Run CodeLens shows above each of its templates. Returns the CodeLens locator.
 */
exports.openExample = async (page, step, { ws, loadedStep, openStep, onLenses }) => {
  const expected = require('./figures').templateNames(ws).length;
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
    if (n !== expected) throw new Error(`expected ${expected} run lenses (one per template of sentiment.ntk.yaml), got ${n}`);
    return `${n} lenses`;
  });
  return runLens;
};

/**
 * What the results panel shows (`inner`: the frame locator of the webview's content): the #summary rows, the verdict
 * block (status, #evidence rows as [figure, value, threshold, result], the reason without its "why: "), the warnings,
 * the #trainable line, the #regime rows and the #lr-grid rows (cell text without the small hints).
 */
exports.readPanel = async inner => {
  const text = async sel => ((await inner.locator(sel).count()) ? (await inner.locator(sel).first().textContent()).trim() : null);
  const rows = sel => inner.locator(sel).evaluateAll(trs => trs.map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim())));
  return {
    summary: await rows('#summary tbody tr'),
    verdict: {
      status: await text('#verdict-status'),
      evidence: await inner.locator('#evidence tbody tr').evaluateAll(trs => trs.map(r =>
        [r.dataset.figure, ...['value', 'threshold', 'result'].map(c => r.querySelector(`td.${c}`).textContent.trim())])),
      reason: (await text('#verdict-reason'))?.replace(/^why:\s*/, '') ?? null,
      warnings: await inner.locator('#warnings li').evaluateAll(lis => lis.map(li => li.textContent.trim())),
    },
    trainable: await text('#trainable'),
    regime: await rows('#regime tbody tr'),
    grid: await inner.locator('#lr-grid tbody tr').evaluateAll(trs => trs.map(r => [...r.querySelectorAll('td')].map(td =>
      [...td.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim()))),
  };
};

/**
 * Compares what the panel shows with the stored report (figures.js): throws naming the first part that differs;
 * also checks that every evidence figure, as shown, is the one the engine's verdict text quotes. Returns a short line.
 */
exports.checkPanelAgainstReport = async (inner, report) => {
  const f = require('./figures');
  const shown = await exports.readPanel(inner);
  const want = {
    summary: f.expectedSummaryRows(report), verdict: f.expectedVerdict(report), trainable: f.expectedTrainable(report),
    regime: f.expectedRegimeRows(report), grid: f.expectedGridRows(report),
  };
  for (const k of Object.keys(want)) {
    if (JSON.stringify(shown[k]) !== JSON.stringify(want[k])) throw new Error(`panel ${k} ${JSON.stringify(shown[k])} ≠ stored report ${JSON.stringify(want[k])}`);
  }
  for (const [figure, value] of shown.verdict.evidence) {
    if (!report.verdict.text.includes(`${figure} ${value}`)) throw new Error(`evidence "${figure} ${value}" is not in the verdict text "${report.verdict.text}"`);
  }
  const v = shown.verdict;
  return `${v.status}; ${v.evidence.map(e => `${e[0]} ${e[1]} (${e[2]}) ${e[3]}`).join('; ')}; ${v.warnings.length} warning(s)`;
};
