// The figures the panel, the CodeLens and the hover must show, computed here from the report the engine stored under
// <workspace>/.ntk (index.json → <key>/report.json), independently of the extension's own formatting code.
const fs = require('fs');
const path = require('path');

const KINDS = ['sgd', 'signgd', 'asymmetric-signgd'];
const pct = (x, d = 1) => (100 * x).toFixed(d);
const STATUS = { 'kernel-like': 'kernel-like', 'not-kernel-like': 'not kernel-like', inconclusive: 'inconclusive', none: 'no verdict' };
/** The words for a verdict status ('–' when there is none: a result from before report schema 2). */
const statusLabel = status => STATUS[status] ?? '–';
exports.statusLabel = statusLabel;

/** The names of the template items of sentiment.ntk.yaml in `ws` (`- name: x` or `- x` under `templates:`), in order. */
exports.templateNames = ws => {
  const text = fs.readFileSync(path.join(ws, 'sentiment.ntk.yaml'), 'utf8');
  const list = text.slice(text.search(/^templates:/m));
  return [...list.matchAll(/^\s*-\s+(?:name:\s*)?([A-Za-z0-9_-]+)\s*$/gm)].map(m => m[1]);
};

/** The TemplateReport last stored for `template` in `<ws>/.ntk`. */
exports.storedReport = (ws, template) => {
  const index = JSON.parse(fs.readFileSync(path.join(ws, '.ntk', 'index.json'), 'utf8'));
  const entry = index.entries.filter(e => e.templateName === template).sort((a, b) => a.createdAt.localeCompare(b.createdAt)).pop();
  if (!entry) throw new Error(`no stored result for template '${template}' in ${ws}/.ntk/index.json`);
  return JSON.parse(fs.readFileSync(path.join(ws, '.ntk', entry.key, 'report.json'), 'utf8')).report;
};

/**
 * Rows of the panel's #summary table: one per seed (seed, FT, then kernel acc and agreement per kind, the seed's own
 * verdict status), then mean ± std (with the template's verdict status).
 */
exports.expectedSummaryRows = report => {
  const kinds = KINDS.filter(k => report.summary.kernels[k]);
  const pm = s => (s ? `${pct(s.mean)} ± ${pct(s.std)}` : '–');
  const rows = report.seeds.map(s => [String(s.seed), s.finetune ? pct(s.finetune.test.acc) : '–',
    ...kinds.flatMap(k => (s.kernels[k] ? [pct(s.kernels[k].test.acc), `${pct(s.kernels[k].agreement, 0)}%`] : ['–', '–'])),
    statusLabel(s.verdict?.status)]);
  rows.push(['mean ± std', pm(report.summary.finetune),
    ...kinds.flatMap(k => [pm(report.summary.kernels[k]), report.summary.agreement[k] ? `${pct(report.summary.agreement[k].mean, 0)}%` : '–']),
    statusLabel(report.verdict.status)]);
  return rows;
};

/**
 * One row of the panel's #evidence table: [figure, value, threshold, result]. 'points' and 'percent' are ×100 with 1
 * and 0 decimals, 'ratio' as is with 2; the value carries its 95 % interval, or ± the std over seeds (n > 1) when it
 * has none; the threshold is |name| ≤ t, ≤ t or ≥ t in the figure's unit; the result pass / fail / undecided.
 */
const evidenceRow = e => {
  const scale = e.unit === 'ratio' ? 1 : 100;
  const digits = e.unit === 'ratio' ? 2 : e.unit === 'percent' ? 0 : 1;
  const num = x => (x * scale).toFixed(digits).replace(/^-/, '−');
  const unit = { points: ' pts', percent: ' %', ratio: '' }[e.unit];
  let value = num(e.value);
  if (e.interval) value += ` [${num(e.interval[0])}, ${num(e.interval[1])}]`;
  else if (e.spread && e.spread.n > 1) value += ` ± ${num(e.spread.std)}`;
  const t = String(Number((e.threshold * scale).toPrecision(6)));
  const threshold = (e.test === 'abs-max' ? `|${e.name}| ≤ ${t}` : e.test === 'min' ? `≥ ${t}` : `≤ ${t}`) + unit;
  return [e.name, value + unit, threshold, e.pass === true ? 'pass' : e.pass === false ? 'fail' : 'undecided'];
};

/** What the panel's verdict block and warnings section show: status, the evidence rows, the reason, the warnings. */
exports.expectedVerdict = report => ({
  status: statusLabel(report.verdict.status),
  evidence: report.verdict.evidence.map(evidenceRow),
  reason: report.verdict.reason ?? null,
  warnings: (report.warnings ?? []).map(w => w.message),
});

/** The panel's #trainable line: "all: 2,412,290 parameters in 52 tensors" (LoRA with rank and α). */
exports.expectedTrainable = report => {
  const t = report.trainable;
  if (!t) return null;
  return `${t.parameters}${t.lora ? ` (LoRA rank ${t.lora.rank}, α ${t.lora.alpha})` : ''}: ${t.count.toLocaleString('en-US')} parameters in ${t.tensors} tensor${t.tensors === 1 ? '' : 's'}`;
};

/**
 * Rows of the panel's #regime table, per seed with diagnostics: seed, kernel change, the step the linearised model was
 * compared at, ‖f_FT − f_lin‖, ‖f_FT − f_0‖ (3 significant digits), their ratio, the linearised model's test acc.
 */
exports.expectedRegimeRows = report => report.seeds
  .filter(s => s.diagnostics.kernelChange !== undefined || s.diagnostics.linearization)
  .map(s => {
    const l = s.diagnostics.linearization;
    const kc = s.diagnostics.kernelChange;
    return [String(s.seed), kc === undefined ? '–' : kc.toFixed(2), l ? String(l.step) : '–', l ? l.ftToLinearized.toPrecision(3) : '–',
      l ? l.ftToInit.toPrecision(3) : '–', l ? l.relative.toFixed(2) : '–', l ? pct(l.test.acc) : '–'];
  });

/** Rows of the panel's #lr-grid (only when a grid was searched): rate, then per seed its best dev metric, ✓ if chosen. */
exports.expectedGridRows = report => {
  const fts = report.seeds.filter(s => s.finetune);
  if (!fts.some(s => s.finetune.grid.length > 1)) return [];
  const rates = [...new Set(fts.flatMap(s => s.finetune.grid.map(g => g.learningRate)))].sort((a, b) => a - b);
  return rates.map(lr => [String(lr), ...fts.map(s => {
    const g = s.finetune.grid.find(x => x.learningRate === lr);
    return g ? `${pct(g.devMetric)}${lr === s.finetune.learningRate ? ' ✓' : ''}` : '–';
  })]);
};

/** The summary CodeLens: "kernel 84.1 · FT 85.3 · agree 93% · inconclusive" (the first kernel kind present). */
exports.summaryLine = report => {
  const s = report.summary;
  const kind = KINDS.find(k => s.kernels[k]);
  return [kind && `kernel ${pct(s.kernels[kind].mean)}`, s.finetune && `FT ${pct(s.finetune.mean)}`,
    kind && s.agreement[kind] && `agree ${pct(s.agreement[kind].mean, 0)}%`, report.verdict.status && statusLabel(report.verdict.status)].filter(Boolean).join(' · ');
};
