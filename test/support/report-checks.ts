/** What every complete report of a tiny two-template run holds (run/causal-run.test.ts, run/albert-run.test.ts). */
import { strict as assert } from 'node:assert';
import type { KernelKind, Report } from '../../src/engine/report/types';

/**
 * Each template's first seed has, per kernel kind, finite scores for every test example and an accuracy in [0, 1];
 * a loss curve of `steps` points; finite kernel-change and linearisation diagnostics; and a verdict.
 */
export function assertCompleteTemplates(report: Report, o: { modelType: string; templates: string[]; kinds: KernelKind[]; tests: number; steps: number }): void {
  assert.equal(report.model.modelType, o.modelType);
  assert.deepEqual(report.templates.map((t) => t.name), o.templates);
  for (const t of report.templates) {
    const s = t.seeds[0];
    for (const kind of o.kinds) {
      const k = s.kernels[kind]!;
      assert.equal(k.testScores.length, o.tests);
      assert.ok(k.testScores.every((row) => row.every(Number.isFinite)), `${t.name} ${kind}: finite scores`);
      assert.ok(k.test.acc >= 0 && k.test.acc <= 1);
    }
    assert.equal(s.finetune!.lossCurve.length, o.steps);
    assert.ok(Number.isFinite(s.diagnostics.kernelChange!) && Number.isFinite(s.diagnostics.linearization!.relative));
    assert.ok(['kernel-like', 'not-kernel-like', 'inconclusive'].includes(t.verdict.status), t.verdict.status);
  }
}
