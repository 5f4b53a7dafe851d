/** Plain-text rendering of reports and progress for the CLI (stdout table, stderr progress lines). */
import { evidenceText } from '../report/summary';
import type { Report, RunEvent, Stat, TemplateReport } from '../report/types';

export function pct(x: number | undefined): string {
  return x === undefined || Number.isNaN(x) ? '—' : (100 * x).toFixed(1);
}

export function statText(s: Stat | undefined): string {
  if (!s || s.n === 0) return '—';
  return s.n > 1 ? `${pct(s.mean)} ± ${pct(s.std)}` : pct(s.mean);
}

function ratioText(s: Stat | undefined): string {
  if (!s || s.n === 0) return '—';
  return s.n > 1 ? `${s.mean.toFixed(2)} ± ${s.std.toFixed(2)}` : s.mean.toFixed(2);
}

/** "all (2,412,290)", "lora r8 (18,432)" */
function trainedText(t: TemplateReport): string {
  const tr = t.trainable;
  if (!tr) return '—';
  return `${tr.parameters}${tr.lora ? ` r${tr.lora.rank}` : ''} (${tr.count.toLocaleString('en-US')})`;
}

/**
 * The CLI's result: one row per template (trained parameters, FT, each kernel, agreement, kernel change,
 * linearisation distance, seeds, verdict), then each template's verdict with every figure it used, the warnings, and
 * where the results are and how to open them.
 */
export function reportTable(report: Report): string {
  const kinds = Array.from(new Set(report.templates.flatMap((t) => Object.keys(t.summary.kernels)))) as (keyof TemplateReport['summary']['kernels'])[];
  const header = ['template', 'mode', 'trained', `FT ${report.templates[0]?.summary.metric ?? 'acc'}`, ...kinds.map((k) => `K[${k}]`), ...kinds.map((k) => `agree[${k}]`), 'kernel Δ', 'lin. dist', 'seeds', 'verdict'];
  const rows = report.templates.map((t) => [
    t.name,
    t.mode,
    trainedText(t),
    statText(t.summary.finetune),
    ...kinds.map((k) => statText(t.summary.kernels[k])),
    ...kinds.map((k) => statText(t.summary.agreement[k])),
    ratioText(t.summary.kernelChange),
    ratioText(t.summary.linearization),
    String(t.seeds.length),
    t.verdict.status,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  const out = [
    `task ${report.task} · model ${report.model.id} (${report.model.parameterCount.toLocaleString('en-US')} parameters) · backend ${report.backend} · ${report.seconds.toFixed(1)} s`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ];
  for (const t of report.templates) {
    out.push(`[${t.name}] ${t.verdict.text}`);
    if (t.verdict.reason) out.push(`  why: ${t.verdict.reason}`);
    const lin = t.seeds.map((s) => s.diagnostics.linearization).filter((l) => l !== undefined);
    if (lin.length) {
      out.push(`  linearisation at fine-tuning's kept step (seed: step, ‖f_FT − f_lin‖ / ‖f_FT − f_0‖): ${t.seeds.filter((s) => s.diagnostics.linearization)
        .map((s) => { const l = s.diagnostics.linearization!; return `${s.seed}: ${l.step}, ${l.ftToLinearized.toPrecision(3)} / ${l.ftToInit.toPrecision(3)}`; }).join('; ')}`);
    }
    const grid = t.seeds.filter((s) => s.finetune && s.finetune.grid.length > 1);
    if (grid.length) out.push(`  learning rate chosen on dev: ${grid.map((s) => `seed ${s.seed}: ${s.finetune!.learningRate}`).join(', ')}`);
    for (const w of t.warnings ?? []) out.push(`  warning: ${w.message}`);
  }
  out.push(...verdictContrast(report.templates));
  out.push(
    '',
    `results: ${report.outDir} (per template: <key>/report.json, per seed: <key>/seeds/<seed>.json, kernels: <key>/kernels/*.npy)`,
    `open them: code ${quoteArg(report.specFile)} — the CodeLens above each template shows its result; click it (or run "ntk-lens: Show results") for the panel`,
  );
  return out.join('\n');
}

/**
 * When the templates' verdicts differ: for each template, what it trained and which figures passed, failed or could
 * not decide — read off the verdict's own evidence. A template whose kernel did not change at all and whose
 * fine-tuning equals its linearisation (to 1e-3) is said to be linear in what it trains.
 */
export function verdictContrast(templates: TemplateReport[]): string[] {
  if (templates.length < 2 || new Set(templates.map((t) => t.verdict.status)).size < 2) return [];
  const out = ['', 'why the verdicts differ:'];
  for (const t of templates) {
    const ev = t.verdict.evidence;
    const list = (pass: boolean | null) => ev.filter((e) => e.pass === pass).map(evidenceText);
    const parts: string[] = [];
    const linear = t.summary.kernelChange?.mean === 0 && (t.summary.linearization?.mean ?? 1) < 1e-3;
    if (list(false).length) parts.push(`outside the threshold: ${list(false).join('; ')}`);
    if (list(null).length) parts.push(`undecided (the interval straddles the threshold; ${t.seeds[0]?.split.nTest ?? '?'} test examples): ${list(null).join('; ')}`);
    if (list(true).length) parts.push(`within: ${list(true).join('; ')}${linear ? ' — exactly, since the output is linear in the trained parameters' : ''}`);
    if (t.verdict.status === 'inconclusive' && t.verdict.reason && /did not train/.test(t.verdict.reason)) parts.unshift(t.verdict.reason);
    out.push(`  ${t.name} (${t.verdict.status}; trains ${trainedText(t)}): ${parts.join('. ')}`);
  }
  return out;
}

/** A path as a shell argument (quoted when it holds spaces or quotes). */
function quoteArg(p: string): string {
  return /^[\w./@%+=:,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

/** A one-line rendering of a progress event for stderr. */
export function eventLine(e: RunEvent): string | null {
  const where = 'template' in e && e.template !== undefined ? `[${typeof e.template === 'string' ? e.template : e.template.name}${'seed' in e && e.seed !== undefined ? ` seed ${e.seed}` : ''}] ` : '';
  switch (e.type) {
    case 'phase':
      return `${where}${e.phase}: ${e.message}`;
    case 'step': {
      const loss = e.loss !== undefined ? ` loss ${e.loss.toFixed(4)}` : '';
      const eta = e.etaSeconds !== undefined && Number.isFinite(e.etaSeconds) ? ` ETA ${Math.round(e.etaSeconds)} s` : '';
      return `${where}${e.phase} ${e.step}/${e.total}${loss}${eta}`;
    }
    case 'seed-done':
      return `${where}seed ${e.seed} ${e.reused ? 'reused from disk' : 'done'}`;
    case 'template-done':
      return `[${e.template.name}] ${e.template.verdict.text}`;
    case 'log':
      return `${e.level}: ${e.message}`;
  }
}
