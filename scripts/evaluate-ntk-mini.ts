/**
 * Evaluates the shipped built-in model for its model card (issue: ntk-mini, §4) and writes
 * `models/ntk-mini/eval.json` plus an "Evaluation" section in `models/ntk-mini/README.md`:
 *  - SST-2 zero-shot prompt accuracy on the 872 test sentences (the figure the shipped-model test checks);
 *  - 16-shot prompt fine-tuning and standard (no-prompt, linear-probe head) fine-tuning on SST-2, MR, CR, MPQA, Subj
 *    and TREC with the LM-BFF manual templates, 5 seeds, mean ± std (through `runExperiment`, fine-tuning only).
 *
 *   npx tsx scripts/evaluate-ntk-mini.ts [--steps 200] [--test-limit 500] [--seeds 13,21,42,87,100] [--tasks SST-2,mr]
 *                                        [--model DIR (default models/ntk-mini)] [--parts DIR (default .cache/ntk-mini-eval)]
 *
 * On a multi-core machine, split the tasks over processes (wasm uses one core each) and merge:
 *   npx tsx scripts/evaluate-ntk-mini.ts --part a --tasks SST-2,mr,cr &  npx tsx scripts/evaluate-ntk-mini.ts --part b --tasks mpqa,subj,trec
 *   npx tsx scripts/evaluate-ntk-mini.ts --render      (merges the parts, computes the zero-shot figure, writes eval.json + the card)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/engine/backend';
import { loadTaskSplits } from '../src/engine/data';
import { loadCheckpoint } from '../src/engine/model';
import { zeroShotPrompt } from '../src/engine/pretrain/evaluate';
import { runExperiment } from '../src/engine/run/experiment';
import { loadTokenizer } from '../src/engine/tokenize';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.resolve(ROOT, '..', 'shared', 'data', 'lm-bff');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/** The model evaluated (default: the shipped one; --model DIR evaluates e.g. a training run's export). */
const MODEL = path.resolve(arg('model', path.join(ROOT, 'models', 'ntk-mini')));
const SHIPPED = MODEL === path.join(ROOT, 'models', 'ntk-mini');

export async function sst2ZeroShot(): Promise<{ accuracy: number; examples: number; predictedShare: number[] }> {
  const { config, params } = await loadCheckpoint(MODEL);
  const tokenizer = await loadTokenizer(MODEL);
  const test = loadTaskSplits('SST-2', path.join(DATA, 'SST-2'), { shots: 16, seed: 13 }).test;
  const examples = test.map((e) => ({ textA: e.textA, label: Number(e.label) }));
  return zeroShotPrompt(params, config, tokenizer, examples, '*cls**sent_0*_It_was*mask*.*sep+*', ['terrible', 'great']);
}

type Row = { task: string; prompt: { mean: number; std: number }; standard: { mean: number; std: number }; zeroShot: number };
interface Part { steps: number; testLimit: number; seeds: number[]; rows: Row[] }
const PARTS = path.resolve(arg('parts', path.join(ROOT, '.cache', 'ntk-mini-eval')));

/**
 * The LM-BFF manual template of the task, except where a label word is not one token in ntk-mini's vocabulary:
 * Subj's "subjective" is two pieces (subject ##ive), so Subj uses its template with the single-token words
 * opinion / fact (reported as such in the card).
 */
const WORD_OVERRIDES: Record<string, { template: string; words: Record<string, string> }> = {
  subj: { template: '*cls**sent_0*_This_is*mask*.*sep+*', words: { '0': 'opinion', '1': 'fact' } },
};

function manualTemplate(task: string): string {
  const o = WORD_OVERRIDES[task];
  if (!o) return '  - name: manual\n';
  const words = Object.entries(o.words).map(([k, v]) => `"${k}": ${v}`).join(', ');
  return `  - name: manual\n    template: "${o.template}"\n    words: {${words}}\n`;
}

async function finetuneRows(tasks: string[], steps: number, testLimit: number, seeds: number[]): Promise<Row[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-mini-eval-'));
  const rows: Row[] = [];
  for (const task of tasks) {
    const file = path.join(tmp, `${task}.ntk.yaml`);
    fs.writeFileSync(
      file,
      `task: ${task}\ndata: ${path.join(DATA, task)}\nshots: 16\nseeds: [${seeds.join(', ')}]\nmodel: ${SHIPPED ? 'ntk-mini' : JSON.stringify(MODEL)}\nmax_length: 128\n` +
        `test_limit: ${testLimit}\nbackend: wasm\nfinetune: {optimizer: adam, learning_rate: 1.0e-3, steps: ${steps}, batch_size: 8, eval_every: ${Math.max(1, Math.floor(steps / 4))}}\n` +
        `templates:\n${manualTemplate(task)}  - name: standard\n`,
    );
    const report = await runExperiment(file, { finetuneOnly: true, resultsDir: path.join(tmp, '.ntk'), onEvent: (e) => e.type === 'seed-done' && console.error(`${task} ${e.template} seed ${e.seed}`) });
    const by = (name: string) => report.templates.find((t) => t.name === name)!;
    const zero = by('manual').seeds.map((s) => s.finetune!.before.test.acc);
    rows.push({
      task,
      prompt: by('manual').summary.finetune!,
      standard: by('standard').summary.finetune!,
      zeroShot: zero.reduce((a, b) => a + b, 0) / zero.length,
    });
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  return rows;
}

async function main() {
  await initBackend('wasm');
  let steps = Number(arg("steps", "200"));
  let testLimit = Number(arg("test-limit", "500"));
  let seeds = arg("seeds", "13,21,42,87,100").split(",").map(Number);
  const tasks = arg('tasks', 'SST-2,mr,cr,mpqa,subj,trec').split(',');
  const partName = arg('part', '');
  if (partName) {
    const part: Part = { steps, testLimit, seeds, rows: await finetuneRows(tasks, steps, testLimit, seeds) };
    fs.mkdirSync(PARTS, { recursive: true });
    fs.writeFileSync(path.join(PARTS, `${partName}.json`), JSON.stringify(part, null, 2));
    return;
  }
  let rows: Row[];
  if (process.argv.includes('--render')) {
    const parts = fs.readdirSync(PARTS).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(PARTS, f), 'utf8')) as Part);
    const differ = parts.find((p) => p.steps !== parts[0].steps || p.testLimit !== parts[0].testLimit || p.seeds.join() !== parts[0].seeds.join());
    if (!parts.length || differ) throw new Error(`${PARTS}: no parts, or parts with different settings`);
    ({ steps, testLimit, seeds } = parts[0] as Part);
    rows = parts.flatMap((p) => p.rows);
  } else {
    rows = await finetuneRows(tasks, steps, testLimit, seeds);
  }
  const zs = await sst2ZeroShot();
  console.error(`SST-2 zero-shot: ${(100 * zs.accuracy).toFixed(1)}% on ${zs.examples}`);
  const cfg = JSON.parse(fs.readFileSync(path.join(MODEL, 'config.json'), 'utf8'));
  // The pre-training step of the shipped weights, read from the model card the training run writes.
  const stepMatch = /\(step (\d+),/.exec(fs.readFileSync(path.join(MODEL, 'README.md'), 'utf8'));
  const step = stepMatch ? Number(stepMatch[1]) : null;
  const evaluation = {
    step,
    createdAt: new Date().toISOString(),
    sst2ZeroShot: zs,
    finetune16: { steps, optimizer: 'adam', learningRate: 1e-3, batchSize: 8, testLimit, seeds, rows },
    model: { hidden: cfg.hidden_size, layers: cfg.num_hidden_layers },
  };
  fs.writeFileSync(path.join(MODEL, 'eval.json'), JSON.stringify(evaluation, null, 2) + '\n');
  const pct = (x: number) => (100 * x).toFixed(1);
  const table = [
    '| task | zero-shot prompt | 16-shot prompt FT | 16-shot standard FT (LP head) |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.task} | ${pct(r.zeroShot)} | ${pct(r.prompt.mean)} ± ${pct(r.prompt.std)} | ${pct(r.standard.mean)} ± ${pct(r.standard.std)} |`),
  ].join('\n');
  const section =
    `<!-- evaluation:start -->\n## Evaluation (scripts/evaluate-ntk-mini.ts, weights of step ${step ?? '?'})\n\n` +
    `- SST-2 zero-shot prompt accuracy on the ${zs.examples} test sentences: **${pct(zs.accuracy)}%** ` +
    `(predicted shares terrible/great: ${zs.predictedShare.map(pct).join(' / ')}%). The shipped-model test recomputes this figure.\n` +
    `- 16-shot fine-tuning, LM-BFF manual templates vs the standard head, ${seeds.length} seeds (mean ± population std), ` +
    `AdamW lr 1e-3, ${steps} steps, batch 8, best dev checkpoint; test capped at ${testLimit} sentences of each task's test file (a fixed seed-42 sample, as test_limit draws it); accuracy %. ` +
    `Subj uses the words opinion / fact (LM-BFF's "subjective" is two tokens in this vocabulary).\n\n${table}\n<!-- evaluation:end -->\n`;
  const cardFile = path.join(MODEL, 'README.md');
  let card = fs.readFileSync(cardFile, 'utf8');
  card = card.includes('<!-- evaluation:start -->')
    ? card.replace(/<!-- evaluation:start -->[\s\S]*<!-- evaluation:end -->\n?/, section)
    : card.trimEnd() + '\n\n' + section;
  fs.writeFileSync(cardFile, card);
  console.log(table);
}

if (require.main === module) main().catch((e) => {
  console.error(e);
  process.exit(1);
});
