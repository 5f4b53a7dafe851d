/**
 * The learning rate at optimizer step `step` (0-based): linear warm-up from 0 over `warmupSteps`, then linear decay
 * to 0 at `totalSteps` (Hugging Face `get_linear_schedule_with_warmup`, the reference's default schedule):
 *   η(s) = η·s / max(1, w)                          for s < w,
 *   η(s) = η·max(0, (T − s) / max(1, T − w))         otherwise.
 * With w = 0 the first step uses the full rate η and the last (s = T − 1) uses η/T.
 */
export function linearWarmupDecay(step: number, o: { learningRate: number; warmupSteps: number; totalSteps: number }): number {
  const { learningRate, warmupSteps, totalSteps } = o;
  if (step < warmupSteps) return (learningRate * step) / Math.max(1, warmupSteps);
  return learningRate * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}
