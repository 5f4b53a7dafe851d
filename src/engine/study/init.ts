/** `ntk-lens study init`: the paper's 16-shot grid as a starting study file. */
import { PAPER_TASKS } from './study-file';

export function paperStudyText(opts: { model?: string; data?: string } = {}): string {
  return `# The grid of Malladi et al. (ICML 2023): 14 tasks × {prompt, no prompt} × 5 seeds, 16 examples per class.
# Each task uses its LM-BFF manual template and label words (the task registry); override them per task below.
# Run it on every core:   ntk-lens study run FILE          (or "Run study" above this file in VS Code)
# or on a Slurm cluster:  ntk-lens study submit FILE --slurm --partition P --time 2:00:00
# then read the table:    ntk-lens study report FILE --format md
model: ${opts.model ?? 'roberta-base'}
data: ${opts.data ?? '../shared/data/lm-bff'}            # holds <TASK>/k-shot/<shots>-<seed>/
tasks: [${PAPER_TASKS.join(', ')}]
shots: 16
seeds: [13, 21, 42, 87, 100]
modes: [prompt, standard]
test_limit: 1000
finetune: {optimizer: sgd, learning_rate: [1.0e-3, 1.0e-2, 1.0e-1], steps: 1000, batch_size: 8}
kernel: {kinds: [sgd, asymmetric-signgd], solver: lstsq, parameters: all}
# overrides:
#   trec: {template: "*cls**mask*:*+sent_0**sep+*", words: {"0": Description, "1": Entity, "2": Expression, "3": Human, "4": Location, "5": Number}}
`;
}
