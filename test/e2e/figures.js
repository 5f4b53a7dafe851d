// The figures the panel and the CodeLens must show, computed here from the report the engine stored under
// <workspace>/.ntk (index.json → <key>/report.json), independently of the extension's own formatting code.
const fs = require('fs');
const path = require('path');

const KINDS = ['sgd', 'signgd', 'asymmetric-signgd'];
const pct = (x, d = 1) => (100 * x).toFixed(d);

/** The TemplateReport last stored for `template` in `<ws>/.ntk`. */
exports.storedReport = (ws, template) => {
  const index = JSON.parse(fs.readFileSync(path.join(ws, '.ntk', 'index.json'), 'utf8'));
  const entry = index.entries.filter(e => e.templateName === template).sort((a, b) => a.createdAt.localeCompare(b.createdAt)).pop();
  if (!entry) throw new Error(`no stored result for template '${template}' in ${ws}/.ntk/index.json`);
  return JSON.parse(fs.readFileSync(path.join(ws, '.ntk', entry.key, 'report.json'), 'utf8')).report;
};

/** Rows of the panel's #summary table: one per seed (seed, FT, then kernel acc and agreement per kind), then mean ± std. */
exports.expectedSummaryRows = report => {
  const kinds = KINDS.filter(k => report.summary.kernels[k]);
  const pm = s => (s ? `${pct(s.mean)} ± ${pct(s.std)}` : '–');
  const rows = report.seeds.map(s => [String(s.seed), s.finetune ? pct(s.finetune.test.acc) : '–',
    ...kinds.flatMap(k => (s.kernels[k] ? [pct(s.kernels[k].test.acc), `${pct(s.kernels[k].agreement, 0)}%`] : ['–', '–']))]);
  rows.push(['mean ± std', pm(report.summary.finetune),
    ...kinds.flatMap(k => [pm(report.summary.kernels[k]), report.summary.agreement[k] ? `${pct(report.summary.agreement[k].mean, 0)}%` : '–'])]);
  return rows;
};

/** The summary CodeLens: "kernel 84.1 · FT 85.3 · agree 93%" (the first kernel kind present). */
exports.summaryLine = report => {
  const s = report.summary;
  const kind = KINDS.find(k => s.kernels[k]);
  return [kind && `kernel ${pct(s.kernels[kind].mean)}`, s.finetune && `FT ${pct(s.finetune.mean)}`,
    kind && s.agreement[kind] && `agree ${pct(s.agreement[kind].mean, 0)}%`].filter(Boolean).join(' · ');
};
