import { strict as assert } from 'node:assert';
describe('test harness', () => {
  it('runs TypeScript tests through tsx', () => { const x: number = 1 + 1; assert.equal(x, 2); });
});
