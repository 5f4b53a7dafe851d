/**
 * `npm run pretrain` (package.json: "pretrain": "tsx scripts/pretrain.ts"): pre-trains the built-in model ntk-mini,
 * resuming from .cache/pretrain/ when a checkpoint is there. Options: see src/engine/pretrain/cli.ts.
 */
import { pretrainMain } from '../src/engine/pretrain/cli';

pretrainMain(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(1);
});
