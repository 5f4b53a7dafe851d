/**
 * Studies over a causal LM: each task's LM-BFF template, ended at *mask* (the label word is predicted after the
 * prompt); where a sentence follows the mask (MNLI) no such template exists and the study's check says so at the
 * task, before any job. On a tiny random GPT-2 the test makes and the shared LM-BFF data, read in place.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CAUSAL_MODEL_TYPES } from '../../../../src/engine/model/causal';
import { CAUSAL_MODEL_TYPES_PURE } from '../../../../src/engine/model/model-type';
import { expandJobs, experimentText } from '../../../../src/engine/study/jobs';
import { parseStudy } from '../../../../src/engine/study/study-file';
import { checkStudy, runStudyJob } from '../../../../src/engine/study/study-run';
import { makeTinyCausalExperiment, type TinyCausalExperiment } from '../../../support/tiny-causal-experiment';

const LM_BFF = path.resolve(__dirname, '../../../../../shared/data/lm-bff');

describe('studies over a causal LM', function () {
  this.timeout(300000);
  let exp: TinyCausalExperiment;
  before(async () => {
    await tf.setBackend('cpu');
    exp = await makeTinyCausalExperiment({});
  });
  after(() => exp?.cleanup());

  const study = (tasks: string) => {
    const file = path.join(exp.dir, `s-${tasks.replace(/\W/g, '')}.ntk-study.yaml`);
    fs.writeFileSync(file, `model: ./model\ndata: ${LM_BFF}\ntasks: [${tasks}]\nshots: 16\nseeds: [13]\nmodes: [prompt]\ntest_limit: 16\ndev_limit: 8\nmax_length: 48\nbackend: cpu\nfinetune: {optimizer: sgd, learning_rate: 1.0e-2, steps: 2, batch_size: 8, eval_every: 1}\nkernel: {kinds: [sgd], solver: lstsq}\n`);
    return parseStudy(fs.readFileSync(file, 'utf8'), file).study!;
  };

  it('the pure list of causal model_types is the registry\'s', () => {
    assert.deepEqual([...CAUSAL_MODEL_TYPES_PURE].sort(), [...CAUSAL_MODEL_TYPES].sort());
  });

  it('SST-2\'s template ends at *mask* for a causal model, and its job runs to a verdict', async () => {
    const s = study('SST-2');
    const [job] = expandJobs(s);
    assert.match(experimentText(s, job), /template: "\*cls\*\*sent_0\*_It_was\*mask\*"\n/);
    assert.deepEqual(await checkStudy(s), []);
    const report = await runStudyJob(s, 0, { out: path.join(exp.dir, 'store') });
    assert.equal(report.model.modelType, 'gpt2');
    assert.ok(['kernel-like', 'not-kernel-like', 'inconclusive'].includes(report.templates[0].verdict.status));
  });

  it('MNLI (a sentence after the mask): an error at the task before any job, with the causal hint', async () => {
    const s = study('SST-2, MNLI');
    const problems = await checkStudy(s);
    const text = fs.readFileSync(s.file, 'utf8').split('\n');
    const mnli = problems.filter((p) => /^MNLI/.test(p.message) && /for causal models the label word is predicted after the prompt/.test(p.message));
    assert.ok(mnli.length > 0, problems.map((p) => p.message).join('\n'));
    assert.equal(text[mnli[0].line - 1].slice(mnli[0].column - 1, mnli[0].column + 3), 'MNLI');
    assert.ok(!problems.some((p) => /^SST-2/.test(p.message)), 'SST-2 is fine');
  });
});
